"""Run a notebook of *trusted* code in this process, as a kernel would, and grade it.

For the course's own implementations only — the reference, the catalogue's known-wrong and
alternative-correct entries — never for a student's submission (those run in a sandboxed kernel,
:mod:`grader.execute`). Cell by cell, in one namespace, with the hidden tests collecting their
records exactly as the kernel side of :mod:`dltrain.grading` does; the records then go through
the same judging and scoring as a kernel run. A notebook without experiments takes about a second
instead of a sandboxed kernel's several, which lets the test suite and ``python -m grader check``
grade the whole catalogue in a few minutes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from nbformat import NotebookNode

import dltrain.grading as protocol

from .artifact import Cell, RunArtifact
from .assemble import ROLE_TEST, assemble
from .course import Course
from .execute import STATUS_ERROR, STATUS_SKIPPED
from .judge import JudgeOptions, judge
from .model import CellRun, Job, SubmissionResult

IN_PROCESS_SALT = "in-process"


class _Recorder:
    """The kernel side of the hidden tests, writing records to a list instead of publishing."""

    collect_garbage = False
    """No garbage collection after each hidden cell: it protects a student's kernel, not this
    process, where it would walk every object the grader holds (seconds per entry in a test
    session)."""

    def __init__(self, salt: int):
        self.salt = salt
        self.sink: list = []
        self.failure = ""

    def hidden_test(self, functions, cases, *, seed, name=None, run=None, check="allclose",
                    rtol=1e-6, atol=1e-9):
        record = protocol.collect_record(functions, cases, seed, name, run, salt=self.salt)
        self.sink.append(json.loads(json.dumps(record)))   # exactly what crosses the wire
        protocol.raise_on_failures(record)

    def hidden_cell_failed(self, text: str) -> None:
        self.failure = text

    def hidden_answer(self, answer, variable, *, name=None, check="allclose", rtol=1e-6,
                      atol=1e-9):
        self.hidden_test(protocol._Answer(answer, variable), protocol._ONE_CASE, seed=0,
                         name=name or variable)


@dataclass
class InProcessRun:
    """What :func:`run_cells` observed: per code cell, its run and its printed output."""

    runs: dict[int, CellRun]
    output: dict[int, str] = field(default_factory=dict)


def run_cells(nb: NotebookNode, salt: int, skip: Iterable[int] = ()) -> InProcessRun:
    """Execute the code cells of ``nb`` in order, in one fresh namespace.

    A cell that raises is recorded with its exception and the next cell runs, as when a kernel
    runs a notebook with errors allowed.
    """
    _quiet_plotting()
    from IPython.display import display

    skip = frozenset(skip)
    runs = {i: CellRun() for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    output: dict[int, str] = {}
    namespace: dict = {"__name__": "__main__", "display": display}
    recorder = _Recorder(salt)
    previous, protocol._SESSION = protocol._SESSION, recorder
    try:
        for index, run in runs.items():
            if index in skip:
                run.status = STATUS_SKIPPED
                continue
            recorder.sink, recorder.failure = run.records, ""
            buffer = io.StringIO()
            started = time.perf_counter()
            try:
                with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
                    exec(compile(_without_magics(nb.cells[index].source), f"<cell {index}>",
                                 "exec"), namespace)  # noqa: S102  (trusted course code only)
                run.reported_error = recorder.failure
                run.finish_ok()
            except Exception as exc:  # recorded like a kernel's error reply
                run.status = STATUS_ERROR
                run.ename, run.evalue = type(exc).__name__, str(exc)
            run.seconds = time.perf_counter() - started
            output[index] = buffer.getvalue()
    finally:
        protocol._SESSION = previous
        _close_figures()
    return InProcessRun(runs, output)


def _without_magics(source: str) -> str:
    # IPython magics and shell escapes mean nothing here; the course's cells do not rely on them.
    return "\n".join(line for line in source.splitlines()
                     if not line.lstrip().startswith(("%", "!"))) + "\n"


def _quiet_plotting() -> None:
    os.environ.setdefault("DLTRAIN_STATIC_WIDGETS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg", force=True)


def _close_figures() -> None:
    import matplotlib.pyplot as plt

    plt.close("all")


@dataclass
class Graded:
    """An in-process grading of one notebook: the result, the runs and the visible failures."""

    result: SubmissionResult
    run: InProcessRun
    assembled: object

    def visible_failures(self) -> dict[str, str]:
        """grade_id of each test cell whose visible tests failed -> the failure message."""
        failed = {}
        for index, role in enumerate(self.assembled.roles):
            run = self.run.runs.get(index)
            if role == ROLE_TEST and run is not None and run.status == STATUS_ERROR:
                failed[self.assembled.grade_ids[index]] = f"{run.ename}: {run.evalue}"
        return failed

    def messages(self) -> str:
        """Everything the feedback would say about the tests: visible and hidden messages."""
        parts = list(self.visible_failures().values())
        for exercise in self.result.exercises:
            parts += exercise.messages
            for hidden in exercise.hidden:
                parts += [hidden.message, hidden.diagnosis]
        return "\n".join(p for p in parts if p)


def grade_in_process(aid: str, student_nb: NotebookNode, *, experiments: bool = False,
                     diagnose: bool = True, salt: str = IN_PROCESS_SALT,
                     course: Course | None = None) -> Graded:
    """Grade a notebook of trusted code (a reference or catalogue variant) without a kernel.

    The notebook is assembled and judged exactly as :func:`grader.grade.grade_one` does; only the
    execution differs (this process instead of a sandboxed kernel).
    """
    assignment = (course or Course()).assignment(aid)
    assembled = assemble(student_nb, assignment.source, assignment.released, aid)
    skip = frozenset() if experiments else assembled.experiment_cells()
    run = run_cells(assembled.nb, protocol.salt_from_text(salt), skip)
    artifact = RunArtifact(
        job=Job("in-process", aid), salt=salt, notes=list(assembled.notes),
        answered=dict(assembled.answered),
        cells=[Cell(role=role, cell_type=cell.cell_type, source=cell.source, grade_id=gid,
                    tags=list(cell.get("metadata", {}).get("tags", []) or []),
                    run=run.runs.get(index))
               for index, (cell, role, gid) in enumerate(zip(assembled.nb.cells, assembled.roles,
                                                             assembled.grade_ids))])
    result = judge(artifact, assignment, JudgeOptions(diagnose=diagnose))
    return Graded(result, run, assembled)
