"""The course's grader: release student notebooks, validate, autograde, report.

Instructor side only; never shipped to students. Run it as ``python -m grader``.
"""

import sys
from pathlib import Path

# nbformat imports jsonschema, which imports rfc3987_syntax when it is installed (JupyterLab's
# dependencies install it) to check the "iri" format, which no notebook schema uses; building its
# grammar costs about 1.4 s of CPU in every grader process (the command, each worker), more than
# the rest of the grader's imports together. Without it jsonschema simply skips that format.
sys.modules.setdefault("rfc3987_syntax", None)

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS_DIR = REPO_ROOT / "solutions"
RELEASE_DIR = REPO_ROOT / "notebooks"
CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"


def assignment_ids() -> list[str]:
    """The assignments of the course: the folders of ``solutions/`` holding ``<aid>.ipynb``."""
    return sorted(p.name for p in SOLUTIONS_DIR.iterdir()
                  if p.is_dir() and (p / f"{p.name}.ipynb").is_file())
