"""Grade a whole folder or LMS zip in parallel, and re-run the later stages of a graded folder.

``grade_batch`` = discover, then run and judge every job in worker processes (each writes its
run artifact and feedback page) or, with ``cluster``, run on a dask cluster and judge here
(:mod:`grader.cluster`), then publish the batch's files. Grading into a folder that already holds
results runs again only the submissions whose inputs changed (the notebook's bytes, the student's
files, the instructor notebook, the run's settings: the digests in each run artifact) and keeps
the others' results; ``force`` grades everything again. ``judge_folder`` re-judges the stored
artifacts of a graded folder (no notebook runs) and publishes again; ``publish_folder`` only
renders the files again from the stored results.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import secrets
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from pathlib import Path

from .artifact import BadArtifact, RunArtifact, load_artifact
from .course import Course, UnknownAssignment
from .grade import grade_one, publish_feedback
from .judge import JudgeOptions, judge
from .lms import ADAPTERS
from .model import MISSING, NOT_GRADED, ExerciseResult, Job, SubmissionResult
from .publish import (
    read_gradebook,
    run_path,
    summary_table,
    write_gradebook,
    write_grades_csv,
    write_report,
)
from .roster import Roster, RosterError, read_roster
from .run import (
    ENVIRONMENT_PREFIX,
    Options,
    assignment_salt,
    close_kernels,
    read_inputs,
    settings_sha256,
    source_sha256,
)
from .sandbox import (
    MEMORY_CAP_WARNING,
    PROCESS_CAP_WARNING,
    SANDBOX_WARNING,
    SandboxUnavailable,
    resource_limits,
    sandbox_works,
)
from .submissions import SubmissionsError, discover, unpack_zip
from .trusted import REFERENCES

log = logging.getLogger("grader.batch")


class GradingCannotRun(RuntimeError):
    """Grading could not start (bad path, no submissions, sandbox required but missing)."""


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def grade_batch(submissions: Path, out_dir: Path, *, jobs: int | None = None,
                assignment: str | None = None, options: Options | None = None,
                progress: bool = True, stream=None, course: Course | None = None,
                lms: str = "auto", roster: Path | None = None, force: bool = False,
                cluster: str | None = None) -> list[SubmissionResult]:
    """Grade every submission under ``submissions`` (a folder or a zip) into ``out_dir``.

    Writes ``runs/`` (one artifact per submission), ``feedback/``, ``grades.csv``,
    ``gradebook.json`` and ``report.html``. Submitted files are only read. A submission that
    cannot be graded gets a row with its reason; a notebook that is not a submission is listed
    with its reason; only problems that stop the whole batch raise :class:`GradingCannotRun`.

    When ``out_dir`` already holds a grading, a submission whose inputs did not change keeps its
    result (see the module docstring) unless ``force``. With ``cluster`` (the address of a
    ``dask.distributed`` scheduler), the run stage runs on the cluster's workers.
    """
    course = course or Course()
    options = options or Options()
    salt_given = bool(options.salt)
    if not options.salt:
        options = dataclasses.replace(options, salt=secrets.token_hex(16))
    stream = stream or sys.stderr
    jobs = jobs or default_jobs()
    known = course.assignment_ids()
    if assignment and assignment not in known:
        raise GradingCannotRun(f"unknown assignment {assignment!r}; the course has "
                               f"{', '.join(known)}")
    # On a cluster the workers sandbox the kernels (each artifact says whether they did, and
    # the report warns about every unsandboxed run); this machine need not have bubblewrap.
    if options.sandbox == "on" and not cluster and not sandbox_works():
        raise GradingCannotRun(str(SandboxUnavailable("bubblewrap is not available here; "
                                                      "install it or use --sandbox off")))
    sandboxed = options.sandbox != "off" and (bool(cluster) or sandbox_works())
    if not sandboxed:
        print(SANDBOX_WARNING if options.sandbox == "auto" else
              "Note: grading unsandboxed (--sandbox off).", file=stream)
    for warning in ([] if cluster else limit_warnings(options)):
        print(warning, file=stream)
    submissions = Path(submissions)
    out_dir = Path(out_dir)
    class_list = None
    if roster is not None:
        try:
            class_list = read_roster(roster)
        except RosterError as exc:
            raise GradingCannotRun(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="submissions-") as tmp:
        try:
            if submissions.is_file() and submissions.suffix.lower() == ".zip":
                root = unpack_zip(submissions, Path(tmp))
            else:
                root = submissions
            found = discover(root, course, assignment, lms)
        except SubmissionsError as exc:
            raise GradingCannotRun(str(exc)) from None
        if not found.jobs:
            detail = f"; {len(found.explained)} file(s) were not submissions (first: " \
                     f"{found.explained[0]})" if found.explained else ""
            raise GradingCannotRun(f"no submissions found in {submissions} (expected "
                                   f"<student>/<assignment>/<assignment>.ipynb or an LMS "
                                   f"download){detail}")
        out_dir.mkdir(parents=True, exist_ok=True)
        unrostered = apply_roster(found.jobs, class_list)
        started = time.monotonic()
        kept, work = ([], list(found.jobs)) if force else \
            unchanged_results(found.jobs, out_dir, options, course, salt_given)
        if kept:
            print(f"{len(kept)} submission(s) unchanged since they were graded: their results are "
                  f"kept (--force grades them again); {len(work)} to grade.", file=stream)
        if cluster:
            from .cluster import run_on_cluster

            results = run_on_cluster(work, options, out_dir, cluster, progress=progress,
                                     stream=stream, course=course)
        else:
            results = _run_pool(work, options, out_dir, jobs, progress, stream, course=course)
    for result in results + kept:
        result.notes = [n for n in result.notes if n != NOT_ON_ROSTER]
        if result.key in unrostered:
            result.notes.append(NOT_ON_ROSTER)
    regraded = len(results)
    results += kept
    if cluster:
        ran = [r for r in results if r.status not in (NOT_GRADED, MISSING)]
        sandboxed = sandboxed and all(r.sandboxed for r in ran)
    scope = [assignment] if assignment else sorted({job.assignment for job in found.jobs})
    results += missing_rows(results, class_list, course, scope)
    meta = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "jobs": jobs,
            "salt": options.salt, "sandbox": sandboxed, "lms": found.adapter,
            "seconds": round(time.monotonic() - started, 1), "submissions": str(submissions),
            "diagnose": options.diagnose, "explained": sorted(found.explained),
            "notebooks_found": found.notebooks_found, "roster": "",
            "graded_now": regraded, "kept": len(kept), "cluster": cluster or "",
            "judged_with": judged_with(course, scope, options)}
    if not regraded and _as_published(results, meta, out_dir, roster):
        print(f"Nothing changed since {out_dir} was graded: its files are left as they are.",
              file=stream)
        return results
    if roster is not None:
        shutil.copyfile(roster, out_dir / "roster.csv")
        meta["roster"] = "roster.csv"
    publish_batch(results, out_dir, meta, course)
    return results


def _as_published(results: list[SubmissionResult], meta: dict, out_dir: Path,
                  roster: Path | None) -> bool:
    """Whether ``out_dir`` already shows exactly these results (and the same roster, the same
    files found), so that publishing again would only change its timestamps."""
    gradebook = Path(out_dir) / "gradebook.json"
    if not (Path(out_dir) / "report.html").is_file() or not gradebook.is_file():
        return False
    try:
        previous, before = read_gradebook(gradebook)
    except (OSError, ValueError, TypeError, KeyError):
        return False
    if roster is not None:
        stored = Path(out_dir) / "roster.csv"
        if before.get("roster") != "roster.csv" or not stored.is_file() or \
                stored.read_bytes() != Path(roster).read_bytes():
            return False
    elif before.get("roster"):
        return False
    if any(before.get(key) != meta[key] for key in ("explained", "notebooks_found", "lms",
                                                    "diagnose", "judged_with")):
        return False

    def rows(items):
        return sorted(json.dumps(r.to_dict(), sort_keys=True) for r in items)

    return rows(previous) == rows(results)


NOT_ON_ROSTER = "This student is not on the roster."


def judged_with(course: Course, aids: list[str], options: Options) -> dict:
    """What judging depended on besides the artifacts: each assignment's catalogue (the known
    mistakes) and whether mistakes were named."""
    catalogues = {}
    for aid in aids:
        path = Path(course.catalogue) / f"{aid}.py"
        try:
            catalogues[aid] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            catalogues[aid] = ""
    return {"diagnose": options.diagnose, "catalogues": catalogues}


def unchanged_results(work: list[Job], out_dir: Path, options: Options, course: Course,
                      salt_given: bool) -> tuple[list[SubmissionResult], list[Job]]:
    """Split ``work`` into the results kept from ``out_dir``'s grading and the jobs to grade.

    A job keeps its result when its run artifact is there (strictly decoded), was made for the
    same job, from the same notebook bytes, student's files, instructor notebook and run
    settings (and, with an explicit ``--salt``, the same salt), and the grading machine did not
    fail it. When the catalogue or the naming of mistakes changed since, the kept run is judged
    again; otherwise its stored result and feedback page stand.
    """
    gradebook = Path(out_dir) / "gradebook.json"
    if not gradebook.is_file():
        return [], list(work)
    try:
        previous, meta = read_gradebook(gradebook)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("%s cannot be read (%s): grading everything", gradebook, exc)
        return [], list(work)
    stored = {(r.student_id, r.assignment): r for r in previous if r.path}
    kept, todo = [], []
    for job in work:
        old = stored.get(job.key)
        artifact = _same_inputs(job, old, out_dir, options, course, salt_given)
        if artifact is None:
            todo.append(job)
            continue
        before = meta.get("judged_with", {})
        now = judged_with(course, [job.assignment], options)
        if before.get("diagnose") != now["diagnose"] or \
                before.get("catalogues", {}).get(job.assignment) != \
                now["catalogues"][job.assignment]:
            with REFERENCES.active():
                old = judge(artifact, course.assignment(job.assignment),
                            JudgeOptions(diagnose=options.diagnose))
            publish_feedback(old, artifact, out_dir)
        elif not old.feedback or not (Path(out_dir) / old.feedback).is_file():
            publish_feedback(old, artifact, out_dir)
        kept.append(old)
    return kept, todo


def _same_inputs(job: Job, old: SubmissionResult | None, out_dir: Path, options: Options,
                 course: Course, salt_given: bool) -> RunArtifact | None:
    """The stored run of ``job`` when it ran on the same inputs, else None."""
    if old is None or old.internal_error or old.reason.startswith(ENVIRONMENT_PREFIX):
        return None
    path = Path(out_dir) / run_path(job.student_id, job.assignment)
    try:
        artifact = load_artifact(path)
        assignment = course.assignment(job.assignment)
    except (BadArtifact, OSError, UnknownAssignment):
        return None
    before, now = artifact.job, job
    if (before.student, before.student_id, before.assignment, before.problem, before.submitted,
            before.late, before.source) != (now.student, now.student_id, now.assignment,
                                            now.problem, now.submitted, now.late, now.source):
        return None
    if artifact.internal_error or not artifact.settings_sha256 or \
            artifact.settings_sha256 != settings_sha256(options) or \
            artifact.source_sha256 != source_sha256(assignment):
        return None
    if job.problem:
        return artifact
    inputs = read_inputs(job, options)
    if inputs.reason:
        return artifact if artifact.reason == inputs.reason else None
    if artifact.notebook_sha256 != hashlib.sha256(inputs.notebook).hexdigest() or \
            artifact.files_sha256 != inputs.files_sha256:
        return None
    if salt_given and artifact.salt and \
            artifact.salt != assignment_salt(options.salt, job.assignment):
        return None
    return artifact


def apply_roster(jobs: list[Job], roster: Roster | None) -> set[tuple[str, str]]:
    """Give each job its rostered id and name; return the keys of jobs the roster lacks."""
    missing = set()
    if roster is None:
        return missing
    for job in jobs:
        student = roster.match(job.student_id, job.student)
        if student is None:
            missing.add(job.key)
            continue
        job.student_id, job.student = student.id, student.name
    return missing


def missing_rows(results: list[SubmissionResult], roster: Roster | None, course: Course,
                 scope: list[str]) -> list[SubmissionResult]:
    """A "missing" row for every rostered student without a result, per assignment in scope."""
    if roster is None:
        return []
    have = {r.key for r in results}
    rows = []
    for aid in scope:
        exercises = course.assignment(aid).exercises
        for student in roster.students:
            if (student.id, aid) in have:
                continue
            rows.append(SubmissionResult(
                student=student.name, assignment=aid, status=MISSING, student_id=student.id,
                reason="nothing was submitted",
                exercises=[ExerciseResult(e.grade_id, e.title, e.points, status="not run")
                           for e in exercises]))
    return rows


def accounting(results: list[SubmissionResult], meta: dict) -> str:
    """The run's count: every notebook found ends in a row or in the list of reasons."""
    with_file = [r for r in results if r.path]
    graded = sum(r.status not in (NOT_GRADED, MISSING) for r in with_file)
    not_graded = len(with_file) - graded
    explained = len(meta.get("explained", []))
    found = meta.get("notebooks_found", len(with_file) + explained)
    text = (f"{found} notebook(s) found = {graded} graded + {not_graded} not graded + "
            f"{explained} explained (not a submission: listed below)")
    others = len(results) - len(with_file)
    if others:
        text += f"; {others} row(s) for students with nothing gradable"
    return text + "."


