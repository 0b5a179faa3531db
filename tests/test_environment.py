"""The environments: pyproject.toml (pip) and environment.yml (conda) agree; the student's
JupyterLab (`make lab`, .venv-lab) gets the course's packages only, the instructor tools
(`make test`, .venv) their own environment; the commands the README shows exist."""

import re
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
INSTRUCTOR_TOOLS = {"nbgrader", "nbval", "pytest", "pytest-xdist", "hypothesis", "ruff",
                    "playwright", "notebook", "nbconvert"}


def _split(req: str) -> tuple[str, str]:
    # pip's extras (dask[distributed]) name parts of one conda package: the bound follows them
    m = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[A-Za-z0-9_,.-]+\])?\s*(.*)$", req)
    return m.group(1), m.group(2).strip()


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(*extras: str) -> dict[str, str]:
    reqs = {}
    for req in PROJECT["dependencies"] + [r for e in extras
                                          for r in PROJECT["optional-dependencies"][e]]:
        name, bound = _split(req)
        assert reqs.get(_normal(name), bound) == bound, f"{name} has two different bounds"
        reqs[_normal(name)] = bound
    return reqs


def _conda_requirements() -> dict[str, str]:
    deps = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.-]+)\s*([<>=!].*)?$", line)
        if m and m.group(1) not in ("python", "pip", "conda-forge"):
            deps[_normal(m.group(1))] = (m.group(2) or "").strip()
    return deps


def test_same_packages_and_bounds():
    pip = _requirements("lab", "dev")
    conda = _conda_requirements()
    assert set(pip) == set(conda), (
        f"only in pyproject.toml: {sorted(set(pip) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(pip))}")
    differ = {k: (pip[k], conda[k]) for k in pip if pip[k].replace(" ", "") !=
              conda[k].replace(" ", "")}
    assert not differ, f"version bounds differ (pyproject, environment.yml): {differ}"


def test_python_versions_agree():
    assert PROJECT["requires-python"] == ">=3.10"
    assert re.search(r"^\s*-\s+python>=3\.10\s*$", (ROOT / "environment.yml").read_text(), re.M)


def test_environment_installs_the_course_package():
    assert re.search(r"--editable \.", (ROOT / "environment.yml").read_text())


def test_the_student_gets_the_course_and_no_instructor_tools():
    student = set(_requirements("lab"))
    assert {"numpy", "matplotlib", "ipywidgets", "ipykernel", "jupyterlab"} <= student
    assert not student & INSTRUCTOR_TOOLS, f"for students: {student & INSTRUCTOR_TOOLS}"
    assert INSTRUCTOR_TOOLS <= set(_requirements("dev"))
    assert PROJECT["scripts"]["dltrain-validate"] == "dltrain.validate:main"


def _make_variables(text: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-Z_]+)\s*\??:?=\s*(\S+)", text, re.M))


def test_two_environments_and_the_targets_that_use_them():
    makefile, lab = (ROOT / "Makefile").read_text(), (ROOT / "lab.mk").read_text()
    variables = _make_variables(makefile)
    assert variables["VENV"] == ".venv" and variables["LAB_VENV"] == ".venv-lab"
    assert "include lab.mk" in makefile
    # make lab installs the student's extra only, with uv when it can and pip otherwise
    assert re.findall(r"'\.\[(\w+)\]'", lab) == ["lab", "lab"]
    assert "uv pip install" in lab.replace('"$$uv" pip install', "uv pip install")
    assert "-m pip install" in lab and "pip install --quiet --disable-pip-version-check uv" in lab
    # the instructor's tools: the dev extra, in .venv
    assert "--editable '.[dev]'" in makefile
    test = re.search(r"^test:(.*)$", makefile, re.M).group(1)
    assert {"$(STAMP)", "browser", "lab-install"} <= set(test.split())
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "pytest -n auto --dist loadfile" in recipe   # a notebook stays on one worker


def test_ci_runs_make_test():
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[-1].strip() == "make test"


def test_every_make_command_in_the_readme_exists():
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text() +
                             (ROOT / "lab.mk").read_text(), re.M))
    readme = (ROOT / "README.md").read_text()
    shown = set(re.findall(r"(?:`|^)make ([a-z][a-z-]*)", readme, re.M))
    assert shown and shown <= targets, f"README shows unknown targets: {shown - targets}"


def test_one_validate_path_named_the_same_everywhere():
    readme = (ROOT / "README.md").read_text()
    students = readme.split("## For students", 1)[1].split("\n## ", 1)[0]
    assert "dltrain-validate" in students and "grader validate" not in students
    lab = (ROOT / "lab.mk").read_text()
    assert "dltrain-validate" in lab
    for path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        text = path.read_text()
        assert "grader validate" not in text, f"{path.name} tells students to use the grader"
    assert "dltrain-validate 00_inputs/00_inputs.ipynb" in \
        (ROOT / "solutions" / "00_inputs" / "00_inputs.ipynb").read_text()
