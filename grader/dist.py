"""``python -m grader dist OUT``: write the student edition of the course.

Two editions come from this one repository. This one is the instructor's and stays private: it
holds ``solutions/`` (every reference implementation and the hidden tests' seeds), ``grader/`` and
the catalogue of mistakes. The student edition is what students clone: the released notebooks,
the ``dltrain`` package, a student README, ``pyproject.toml`` and ``environment.yml`` with the
student's packages only, a Makefile whose ``make lab`` sets everything up, and the validator
``dltrain-validate``. It holds no solution, no hidden test, no catalogue and no grader; the build
scans its own output and fails when anything of the kind slipped in.

Re-running into the same folder (``--force``) replaces what this command writes and leaves
everything else (a ``.git`` folder, say) alone, so ``OUT`` can be a clone of the students'
repository.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from . import RELEASE_DIR, REPO_ROOT, SOLUTIONS_DIR, assignment_ids
from .notebooks import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    is_feedback_only,
    read_notebook,
)

try:
    import tomllib
except ImportError:  # Python 3.10: JupyterLab brings tomli
    import tomli as tomllib

HELPERS = REPO_ROOT / "helpers" / "dltrain"

# What the build writes at the top of OUT (and what --force replaces).
WRITTEN = ("notebooks", "helpers", "README.md", "pyproject.toml", "environment.yml", "Makefile",
           "LICENSE", ".gitignore")

# Instructor-side modules of dltrain: the kernel side of the hidden tests.
INSTRUCTOR_MODULES = ("grading.py",)

# Text that must never reach students.
FORBIDDEN = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
             "HIDDEN TESTS", "hidden_test(", "hidden_answer(", "feedback-only",
             "dltrain.grading")

# README sections students get, in order (the instructor's README is the one source).
STUDENT_SECTIONS = ("Course map", "For students", "Licence and data")

STUDENT_COMMANDS = """```
make lab                                    # set up (the first time: about 100 MB), open JupyterLab
dltrain-validate 00_inputs/00_inputs.ipynb  # in JupyterLab's terminal: check a notebook
```