def publish_batch(results: list[SubmissionResult], out_dir: Path, meta: dict,
                  course: Course) -> None:
    """Write the batch's files: grades.csv, gradebook.json, report.html, the LMS import files."""
    meta = dict(meta, accounting=accounting(results, meta))
    roster = read_roster(out_dir / meta["roster"]) if meta.get("roster") else None
    kind = roster.kind.split("-")[0] if roster is not None else meta.get("lms", "")
    if kind in ("canvas", "moodle"):
        meta["exports"] = [p.name for p in ADAPTERS[kind].export(results, out_dir, roster)]
    write_grades_csv(results, out_dir / "grades.csv")
    write_gradebook(results, out_dir / "gradebook.json", meta)
    write_report(results, out_dir / "report.html", meta, sections=course_sections(course),
                 explained=meta.get("explained", []))


def course_sections(course: Course) -> dict[tuple[str, str], tuple[str, str]]:
    """(assignment, test grade id) -> (title of the section that teaches it, a link to it)."""
    from .notebooks import grade_id, is_test_cell

    sections = {}
    for aid in course.assignment_ids():
        heading = ""
        for cell in course.assignment(aid).source.cells:
            if cell.cell_type == "markdown":
                for line in cell.source.splitlines():
                    if line.startswith("#"):
                        heading = line.lstrip("#").strip()
            elif is_test_cell(cell) and heading:
                anchor = heading.replace(" ", "-")
                sections[(aid, grade_id(cell))] = (
                    heading, f"notebooks/{aid}/{aid}.ipynb#{anchor}")
    return sections


