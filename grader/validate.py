"""``python -m grader validate``: run a notebook top to bottom and say which tests fail.

Like ``nbgrader validate``, but the exit status tells the truth: 0 when every test cell passes,
1 when one fails, errors or does not run, 2 when the notebook cannot be run at all.
"""

from __future__ import annotations

import copy
import sys
import tempfile
from pathlib import Path

from . import RELEASE_DIR, SOLUTIONS_DIR
from .execute import STATUS_OK, Limits, plain_launch, run_notebook
from .notebooks import (
    UnreadableNotebook,
    grade_id,
    is_test_cell,
    read_notebook,
)


def validate(path: Path, limits: Limits | None = None, stream=None) -> int:
    """Execute the notebook at ``path`` (never modified) and report its test cells."""
    stream = stream or sys.stdout
    path = Path(path)
    try:
        nb = read_notebook(path)
    except UnreadableNotebook as exc:
        print(f"{path}: cannot validate: {exc}", file=stream)
        return 2
    _warn_edited_tests(nb, path, stream)
    limits = limits or Limits(cell_timeout=120, notebook_timeout=900)
    with tempfile.TemporaryDirectory(prefix="validate-") as tmp:
        launch = plain_launch(path.parent)
        launch.runtime_dir = Path(tmp)
        executed, runs, problem = run_notebook(copy.deepcopy(nb), path.parent.resolve(), launch,
                                               limits)
    failures, tests, unanswered = 0, 0, 0
    for index, cell in enumerate(executed.cells):
        if is_test_cell(cell) and runs[index].ename == "NotImplementedError":
            unanswered += 1
        if cell.cell_type == "code" and not is_test_cell(cell) and runs[index].ename and \
                runs[index].ename != "NotImplementedError":
            print(f"  warning: cell {index} raised {runs[index].ename}: "
                  f"{runs[index].evalue[:200]}", file=stream)
        if not is_test_cell(cell):
            continue
        tests += 1
        run = runs[index]
        if run.status == STATUS_OK:
            print(f"  \u2714 {grade_id(cell)}", file=stream)
            continue
        failures += 1
        detail = f"{run.ename}: {run.evalue}" if run.ename else (run.note or run.status)
        print(f"  \u2718 {grade_id(cell)}: {detail}", file=stream)
    if problem:
        print(f"Stopped early: {problem}", file=stream)
    if tests == 0:
        print(f"{path}: no test cells found (is this a course notebook?)", file=stream)
        return 1
    if failures:
        extra = f" ({unanswered} of them not answered yet: NotImplementedError)" \
            if unanswered else ""
        print(f"{path}: {failures} of {tests} test cell(s) failed{extra}.", file=stream)
        return 1
    print(f"{path}: all {tests} test cells passed. Ready to submit.", file=stream)
    return 0


def _warn_edited_tests(nb, path: Path, stream) -> None:
    aid = path.stem
    released = RELEASE_DIR / aid / f"{aid}.ipynb"
    if not released.is_file() or path.resolve() == released.resolve() or \
            SOLUTIONS_DIR.resolve() in path.resolve().parents:
        return
    original = {grade_id(c): c.source for c in read_notebook(released).cells if is_test_cell(c)}
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in original and cell.source != original[gid]:
            print(f"  note: the test cell {gid!r} was edited; grading uses the original.",
                  file=stream)
