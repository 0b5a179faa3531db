"""Grade a whole folder or LMS zip in parallel and write the output files."""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from pathlib import Path

from . import assignment_ids
from .grade import Job, Options, grade_one
from .report import summary_table, write_gradebook, write_grades_csv, write_report
from .results import NOT_GRADED, SubmissionResult
from .sandbox import (
    MEMORY_CAP_WARNING,
    PROCESS_CAP_WARNING,
    SANDBOX_WARNING,
    SandboxUnavailable,
    resource_limits,
    sandbox_works,
)
from .submissions import SubmissionsError, discover, unpack_zip


class GradingCannotRun(RuntimeError):
    """Grading could not start (bad path, no submissions, sandbox required but missing)."""


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def grade_batch(submissions: Path, out_dir: Path, *, jobs: int | None = None,
                assignment: str | None = None, options: Options | None = None,
                progress: bool = True, stream=None) -> list[SubmissionResult]:
    """Grade every submission under ``submissions`` (a folder or a zip) into ``out_dir``.

    Writes ``grades.csv``, ``gradebook.json``, ``report.html`` and ``feedback/``. Submitted files
    are only read. A submission that cannot be graded gets a row with its reason; only problems
    that stop the whole batch raise :class:`GradingCannotRun`.
    """
    options = options or Options()
    if not options.salt:
        options = dataclasses.replace(options, salt=secrets.token_hex(16))
    stream = stream or sys.stderr
    jobs = jobs or default_jobs()
    known = assignment_ids()
    if assignment and assignment not in known:
        raise GradingCannotRun(f"unknown assignment {assignment!r}; the course has "
                               f"{', '.join(known)}")
    if options.sandbox == "on" and not sandbox_works():
        raise GradingCannotRun(str(SandboxUnavailable("bubblewrap is not available here; "
                                                      "install it or use --sandbox off")))
    sandboxed = options.sandbox != "off" and sandbox_works()
    if not sandboxed:
        print(SANDBOX_WARNING if options.sandbox == "auto" else
              "Note: grading unsandboxed (--sandbox off).", file=stream)
    for warning in limit_warnings(options):
        print(warning, file=stream)
    submissions = Path(submissions)
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="submissions-") as tmp:
        try:
            if submissions.is_file() and submissions.suffix.lower() == ".zip":
                root = unpack_zip(submissions, Path(tmp))
            else:
                root = submissions
            work = discover(root, known, assignment)
        except SubmissionsError as exc:
            raise GradingCannotRun(str(exc)) from None
        if not work:
            raise GradingCannotRun(f"no submissions found in {submissions} (expected "
                                   "<student>/<assignment>/<assignment>.ipynb)")
        out_dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        results = _run_pool(work, options, out_dir, jobs, progress, stream)
    meta = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "jobs": jobs,
            "salt": options.salt,
            "sandbox": sandboxed, "seconds": round(time.monotonic() - started, 1),
            "submissions": str(submissions)}
    write_grades_csv(results, out_dir / "grades.csv")
    write_gradebook(results, out_dir / "gradebook.json", meta)
    write_report(results, out_dir / "report.html", meta)
    return results


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
              stream, grade=grade_one) -> list[SubmissionResult]:
    """Grade ``work`` in worker processes; a worker that dies costs only its own submission.

    Workers run with a memory limit of their own. When one dies (its submission exhausted it,
    or worse), the pool is broken and every job still pending fails with it: those are graded
    again, each in a process of its own, so that only the job that kills its process is lost.
    """
    results: list[SubmissionResult] = []
    bar = _Progress(len(work), stream, enabled=progress)
    if jobs == 1:
        for job in work:
            results.append(_graded_or_reported(grade, job, options, out_dir))
            bar.done(results[-1])
        bar.close()
        return results
    broken: list[Job] = []
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(work)) or 1, mp_context=context,
                             initializer=limit_worker_memory,
                             initargs=(options.worker_memory_mb,)) as pool:
        futures = {pool.submit(grade, job, options, out_dir): job for job in work}
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
        with ThreadPoolExecutor(max_workers=jobs) as threads:
            for result in threads.map(lambda job: _alone(job, options, out_dir, grade), broken):
                results.append(result)
                bar.done(result)
    bar.close()
    return results


def _alone(job: Job, options: Options, out_dir: Path, grade=grade_one) -> SubmissionResult:
    """Grade one job in a fresh process of its own (after a worker died)."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context,
                             initializer=limit_worker_memory,
                             initargs=(options.worker_memory_mb,)) as pool:
        try:
            return pool.submit(grade, job, options, out_dir).result()
        except BrokenProcessPool:
            return SubmissionResult(job.student, job.assignment, str(job.path or ""), NOT_GRADED,
                                    "grading this submission killed the grader's worker process "
                                    f"(more than {options.worker_memory_mb} MB, or a crash); it "
                                    "was graded alone and died again, so it was not graded")
        except Exception as exc:
            return _internal_error(job, exc)


def _graded_or_reported(grade, job, options, out_dir) -> SubmissionResult:
    try:
        return grade(job, options, out_dir)
    except Exception as exc:  # grade_one never raises; this is the last line of defence
        return _internal_error(job, exc)


def _internal_error(job: Job, exc: BaseException) -> SubmissionResult:
    return SubmissionResult(job.student, job.assignment, str(job.path or ""), NOT_GRADED,
                            f"internal grader error: {type(exc).__name__}: {exc}")


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
    print(f"Wrote {out_dir / 'grades.csv'}, {out_dir / 'report.html'}, "
          f"{out_dir / 'feedback'}/", file=stream)