def judge_folder(out_dir: Path, *, course: Course | None = None, diagnose: bool | None = None,
                 stream=None) -> list[SubmissionResult]:
    """Judge the stored run artifacts of a graded folder again and publish (no notebook runs).

    With the same course and options this reproduces ``grades.csv`` byte for byte; after a
    tolerance, a rule or a message changed, it applies the change to the whole class.
    """
    course = course or Course()
    out_dir = Path(out_dir)
    previous, meta = _graded_folder(out_dir)
    diagnose = meta.get("diagnose", True) if diagnose is None else diagnose
    results = []
    for old in previous:
        path = out_dir / run_path(old.student_id, old.assignment)
        if not path.is_file():
            results.append(old)   # a row without a run (a missing student): kept as it was
            continue
        try:
            artifact = load_artifact(path)
            assignment = course.assignment(artifact.job.assignment)
        except (BadArtifact, OSError, LookupError) as exc:
            raise GradingCannotRun(f"cannot judge {path}: {exc}") from None
        with REFERENCES.active():
            result = judge(artifact, assignment, JudgeOptions(diagnose=diagnose))
        publish_feedback(result, artifact, out_dir)
        results.append(result)
    publish_batch(results, out_dir, dict(meta, diagnose=diagnose), course)
    return results


def publish_folder(out_dir: Path, *, course: Course | None = None) -> list[SubmissionResult]:
    """Render every file of a graded folder again from its stored results and runs."""
    course = course or Course()
    out_dir = Path(out_dir)
    results, meta = _graded_folder(out_dir)
    for result in results:
        path = out_dir / run_path(result.student_id, result.assignment)
        artifact = load_artifact(path) if path.is_file() else None
        publish_feedback(result, artifact, out_dir)
    publish_batch(results, out_dir, meta, course)
    return results


