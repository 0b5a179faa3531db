"""The course's grader: release student notebooks, validate, autograde, report.

Instructor side only; never shipped to students. Run it as ``python -m grader``.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"
RELEASE_DIR = REPO_ROOT / "notebooks"
CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"


def assignment_ids() -> list[str]:
    """The assignments of the course: the folders of ``solutions/`` holding ``<aid>.ipynb``."""
    return sorted(p.name for p in SOLUTIONS_DIR.iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").is_file())
