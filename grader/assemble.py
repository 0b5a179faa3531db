"""Build the notebook that is actually executed for a submission.

The rule, simple enough to state in the feedback: *every cell the instructor wrote is restored from
``solutions/``, except the answer cells, which come from the student; cells the student added are
kept after the instructor cell they followed.* So edited, deleted, unlocked, duplicated or
markdown-turned test cells change nothing, and the hidden tests are put back where they belong.

Cells are recognised by nbgrader's ``grade_id`` when they have one, else by the notebook cell id,
else by their exact source in the released notebook.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import nbformat
from nbformat import NotebookNode

import dltrain.grading as protocol

from .notebooks import (
    KERNEL_NAME,
    KERNELSPEC,
    grade_id,
    hidden_region,
    is_answer_cell,
    is_test_cell,
    without_hidden_region,
)

ROLE_ANSWER, ROLE_TEST, ROLE_HIDDEN, ROLE_INSTRUCTOR, ROLE_ADDED, ROLE_EXPERIMENT = (
    "answer", "test", "hidden", "instructor", "added", "experiment")
EXPERIMENT_TAG = "experiment"


class NotGradable(Exception):
    """The submission cannot be graded at all; the message is the reason shown to everyone."""


@dataclass
class Assembled:
    """The notebook to execute and what each of its cells is."""

    nb: NotebookNode
    roles: list[str]
    """Per cell: answer, test (the visible part of a test cell), hidden (its hidden tests, run
    as a cell of their own right after), instructor, experiment or added."""
    grade_ids: list[str | None]
    notes: list[str] = field(default_factory=list)
    """Things the student should know about how their notebook was read."""
    answered: dict[str, bool] = field(default_factory=dict)
    """grade_id of each answer cell -> whether the student's version differs from the stub."""

    def experiment_cells(self) -> frozenset[int]:
        """Indices of the instructor's experiment cells (tag ``experiment``)."""
        return frozenset(i for i, role in enumerate(self.roles) if role == ROLE_EXPERIMENT)

    def hidden_cells(self) -> frozenset[int]:
        """Indices of the cells that run hidden tests."""
        return frozenset(i for i, role in enumerate(self.roles) if role == ROLE_HIDDEN)


def hidden_cell_source(region: str) -> str:
    """The hidden tests as the kernel runs them: the body of a function run once and dropped.

    Their helper functions and cases then live only while the cell runs, not in the student's
    namespace; the cell's source is dropped from the kernel's line cache and stays out of the
    history (the cell runs with ``store_history=False``); an error is reported, not raised, so
    no traceback keeps the region's code (see :func:`dltrain.grading.run_hidden_tests`). Code
    that hooks the interpreter can still watch them run; the salted seeds make what it sees
    worthless in the next grading run.
    """
    body = "".join(f"    {line}" if line.strip() else line
                   for line in region.splitlines(keepends=True))
    if not body.strip():
        body = "    pass\n"
    if not body.endswith("\n"):
        body += "\n"
    return (f"def {protocol.HIDDEN_FUNCTION}():\n{body}\n\n"
            "__import__('dltrain.grading').grading.run_hidden_tests(globals())\n")


def check_kernelspec(student: NotebookNode) -> str:
    """Return a note when the kernelspec is not ours; raise NotGradable when not Python."""
    spec = student.metadata.get("kernelspec") or {}
    if not isinstance(spec, dict):
        spec = {}
    language = str(spec.get("language") or student.metadata.get("language_info", {}).get(
        "name", "python")).lower()
    if language != "python":
        raise NotGradable(f"the notebook's kernel is for {language!r}, not Python "
                          f"(kernelspec {spec.get('name')!r}); open it in JupyterLab, choose the "
                          "'Python 3 (ipykernel)' kernel, save and submit again")
    name = spec.get("name")
    if name and name != KERNEL_NAME:
        return f"The notebook asked for the kernel {name!r}; it was graded with the course's " \
               f"Python 3 kernel."
    return ""


