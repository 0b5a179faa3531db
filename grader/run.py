"""The run stage: assemble a submission and execute it in a sandboxed kernel (untrusted work).

:func:`run_job` turns one :class:`~grader.model.Job` into a :class:`~grader.artifact.RunArtifact`
and never raises: a submission that cannot run becomes an artifact with a ``reason``, a grader bug
an artifact with its traceback. Nothing here decides a grade (see :mod:`grader.judge`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import dltrain.grading as protocol

from .artifact import Cell, RunArtifact
from .assemble import NotGradable, assemble
from .course import Assignment
from .execute import Limits, run_notebook
from .files import MAX_NOTEBOOK_BYTES, UnsafeFile, copy_tree_safely, read_bytes_capped
from .model import CellRole, CellStatus, Job
from .notebooks import UnreadableNotebook, parse_notebook

log = logging.getLogger("grader.run")


@dataclass
class Options:
    """How to grade (shared by every submission of a batch)."""

    limits: Limits = field(default_factory=Limits)
    sandbox: str = "auto"
    """auto (use bubblewrap when available), on (require it), off."""
    diagnose: bool = True
    """Name known mistakes by comparing with the catalogue's wrong implementations."""
    max_workdir_bytes: int = 50_000_000
    """The student's own files copied next to the notebook: at most this many bytes."""
    max_notebook_bytes: int = MAX_NOTEBOOK_BYTES
    worker_memory_mb: int = 3072
    """Address-space cap of each grading worker process (the grader's side, not the kernel)."""
    run_experiments: bool = False
    """Also run the instructor's experiment cells (tag ``experiment``); they earn no points and
    never feed a test, so by default grading skips them and is several times faster."""
    salt: str = ""
    """The grading run's salt. Each submission's hidden tests are seeded from it, the student and
    the notebook's bytes (see :func:`submission_salt`); a batch draws a fresh one when empty."""


def submission_salt(run_salt: str, job: Job, notebook: bytes) -> str:
    """The salt of one submission's hidden tests.

    The same run salt and the same notebook always give the same inputs (and so the same grade);
    a new grading run, or a changed notebook, gives new ones.
    """
    digest = hashlib.sha256(notebook).hexdigest()
    return hashlib.sha256(f"{run_salt}\0{job.student_id}\0{job.assignment}\0{digest}".encode()
                          ).hexdigest()


def run_job(job: Job, assignment: Assignment, options: Options) -> RunArtifact:
    """Run one submission (see the module docstring). Never raises."""
    started = time.monotonic()
    artifact = RunArtifact(job=job)
    try:
        _run_into(artifact, job, assignment, options)
    except Exception:  # a grader bug: keep its story for the instructor, go on with the batch
        artifact.internal_error = traceback.format_exc()
        log.error("internal error while running %s / %s:\n%s", job.student_id, job.assignment,
                  artifact.internal_error)
    artifact.seconds = round(time.monotonic() - started, 2)
    return artifact


def _run_into(artifact: RunArtifact, job: Job, assignment: Assignment, options: Options) -> None:
    if job.problem:
        artifact.reason = job.problem
        return
    try:
        raw = read_bytes_capped(job.path, options.max_notebook_bytes)
    except UnsafeFile as exc:
        artifact.reason = f"the notebook {Path(job.path).name} was not read: {exc}"
        return
    artifact.notebook_sha256 = hashlib.sha256(raw).hexdigest()
    artifact.salt = submission_salt(options.salt, job, raw)
    if assignment.released is None:
        raise FileNotFoundError(f"no released notebook of {assignment.aid}: run "
                                "`python -m grader release`")
    try:
        student = parse_notebook(raw)
        assembled = assemble(student, assignment.source, assignment.released, assignment.aid,
                             other_sources=assignment.course.sources(but=assignment.aid))
    except (UnreadableNotebook, NotGradable) as exc:
        artifact.reason = str(exc)
        return
    artifact.notes.extend(assembled.notes)
    artifact.answered = dict(assembled.answered)

    for attempt in range(ENVIRONMENT_ATTEMPTS):
        executed, runs, problem, copy_notes = _execute(artifact, assembled, job, options)
        trouble = environment_problem(assembled, runs, problem)
        if not trouble:
            break
        log.warning("grading environment failed for %s / %s (attempt %d): %s", job.student_id,
                    job.assignment, attempt + 1, trouble)
    else:
        artifact.reason = f"{ENVIRONMENT_PREFIX}{trouble}; this is the grading machine's " \
                          "fault, not the submission's: fix it and grade again"
        return
    artifact.notes.extend(copy_notes)
    artifact.problem = problem
    artifact.cells = [
        Cell(role=role, cell_type=cell.cell_type, source=cell.source, grade_id=gid,
             tags=list(cell.get("metadata", {}).get("tags", []) or []),
             outputs=[plain_output(o) for o in cell.get("outputs", [])] if cell.cell_type ==
             "code" else [],
             run=runs.get(index))
        for index, (cell, role, gid) in enumerate(zip(executed.cells, assembled.roles,
                                                      assembled.grade_ids))]


