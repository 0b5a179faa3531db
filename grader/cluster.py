"""The run stage on a ``dask.distributed`` cluster; judging and publishing stay here.

``python -m grader grade SUBMISSIONS --cluster tcp://scheduler:8786`` sends each submission's run
to the cluster's workers as one task: the instructor's machine reads the notebook and the
student's files (never following a link, within the caps, exactly as for a local run) and ships
their bytes with the task, so the workers need no shared file system. A worker runs the notebook
in its own sandboxed kernel (:func:`grader.run.run_job`) and sends back the run artifact as JSON,
which is decoded here as strictly as any stored artifact, written to ``runs/``, judged and
published by this process. The grades are therefore the ones local grading gives, byte for byte.

Every worker needs this course (the same ``solutions/`` and ``notebooks/``: a worker whose copy
differs refuses the task, and the submission says so) and bubblewrap, and is best started with one
thread (``dask worker ADDRESS --nthreads 1``: each task keeps a core busy in its kernel). When a
worker dies, the scheduler gives its tasks to other workers; a task that was on more dying
workers than ``distributed.scheduler.allowed-failures`` allows (3 by default) is tried once more,
alone on the cluster after the others, so a bystander of another submission's crashes is graded
and only a submission that kills workers by itself is reported "not graded".
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import sys
import time
from pathlib import Path

from .artifact import BadArtifact, decode_artifact, encode_artifact
from .course import Course, UnknownAssignment
from .grade import finish
from .model import NOT_GRADED, Job, SubmissionResult
from .run import Inputs, Options, read_inputs, run_job, source_sha256
from .run import close_kernels as close_process_kernels

log = logging.getLogger("grader.cluster")


class CourseMismatch(RuntimeError):
    """A worker's copy of the course is not the instructor's."""


@dataclasses.dataclass
class Task:
    """Everything a worker needs to run one submission (sent to it, pickled)."""

    job: Job
    inputs: Inputs
    options: Options
    source_sha256: str
    released_sha256: str
    course: Course | None = None
    """The course's folders when they are not the worker's default ones (a cluster on this
    machine); None: the worker's own copy of the course."""


def released_sha256(course: Course, aid: str) -> str:
    path = Path(course.release) / aid / f"{aid}.ipynb"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def run_task(task: Task) -> str:
    """What a worker does with one :class:`Task`: run it, return the artifact as JSON text.

    Raises :class:`CourseMismatch` when the worker's course is not the one the task was made
    for (then no kernel starts).
    """
    course = task.course or Course()
    assignment = course.assignment(task.job.assignment)
    if source_sha256(assignment) != task.source_sha256 or \
            released_sha256(course, assignment.aid) != task.released_sha256:
        raise CourseMismatch(
            f"the grading worker's copy of {assignment.aid} (in {course.solutions} and "
            f"{course.release}) differs from the instructor's: update the course on every "
            "worker and grade again")
    job = task.job
    if task.inputs.files is None:
        job = dataclasses.replace(job, folder=None)   # a path of the instructor's machine
    artifact = run_job(job, assignment, dataclasses.replace(task.options, judges_here=False),
                       task.inputs)
    artifact.job = task.job
    return json.dumps(encode_artifact(artifact), sort_keys=True)


def close_kernels() -> int:
    """Shut down the kernels a worker started ahead and its kernel templates (after a batch);
    returns 0."""
    close_process_kernels()
    return 0


