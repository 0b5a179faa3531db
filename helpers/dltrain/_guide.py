"""The machinery of :mod:`dltrain.guide` (importing this module changes nothing).

See :mod:`dltrain.guide` for what it does. :class:`explained_errors` is used by
:mod:`dltrain.widgets` for its callbacks; :func:`stub_message` and :func:`exercise_labels` by the
course's release, which writes the stubs students see.
"""

from __future__ import annotations

import ast
import inspect
import json
import linecache
import os
import re
import sys
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

__all__ = [
    "CODE_STUB",
    "NotebookMap",
    "explained_errors",
    "exercise_labels",
    "install",
    "load_ipython_extension",
    "stub_message",
]

STUB_INSTRUCTION = "replace this line with your code"
"""What the released stub tells the student to do (part of every stub's message)."""

CODE_STUB = f'# YOUR CODE HERE\nraise NotImplementedError("{STUB_INSTRUCTION}")'
"""The stub that replaces a solution (nbgrader's ``ClearSolutions.code_stub``); the release then
names the exercise in each stub's message (:func:`stub_message`)."""

_STUB_PATTERN = re.compile(r"replace this line with your|YOUR CODE HERE")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_NUMBERED = re.compile(r"\b(Exercise|Question)\s+(\d+)\b")


def stub_message(label: str | None, name: str, question: bool = False) -> str:
    """The message of the stub that stands for an exercise's solution.

    Parameters
    ----------
    label : str or None
        ``"Exercise 3"``, from the heading above the answer cell, or None.
    name : str
        The function (or, for a question, the answer variable) the cell defines.
    question : bool
        A conceptual question: the cell assigns ``name`` instead of defining a function.

    Returns
    -------
    str
        E.g. ``"Exercise 3 (standardize_splits): replace this line with your code"``.
    """
    who = f"{label} ({name})" if label else name
    if question:
        return f"{who}: replace this line with {name} = <your answer>"
    return f"{who}: {STUB_INSTRUCTION}"


# --------------------------------------------------------------------------- the notebook's map


@dataclass(frozen=True)
class Cell:
    """One cell of the notebook, as far as guidance needs it."""

    number: int | None
    """JupyterLab's number: the 1-based position among all cells (None: not in the saved file)."""
    kind: str
    """``markdown``, ``setup``, ``answer``, ``question``, ``test`` or ``code``."""
    source: str
    cell_id: str | None = None
    grade_id: str | None = None
    section: str | None = None
    """The text of the nearest heading above the cell."""
    label: str | None = None
    """``"Exercise 3"`` for an answer cell under such a heading."""
    defines: frozenset[str] = frozenset()
    uses: frozenset[str] = frozenset()
    functions: tuple[str, ...] = ()
    """Functions the cell defines at top level, in order."""

    @property
    def name(self) -> str:
        """What an answer cell is called: its first function (or its answer variable)."""
        if self.kind == "question":
            return self.grade_id or "?"
        return self.functions[0] if self.functions else (self.grade_id or "?")

    @property
    def title(self) -> str:
        """``Exercise 3 (standardize_splits)``, or the name alone."""
        return f"{self.label} ({self.name})" if self.label else f"`{self.name}`"

    def where(self) -> str:
        """``cell 21, under “4. Experiment: ...”`` (what a student can find on the page)."""
        parts = []
        if self.number is not None:
            parts.append(f"cell {self.number}")
        if self.section and self.kind not in ("answer", "question"):
            parts.append(f"under “{self.section}”")
        return ", ".join(parts) or "a cell above"


def _nbgrader(cell: Mapping) -> Mapping:
    meta = (cell.get("metadata") or {}).get("nbgrader") or {}
    return meta if isinstance(meta, Mapping) else {}


def _source(cell: Mapping) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _kind(cell: Mapping) -> str:
    if cell.get("cell_type") != "code":
        return "markdown" if cell.get("cell_type") == "markdown" else "raw"
    meta = _nbgrader(cell)
    gid = meta.get("grade_id") or ""
    if meta.get("solution") and not meta.get("grade"):
        return "question" if str(gid).startswith("q_") else "answer"
    if meta.get("grade") and not meta.get("solution"):
        return "test"
    if "setup" in ((cell.get("metadata") or {}).get("tags") or []):
        return "setup"
    return "code"


