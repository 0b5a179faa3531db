"""What grading produces: one :class:`SubmissionResult` per (student, assignment)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

GRADED, PARTLY_GRADED, NOT_GRADED = "graded", "partly graded", "not graded"


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
    status: str = "not run"
    """passed, failed, error, timeout, kernel died, not run."""
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

    @property
    def total(self) -> float:
        return sum(e.points for e in self.exercises)

    @property
    def max_points(self) -> float:
        return sum(e.max_points for e in self.exercises)

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
