"""Grade one submission: run it (sandboxed), judge the run, write its feedback.

:func:`grade_one` is what a worker process does for one job; :mod:`grader.batch` runs it over a
whole class in parallel and publishes the batch's files. Each stage has its own module:
:mod:`grader.run` (untrusted: assemble and execute), :mod:`grader.judge` (pure: records to
points, by the rules of :mod:`grader.rules`), :mod:`grader.publish` (files). :func:`finish` is
the judging half alone, for a run made elsewhere (:mod:`grader.cluster`).
"""

from __future__ import annotations

from pathlib import Path

from .artifact import RunArtifact, dump_artifact, load_artifact
from .course import Assignment, Course, UnknownAssignment
from .judge import JudgeOptions, judge
from .model import NOT_GRADED, Job, SubmissionResult
from .publish import run_path, write_feedback
from .run import Inputs, Options, assignment_salt, run_job
from .trusted import REFERENCES

__all__ = ["Job", "Options", "assignment_salt", "finish", "grade_one"]


def grade_one(job: Job, options: Options, out_dir: Path | None = None,
              course: Course | None = None, inputs: Inputs | None = None) -> SubmissionResult:
    """Grade one submission. Never raises: every problem becomes the result's reason.

    With ``out_dir``, the run artifact goes to ``out_dir/runs/`` and the feedback page to
    ``out_dir/feedback/``; the judge always reads the artifact back as it was written, so grading
    from scratch and re-judging later (``python -m grader judge``) see exactly the same data.
    """
    course = course or Course()
    try:
        assignment = course.assignment(job.assignment)
    except UnknownAssignment as exc:
        return SubmissionResult.for_job(job, status=NOT_GRADED, reason=str(exc))
    artifact = run_job(job, assignment, options, inputs)
    return finish(artifact, assignment, options, out_dir)


def finish(artifact: RunArtifact, assignment: Assignment, options: Options,
           out_dir: Path | None) -> SubmissionResult:
    """Store a run's artifact, judge it as stored, and write its feedback page.

    The reference's and the catalogue's outputs on the hidden cases are kept for the next
    submission of the same assignment and salt (:data:`grader.trusted.REFERENCES`).
    """
    job = artifact.job
    if out_dir is not None:
        path = Path(out_dir) / run_path(job.student_id, job.assignment)
        try:
            dump_artifact(artifact, path)
            artifact = load_artifact(path)
        except (OSError, ValueError) as exc:   # BadArtifact is a ValueError
            return SubmissionResult.for_job(job, status=NOT_GRADED,
                                            reason=f"the run could not be stored ({exc})")
    with REFERENCES.active():
        result = judge(artifact, assignment, JudgeOptions(diagnose=options.diagnose))
    if out_dir is not None:
        publish_feedback(result, artifact, out_dir)
    return result


def publish_feedback(result: SubmissionResult, artifact: RunArtifact | None,
                     out_dir: Path) -> None:
    """Write the feedback page and record its path in the result (a note if it fails)."""
    try:
        result.feedback = write_feedback(result, out_dir, artifact)
    except Exception as exc:  # the page is a courtesy; the grade stands without it
        result.notes.append(f"feedback could not be written: {type(exc).__name__}: {exc}")
