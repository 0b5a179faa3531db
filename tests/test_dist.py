"""The student edition (`python -m grader dist OUT`, `make student-dist`): what students get holds
no solution, hidden test, catalogue or grader; it installs with `make lab`'s install step and its
validator runs a released notebook in a fresh folder."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from grader import RELEASE_DIR, REPO_ROOT, SOLUTIONS_DIR, assignment_ids
from grader.dist import DistError, build, scan
from grader.notebooks import BEGIN_SOLUTION, END_SOLUTION, is_feedback_only, read_notebook
from grader.samples import reference_submission

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

AIDS = assignment_ids()
TOP_LEVEL = {"notebooks", "helpers", "README.md", "pyproject.toml", "environment.yml",
             "Makefile", "LICENSE", ".gitignore"}
INSTRUCTOR_TOOLS = {"nbgrader", "nbval", "pytest", "pytest-xdist", "hypothesis", "ruff",
                    "playwright", "notebook", "nbconvert"}


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist") / "student-edition"
    files = build(out)
    return out, files


def _names(requirements):
    return {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower().replace("_", "-")
            for r in requirements}


def test_the_edition_holds_the_student_files(edition):
    out, files = edition
    assert {p.name for p in out.iterdir()} == TOP_LEVEL
    for aid in AIDS:
        ours = out / "notebooks" / aid / f"{aid}.ipynb"
        assert ours.read_bytes() == (RELEASE_DIR / aid / f"{aid}.ipynb").read_bytes()
    modules = {p.name for p in (out / "helpers" / "dltrain").glob("*.py")}
    assert {"__init__.py", "guide.py", "validate.py", "testing.py", "widgets.py"} <= modules
    assert "grading.py" not in modules, "the kernel side of the hidden tests stays instructor-side"
    assert "grading" not in (out / "helpers" / "dltrain" / "__init__.py").read_text()
    assert sorted(files) == sorted(str(p.relative_to(out)) for p in out.rglob("*")
                                   if p.is_file())


def test_nothing_of_the_instructor_leaks(edition):
    out, _ = edition
    for name in ("grader", "solutions", "catalogue", "tests", ".ci", ".git"):
        assert not list(out.rglob(name)), f"{name} in the student edition"
    texts = {}
    for path in out.rglob("*"):
        if path.is_file() and path.suffix not in (".gz",):
            texts[path] = path.read_text(errors="replace")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "hidden_test(",
                   "hidden_answer(", "feedback-only", "python -m grader"):
        leaks = [str(p.relative_to(out)) for p, text in texts.items() if marker in text]
        assert not leaks, f"{marker!r} in {leaks}"
    secret, feedback = set(), set()
    for aid in AIDS:
        for cell in read_notebook(SOLUTIONS_DIR / aid / f"{aid}.ipynb").cells:
            if is_feedback_only(cell):
                feedback |= {line.strip() for line in cell.source.splitlines()
                             if len(line.strip()) > 30}
            for region in re.findall(f"{BEGIN_SOLUTION}(.*?){END_SOLUTION}", cell.source,
                                     flags=re.S):
                secret |= {line.strip() for line in region.splitlines()
                           if len(line.strip()) > 30 and not line.strip().startswith("#")}
    everything = "\n".join(texts.values())
    # dltrain, which students always had, is checked for answers by tests/test_release.py
    course_text = "\n".join(text for path, text in texts.items()
                            if path.relative_to(out).parts[0] != "helpers")
    released = "\n".join(path.read_text() for path in RELEASE_DIR.rglob("*.ipynb"))
    assert not [line for line in feedback if line in everything], "feedback-only text leaked"
    assert not [line for line in secret if line in course_text and line not in released], \
        "a line of a reference solution leaked"
    assert scan(out) == []


def test_the_scan_finds_what_must_not_leak(edition, tmp_path):
    out = tmp_path / "leaky"
    shutil.copytree(edition[0], out)
    (out / "grader").mkdir()
    notebook = out / "notebooks" / AIDS[0] / f"{AIDS[0]}.ipynb"
    nb = json.loads(notebook.read_text())
    nb["cells"][-1]["source"] = "### BEGIN HIDDEN TESTS\nhidden_test(f, cases, seed=1)\n"
    notebook.write_text(json.dumps(nb))
    problems = scan(out)
    assert any("grader/" in p for p in problems)
    assert any("HIDDEN TESTS" in p for p in problems) and any("hidden_test(" in p
                                                              for p in problems)


def test_student_packages_only(edition):
    out, _ = edition
    student = tomllib.loads((out / "pyproject.toml").read_text())
    ours = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    project = student["project"]
    assert project["dependencies"] == ours["dependencies"]
    assert project["optional-dependencies"] == {"lab": ours["optional-dependencies"]["lab"]}
    assert project["scripts"] == {"dltrain-validate": "dltrain.validate:main"}
    names = _names(project["dependencies"] + project["optional-dependencies"]["lab"])
    assert {"numpy", "matplotlib", "ipywidgets", "ipykernel", "jupyterlab"} <= names
    assert not names & INSTRUCTOR_TOOLS
    conda = {re.match(r"\s*-\s+([A-Za-z0-9_.-]+)", line).group(1).lower().replace("_", "-")
             for line in (out / "environment.yml").read_text().splitlines()
             if re.match(r"\s*-\s+[A-Za-z]", line)} - {"python", "pip", "conda-forge"}
    assert conda == names


def test_readme_and_makefile_are_the_students(edition):
    out, _ = edition
    readme = (out / "README.md").read_text()
    assert "make lab" in readme and "dltrain-validate" in readme
    assert "## For students" in readme and "## For instructors" not in readme
    for aid in AIDS:
        assert f"(notebooks/{aid}/{aid}.ipynb)" in readme
    makefile = (out / "Makefile").read_text()
    assert ".DEFAULT_GOAL := lab" in makefile and "'.[lab]'" in makefile
    assert "dev" not in re.findall(r"'\.\[(\w+)\]'", makefile)


def test_build_refuses_a_folder_in_use_and_force_replaces_only_its_files(tmp_path):
    out = tmp_path / "edition"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (out / "notebooks" / "old").mkdir(parents=True)
    with pytest.raises(DistError, match="not empty"):
        build(out)
    build(out, force=True)
    assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert not (out / "notebooks" / "old").exists()
    with pytest.raises(DistError, match="inside the instructor's repository"):
        build(REPO_ROOT / "notebooks" / "x")


def _student_env() -> dict:
    """The environment of a student's shell: no instructor venv on PATH, no test settings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("VIRTUAL_ENV", "DLTRAIN_STATIC_WIDGETS", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and str(REPO_ROOT) not in p)
    return env