def _graded_folder(out_dir: Path) -> tuple[list[SubmissionResult], dict]:
    """The stored results and metadata of a graded folder, or why it cannot be used."""
    gradebook = out_dir / "gradebook.json"
    if not gradebook.is_file():
        raise GradingCannotRun(f"{out_dir} holds no gradebook.json: grade it first")
    return read_gradebook(gradebook)


def limit_warnings(options: Options) -> list[str]:
    """Loud warnings about caps this machine cannot set on a kernel (probed once per batch)."""
    plan = resource_limits(options.limits)
    if plan.cleanup:
        plan.cleanup()
    warnings = []
    if not plan.caps_processes:
        warnings.append(PROCESS_CAP_WARNING)
    if not plan.counts_tmpfs:
        warnings.append(MEMORY_CAP_WARNING)
    return warnings


def _run_pool(work: list[Job], options: Options, out_dir: Path, jobs: int, progress: bool,
              stream, grade=grade_one, course: Course | None = None) -> list[SubmissionResult]:
    """Grade ``work`` in worker processes; a worker that dies costs only its own submission.

    Workers run with a memory limit of their own. When one dies (its submission exhausted it,
    or worse), the pool is broken and every job still pending fails with it: those are graded
    again, each in a process of its own, so that only the job that kills its process is lost.
    Jobs go out grouped by assignment, so that a worker's kernel started ahead (for one
    assignment's salt and imports) fits its next job; the last ones start none ahead.
    """
    course = course or Course()
    work = sorted(work, key=lambda job: job.assignment)
    last = max(0, len(work) - max(1, jobs))
    per_job = [options if k < last else dataclasses.replace(options, warm_kernels=0)
               for k in range(len(work))]
    results: list[SubmissionResult] = []
    if not work:
        return results
    bar = _Progress(len(work), stream, enabled=progress)
    if jobs == 1:
        try:
            for job, job_options in zip(work, per_job):
                results.append(_graded_or_reported(grade, job, job_options, out_dir, course))
                bar.done(results[-1])
        finally:
            close_kernels()
        bar.close()
        return results
    broken: list[Job] = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(work)) or 1, mp_context=context,
                             initializer=limit_worker_memory,
                             initargs=(options.worker_memory_mb,)) as pool:
        futures = {pool.submit(grade, job, job_options, out_dir, course): job
                   for job, job_options in zip(work, per_job)}
        for future in as_completed(futures):
            job = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool:
                broken.append(job)
                continue
            except Exception as exc:  # pickling trouble or a grader bug: keep the batch
                result = _internal_error(job, exc)
            results.append(result)
            bar.done(result)
    if broken:
        alone = dataclasses.replace(options, warm_kernels=0)
        with ThreadPoolExecutor(max_workers=jobs) as threads:
            for result in threads.map(lambda job: _alone(job, alone, out_dir, grade, course),
                                      broken):
                results.append(result)
                bar.done(result)
    bar.close()
    return results