class _TopLevelNames(ast.NodeVisitor):
    """Names a cell binds in the notebook's namespace (not those local to its functions)."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.functions: list[str] = []

    def visit_FunctionDef(self, node) -> None:
        self.names.add(node.name)
        self.functions.append(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node) -> None:
        self.names.add(node.name)

    def _local_scope(self, node) -> None:
        pass

    visit_Lambda = visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = \
        _local_scope

    def visit_Name(self, node) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.names.add(node.id)

    def visit_Import(self, node) -> None:
        for alias in node.names:
            self.names.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.names.add(alias.asname or alias.name)

    def visit_ExceptHandler(self, node) -> None:
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)


def _bound(statements: Iterable[ast.AST]) -> set[str]:
    visitor = _TopLevelNames()
    for statement in statements:
        visitor.visit(statement)
    return visitor.names


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _free_names(tree: ast.AST) -> set[str]:
    """Names read that are not local to the function (or comprehension) reading them."""
    free: set[str] = set()

    def visit(node: ast.AST, local: frozenset[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
            params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
            # defaults and decorators are evaluated where the function is defined
            for outer in (*args.defaults, *(d for d in args.kw_defaults if d is not None),
                          *getattr(node, "decorator_list", ())):
                visit(outer, local)
            body = node.body if isinstance(node.body, list) else [node.body]
            inner = local | params | _bound(body)
            for statement in body:
                visit(statement, frozenset(inner))
            return
        if isinstance(node, _COMPREHENSIONS):
            targets = {n.id for g in node.generators for n in ast.walk(g.target)
                       if isinstance(n, ast.Name)}
            inner = frozenset(local | targets)
            for child in ast.iter_child_nodes(node):
                visit(child, inner)
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
            free.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child, local)

    visit(tree, frozenset())
    return free


def _parse(source: str) -> tuple[frozenset[str], frozenset[str], tuple[str, ...]]:
    """(names bound at top level, names read from the notebook's namespace, functions
    defined) of a cell's code."""
    # IPython's magics and shell escapes are not Python
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return frozenset(), frozenset(), ()
    visitor = _TopLevelNames()
    for statement in tree.body:
        visitor.visit(statement)
    return frozenset(visitor.names), frozenset(_free_names(tree)), tuple(visitor.functions)


def _cells(raw_cells: Iterable[Mapping]) -> list[Cell]:
    cells, section, heading_label, label_used = [], None, None, True
    for number, raw in enumerate(raw_cells, start=1):
        kind, source = _kind(raw), _source(raw)
        if kind == "markdown":
            for line in source.splitlines():
                match = _HEADING.match(line)
                if match:
                    section = match.group(1).strip()
                    numbered = _NUMBERED.search(section)
                    heading_label = f"{numbered.group(1)} {numbered.group(2)}" if numbered \
                        else None
                    label_used = False
        label = None
        if kind in ("answer", "question") and heading_label and not label_used:
            label, label_used = heading_label, True
        defines, uses, functions = _parse(source) if raw.get("cell_type") == "code" else \
            (frozenset(), frozenset(), ())
        gid = _nbgrader(raw).get("grade_id")
        cells.append(Cell(number=number, kind=kind, source=source, cell_id=raw.get("id"),
                          grade_id=gid if isinstance(gid, str) else None, section=section,
                          label=label, defines=defines, uses=uses, functions=functions))
    return cells


def exercise_labels(raw_cells: Iterable[Mapping]) -> dict[str, str]:
    """grade id -> ``"Exercise N"`` for each answer cell under an ``Exercise N`` heading.

    Parameters
    ----------
    raw_cells : iterable of dict
        The notebook's cells (nbformat nodes or the JSON's dicts).

    Returns
    -------
    dict of str to str
        Only answer cells with a numbered heading above them (and no other answer cell between
        the heading and them) appear.
    """
    return {c.grade_id: c.label for c in _cells(raw_cells)
            if c.kind in ("answer", "question") and c.label and c.grade_id}


