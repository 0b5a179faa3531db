"""pyproject.toml (pip) and environment.yml (conda, Binder) describe the same environment."""

import re
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent

# conda-forge spells a few packages differently from PyPI
CONDA_NAMES = {"jupyter_client": "jupyter_client"}


def _pip_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return dict(_split(r) for r in reqs)


def _conda_requirements() -> dict[str, str]:
    deps = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.-]+)\s*([<>=!].*)?$", line)
        if m and m.group(1) not in ("python", "pip", "conda-forge"):
            deps[m.group(1)] = (m.group(2) or "").strip()
    return deps


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", req)
    return m.group(1), m.group(2).strip()


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_same_packages_and_bounds():
    pip = {_normal(k): v for k, v in _pip_requirements().items()}
    conda = {_normal(CONDA_NAMES.get(k, k)): v for k, v in _conda_requirements().items()}
    assert set(pip) == set(conda), (
        f"only in pyproject.toml: {sorted(set(pip) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(pip))}")
    differ = {k: (pip[k], conda[k]) for k in pip if pip[k].replace(" ", "") !=
              conda[k].replace(" ", "")}
    assert not differ, f"version bounds differ (pyproject, environment.yml): {differ}"


def test_python_versions_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    assert re.search(r"^\s*-\s+python>=3\.10\s*$", (ROOT / "environment.yml").read_text(), re.M)


def test_environment_installs_the_course_package():
    assert re.search(r"--editable \.", (ROOT / "environment.yml").read_text())
