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

from .model import CellRole
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
    CellRole.ANSWER, CellRole.TEST, CellRole.HIDDEN, CellRole.INSTRUCTOR, CellRole.ADDED,
    CellRole.EXPERIMENT)
EXPERIMENT_TAG = "experiment"


class NotGradable(Exception):
    """The submission cannot be graded at all; the message is the reason shown to everyone."""


@dataclass
class Assembled:
    """The notebook to execute and what each of its cells is."""

    nb: NotebookNode
    roles: list[CellRole]
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

    Four passes: :func:`check_assignment` (is this notebook of this assignment at all?),
    :func:`recognise` (which instructor cell does each student cell stand for?), :func:`restore`
    (the instructor's cells in order, the student's answers and added cells in place), and
    :func:`split_tests` (each test cell becomes its visible part and its hidden tests; every cell
    gets its role).

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
    check_assignment(student, source, aid, other_sources or {})
    recognised = recognise(student, source, release)
    notes += recognised.notes
    restored = restore(recognised, source, release)
    notes += restored.notes
    nb, roles, gids = split_tests(restored)
    return Assembled(nb=nb, roles=roles, grade_ids=gids, notes=notes,
                     answered=restored.answered)


def check_assignment(student: NotebookNode, source: NotebookNode, aid: str,
                     other_sources: dict[str, NotebookNode]) -> None:
    """Raise NotGradable when the student's graded cells are all another assignment's."""
    # Graded cells only: every notebook shares read-only ids such as "setup".
    source_ids = {grade_id(c) for c in source.cells if _graded(c)}
    student_ids = [grade_id(c) for c in student.cells if _graded(c)]
    if student_ids and not source_ids.intersection(student_ids):
        owner = _which_assignment(set(student_ids), other_sources)
        if owner:
            raise NotGradable(f"this is the notebook of {owner}, not of {aid}")
        raise NotGradable(f"none of the notebook's graded cells belong to {aid}")


@dataclass
class Recognised:
    """Pass 1: the student's answers, the cells they added (by the instructor cell they follow),
    and which instructor cells were seen."""

    answers: dict[str, NotebookNode]
    after: dict[int, list[NotebookNode]]
    seen: set[int]
    notes: list[str]


def recognise(student: NotebookNode, source: NotebookNode,
              release: NotebookNode) -> Recognised:
    """Map every student cell to the instructor cell it stands for, or mark it as added."""
    cell_by_id = {c.get("id"): c for c in source.cells if c.get("id")}
    release_by_source = {}
    for rc, sc in zip(release.cells, source.cells):
        release_by_source.setdefault(rc.source, sc)
    position = {id(c): i for i, c in enumerate(source.cells)}
    out = Recognised(answers={}, after={}, seen=set(), notes=[])
    anchor = -1   # source position of the last instructor cell seen: added cells go after it
    for cell in student.cells:
        gid = grade_id(cell)
        target = _recognise(cell, gid, source, cell_by_id, release_by_source)
        if target is not None and is_answer_cell(target):
            if gid in out.answers:
                out.notes.append(f"The answer cell {gid!r} appears more than once; the copies "
                                 "run in order, after the first.")
                out.after.setdefault(anchor, []).append(_as_added(cell))
                continue
            out.answers[gid] = cell
            anchor = position[id(target)]
            out.seen.add(anchor)
            continue
        if target is not None:
            where = position[id(target)]
            if where in out.seen:
                if is_test_cell(target):
                    out.notes.append(f"A copy of the test cell {grade_id(target)!r} was "
                                     "ignored; tests run once, from the instructor's version.")
                continue
            out.seen.add(where)
            anchor = where
            if cell.cell_type != target.cell_type and is_test_cell(target):
                out.notes.append(f"The test cell {grade_id(target)!r} had been turned into a "
                                 f"{cell.cell_type} cell; the original was restored.")
            continue
        if gid:
            out.notes.append(f"A cell claims the unknown grade id {gid!r}; it runs as your own "
                             "code.")
        out.after.setdefault(anchor, []).append(_as_added(cell))
    missing_tests = [grade_id(c) for i, c in enumerate(source.cells)
                     if is_test_cell(c) and i not in out.seen]
    if missing_tests:
        out.notes.append("Test cells missing from the notebook were restored: "
                         + ", ".join(repr(g) for g in missing_tests) + ".")
    return out


@dataclass
class Restored:
    """Pass 2: the cells to run, in order, each with its kind before test cells are split."""

    cells: list[tuple[NotebookNode, CellRole, str | None]]
    answered: dict[str, bool]
    notes: list[str]


def restore(recognised: Recognised, source: NotebookNode, release: NotebookNode) -> Restored:
    """The instructor's cells from ``source``, the student's answers, added cells in place."""
    stub_by_gid = {grade_id(c): c for c in release.cells if is_answer_cell(c)}
    out = Restored(cells=[], answered={}, notes=[])
    for cell in recognised.after.get(-1, []):
        out.cells.append((cell, ROLE_ADDED, None))
    for i, src in enumerate(source.cells):
        gid = grade_id(src)
        if is_answer_cell(src):
            chosen = recognised.answers.get(gid)
            stub = stub_by_gid.get(gid)
            if chosen is None:
                out.notes.append(f"The answer cell {gid!r} was missing; it was graded as "
                                 "unanswered.")
                chosen = stub if stub is not None else src
            out.answered[gid] = stub is None or chosen.source.strip() != stub.source.strip()
            new = nbformat.v4.new_code_cell(chosen.source)
            new.metadata = copy.deepcopy(src.metadata)
            out.cells.append((new, ROLE_ANSWER, gid))
        elif is_test_cell(src):
            out.cells.append((src, ROLE_TEST, gid))
        else:
            new = copy.deepcopy(src)
            if new.cell_type == "code":
                new.outputs = []
                new.execution_count = None
            experiment = EXPERIMENT_TAG in src.get("metadata", {}).get("tags", [])
            out.cells.append((new, ROLE_EXPERIMENT if experiment else ROLE_INSTRUCTOR, gid))
        for extra in recognised.after.get(i, []):
            out.cells.append((extra, ROLE_ADDED, None))
    return out


def split_tests(restored: Restored) -> tuple[NotebookNode, list[CellRole], list[str | None]]:
    """Pass 3: each test cell becomes two cells, its visible tests and its hidden tests.

    They run as two cells so that the hidden tests (which decide the points and name known
    mistakes) run even when a visible one fails. Cells get stable ids ``cell-<k>``.
    """
    cells, roles, gids = [], [], []
    for cell, role, gid in restored.cells:
        if role == ROLE_TEST:
            visible = nbformat.v4.new_code_cell(without_hidden_region(cell.source))
            visible.metadata = copy.deepcopy(cell.metadata)
            hidden = nbformat.v4.new_code_cell(hidden_cell_source(hidden_region(cell.source)))
            cells += [visible, hidden]
            roles += [ROLE_TEST, ROLE_HIDDEN]
            gids += [gid, gid]
        else:
            cells.append(cell)
            roles.append(role)
            gids.append(gid)
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
    for k, cell in enumerate(cells):
        cell["id"] = f"cell-{k}"
    nb.cells = cells
    return nb, roles, gids


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