class NotebookMap:
    """The cells of a notebook, what each defines and uses, and which exercises each needs.

    Parameters
    ----------
    raw_cells : iterable of dict
        The notebook's cells (nbformat nodes or the JSON's dicts).
    """

    def __init__(self, raw_cells: Iterable[Mapping]) -> None:
        self.cells = _cells(raw_cells)
        self._answers: dict[str, Cell] = {}
        for cell in self.cells:
            if cell.kind == "answer":
                for name in cell.functions:
                    self._answers.setdefault(name, cell)
            elif cell.kind == "question" and cell.grade_id:
                self._answers.setdefault(cell.grade_id, cell)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> NotebookMap:
        """Read a saved ``.ipynb`` (JSON; raises OSError or ValueError when it is not one)."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            raise ValueError(f"{path} is not a notebook")
        return cls(c for c in data["cells"] if isinstance(c, dict))

    def answer_cell(self, name: str) -> Cell | None:
        """The answer cell (exercise or question) that defines ``name``, if any."""
        return self._answers.get(name)

    def answers(self) -> list[Cell]:
        return [c for c in self.cells if c.kind in ("answer", "question")]

    def find(self, source: str | None = None, cell_id: str | None = None) -> Cell | None:
        """The cell with this id, else the one whose source is ``source``.

        The saved file may lag behind the page: a cell found by its id but edited since carries
        ``source`` (and what it defines and reads) with the saved cell's number and kind.
        """
        if cell_id:
            for cell in self.cells:
                if cell.cell_id == cell_id:
                    if source is None or cell.source.strip() == source.strip():
                        return cell
                    defines, uses, functions = _parse(source)
                    return replace(cell, source=source, defines=defines, uses=uses,
                                   functions=functions)
        if source is not None and source.strip():
            matches = [c for c in self.cells if c.source.strip() == source.strip()]
            if len(matches) == 1:
                return matches[0]
        return None

    def test_cell_of(self, answer: Cell) -> Cell | None:
        """The first test cell after an answer cell."""
        for cell in self.cells[answer.number:]:
            if cell.kind == "test":
                return cell
            if cell.kind in ("answer", "question"):
                return None
        return None

    def exercise_tested_by(self, test: Cell) -> Cell | None:
        """The answer cell a test cell checks: the nearest answer cell above it."""
        for cell in reversed(self.cells[: (test.number or 1) - 1]):
            if cell.kind in ("answer", "question"):
                return cell
        return None

    def definer(self, name: str, before: int | None = None, *, strict: bool = False
                ) -> Cell | None:
        """The last cell above ``before`` binding ``name`` (test cells only when nothing else
        does); when none above, the first below unless ``strict``."""
        found = [c for c in self.cells if name in c.defines and c.kind != "markdown"]
        above = [c for c in found if before is None or c.number < before]
        if not above:
            return None if strict or not found else found[0]
        not_tests = [c for c in above if c.kind != "test"]
        return (not_tests or above)[-1]

    def prerequisites(self, cell: Cell) -> list[Cell]:
        """The cells ``cell`` reads from, directly or through one another (the setup cell,
        answer cells, experiments above it), in notebook order; test cells are not among
        them."""
        found: dict[int, Cell] = {}
        todo = [cell]
        while todo:
            current = todo.pop()
            for name in sorted(current.uses - current.defines):
                source = self.answer_cell(name) or self.definer(name, current.number, strict=True)
                if source is None or source.kind == "test" or source is current or \
                        source is cell or source.number in found:
                    continue
                found[source.number] = source
                todo.append(source)
        return [found[k] for k in sorted(found)]

    def needs(self, cell: Cell) -> list[Cell]:
        """The answer cells (exercises) ``cell`` depends on, directly or through other cells."""
        return [c for c in self.prerequisites(cell) if c.kind in ("answer", "question")]


def _enumerate(cells: list[Cell]) -> str:
    """``Exercises 1–3``, ``Exercises 1, 2 and 4``, ``Exercise 2``, or their names."""
    numbers = [_NUMBERED.match(c.label or "") for c in cells]
    if numbers and all(numbers) and len({m.group(1) for m in numbers}) == 1:
        word = numbers[0].group(1)
        values = sorted({int(m.group(2)) for m in numbers})
        if len(values) == 1:
            return f"{word} {values[0]}"
        if values == list(range(values[0], values[-1] + 1)):
            return f"{word}s {values[0]}–{values[-1]}"
        return f"{word}s {', '.join(map(str, values[:-1]))} and {values[-1]}"
    titles = [c.title for c in cells]
    return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]


def _their(cells: list[Cell]) -> str:
    return "its cell" if len(cells) == 1 else "their cells"


# --------------------------------------------------------------------------- the kernel side


_NOTEBOOK_CACHE: dict[tuple[str, int], NotebookMap] = {}


def _notebook_path(shell) -> Path | None:
    candidates = []
    for value in (getattr(shell, "user_ns", {}).get("__session__"),
                  os.environ.get("JPY_SESSION_NAME")):
        if isinstance(value, str) and value.endswith(".ipynb"):
            candidates.append(Path(value))
    cwd = Path.cwd()
    candidates.append(cwd / f"{cwd.name}.ipynb")
    for path in candidates:
        if path.is_file():
            return path
    here = sorted(cwd.glob("*.ipynb"))
    return here[0] if len(here) == 1 else None


def _notebook(shell) -> NotebookMap | None:
    try:
        path = _notebook_path(shell)
        if path is None:
            return None
        key = (str(path), path.stat().st_mtime_ns)
        if key not in _NOTEBOOK_CACHE:
            _NOTEBOOK_CACHE.clear()
            _NOTEBOOK_CACHE[key] = NotebookMap.from_file(path)
        return _NOTEBOOK_CACHE[key]
    except (OSError, ValueError):
        return None


def _is_cell_file(shell, filename: str) -> bool:
    compiler = getattr(shell, "compile", None)
    known = getattr(compiler, "_filename_map", None)
    if isinstance(known, dict) and filename in known:
        return True
    return filename.startswith("<ipython-input-") or (
        f"{os.sep}ipykernel_" in filename and filename in linecache.cache)


def _entries(tb) -> list:
    out = []
    while tb is not None:
        out.append(tb)
        tb = tb.tb_next
    return out


def _hidden(tb) -> bool:
    try:
        return bool(tb.tb_frame.f_locals.get("__tracebackhide__", False))
    except Exception:  # a frame whose locals cannot be read is shown
        return False


def _without_hidden(tb, keep_first: bool):
    """A traceback without the frames that set ``__tracebackhide__`` (the raising one too)."""
    entries = _entries(tb)
    kept = [t for i, t in enumerate(entries) if (keep_first and i == 0) or not _hidden(t)]
    if len(kept) <= (1 if keep_first else 0):
        return tb  # nothing of the student's would be left: show everything
    new = None
    for t in reversed(kept):
        new = types.TracebackType(new, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return new


@dataclass
class _Context:
    """Where an error happened: the outermost notebook cell and the raising frame."""

    notebook: NotebookMap | None
    cell: Cell | None
    raised_in: str | None
    raised_in_cell_code: bool


_last_cell_id: list[str | None] = [None]


def _pre_run_cell(info) -> None:
    _last_cell_id[0] = getattr(info, "cell_id", None)


def _context(shell, tb, top_level: bool) -> _Context:
    notebook = _notebook(shell)
    entries = [t for t in _entries(tb) if _is_cell_file(shell, t.tb_frame.f_code.co_filename)]
    cell = None
    if entries:
        filename = entries[0].tb_frame.f_code.co_filename
        source = "".join(linecache.getlines(filename))
        cell_id = _last_cell_id[0] if top_level else None
        if notebook is not None:
            cell = notebook.find(source=source, cell_id=cell_id)
        if cell is None:
            defines, uses, functions = _parse(source)
            cell = Cell(number=None, kind="code", source=source, defines=defines, uses=uses,
                        functions=functions)
    last = _entries(tb)[-1] if tb is not None else None
    raised_in = last.tb_frame.f_code.co_name if last is not None else None
    in_cell = last is not None and _is_cell_file(shell, last.tb_frame.f_code.co_filename)
    return _Context(notebook, cell, raised_in, in_cell)


def _is_stub(function: Any) -> bool:
    """Whether a function still raises the released stub's NotImplementedError."""
    code = getattr(function, "__code__", None)
    if code is None or "NotImplementedError" not in code.co_names:
        return False
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return True
    return bool(_STUB_PATTERN.search(source))


