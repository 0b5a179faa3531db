"""Hidden tests judged inside the kernel, for plain nbgrader (``nbgrader autograde``).

The course's grader judges hidden tests outside the kernel (:mod:`grader.trusted`). Instructors
who run nbgrader's own pipeline (JupyterHub, formgrader, the exchange) execute the notebook in a
kernel and read only whether each test cell raised. There, :mod:`dltrain.grading` calls
:func:`judge_in_kernel` on every hidden test: the reference is built from the instructor's
``solutions/`` (found above the notebook's folder, or at ``DLTRAIN_COURSE_ROOT``), each case is
judged with the same comparison as the grader's, and a failure raises ``AssertionError`` with the
grader's message, so nbgrader gives the points the grader would give an honest submission. It is
not tamper-resistant: the student's code runs in the same process (``python -m grader grade`` is).
Where no ``solutions/`` can be found, the hidden test fails loudly instead of passing silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import dltrain.grading as protocol

from .course import Course
from .trusted import judge_record


class CannotJudge(AssertionError):
    """The hidden tests cannot be judged in this kernel (no instructor's solutions at hand)."""


def course_root(start: Path | None = None) -> Path:
    """The instructor repository above the notebook's folder (``solutions/`` and ``grader/``)."""
    configured = os.environ.get("DLTRAIN_COURSE_ROOT")
    candidates = [Path(configured)] if configured else []
    here = (start or Path.cwd()).resolve()
    candidates += [here, *here.parents]
    for root in candidates:
        if (root / "solutions").is_dir() and (root / "grader" / "native.py").is_file():
            return root
    raise CannotJudge("the hidden tests of this notebook are judged against the instructor's "
                      "solutions, and none were found above this folder: grade with `python -m "
                      "grader grade`, or run nbgrader from the course's instructor repository")


def judge_in_kernel(functions, cases, seed, name, run, check, rtol, atol, salt) -> None:
    """Judge one hidden test of the notebook running in this kernel; raise when it fails."""
    root = course_root()
    aid = Path.cwd().name
    course = Course(root / "solutions", root / "notebooks", root / "grader" / "catalogue")
    if aid not in course.assignment_ids():
        raise CannotJudge(f"this notebook's folder {aid!r} is not an assignment of the course at "
                          f"{root}: nbgrader runs it in a folder named after the assignment")
    namespace = course.assignment(aid).namespace
    fns = protocol.as_function_tuple(functions)
    reference = []
    for fn in fns:
        if isinstance(fn, protocol._Answer):
            reference.append(protocol._Answer(namespace[fn.__name__], fn.__name__))
        else:
            reference.append(namespace[fn.__name__])
    label = name or getattr(fns[0], "__name__", "hidden test")
    case_list = protocol.make_cases(cases, seed, salt)
    record = protocol.collect_record(fns, cases, seed, label, run, salt=salt)
    outcome, _ = judge_record(label, record, tuple(reference), case_list, run, check, rtol, atol)
    if not outcome.passed:
        raise AssertionError(f"hidden test {label!r}: {outcome.message}")
