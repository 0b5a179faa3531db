"""Grade submissions: one notebook at a time (:func:`grade_one`) or a batch in parallel.

For one submission the grader (1) reads the notebook without modifying it, (2) assembles the
notebook to run (:mod:`grader.assemble`), (3) executes it in a fresh, sandboxed kernel inside a
private working copy (:mod:`grader.execute`, :mod:`grader.sandbox`), (4) judges every graded test
cell in its own process against the reference (:mod:`grader.trusted`), and (5) writes the feedback.
Scores are computed here, outside the kernel: a test cell earns its points only when it ran
without error *and* every one of its hidden tests passed on the values the grader received.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import dltrain.grading as protocol

from . import RELEASE_DIR, SOLUTIONS_DIR, assignment_ids
from . import catalogue as catalogue_mod
from .assemble import ROLE_ADDED, ROLE_ANSWER, ROLE_HIDDEN, ROLE_TEST, NotGradable, assemble
from .execute import (
    STATUS_DIED,
    STATUS_ERROR,
    STATUS_NOT_RUN,
    STATUS_OK,
    STATUS_TIMEOUT,
    Limits,
    run_notebook,
)
from .files import MAX_NOTEBOOK_BYTES, UnsafeFile, copy_tree_safely, read_bytes_capped
from .notebooks import UnreadableNotebook, exercises, parse_notebook, read_notebook
from .reference import build_namespace
from .results import (
    GRADED,
    NOT_GRADED,
    PARTLY_GRADED,
    ExerciseResult,
    HiddenResult,
    SubmissionResult,
)
from .trusted import Variant, judge_test_cell


@dataclass
class Options:
    """How to grade (shared by every submission of a batch)."""

    limits: Limits = field(default_factory=Limits)
    sandbox: str = "auto"
    """auto (use bubblewrap when available), on (require it), off."""
    solutions: Path = SOLUTIONS_DIR
    release: Path = RELEASE_DIR
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
    return hashlib.sha256(f"{run_salt}\0{job.student}\0{job.assignment}\0{digest}".encode()
                          ).hexdigest()


@dataclass
class Job:
    """One (student, assignment) to grade; ``problem`` is set when there is nothing to grade."""

    student: str
    assignment: str
    path: Path | None = None
    problem: str = ""
    folder: Path | None = None
    """The student's own folder, copied as the kernel's working copy (None: nothing to copy,
    e.g. a flat LMS download where the notebook's folder holds everybody's files)."""


@functools.lru_cache(maxsize=16)
def _assignment(aid: str, solutions: Path, release: Path):
    source = read_notebook(solutions / aid / f"{aid}.ipynb")
    released = read_notebook(release / aid / f"{aid}.ipynb")
    return source, released


@functools.lru_cache(maxsize=16)
def _reference(aid: str, solutions: Path):
    source = read_notebook(solutions / aid / f"{aid}.ipynb")
    return build_namespace(source)


@functools.lru_cache(maxsize=16)
def _variants(aid: str, solutions: Path) -> tuple[Variant, ...]:
    source = read_notebook(solutions / aid / f"{aid}.ipynb")
    found = []
    for entry in catalogue_mod.wrong_entries(aid):
        if not entry.diagnose:
            continue
        try:
            namespace = build_namespace(source, catalogue_mod.replacement(aid, entry),
                                        label="variant")
        except Exception:  # a broken entry must not stop grading; tests catch it
            continue
        found.append(Variant(entry.description, namespace))
    return tuple(found)


def _other_sources(solutions: Path, aid: str) -> dict:
    others = {}
    for other in assignment_ids() if solutions == SOLUTIONS_DIR else []:
        if other != aid:
            try:
                others[other] = _assignment(other, solutions, RELEASE_DIR)[0]
            except Exception:
                continue
    return others


def grade_one(job: Job, options: Options, out_dir: Path | None = None) -> SubmissionResult:
    """Grade one submission. Never raises: every problem becomes the result's reason.

    Parameters
    ----------
    job : Job
        Who, which assignment, which file.
    options : Options
        Limits, sandbox, paths.
    out_dir : Path, optional
        When given, the feedback is written to ``out_dir/feedback/<student>/<aid>.html``.
    """
    started = time.monotonic()
    result = SubmissionResult(student=job.student, assignment=job.assignment,
                              path=str(job.path or ""))
    executed = None
    try:
        executed = _grade_into(result, job, options)
    except Exception as exc:  # the batch must go on; this is a grader bug, say so
        result.status = NOT_GRADED
        result.reason = f"internal grader error: {type(exc).__name__}: {exc}"
    result.seconds = round(time.monotonic() - started, 2)
    if out_dir is not None:
        from .report import write_feedback

        try:
            result.feedback = write_feedback(result, out_dir, executed)
        except Exception as exc:
            result.notes.append(f"feedback could not be written: {exc}")
    return result


def _grade_into(result: SubmissionResult, job: Job, options: Options):
    """Fill ``result``; return (executed notebook, assembly, cell runs) when the notebook ran."""
    aid = job.assignment
    try:
        source, released = _assignment(aid, options.solutions, options.release)
    except (UnreadableNotebook, FileNotFoundError) as exc:
        result.reason = f"the course has no assignment {aid!r} ({exc})"
        return None
    result.exercises = [ExerciseResult(e.grade_id, e.title, e.points) for e in exercises(source)]
    if job.problem:
        result.reason = job.problem
        return None
    try:
        raw = read_bytes_capped(job.path, options.max_notebook_bytes)
    except UnsafeFile as exc:
        result.reason = f"the notebook {Path(job.path).name} was not read: {exc}"
        return None
    try:
        student = parse_notebook(raw)
        salt = submission_salt(options.salt, job, raw)
        assembled = assemble(student, source, released, aid,
                             other_sources=_other_sources(options.solutions, aid))
    except (UnreadableNotebook, NotGradable) as exc:
        result.reason = str(exc)
        return None
    result.notes.extend(assembled.notes)
    result.flags.extend(_suspicious_code(assembled))

    from .sandbox import kernel_launch, resource_limits, scratch_folder

    plan = resource_limits(options.limits)
    try:
        with tempfile.TemporaryDirectory(prefix="grade-", dir=scratch_folder(plan)) as tmp:
            workdir = Path(tmp) / "work"
            result.notes.extend(_prepare_workdir(workdir, job.folder, options))
            launch = kernel_launch(workdir, Path(tmp) / "runtime", options,
                                   {protocol.SALT_VARIABLE: salt}, plan)
            result.sandboxed = launch.sandboxed
            result.limits = list(launch.limits_applied)
            skip = frozenset() if options.run_experiments else assembled.experiment_cells()
            executed, runs, problem = run_notebook(assembled.nb, workdir, launch, options.limits,
                                                   skip, private=assembled.hidden_cells())
    finally:
        if plan.cleanup:
            plan.cleanup()
    _score(result, aid, source, assembled, runs, options, protocol.salt_from_text(salt))
    for index, run in sorted(runs.items()):
        if run.status == STATUS_TIMEOUT and not problem.startswith(f"cell {index} "):
            result.notes.append(f"{_describe(assembled, index).capitalize()} ran longer than "
                                f"{options.limits.cell_timeout:g} s and was interrupted; "
                                "grading went on.")
    if problem:
        result.notes.append(f"Grading stopped early: {_describe_problem(problem, assembled)}.")
        result.status = PARTLY_GRADED
        result.reason = _describe_problem(problem, assembled)
    else:
        result.status = GRADED
    return executed, assembled, runs


def _describe(assembled, index: int) -> str:
    """How a student would recognise a cell of the executed notebook."""
    role, gid = assembled.roles[index], assembled.grade_ids[index]
    if role == ROLE_ANSWER:
        return f"your answer cell {gid!r}"
    if role in (ROLE_TEST, ROLE_HIDDEN):
        return f"the test cell {gid!r}"
    if role == ROLE_ADDED:
        before = next((assembled.grade_ids[i] for i in range(index, -1, -1)
                       if assembled.grade_ids[i]), None)
        return f"a cell you added (after {before!r})" if before else "a cell you added"
    return f"the notebook's cell {index}"


def _describe_problem(problem: str, assembled) -> str:
    match = re.match(r"cell (\d+) (.*)", problem) or re.search(r"in cell (\d+)$", problem)
    if not match:
        return problem
    index = int(match.group(1))
    return problem.replace(f"cell {index}", _describe(assembled, index))


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


def _score(result, aid, source, assembled, runs, options, salt: int) -> None:
    by_gid = {e.grade_id: e for e in result.exercises}
    namespace = _reference(aid, options.solutions)
    variants = _variants(aid, options.solutions) if options.diagnose else ()
    source_cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in source.cells}
    cells = list(enumerate(zip(assembled.roles, assembled.grade_ids)))
    for index, (role, gid) in cells:
        if role != ROLE_TEST or gid not in by_gid:
            continue
        exercise = by_gid[gid]
        visible = runs.get(index)
        hidden = runs.get(index + 1) if assembled.roles[index + 1] == ROLE_HIDDEN else None
        exercise.seconds = round(sum(r.seconds for r in (visible, hidden) if r), 2)
        outcomes = judge_test_cell(source_cells[gid].source, hidden.records if hidden else [],
                                   namespace, variants, salt)
        exercise.hidden = [HiddenResult(o.name, o.passed, o.message, o.diagnosis)
                           for o in outcomes]
        _verdict(exercise, visible, hidden, outcomes, result)
    unanswered = [g for g, done in assembled.answered.items() if not done]
    if unanswered and len(unanswered) == len(assembled.answered):
        result.notes.append("No answer cell was changed from the released stub.")


def _verdict(exercise, run, hidden, outcomes, result) -> None:
    """Points only when the visible tests ran clean and every hidden test passed."""
    status = run.status if run else STATUS_NOT_RUN
    hidden_ok = bool(outcomes) and all(o.passed for o in outcomes)
    if status == STATUS_OK and hidden_ok:
        exercise.status, exercise.points = "passed", exercise.max_points
        return
    exercise.points = 0.0
    if status == STATUS_ERROR:
        exercise.status = "failed" if run.ename in ("CheckFailed", "AssertionError",
                                                    "HiddenTestError") else "error"
        if run.ename == "NotImplementedError":
            exercise.status = "not answered"
            exercise.messages.append("Not answered yet: the function still raises "
                                     "NotImplementedError.")
        elif run.ename != "HiddenTestError":
            exercise.messages.append(f"The visible tests failed: {run.ename}: {run.evalue}")
    elif status == STATUS_TIMEOUT:
        exercise.status = "timeout"
        exercise.messages.append(f"The test cell did not finish: {run.evalue}.")
    elif status == STATUS_DIED:
        exercise.status = "kernel died"
        exercise.messages.append("The kernel died while this test cell ran (os._exit, a crash "
                                 "or the memory limit).")
    elif status == STATUS_NOT_RUN:
        exercise.status = "kernel died" if run and run.note else "not run"
        exercise.messages.append(f"Not run: {run.note}." if run and run.note else "Not run.")
    else:
        exercise.status = "failed"
    if not outcomes:
        exercise.messages.append("This test cell has no hidden tests; it cannot be graded.")
    hidden_status = hidden.status if hidden else STATUS_NOT_RUN
    if hidden_status == STATUS_OK and any(o.missing or o.garbled for o in outcomes):
        result.flags.append(f"{exercise.grade_id}: the test cell finished without error but its "
                            "hidden tests did not report (cell emptied or output tampered with)")
    elif any(o.garbled for o in outcomes):
        result.flags.append(f"{exercise.grade_id}: invalid hidden-test results came back")


_SUSPICIOUS = [
    (r"input_transformers|ast_transformers|register_magic|events\.register", "hooks IPython's "
     "input or events"),
    (r"showtraceback|_showtraceback|InteractiveShell", "patches IPython's error reporting"),
    (r"\bnp\.(allclose|isclose|testing|array_equal)\s*=|numpy\.testing\s*=|"
     r"setattr\(\s*(np|numpy)", "reassigns numpy functions"),
    (r"\bbuiltins\b|__builtins__", "touches builtins"),
    (r"dltrain\.grading|_SESSION|vnd\.dltrain", "touches the grader's protocol"),
    (r"sys\.modules\[", "replaces modules"),
    (r"os\._exit|signal\.signal|SIGINT", "exits the kernel or handles signals"),
    (r"solutions[/\\]|gradebook|\.\./\.\./", "looks for files outside its folder"),
]


def _suspicious_code(assembled) -> list[str]:
    """Static scan of the student's own code; flags for the instructor, never a penalty."""
    flags = []
    for cell, role in zip(assembled.nb.cells, assembled.roles):
        if role not in (ROLE_ANSWER, ROLE_ADDED) or cell.cell_type != "code":
            continue
        for pattern, what in _SUSPICIOUS:
            if re.search(pattern, cell.source):
                flags.append(f"student code {what}")
    return sorted(set(flags))