def _states(shell, answers: list[Cell]) -> tuple[list[Cell], list[Cell]]:
    """(not solved yet, solved but not run) among answer cells, from the kernel's namespace
    (the saved file may lag behind the page, the namespace does not)."""
    namespace = getattr(shell, "user_ns", {})
    not_solved, not_run = [], []
    for cell in answers:
        names = cell.functions if cell.kind == "answer" else (cell.grade_id,)
        if any(n not in namespace for n in names):
            stub = "NotImplementedError" in cell.source and _STUB_PATTERN.search(cell.source)
            (not_solved if stub else not_run).append(cell)
        elif cell.kind == "answer" and any(_is_stub(namespace[n]) for n in names):
            not_solved.append(cell)
    return not_solved, not_run


def _needs_sentence(shell, needed: list[Cell], rerun: str, known: Cell | None = None) -> str:
    """"It uses your solutions to ...; not solved yet: ... Solve ... and run their cells first,
    then <rerun>." (``known``: the unsolved exercise the headline already names)."""
    not_solved, not_run = _states(shell, needed)
    state = []
    if len(needed) > 1 and len(not_solved) == len(needed):
        state.append("none of them is solved yet")
    elif [c for c in not_solved if c is not known]:
        state.append(f"not solved yet: {_enumerate(not_solved)}")
    if not_run:
        state.append(f"not run yet: {_enumerate(not_run)}")
    plural = "solutions" if len(needed) > 1 else "solution"
    names = ", ".join(c.name for c in needed)
    uses = "" if needed == [known] else (f"It uses your {plural} to {_enumerate(needed)} "
                                         f"({names})" + (f"; {'; '.join(state)}" if state else "")
                                         + ".\n")
    return uses + f"Solve {_enumerate(needed)} and run {_their(needed)} first, then {rerun}."


