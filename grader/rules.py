"""The grading rules, in one place: what earns points, what counts as failed, what is flagged.

* A test cell earns its points only when its visible tests ran clean **and** every one of its
  hidden tests passed on the values the grader received; otherwise it scores 0.
* Its status says why: ``not answered`` (the stub still raises ``NotImplementedError``),
  ``failed`` (a check failed: ``CheckFailed``, ``AssertionError``, a hidden test),
  ``error`` (anything else raised), ``timeout``, ``kernel died``, ``not run``.
* Hidden tests compare with the reference with the tolerances their test cell gives
  (``hidden_test(..., rtol=, atol=)``, :mod:`grader.trusted`), and a known mistake is named only
  when the student's results match it on every hidden test where it differs from the reference
  (:meth:`grader.trusted.TrustedSession.diagnose`, which also fixes the order of precedence).
* A test cell that finished without error but did not report all its hidden tests, or reported
  invalid ones, is flagged for review; so is student code that hooks IPython, patches numpy or
  builtins, touches the grader's protocol or looks for files outside its folder. Flags never
  change points by themselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .artifact import RunArtifact
from .model import CellRole, CellRun, CellStatus, ExerciseResult, ExerciseStatus
from .trusted import Outcome

FAILED_CHECKS = ("CheckFailed", "AssertionError", "HiddenTestError")


def verdict(exercise: ExerciseResult, visible: CellRun | None, hidden: CellRun | None,
            outcomes: Sequence[Outcome]) -> list[str]:
    """Set the exercise's points, status and messages; return the flags it raises."""
    status = visible.status if visible else CellStatus.NOT_RUN
    hidden_ok = bool(outcomes) and all(o.passed for o in outcomes)
    if status == CellStatus.OK and hidden_ok:
        exercise.status, exercise.points = ExerciseStatus.PASSED.value, exercise.max_points
        return []
    exercise.points = 0.0
    if status == CellStatus.ERROR:
        exercise.status = (ExerciseStatus.FAILED if visible.ename in FAILED_CHECKS
                           else ExerciseStatus.ERROR).value
        if visible.ename == "NotImplementedError" or _unanswered_question(exercise, visible):
            exercise.status = ExerciseStatus.NOT_ANSWERED.value
            exercise.messages.append("Not answered yet: the answer cell still raises "
                                     "NotImplementedError.")
        elif visible.ename != "HiddenTestError":
            exercise.messages.append(f"The visible tests failed: {visible.ename}: "
                                     f"{visible.evalue}")
    elif status == CellStatus.TIMEOUT:
        exercise.status = ExerciseStatus.TIMEOUT.value
        exercise.messages.append(f"The test cell did not finish: {visible.evalue}.")
    elif status == CellStatus.DIED:
        exercise.status = ExerciseStatus.KERNEL_DIED.value
        exercise.messages.append("The kernel died while this test cell ran (os._exit, a crash "
                                 "or the memory limit).")
    elif status == CellStatus.NOT_RUN:
        died = bool(visible and visible.note)
        exercise.status = (ExerciseStatus.KERNEL_DIED if died else ExerciseStatus.NOT_RUN).value
        exercise.messages.append(f"Not run: {visible.note}." if died else "Not run.")
    else:
        exercise.status = ExerciseStatus.FAILED.value
    if not outcomes:
        exercise.messages.append("This test cell has no hidden tests; it cannot be graded.")
    hidden_status = hidden.status if hidden else CellStatus.NOT_RUN
    if hidden_status == CellStatus.OK and any(o.missing or o.garbled for o in outcomes):
        return [f"{exercise.grade_id}: the test cell finished without error but its hidden "
                "tests did not report (cell emptied or output tampered with)"]
    if any(o.garbled for o in outcomes):
        return [f"{exercise.grade_id}: invalid hidden-test results came back"]
    return []


def _unanswered_question(exercise: ExerciseResult, visible: CellRun) -> bool:
    """A question's test cell that fails because its answer variable was never set (the
    released stub raises before assigning it)."""
    variable = exercise.grade_id.removeprefix("test_")
    return variable.startswith("q_") and visible.ename == "NameError" and \
        f"'{variable}'" in visible.evalue


def describe_cell(artifact: RunArtifact, index: int) -> str:
    """How a student would recognise a cell of the executed notebook."""
    cell = artifact.cells[index]
    if cell.role == CellRole.ANSWER:
        return f"your answer cell {cell.grade_id!r}"
    if cell.role in (CellRole.TEST, CellRole.HIDDEN):
        return f"the test cell {cell.grade_id!r}"
    if cell.role == CellRole.ADDED:
        before = next((artifact.cells[i].grade_id for i in range(index, -1, -1)
                       if artifact.cells[i].grade_id), None)
        return f"a cell you added (after {before!r})" if before else "a cell you added"
    return f"the notebook's cell {index}"


def describe_problem(problem: str, artifact: RunArtifact) -> str:
    """The run's problem ("the kernel died in cell 7") in the student's words."""
    match = re.match(r"cell (\d+) (.*)", problem) or re.search(r"in cell (\d+)$", problem)
    if not match or int(match.group(1)) >= len(artifact.cells):
        return problem
    index = int(match.group(1))
    return problem.replace(f"cell {index}", describe_cell(artifact, index))


SUSPICIOUS = [
    (r"input_transformers|ast_transformers|register_magic|events\.register", "hooks IPython's "
     "input or events"),
    (r"showtraceback|_showtraceback|InteractiveShell", "patches IPython's error reporting"),
    (r"\bnp\.(allclose|isclose|testing|array_equal)\s*=|numpy\.testing\s*=|"
     r"setattr\(\s*(np|numpy)", "reassigns numpy functions"),
    (r"\bbuiltins\b|__builtins__", "touches builtins"),
    (r"dltrain\.grading|_SESSION|vnd\.dltrain|__grader_hidden_tests__", "touches the grader's "
     "protocol"),
    (r"sys\.modules\[", "replaces modules"),
    (r"os\._exit|signal\.signal|SIGINT", "exits the kernel or handles signals"),
    (r"solutions[/\\]|gradebook|\.\./\.\./", "looks for files outside its folder"),
]


def suspicious_code(artifact: RunArtifact) -> list[str]:
    """A static scan of the student's own code: flags for the instructor, never a penalty."""
    flags = []
    for cell in artifact.cells:
        if cell.role not in (CellRole.ANSWER, CellRole.ADDED) or cell.cell_type != "code":
            continue
        for pattern, what in SUSPICIOUS:
            if re.search(pattern, cell.source):
                flags.append(f"student code {what}")
    return sorted(set(flags))
