"""``python -m grader validate``: the student's validator (:mod:`dltrain.validate`), run from the
instructor's repository.

The same run and the same report as ``dltrain-validate``; here a note also names each test cell
that differs from the released notebook in ``notebooks/`` (grading uses the original).
"""

from __future__ import annotations

from pathlib import Path

from dltrain.validate import validate as run_and_report

from . import RELEASE_DIR, SOLUTIONS_DIR
from .execute import Limits


def validate(path: Path, limits: Limits | None = None, stream=None) -> int:
    """Execute the notebook at ``path`` (never modified) and report its test cells.

    Returns 0 when every test cell passes, 1 when one fails, errors or does not run, 2 when the
    notebook cannot be read.
    """
    path = Path(path)
    limits = limits or Limits(cell_timeout=120, notebook_timeout=900)
    return run_and_report(path, cell_timeout=limits.cell_timeout,
                          notebook_timeout=limits.notebook_timeout,
                          original=_released(path), stream=stream)


def _released(path: Path) -> Path | None:
    """The released notebook to compare test cells with (none for the release itself or an
    instructor notebook)."""
    aid = path.stem
    released = RELEASE_DIR / aid / f"{aid}.ipynb"
    if not released.is_file() or not path.is_file() or \
            path.resolve() == released.resolve() or \
            SOLUTIONS_DIR.resolve() in path.resolve().parents:
        return None
    return released