ENVIRONMENT_ATTEMPTS = 2
ENVIRONMENT_PREFIX = "grading environment: "


def _execute(artifact: RunArtifact, assembled, job: Job, options: Options):
    """Run the assembled notebook once in a fresh, capped kernel."""
    from .sandbox import kernel_launch, resource_limits, scratch_folder

    plan = resource_limits(options.limits)
    try:
        with tempfile.TemporaryDirectory(prefix="grade-", dir=scratch_folder(plan)) as tmp:
            workdir = Path(tmp) / "work"
            copy_notes = _prepare_workdir(workdir, job.folder, options)
            launch = kernel_launch(workdir, Path(tmp) / "runtime", options,
                                   {protocol.SALT_VARIABLE: artifact.salt}, plan)
            artifact.sandboxed = launch.sandboxed
            artifact.limits = list(launch.limits_applied)
            skip = frozenset() if options.run_experiments else assembled.experiment_cells()
            executed, runs, problem = run_notebook(assembled.nb, workdir, launch, options.limits,
                                                   skip, private=assembled.hidden_cells())
    finally:
        if plan.cleanup:
            plan.cleanup()
    return executed, runs, problem, copy_notes


def environment_problem(assembled, runs, problem: str) -> str:
    """Why the grading machine, not the submission, stopped this run (empty when it did not).

    The kernel did not start, or it died, hung or failed in the instructor's cells before any
    of the student's code ran: every submission would score 0 the same way.
    """
    if problem.startswith("the kernel did not start"):
        return problem
    student = [i for i, role in enumerate(assembled.roles)
               if role in (CellRole.ANSWER, CellRole.ADDED)]
    first = student[0] if student else len(assembled.roles)
    for index in sorted(runs):
        if index >= first:
            break
        run = runs[index]
        if run.status in (CellStatus.ERROR, CellStatus.DIED, CellStatus.TIMEOUT):
            return (f"the course's own cell {index} failed before any student code ran "
                    f"({run.ename}: {run.evalue[:300]})")
    return ""


_OUTPUT_KEYS = {"stream": ("name", "text"), "display_data": ("data", "metadata"),
                "execute_result": ("data", "metadata", "execution_count"),
                "error": ("ename", "evalue", "traceback")}


def plain_output(output) -> dict:
    """An executed output as plain JSON data with exactly the fields the artifact keeps."""
    kind = output.get("output_type")
    keys = _OUTPUT_KEYS.get(kind)
    if keys is None:
        return {"output_type": "stream", "name": "stderr",
                "text": f"[an output of type {str(kind)[:40]!r} is not kept]\n"}
    data = json.loads(json.dumps({k: output.get(k) for k in keys}, default=str))
    out = {"output_type": kind}
    for key in keys:
        value = data.get(key)
        if key in ("data", "metadata"):
            value = value if isinstance(value, dict) else {}
        elif key == "traceback":
            value = [str(v) for v in value] if isinstance(value, list) else []
        elif key == "execution_count":
            value = value if isinstance(value, int) and not isinstance(value, bool) else None
        else:
            value = value if isinstance(value, str) else "" if value is None else str(value)
        out[key] = value
    return out


def _prepare_workdir(workdir: Path, folder: Path | None, options: Options) -> list[str]:
    """A private copy of the student's folder: the kernel may write there and nowhere else.

    Only regular files and real folders are copied (never what a link points at), notebooks are
    left out, and copying stops at ``options.max_workdir_bytes``. Returns notes on what was left
    out, for the feedback.
    """
    if folder is None:
        workdir.mkdir(parents=True)
        return []
    report = copy_tree_safely(Path(folder), workdir, max_bytes=options.max_workdir_bytes)
    return report.notes()
