"""Write the grader's scores into an nbgrader gradebook (``grader grade --gradebook URL``).

Instructors who run nbgrader (formgrader, manual grading, feedback release, the exchange) then
see the grader's scores where they expect them. Each test cell's points become the automatic
score of the nbgrader grade of the same grade id; nbgrader's own manual grading and feedback work
on top. An assignment the gradebook does not know yet is first added to it as nbgrader's
``generate_assignment`` would (in a scratch course folder: nothing is written next to it).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from .course import Course
from .model import MISSING, SubmissionResult


class GradebookError(RuntimeError):
    """The gradebook cannot be written; the message says why."""


def write_to_gradebook(url: str, results: Sequence[SubmissionResult], course: Course) -> int:
    """Record every submission's automatic scores in the nbgrader gradebook at ``url``.

    Returns the number of submissions written (missing students have no submission in
    nbgrader's model and are skipped).
    """
    from nbgrader.api import Gradebook, MissingEntry

    from .release import ensure_tools_on_path

    ensure_tools_on_path()   # nbgrader migrates a gradebook with its alembic executable
    written = 0
    try:
        for aid in sorted({r.assignment for r in results}):
            _ensure_assignment(url, aid, course)
        with Gradebook(url) as gb:
            for result in results:
                if result.status == MISSING:
                    continue
                gb.update_or_create_student(result.student_id, first_name=result.student)
                try:
                    gb.find_submission(result.assignment, result.student_id)
                except MissingEntry:
                    gb.add_submission(result.assignment, result.student_id)
                for exercise in result.exercises:
                    grade = gb.find_grade(exercise.grade_id, result.assignment, result.assignment,
                                          result.student_id)
                    grade.auto_score = float(exercise.points)
                gb.db.commit()
                written += 1
    except GradebookError:
        raise
    except Exception as exc:  # a database nbgrader cannot open, a schema it does not know
        raise GradebookError(f"could not write the gradebook {url}: {type(exc).__name__}: "
                             f"{exc}") from None
    return written


def _ensure_assignment(url: str, aid: str, course: Course) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url) as gb:
        try:
            assignment = gb.find_assignment(aid)
            if assignment.notebooks:
                return
        except MissingEntry:
            pass
    from .release import _generate

    with tempfile.TemporaryDirectory(prefix="gradebook-") as tmp:
        _generate(aid, Path(course.solutions), Path(tmp), db_url=url)