`make lab` needs only `python3` (3.10 or newer): it creates `.venv/` with the course's packages
(numpy, matplotlib, ipywidgets, JupyterLab and `dltrain`, the course's helper package) the first
time, and again only when `pyproject.toml` changes."""

GITIGNORE = """.venv/
__pycache__/
*.egg-info/
.ipynb_checkpoints/
build/
"""

CONDA_HEADER = """\
# The course's environment for conda and Binder: the same packages and bounds as pyproject.toml.
#     conda env create -f environment.yml && conda activate training-deep-networks
#     jupyter lab notebooks/
"""


class DistError(RuntimeError):
    """The student edition could not be written, or would leak; the message says why."""


def build(out: Path, force: bool = False) -> list[str]:
    """Write the student edition into ``out``.

    Parameters
    ----------
    out : Path
        The folder to write; it must be empty or missing unless ``force``.
    force : bool
        Replace what a previous build wrote (only that: see :data:`WRITTEN`).

    Returns
    -------
    list of str
        The files written, relative to ``out``, sorted.

    Raises
    ------
    DistError
        When ``out`` is not empty (without ``force``), is this repository, or when the scan of
        the result finds instructor material.
    """
    out = Path(out).resolve()
    if out == REPO_ROOT or out in REPO_ROOT.parents or \
            (REPO_ROOT in out.parents and out.parent != REPO_ROOT):
        raise DistError(f"{out} is inside the instructor's repository; write the student "
                        "edition to a folder of its own (the default is ./student-edition)")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise DistError(f"{out} is not empty (use --force to replace a previous build)")
        for name in WRITTEN:
            target = out / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)

    for aid in assignment_ids():
        shutil.copytree(RELEASE_DIR / aid, out / "notebooks" / aid,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copytree(HELPERS, out / "helpers" / "dltrain",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", *INSTRUCTOR_MODULES))
    init = out / "helpers" / "dltrain" / "__init__.py"
    init.write_text(re.sub(r"^``grading``.*\n", "", init.read_text(), flags=re.M))
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    (out / "pyproject.toml").write_text(student_pyproject(project))
    (out / "environment.yml").write_text(student_environment(project))
    (out / "README.md").write_text(student_readme((REPO_ROOT / "README.md").read_text()))
    (out / "Makefile").write_text(student_makefile((REPO_ROOT / "lab.mk").read_text()))
    shutil.copy2(REPO_ROOT / "LICENSE", out / "LICENSE")
    (out / ".gitignore").write_text(GITIGNORE)

    problems = scan(out)
    if problems:
        raise DistError("the student edition would contain instructor material:\n  " +
                        "\n  ".join(problems))
    return sorted(str(p.relative_to(out)) for p in out.rglob("*")
                  if p.is_file() and not _outside_build(p.relative_to(out)))


def _outside_build(rel: Path) -> bool:
    return rel.parts[0] not in WRITTEN


# ----------------------------------------------------------------------------- the files


def _requirements(project: dict, extra: str | None = None) -> list[str]:
    meta = project["project"]
    reqs = list(meta["dependencies"])
    if extra:
        reqs += [r for r in meta["optional-dependencies"][extra] if r not in reqs]
    return reqs


def _toml(value) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        one_line = "[" + ", ".join(_toml(v) for v in value) + "]"
        if len(one_line) <= 60:
            return one_line
        return "[\n" + "".join(f"    {_toml(v)},\n" for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml(key)


def _tables(name: str, items: dict, inline: tuple[str, ...] = ()) -> list[str]:
    """``[name]`` with its values, then a ``[name.key]`` table for each dict value (those in
    ``inline`` are written inline)."""
    lines = [f"[{name}]"]
    nested = []
    for key, value in items.items():
        if isinstance(value, dict) and key not in inline:
            nested.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_toml(value)}")
    out = ["\n".join(lines) + "\n"] if len(lines) > 1 or not nested else []
    for key, value in nested:
        out += _tables(f"{name}.{_key(key)}", value, inline)
    return out


def student_pyproject(project: dict) -> str:
    """The student edition's pyproject.toml: dltrain with the student's packages only."""
    meta = project["project"]
    keep = {k: meta[k] for k in ("name", "version", "description", "readme", "requires-python",
                                 "license") if k in meta}
    keep["dependencies"] = meta["dependencies"]
    keep["optional-dependencies"] = {"lab": meta["optional-dependencies"]["lab"]}
    keep["scripts"] = meta["scripts"]
    parts = ["# The course's package dltrain and what the student's JupyterLab needs "
             "(`make lab`).\n# Keep in sync with environment.yml.\n"]
    parts += _tables("build-system", project["build-system"])
    parts += _tables("project", keep)
    parts += _tables("tool.setuptools", project["tool"]["setuptools"], inline=("package-dir",))
    return "\n".join(parts)


def student_environment(project: dict) -> str:
    """The student edition's environment.yml (conda, Binder): the same packages."""
    lines = [CONDA_HEADER, "name: training-deep-networks", "channels:", "  - conda-forge",
             "dependencies:", f"  - python{project['project']['requires-python']}", "  - pip"]
    lines += ["  - " + re.sub(r"\s+", "", r) for r in _requirements(project, "lab")]
    lines += ["  - pip:", "      # the course's helper package, from this folder",
              "      - --editable ."]
    return "\n".join(lines) + "\n"


def _sections(readme: str) -> dict[str, str]:
    """The README's ``## `` sections by title (each with its heading)."""
    parts = re.split(r"^(?=## )", readme, flags=re.M)
    return {p.splitlines()[0][3:].strip(): p.rstrip() + "\n" for p in parts[1:]}


def student_readme(readme: str) -> str:
    """The student edition's README, made of the instructor README's student parts."""
    title, _, rest = readme.partition("\n")
    intro = rest.strip().split("\n\n")[0]
    sections = _sections(readme)
    missing = [s for s in STUDENT_SECTIONS if s not in sections]
    if missing:
        raise DistError(f"README.md has no section {', '.join(missing)}")
    body = "\n".join(sections[s] for s in STUDENT_SECTIONS)
    return f"{title}\n\n{intro}\n\n{STUDENT_COMMANDS}\n\n{body}"


def student_makefile(lab_mk: str) -> str:
    """The student edition's Makefile: the instructor's lab.mk, with ``make lab`` the default."""
    return ("# Training Deep Networks: `make lab` sets up .venv/ and opens JupyterLab on "
            "notebooks/.\n\n.DEFAULT_GOAL := lab\nLAB_VENV ?= .venv\n\n" + lab_mk)


# ----------------------------------------------------------------------------- the scan


def _long_lines(text: str, minimum: int = 25) -> set[str]:
    return {line.strip() for line in text.splitlines()
            if len(line.strip()) >= minimum and not line.strip().startswith("#")}


def scan(out: Path) -> list[str]:
    """What in ``out`` must not reach students: forbidden markers, instructor folders, the
    catalogue, feedback-only text, lines of the reference solutions."""
    out = Path(out)
    problems = []
    for name in ("grader", "solutions", "catalogue", "tests", ".ci"):
        if list(out.rglob(name)):
            problems.append(f"a {name}/ folder")
    solution_lines: set[str] = set()
    feedback_lines: set[str] = set()
    for aid in assignment_ids():
        nb = read_notebook(SOLUTIONS_DIR / aid / f"{aid}.ipynb")
        for cell in nb.cells:
            if is_feedback_only(cell):
                feedback_lines |= _long_lines(cell.source)
            for region in re.findall(rf"{re.escape(BEGIN_SOLUTION)}(.*?)"
                                     rf"{re.escape(END_SOLUTION)}", cell.source, flags=re.S):
                solution_lines |= _long_lines(region)
    public = set()
    for aid in assignment_ids():
        public |= _long_lines("\n".join(c.source for c in read_notebook(
            RELEASE_DIR / aid / f"{aid}.ipynb").cells))
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out)
        if rel.parts[0] not in WRITTEN:
            continue
        if path.suffix in (".gz", ".png", ".jpg"):
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in read_notebook(path).cells)
        for marker in FORBIDDEN:
            if marker in text:
                problems.append(f"{rel}: contains {marker!r}")
        lines = _long_lines(text)
        # dltrain is the package every student always had; tests/test_release.py checks that it
        # holds no answer (a generic line such as a loop header may appear in both)
        shared = lines & solution_lines if rel.parts[0] != "helpers" else set()
        for line in sorted(shared - public)[:3]:
            problems.append(f"{rel}: a line of a reference solution: {line[:80]!r}")
        for line in sorted((lines & feedback_lines) - public)[:3]:
            problems.append(f"{rel}: feedback-only text: {line[:80]!r}")
    return problems