def assemble(student: NotebookNode, source: NotebookNode, release: NotebookNode,
             aid: str, other_sources: dict[str, NotebookNode] | None = None) -> Assembled:
    """Merge a submission into the instructor notebook (see the module docstring).

    Parameters
    ----------
    student : NotebookNode
        The submitted notebook (not modified).
    source : NotebookNode
        The instructor notebook from ``solutions/`` (with solutions and hidden tests).
    release : NotebookNode
        The released student notebook (stubs), used for unanswered cells and to recognise cells.
    aid : str
        Assignment id, for messages.
    other_sources : dict, optional
        Other assignments' instructor notebooks, to recognise a notebook of the wrong assignment.

    Raises
    ------
    NotGradable
        When the notebook is another assignment's or holds none of this one's graded cells.
    """
    notes = []
    kernel_note = check_kernelspec(student)
    if kernel_note:
        notes.append(kernel_note)

    # Graded cells only: every notebook shares read-only ids such as "setup".
    source_ids = {grade_id(c) for c in source.cells if _graded(c)}
    student_ids = [grade_id(c) for c in student.cells if _graded(c)]
    if student_ids and not source_ids.intersection(student_ids):
        owner = _which_assignment(set(student_ids), other_sources or {})
        if owner:
            raise NotGradable(f"this is the notebook of {owner}, not of {aid}")
        raise NotGradable(f"none of the notebook's graded cells belong to {aid}")

    cell_by_id = {c.get("id"): c for c in source.cells if c.get("id")}
    release_by_source = {}
    for rc, sc in zip(release.cells, source.cells):
        release_by_source.setdefault(rc.source, sc)
    stub_by_gid = {grade_id(c): c for c in release.cells if is_answer_cell(c)}

    answers: dict[str, NotebookNode] = {}
    after: dict[int, list[NotebookNode]] = {}   # source cell position -> student cells after it
    position = {id(c): i for i, c in enumerate(source.cells)}
    seen: set[int] = set()
    anchor = -1
    for cell in student.cells:
        gid = grade_id(cell)
        target = _recognise(cell, gid, source, cell_by_id, release_by_source)
        if target is not None and is_answer_cell(target):
            if gid in answers:
                notes.append(f"The answer cell {gid!r} appears more than once; the copies run "
                             "in order, after the first.")
                after.setdefault(anchor, []).append(_as_added(cell))
                continue
            answers[gid] = cell
            anchor = position[id(target)]
            seen.add(anchor)
            continue
        if target is not None:
            where = position[id(target)]
            if where in seen:
                if is_test_cell(target):
                    notes.append(f"A copy of the test cell {grade_id(target)!r} was ignored; "
                                 "tests run once, from the instructor's version.")
                continue
            seen.add(where)
            anchor = where
            if cell.cell_type != target.cell_type and is_test_cell(target):
                notes.append(f"The test cell {grade_id(target)!r} had been turned into a "
                             f"{cell.cell_type} cell; the original was restored.")
            continue
        if gid:
            notes.append(f"A cell claims the unknown grade id {gid!r}; it runs as your own code.")
        after.setdefault(anchor, []).append(_as_added(cell))

    missing_tests = [grade_id(c) for i, c in enumerate(source.cells)
                     if is_test_cell(c) and i not in seen]
    if missing_tests:
        notes.append("Test cells missing from the notebook were restored: "
                     + ", ".join(repr(g) for g in missing_tests) + ".")

    cells, roles, gids, answered = [], [], [], {}
    for cell in after.get(-1, []):
        cells.append(cell)
        roles.append(ROLE_ADDED)
        gids.append(None)
    for i, src in enumerate(source.cells):
        gid = grade_id(src)
        if is_answer_cell(src):
            chosen = answers.get(gid)
            stub = stub_by_gid.get(gid)
            if chosen is None:
                notes.append(f"The answer cell {gid!r} was missing; it was graded as unanswered.")
                chosen = stub if stub is not None else src
            answered[gid] = stub is None or chosen.source.strip() != stub.source.strip()
            new = nbformat.v4.new_code_cell(chosen.source)
            new.metadata = copy.deepcopy(src.metadata)
            cells.append(new)
            roles.append(ROLE_ANSWER)
        elif is_test_cell(src):
            # The visible tests and the hidden tests run as two cells, so that the hidden tests
            # (which decide the points and name known mistakes) run even when a visible one fails.
            visible = nbformat.v4.new_code_cell(without_hidden_region(src.source))
            visible.metadata = copy.deepcopy(src.metadata)
            cells.append(visible)
            roles.append(ROLE_TEST)
            gids.append(gid)
            hidden = nbformat.v4.new_code_cell(hidden_cell_source(hidden_region(src.source)))
            cells.append(hidden)
            roles.append(ROLE_HIDDEN)
        else:
            new = copy.deepcopy(src)
            if new.cell_type == "code":
                new.outputs = []
                new.execution_count = None
            cells.append(new)
            if EXPERIMENT_TAG in src.get("metadata", {}).get("tags", []):
                roles.append(ROLE_EXPERIMENT)
            else:
                roles.append(ROLE_INSTRUCTOR)
        gids.append(gid)
        for extra in after.get(i, []):
            cells.append(extra)
            roles.append(ROLE_ADDED)
            gids.append(None)

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    for k, cell in enumerate(cells):
        cell["id"] = f"cell-{k}"
    nb.cells = cells
    return Assembled(nb=nb, roles=roles, grade_ids=gids, notes=notes, answered=answered)


def _recognise(cell, gid, source, cell_by_id, release_by_source):
    """The instructor cell this student cell stands for, or None for a cell the student added."""
    if gid:
        for src in source.cells:
            if grade_id(src) == gid:
                return src
        return None
    src = cell_by_id.get(cell.get("id"))
    if src is not None and not grade_id(src):
        return src
    src = release_by_source.get(cell.source)
    if src is not None and not grade_id(src) and cell.source.strip():
        return src
    return None


def _as_added(cell: NotebookNode) -> NotebookNode:
    new = (nbformat.v4.new_code_cell if cell.cell_type == "code" else
           nbformat.v4.new_markdown_cell)(cell.source)
    return new


def _graded(cell: NotebookNode) -> bool:
    return bool(grade_id(cell)) and (is_answer_cell(cell) or is_test_cell(cell))


def _which_assignment(ids: set[str], others: dict[str, NotebookNode]) -> str:
    best, overlap = "", 0
    for aid, nb in others.items():
        n = len(ids.intersection(grade_id(c) for c in nb.cells if _graded(c)))
        if n > overlap:
            best, overlap = aid, n
    return best