@pytest.mark.slow
def test_installs_with_make_lab_and_validates_in_a_fresh_folder(edition, tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(edition[0], clone)
    env = _student_env()
    done = subprocess.run(["make", "--no-print-directory", "lab-install"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert ".venv/ is ready" in done.stdout
    python = clone / ".venv" / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import importlib.util as u; print("
                            "[m for m in ('nbgrader', 'nbval', 'pytest', 'jupyterlab', 'dltrain')"
                            " if u.find_spec(m)])"], capture_output=True, text=True, env=env)
    assert probe.stdout.strip() == "['jupyterlab', 'dltrain']", probe.stdout + probe.stderr

    # a student's folder elsewhere, with the released notebook; the validator from the edition
    aid = AIDS[0]
    work = tmp_path / "work"
    (work / aid).mkdir(parents=True)
    shutil.copy(clone / "notebooks" / aid / f"{aid}.ipynb", work / aid)
    validator = str(clone / ".venv" / "bin" / "dltrain-validate")
    blank = subprocess.run([validator, f"{aid}/{aid}.ipynb"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=600)
    assert blank.returncode == 1, blank.stdout + blank.stderr
    assert "not answered yet" in blank.stdout and "Exercise 1" in blank.stdout

    (work / aid / f"{aid}.ipynb").write_text(json.dumps(reference_submission(aid)))
    solved = subprocess.run([validator, aid], cwd=work, env=env, capture_output=True,
                            text=True, timeout=600)
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert "Ready to submit" in solved.stdout


def test_the_readme_says_which_repository_is_private():
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Two editions", 1)[1].split("\n## ", 1)[0]
    assert "private" in section and "make student-dist" in section
    assert "python -m grader dist" in section


def test_student_dist_target_exists():
    assert re.search(r"^student-dist:", (REPO_ROOT / "Makefile").read_text(), re.M)
    assert Path(REPO_ROOT / "lab.mk").is_file()