def _alone(job: Job, options: Options, out_dir: Path, grade, course) -> SubmissionResult:
    """Grade one job in a fresh process of its own (after a worker died)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context,
                             initializer=limit_worker_memory,
                             initargs=(options.worker_memory_mb,)) as pool:
        try:
            return pool.submit(grade, job, options, out_dir, course).result()
        except BrokenProcessPool:
            return SubmissionResult.for_job(
                job, status=NOT_GRADED,
                reason="grading this submission killed the grader's worker process (more than "
                       f"{options.worker_memory_mb} MB, or a crash); it was graded alone and "
                       "died again, so it was not graded")
        except Exception as exc:
            return _internal_error(job, exc)


def _graded_or_reported(grade, job, options, out_dir, course) -> SubmissionResult:
    try:
        return grade(job, options, out_dir, course)
    except Exception as exc:  # grade_one never raises; this is the last line of defence
        return _internal_error(job, exc)


def _internal_error(job: Job, exc: BaseException) -> SubmissionResult:
    log.error("internal grader error for %s / %s: %r", job.student_id, job.assignment, exc)
    return SubmissionResult.for_job(job, status=NOT_GRADED,
                                    reason=f"internal grader error: {type(exc).__name__}: {exc}")


def limit_worker_memory(megabytes: int) -> None:
    """Cap this (worker) process's address space, so a submission that makes the grader's side
    balloon costs a MemoryError or this worker, never the machine or the other workers."""
    try:
        import resource

        limit = int(megabytes) * 1024 * 1024
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):  # not on Linux, or not allowed: no cap
        pass


class _Progress:
    """A one-line progress bar on a terminal; one line per submission otherwise."""

    def __init__(self, total: int, stream, enabled: bool):
        self.total, self.count, self.stream, self.enabled = total, 0, stream, enabled
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()

    def done(self, result: SubmissionResult) -> None:
        self.count += 1
        if not self.enabled:
            return
        what = f"{result.student} {result.assignment}: {result.total:g}/{result.max_points:g} " \
               f"{result.status}"
        elapsed = time.monotonic() - self.started
        if self.tty:
            width = 28
            filled = int(width * self.count / self.total)
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.count}/"
                              f"{self.total} {elapsed:5.0f}s  {what[:50]:<50}")
        else:
            self.stream.write(f"[{self.count}/{self.total}] {elapsed:.0f}s {what}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def print_summary(results: list[SubmissionResult], out_dir: Path, stream=None) -> None:
    stream = stream or sys.stdout
    print(summary_table(results), file=stream)
    not_graded = [r for r in results if r.status == NOT_GRADED]
    flagged = [r for r in results if r.flags]
    print(f"\n{len(results)} submission(s): {len(results) - len(not_graded)} graded, "
          f"{len(not_graded)} not graded, {len(flagged)} flagged for review.", file=stream)
    gradebook = Path(out_dir) / "gradebook.json"
    if gradebook.is_file():
        _, meta = read_gradebook(gradebook)
        if meta.get("accounting"):
            print(meta["accounting"], file=stream)
    print(f"Wrote {out_dir / 'grades.csv'}, {out_dir / 'report.html'}, "
          f"{out_dir / 'feedback'}/", file=stream)