def run_on_cluster(work: list[Job], options: Options, out_dir: Path | None, address, *,
                   progress: bool = True, stream=None, course: Course | None = None,
                   task_function=run_task, in_flight: int | None = None
                   ) -> list[SubmissionResult]:
    """Run ``work`` on the dask cluster at ``address`` (or a ``distributed.Client``); judge each
    run here as it comes back and write its artifact and feedback into ``out_dir``.

    At most ``in_flight`` tasks (default: four per worker thread, at least 8) are out at once,
    so the submissions' bytes are read as the cluster needs them. Never raises for one
    submission: a failure becomes that submission's reason.
    """
    from distributed import Client, as_completed

    from .batch import _Progress

    course = course or Course()
    stream = stream or sys.stderr
    own_client = not isinstance(address, Client)
    client = Client(address, timeout="60s") if own_client else address
    results: list[SubmissionResult] = []
    bar = _Progress(len(work), stream, enabled=progress)
    try:
        if in_flight is None:
            threads = sum(client.nthreads().values()) or 1
            in_flight = max(8, 4 * threads)
        pending = list(sorted(work, key=lambda job: job.assignment))
        futures: dict = {}
        running = as_completed()
        default_course = course == Course()

        def submit_next() -> None:
            while pending and len(futures) < in_flight:
                job = pending.pop(0)
                try:
                    assignment = course.assignment(job.assignment)
                except UnknownAssignment as exc:
                    done(job, SubmissionResult.for_job(job, status=NOT_GRADED, reason=str(exc)))
                    continue
                inputs = read_inputs(job, options, pack=True)
                if job.problem or inputs.reason:   # nothing to run: no need for the cluster
                    done(job, finish(run_job(job, assignment, options, inputs), assignment,
                                     options, out_dir))
                    continue
                task = Task(job, inputs, options, source_sha256(assignment),
                            released_sha256(course, assignment.aid),
                            None if default_course else course)
                future = client.submit(task_function, task, pure=False,
                                       key=f"grade-{job.assignment}-{time.time_ns()}")
                futures[future] = (job, assignment)
                running.add(future)

        def done(job: Job, result: SubmissionResult) -> None:
            results.append(result)
            bar.done(result)

        submit_next()
        suspects: list[tuple[Job, object]] = []
        for future in running:
            job, assignment = futures.pop(future)
            if _killed_workers(future):
                # a dying worker takes down every task it held: this one may be a bystander
                suspects.append((job, assignment))
            else:
                done(job, _finish_remote(future, job, assignment, options, out_dir))
            submit_next()
        # each suspect alone on the cluster: only a submission that kills workers by itself
        # is reported, the bystanders are graded
        for job, assignment in suspects:
            inputs = read_inputs(job, options, pack=True)
            task = Task(job, inputs, options, source_sha256(assignment),
                        released_sha256(course, assignment.aid),
                        None if default_course else course)
            future = client.submit(task_function, task, pure=False,
                                   key=f"grade-alone-{job.assignment}-{time.time_ns()}")
            done(job, _finish_remote(future, job, assignment, options, out_dir))
        try:
            client.run(close_kernels)
        except Exception:  # workers that left take their kernels with them
            log.debug("could not close the workers' kernels", exc_info=True)
    finally:
        bar.close()
        if own_client:
            client.close()
    return results


def _killed_workers(future) -> bool:
    from distributed import KilledWorker

    return future.status == "error" and isinstance(future.exception(), KilledWorker)


def _finish_remote(future, job: Job, assignment, options: Options,
                   out_dir: Path | None) -> SubmissionResult:
    """Decode a worker's artifact strictly, then judge and publish it here."""
    from distributed import KilledWorker

    from .batch import _internal_error

    try:
        text = future.result()
    except KilledWorker:
        return SubmissionResult.for_job(
            job, status=NOT_GRADED,
            reason="running this submission killed the grading workers of the cluster each time "
                   "it was tried (a crash, or more memory than a worker has), so it was not "
                   "graded")
    except CourseMismatch as exc:
        return SubmissionResult.for_job(job, status=NOT_GRADED, reason=str(exc))
    except Exception as exc:
        return _internal_error(job, exc)
    try:
        if not isinstance(text, str):
            raise BadArtifact("a worker sent something else than an artifact")
        artifact = decode_artifact(json.loads(text))
    except (BadArtifact, ValueError) as exc:
        return _internal_error(job, exc)
    artifact.job = job
    return finish(artifact, assignment, options, out_dir)