def _union(*lists: list[Cell]) -> list[Cell]:
    cells = {c.number: c for cells in lists for c in cells}
    return [cells[k] for k in sorted(cells)]


def _cells_phrase(cells: list[Cell], where: bool = False) -> str:
    """``cell 21`` (``where``: ``cell 21, under “...”,``), ``the setup cell (cell 3)`` or
    ``cells 21 and 23``."""
    if len(cells) == 1:
        cell = cells[0]
        if cell.kind == "setup":
            return f"the setup cell ({cell.where()})"
        return f"{cell.where()}," if where and cell.section else f"cell {cell.number}"
    numbers = [str(c.number) for c in cells]
    return f"cells {', '.join(numbers[:-1])} and {numbers[-1]}"


def _not_run(shell, here: Cell, prerequisites: list[Cell]) -> list[Cell]:
    """The prerequisite cells (not exercises) whose names the chain reads are missing from the
    kernel: they have not run, or stopped with an error."""
    namespace = getattr(shell, "user_ns", {})
    wanted = set(here.uses).union(*(c.uses for c in prerequisites))
    return [c for c in prerequisites if c.kind not in ("answer", "question")
            and any(n not in namespace for n in c.defines & wanted)]


def _cell_guidance(shell, notebook: NotebookMap, here: Cell, extra: tuple[Cell, ...] = (),
                   known: Cell | None = None) -> str | None:
    """What a cell that reads from earlier cells (an experiment, a widget) is waiting for."""
    prerequisites = notebook.prerequisites(here)
    needed = _union([c for c in prerequisites if c.kind in ("answer", "question")], list(extra))
    cells = _not_run(shell, here, prerequisites)
    if not needed:
        return f"Run {_cells_phrase(cells, where=True)} first, then this cell again." \
            if cells else None
    rerun = f"run {_cells_phrase(cells)} and this cell again" if cells else \
        "run this cell again"
    return _needs_sentence(shell, needed, rerun, known)


def _explain(shell, etype, value, tb, top_level: bool) -> list[str] | None:
    """The guidance for an error, as lines; None when IPython's traceback says it best."""
    if issubclass(etype, NotImplementedError):
        return _explain_unsolved(shell, value, tb, top_level)
    if issubclass(etype, NameError) and not issubclass(etype, UnboundLocalError):
        name = getattr(value, "name", None)
        if name:
            return _explain_undefined(shell, name, tb, top_level)
    return None


_EDIT_STUB = "replace the line `raise NotImplementedError(...)`"


def _explain_unsolved(shell, value, tb, top_level: bool) -> list[str] | None:
    ctx = _context(shell, tb, top_level)
    notebook, here = ctx.notebook, ctx.cell
    if not ctx.raised_in_cell_code:
        return None  # raised by a library, not by a stub
    if ctx.raised_in == "<module>":
        # a question's stub, at the top level of its answer cell
        if here is not None and here.kind == "question":
            return [f"NotImplementedError: {here.title} is not answered yet.",
                    f"In this cell, {_EDIT_STUB} with `{here.name} = ...` (your answer), then "
                    f"run the cell."]
        return None
    answer = notebook.answer_cell(ctx.raised_in) if notebook is not None else None
    if answer is None:
        if not _STUB_PATTERN.search(str(value)):
            return None
        return [f"NotImplementedError: `{ctx.raised_in}` is not solved yet.",
                f"In its cell, {_EDIT_STUB} with your code and run that cell, then run this "
                f"cell again."]
    simple = [f"NotImplementedError: {answer.title} is not solved yet.",
              f"In {answer.where()}, {_EDIT_STUB} with your code and run that cell, then run "
              f"this cell again."]
    if here is None or here.kind in ("answer", "question"):
        return simple
    if here.kind == "test" and notebook.exercise_tested_by(here) is answer:
        return simple
    return [f"NotImplementedError: this cell needs {answer.title}, which is not solved yet.",
            _cell_guidance(shell, notebook, here, (answer,), known=answer)]


