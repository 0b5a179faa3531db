"""The grader's vocabulary: what a job is, what grading produces, and the statuses of each.

Discovery (:mod:`grader.lms`), the three stages (:mod:`grader.run`, :mod:`grader.judge`,
:mod:`grader.publish`) and the command line all speak in these types; none of them defines its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path


class SubmissionStatus(str, Enum):
    """What became of one (student, assignment)."""

    GRADED = "graded"
    PARTLY_GRADED = "partly graded"
    """The notebook ran, but a cell killed or hung the kernel: later tests scored 0."""
    NOT_GRADED = "not graded"
    """Nothing could be run (unreadable, not this assignment, a link); the reason says why."""
    MISSING = "missing"
    """A rostered student who submitted nothing."""

    def __str__(self) -> str:
        return self.value


class ExerciseStatus(str, Enum):
    """The verdict of one graded test cell."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    NOT_ANSWERED = "not answered"
    TIMEOUT = "timeout"
    KERNEL_DIED = "kernel died"
    NOT_RUN = "not run"

    def __str__(self) -> str:
        return self.value


class CellStatus(str, Enum):
    """What happened to one code cell when the notebook ran."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    DIED = "died"
    NOT_RUN = "not run"
    SKIPPED = "skipped"

    def __str__(self) -> str:
        return self.value


class CellRole(str, Enum):
    """What a cell of the assembled notebook is (see :mod:`grader.assemble`)."""

    ANSWER = "answer"
    TEST = "test"
    """The visible part of a test cell."""
    HIDDEN = "hidden"
    """The hidden tests of a test cell, run as a cell of their own right after it."""
    INSTRUCTOR = "instructor"
    EXPERIMENT = "experiment"
    ADDED = "added"
    """A cell the student added."""

    def __str__(self) -> str:
        return self.value


@dataclass
class CellRun:
    """What happened to one code cell when the notebook ran."""

    status: CellStatus = CellStatus.NOT_RUN
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0
    records: list = field(default_factory=list)
    """Hidden-test records exactly as the kernel sent them (JSON values), judged later."""
    truncated: bool = False
    note: str = ""
    reported_error: str = ""
    """An error the cell reported instead of raising (hidden tests: see
    :func:`dltrain.grading.run_hidden_tests`); folded into ``ename``/``evalue`` when it ends."""

    def finish_ok(self) -> None:
        """The cell completed: ``ok``, or ``error`` when it reported one."""
        if self.reported_error:
            self.status = CellStatus.ERROR
            name, _, value = self.reported_error.partition(": ")
            self.ename, self.evalue = name[:200], value[:2000]
        else:
            self.status = CellStatus.OK


# Kept as plain names too: they read well in code and compare equal to the enum members.
GRADED, PARTLY_GRADED, NOT_GRADED, MISSING = (s.value for s in SubmissionStatus)


@dataclass
class Job:
    """One (student, assignment) to grade, as discovery found it.

    ``problem`` is set when there is nothing to run (the reason, for the student and the
    instructor); ``folder`` is the student's own folder, copied as the kernel's working copy (None:
    nothing to copy, e.g. a flat LMS download where the notebook's folder holds everybody's files).
    """

    student: str
    """The display name (as the LMS shows it)."""
    assignment: str
    path: Path | None = None
    problem: str = ""
    folder: Path | None = None
    student_id: str = ""
    """A stable identity: the LMS's user id where it has one, else the folder or file name."""
    submitted: str = ""
    """When the LMS says it was submitted (ISO 8601), or its submission id; for duplicates."""
    late: bool | None = None
    """Whether the LMS marked it late (None: the LMS does not say)."""
    source: str = ""
    """The file or folder this job came from, relative to the submissions root."""

    def __post_init__(self) -> None:
        if not self.student_id:
            self.student_id = self.student

    @property
    def key(self) -> tuple[str, str]:
        return (self.student_id, self.assignment)


@dataclass
class HiddenResult:
    name: str
    passed: bool
    message: str = ""
    diagnosis: str = ""


@dataclass
class ExerciseResult:
    """One graded test cell."""

    grade_id: str
    title: str
    max_points: float
    points: float = 0.0
    status: str = ExerciseStatus.NOT_RUN.value
    messages: list[str] = field(default_factory=list)
    hidden: list[HiddenResult] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    path: str = ""
    status: str = NOT_GRADED
    reason: str = ""
    exercises: list[ExerciseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    """Suspected tampering, for the instructor to look at; never changes points by itself."""
    sandboxed: bool = False
    limits: list[str] = field(default_factory=list)
    """Resource limits that were in force for the kernel."""
    seconds: float = 0.0
    feedback: str = ""
    """Path of the feedback file, relative to the output directory."""
    student_id: str = ""
    late: bool | None = None
    submitted: str = ""
    internal_error: str = ""
    """A grader bug's traceback (for the instructor and the log; the student sees the reason)."""

    def __post_init__(self) -> None:
        if not self.student_id:
            self.student_id = self.student

    @property
    def total(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(e.max_points for e in self.exercises)

    @property
    def key(self) -> tuple[str, str]:
        return (self.student_id, self.assignment)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["total"] = self.total
        data["max_points"] = self.max_points
        return data

    @classmethod
    def from_dict(cls, data: dict) -> SubmissionResult:
        data = dict(data)
        data.pop("total", None)
        data.pop("max_points", None)
        exercises = []
        for e in data.pop("exercises", []):
            e = dict(e)
            e["hidden"] = [HiddenResult(**h) for h in e.get("hidden", [])]
            exercises.append(ExerciseResult(**e))
        return cls(exercises=exercises, **data)

    @classmethod
    def for_job(cls, job: Job, **fields) -> SubmissionResult:
        """A result carrying the job's identity (name, id, path, LMS metadata)."""
        return cls(student=job.student, assignment=job.assignment, path=str(job.path or ""),
                   student_id=job.student_id, late=job.late, submitted=job.submitted,
                   **fields)
