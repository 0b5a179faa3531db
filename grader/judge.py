"""The judge stage: a run artifact in, a result out. Pure, in process, no kernel.

For each graded test cell, the hidden region from ``solutions/`` is executed in the grader's own
process against the records the student's kernel sent (:func:`grader.trusted.judge_test_cell`),
and the rules of :mod:`grader.rules` give the points. The same artifact, assignment and options
always give the same result, so ``python -m grader judge OUT`` reproduces a grading run byte for
byte, and re-judges it in seconds after a tolerance, a rule or a message changed.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass

import dltrain.grading as protocol

from . import rules
from .artifact import RunArtifact
from .course import Assignment
from .model import (
    GRADED,
    NOT_GRADED,
    PARTLY_GRADED,
    CellRole,
    CellStatus,
    ExerciseResult,
    HiddenResult,
    SubmissionResult,
)
from .trusted import judge_test_cell

log = logging.getLogger("grader.judge")


@dataclass(frozen=True)
class JudgeOptions:
    """What judging may vary."""

    diagnose: bool = True
    """Name known mistakes by comparing with the catalogue's wrong implementations."""


def judge(artifact: RunArtifact, assignment: Assignment,
          options: JudgeOptions = JudgeOptions()) -> SubmissionResult:
    """The result of one run artifact. Never raises: a grader bug becomes the result's reason."""
    result = SubmissionResult.for_job(artifact.job, status=NOT_GRADED)
    result.exercises = [ExerciseResult(e.grade_id, e.title, e.points)
                        for e in assignment.exercises]
    result.seconds = artifact.seconds
    result.sandboxed, result.limits = artifact.sandboxed, list(artifact.limits)
    result.notes = list(artifact.notes)
    if artifact.internal_error:
        return _internal(result, artifact.internal_error)
    if artifact.reason:
        result.reason = artifact.reason
        return result
    try:
        _judge_into(result, artifact, assignment, options)
    except Exception:  # a grader bug: the student sees a short reason, the log the story
        return _internal(result, traceback.format_exc())
    return result


def _internal(result: SubmissionResult, story: str) -> SubmissionResult:
    result.status = NOT_GRADED
    last = story.strip().splitlines()[-1] if story.strip() else "unknown error"
    result.reason = f"internal grader error ({last}); the instructor has the details"
    result.internal_error = story
    for exercise in result.exercises:
        exercise.points = 0.0
    log.error("internal grader error for %s / %s:\n%s", result.student_id, result.assignment,
              story)
    return result


def _judge_into(result: SubmissionResult, artifact: RunArtifact, assignment: Assignment,
                options: JudgeOptions) -> None:
    salt = protocol.salt_from_text(artifact.salt)
    variants = assignment.variants if options.diagnose else ()
    result.flags = sorted(set(artifact.flags) | set(rules.suspicious_code(artifact)))
    for exercise in result.exercises:
        visible = _run_of(artifact, CellRole.TEST, exercise.grade_id)
        hidden = _run_of(artifact, CellRole.HIDDEN, exercise.grade_id)
        exercise.seconds = round(sum(r.seconds for r in (visible, hidden) if r), 2)
        outcomes = judge_test_cell(assignment.test_sources[exercise.grade_id],
                                   hidden.records if hidden else [], assignment.namespace,
                                   variants, salt)
        exercise.hidden = [HiddenResult(o.name, o.passed, o.message, o.diagnosis)
                           for o in outcomes]
        result.flags += rules.verdict(exercise, visible, hidden, outcomes)
    problem = artifact.problem
    for index, cell in enumerate(artifact.cells):
        if cell.run is not None and cell.run.status == CellStatus.TIMEOUT and \
                not problem.startswith(f"cell {index} "):
            said = cell.run.evalue.removeprefix("the cell ") or "ran past its time limit"
            result.notes.append(f"{rules.describe_cell(artifact, index).capitalize()} {said} "
                                "and was interrupted; grading went on.")
    if problem:
        said = rules.describe_problem(problem, artifact)
        result.notes.append(f"Grading stopped early: {said}.")
        result.status, result.reason = PARTLY_GRADED, said
    else:
        result.status = GRADED
    answered = artifact.answered
    if answered and not any(answered.values()):
        result.notes.append("No answer cell was changed from the released stub.")


def _run_of(artifact: RunArtifact, role: CellRole, grade_id: str):
    index = artifact.cell_index(role, grade_id)
    return artifact.cells[index].run if index is not None else None