def _explain_undefined(shell, name: str, tb, top_level: bool) -> list[str] | None:
    ctx = _context(shell, tb, top_level)
    notebook, here = ctx.notebook, ctx.cell
    if notebook is None:
        return None
    headline = f"NameError: name '{name}' is not defined"
    answer = notebook.answer_cell(name)
    source = answer or notebook.definer(name, here.number if here is not None else None)
    if source is None or source is here or source.kind == "markdown":
        return None  # a name no cell defines: a typo, most likely
    if source.kind == "question":
        what = f"`{name}` is your answer to {source.title}, in {source.where()}"
        todo = "answer it there and run that cell first"
    elif source.kind == "answer":
        what = f"`{name}` is defined by {source.label or 'the exercise'} ({source.where()})"
        todo = "solve it and run that cell first"
    elif source.kind == "setup":
        what = f"`{name}` comes from the setup cell ({source.where()})"
        todo = "run it first"
    elif source.kind == "test":
        what = f"`{name}` is set by the test in {source.where()}"
        todo = "run that cell first"
    else:
        what = f"`{name}` is made by {source.where()}, which has not run (or stopped with an " \
               f"error)"
        todo = "run that cell first"
    if here is None or here.kind != "code" or source.kind in ("setup", "test"):
        return [headline, f"{what}: {todo}, then run this cell again."]
    guidance = _cell_guidance(shell, notebook, here, (answer,) if answer else ())
    if guidance is None:
        return [headline, f"{what}: {todo}, then run this cell again."]
    return [headline, f"{what}.", guidance]


_RED, _RESET = "\x1b[0;31m", "\x1b[0m"


def _render(lines: list[str]) -> list[str]:
    """IPython's structured traceback: the headline coloured as IPython colours exceptions."""
    head, _, rest = lines[0].partition(":")
    first = f"{_RED}{head}{_RESET}:{rest}" if rest else f"{_RED}{head}{_RESET}"
    return [first, *lines[1:]]


def _show(shell, etype, value, tb, tb_offset, top_level: bool) -> None:
    try:
        lines = _explain(shell, etype, value, tb, top_level)
    except Exception:  # never let guidance hide the real error
        lines = None
    if lines:
        sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # for %debug
        shell._showtraceback(etype, value, _render(lines))
        return
    shell.showtraceback((etype, value, _without_hidden(tb, keep_first=top_level)),
                        tb_offset=tb_offset)


def _handler(shell, etype, value, tb, tb_offset=None):
    # IPython calls this for an exception a cell raised (run_code), instead of showtraceback
    _show(shell, etype, value, tb, tb_offset, top_level=True)
    return None


class explained_errors:
    """Context manager for callbacks (a widget's redraw): an error inside is shown with the
    same guidance as a cell's and not raised further. Outside IPython it changes nothing."""

    def __enter__(self):
        return self

    def __exit__(self, etype, value, tb):
        __tracebackhide__ = True  # noqa: F841  (read by IPython and by _without_hidden)
        if etype is None or not issubclass(etype, Exception):
            return False
        shell = _shell()
        if shell is None or not hasattr(shell, "_showtraceback"):
            return False
        _show(shell, etype, value, tb, 0, top_level=False)
        return True


def _shell():
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def install(shell=None) -> bool:
    """Register the guidance in an IPython shell (the running one by default).

    Returns
    -------
    bool
        True when installed (or already), False outside IPython.
    """
    shell = shell or _shell()
    if shell is None:
        return False
    import numpy as np

    np.set_printoptions(legacy="1.25")  # 0.25, not np.float64(0.25)
    shell.set_custom_exc((Exception,), _handler)
    events = getattr(shell, "events", None)
    if events is not None and _pre_run_cell not in events.callbacks.get("pre_run_cell", []):
        events.register("pre_run_cell", _pre_run_cell)
    return True


def load_ipython_extension(shell) -> None:
    """``%load_ext dltrain.guide`` does what importing it in a kernel does."""
    install(shell)
