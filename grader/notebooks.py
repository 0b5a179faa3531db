"""Reading notebooks and telling their cells apart (answer, test, setup, other).

Vocabulary used throughout the grader:

answer cell
    an nbgrader "autograded answer" cell (``solution: true``, ``grade: false``): the student's code.
test cell
    an nbgrader "autograder tests" cell (``grade: true``) with points: one graded exercise.
setup cell
    a code cell tagged ``setup`` (imports, constants); run before the answer cells when the grader
    builds the reference solution outside the kernel.
hidden region
    the lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` of a test cell.
feedback-only cell
    a markdown cell tagged ``feedback-only`` (a question's explanation, the model answer to a
    "Try it"): never released to students, shown in their feedback page once graded.
question
    an answer cell whose grade id starts with ``q_``: it assigns the answer variable of that name
    instead of defining a function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
KERNEL_NAME = "python3"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL_NAME}


class UnreadableNotebook(Exception):
    """A file that is not a notebook we can grade; the message is the reason, for the student."""


def read_notebook(path: Path) -> NotebookNode:
    """Read and validate a notebook without ever writing to it.

    Raises
    ------
    UnreadableNotebook
        With a one-line reason (empty file, invalid JSON, not a notebook, too old a format).
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableNotebook(f"cannot read the file: {exc.strerror}") from None
    return parse_notebook(raw)


def parse_notebook(raw: bytes) -> NotebookNode:
    """Parse and validate a notebook's bytes (see :func:`read_notebook`)."""
    if not raw.strip():
        raise UnreadableNotebook("the notebook file is empty")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UnreadableNotebook("the notebook file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UnreadableNotebook(f"the notebook file is not valid JSON (line {exc.lineno}, "
                                 f"column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict) or "cells" not in data or not isinstance(data["cells"], list):
        raise UnreadableNotebook("the file is JSON but not a Jupyter notebook (no list of cells)")
    if data.get("nbformat") != 4:
        raise UnreadableNotebook(f"unsupported notebook format {data.get('nbformat')!r} "
                                 "(Jupyter's current format 4 is expected)")
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:  # nbformat raises several types for malformed notebooks
        raise UnreadableNotebook(f"the notebook is malformed: {str(exc).splitlines()[0]}") from None
    for cell in nb.cells:
        if not isinstance(cell.get("source", ""), str):
            raise UnreadableNotebook("a cell's source is not text")
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise UnreadableNotebook(f"unknown cell type {cell.get('cell_type')!r}")
    return nb


def nbgrader_meta(cell: NotebookNode) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: NotebookNode) -> str | None:
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


def is_answer_cell(cell: NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("solution")) and not meta.get("grade") and cell.cell_type == "code"


def is_test_cell(cell: NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def is_setup_cell(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and "setup" in cell.get("metadata", {}).get("tags", [])


FEEDBACK_ONLY_TAG = "feedback-only"


def is_feedback_only(cell: NotebookNode) -> bool:
    return FEEDBACK_ONLY_TAG in (cell.get("metadata", {}).get("tags") or [])


def is_question_cell(cell: NotebookNode) -> bool:
    return is_answer_cell(cell) and (grade_id(cell) or "").startswith("q_")


def without_feedback_only(nb: NotebookNode) -> NotebookNode:
    """The notebook without its feedback-only cells (what students may see before grading)."""
    nb.cells = [c for c in nb.cells if not is_feedback_only(c)]
    return nb


def points(cell: NotebookNode) -> float:
    return float(nbgrader_meta(cell).get("points", 0) or 0)


class MarkerError(ValueError):
    """Solution or hidden-test markers that do not pair up (nested, unterminated, stray end)."""


def split_regions(source: str, begin: str, end: str) -> tuple[str, str]:
    """(the lines outside the marked regions, the lines inside them), as nbgrader reads them.

    A line containing ``begin`` opens a region and a line containing ``end`` closes it; the
    marker lines themselves belong to neither part. A cell may hold several regions.

    Raises
    ------
    MarkerError
        For a region opened inside another, an end without a begin, or a begin never closed
        (nbgrader refuses the same notebooks).
    """
    outside, inside = [], []
    opened_at = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        if begin in line:
            if opened_at is not None:
                raise MarkerError(f"line {number}: {begin!r} inside the region opened at line "
                                  f"{opened_at}")
            opened_at = number
        elif end in line:
            if opened_at is None:
                raise MarkerError(f"line {number}: {end!r} without a {begin!r} before it")
            opened_at = None
        elif opened_at is not None:
            inside.append(line)
        else:
            outside.append(line)
    if opened_at is not None:
        raise MarkerError(f"line {opened_at}: {begin!r} is never closed by {end!r}")
    return "".join(outside), "".join(inside)


_HIDDEN = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
_SOLUTION = ("BEGIN SOLUTION", "END SOLUTION")


def hidden_region(source: str) -> str:
    """The hidden tests of a test cell's source (empty when it has none)."""
    return split_regions(source, *_HIDDEN)[1]


def without_hidden_region(source: str) -> str:
    """A test cell's source as the student sees it (hidden tests removed)."""
    return split_regions(source, *_HIDDEN)[0].rstrip() + "\n"


def solution_region(source: str) -> str:
    """The solution lines of an answer cell (empty when it has none)."""
    return split_regions(source, *_SOLUTION)[1]


@dataclass(frozen=True)
class Exercise:
    """A graded test cell of an assignment."""

    grade_id: str
    points: float
    title: str


def exercises(source_nb: NotebookNode) -> list[Exercise]:
    """The graded test cells of a source notebook, in order, with a short title each.

    The title is the first line of the test cell's docstring or comment, else its grade id.
    """
    found = []
    for cell in source_nb.cells:
        if is_test_cell(cell) and points(cell) > 0:
            gid = grade_id(cell)
            found.append(Exercise(gid, points(cell), _title(cell.source, gid)))
    return found


def _title(source: str, fallback: str) -> str:
    for line in source.splitlines():
        text = line.strip().strip('"').strip("'").lstrip("#").strip()
        if text:
            return text[:100]
    return fallback


def blank_notebook_like(nb: NotebookNode) -> NotebookNode:
    """A copy with outputs and execution counts cleared (what we commit and release)."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.get("metadata", {}).pop("execution", None)
    return nb


def write_notebook(nb: NotebookNode, path: Path) -> None:
    """Write in the canonical form used across the repository (stable, diff-friendly)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb, version=4)
    Path(path).write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
