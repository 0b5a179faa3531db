"""The run artifact: everything the run stage observed of one submission, persisted.

``runs/<student>/<aid>.json`` holds the assembled notebook with each cell's role (not its
position), the executed outputs (capped), each code cell's status, the raw hidden-test records,
the limits and sandbox that applied, the salt, the notes of how the notebook was read, digests
of what the run depended on (the notebook's bytes, the student's files, the instructor notebook,
the run's settings: an unchanged submission is not run again) and where the run's time went. The
judge stage needs nothing else, so a tolerance, a points rule or a message can change and a whole
class be judged again in seconds, without running a notebook.

Much of an artifact comes from a student's kernel, so it is untrusted input to the judge: it is
decoded as strictly as the kernel's wire format (:func:`decode_artifact`), every field checked for
its type and every vocabulary for its values, and anything else rejected with a clear error.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import CellRole, CellRun, CellStatus, Job

VERSION = 2
"""Version 2 added the input digests and the timings; version 1 artifacts are still read."""
READABLE_VERSIONS = (1, 2)
KIND = "dltrain-grader-run"
MAX_ARTIFACT_BYTES = 400_000_000


class BadArtifact(ValueError):
    """An artifact that does not follow the format; the message says where and why."""


@dataclass
class Cell:
    """One cell of the assembled notebook, with what it is and what it did."""

    role: CellRole
    cell_type: str
    source: str
    grade_id: str | None = None
    tags: list[str] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    run: CellRun | None = None
    """None for markdown and raw cells."""


@dataclass
class RunArtifact:
    """One submission's run (see the module docstring)."""

    job: Job
    reason: str = ""
    """Why nothing could run (the submission is then "not graded"); empty when it ran."""
    salt: str = ""
    notebook_sha256: str = ""
    files_sha256: str = ""
    """Digest of the student's files given to the notebook (:func:`grader.run.files_sha256`)."""
    source_sha256: str = ""
    """Digest of the assignment's instructor notebook when it ran."""
    settings_sha256: str = ""
    """Digest of the options that change what a run observes (see
    :func:`grader.run.settings_sha256`)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent per step of the run (reading, assembling, waiting for the kernel, its start
    and imports, copying the files, executing): for ``python -m grader bench``."""
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    sandboxed: bool = False
    limits: list[str] = field(default_factory=list)
    problem: str = ""
    """What stopped the kernel early (it died, hung, or the notebook's time ran out)."""
    answered: dict[str, bool] = field(default_factory=dict)
    cells: list[Cell] = field(default_factory=list)
    seconds: float = 0.0
    internal_error: str = ""
    """A grader bug's traceback, when the run stage itself failed."""

    def cell_index(self, role: CellRole, grade_id: str) -> int | None:
        """The position of the cell with this role and grade id, or None."""
        for index, cell in enumerate(self.cells):
            if cell.role == role and cell.grade_id == grade_id:
                return index
        return None


# ------------------------------------------------------------------ encoding

def encode_artifact(artifact: RunArtifact) -> dict:
    """The artifact as JSON-ready data (see :func:`dump_artifact` for the file)."""
    job = artifact.job
    return {
        "kind": KIND, "version": VERSION,
        "job": {"student": job.student, "student_id": job.student_id,
                "assignment": job.assignment, "path": str(job.path or ""),
                "problem": job.problem, "submitted": job.submitted, "late": job.late,
                "source": job.source},
        "reason": artifact.reason, "salt": artifact.salt,
        "notebook_sha256": artifact.notebook_sha256, "files_sha256": artifact.files_sha256,
        "source_sha256": artifact.source_sha256, "settings_sha256": artifact.settings_sha256,
        "timings": {str(k): round(float(v), 4) for k, v in artifact.timings.items()},
        "notes": list(artifact.notes),
        "flags": list(artifact.flags), "sandboxed": artifact.sandboxed,
        "limits": list(artifact.limits), "problem": artifact.problem,
        "answered": dict(artifact.answered), "seconds": round(float(artifact.seconds), 3),
        "internal_error": artifact.internal_error,
        "cells": [_encode_cell(c) for c in artifact.cells],
    }


def _encode_cell(cell: Cell) -> dict:
    data = {"role": cell.role.value, "cell_type": cell.cell_type, "source": cell.source,
            "grade_id": cell.grade_id, "tags": list(cell.tags), "outputs": list(cell.outputs),
            "run": None}
    if cell.run is not None:
        run = cell.run
        data["run"] = {"status": run.status.value, "ename": run.ename, "evalue": run.evalue,
                       "seconds": round(float(run.seconds), 3), "records": list(run.records),
                       "truncated": run.truncated, "note": run.note}
    return data


def dump_artifact(artifact: RunArtifact, path: Path) -> None:
    """Write the artifact atomically (a reader never sees half a file), keys sorted."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # NaN and infinities can arrive in a kernel's records; Python's JSON carries them both ways.
    text = json.dumps(encode_artifact(artifact), sort_keys=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def load_artifact(path: Path) -> RunArtifact:
    """Read and strictly decode an artifact file."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_ARTIFACT_BYTES:
        raise BadArtifact(f"{path}: {size} bytes is more than an artifact may have")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadArtifact(f"{path}: not valid JSON ({exc})") from None
    try:
        return decode_artifact(data)
    except BadArtifact as exc:
        raise BadArtifact(f"{path}: {exc}") from None


# ------------------------------------------------------------------ decoding, strictly

def decode_artifact(data: Any) -> RunArtifact:
    """Decode artifact data, checking every field.

    Raises
    ------
    BadArtifact
        Naming the first field that is missing, of the wrong type or out of its vocabulary.
    """
    d = _Fields(data, "artifact")
    if d.str("kind") != KIND:
        raise BadArtifact(f"not a grader run artifact (kind {d.raw('kind')!r})")
    version = d.int("version")
    if version not in READABLE_VERSIONS:
        raise BadArtifact(f"artifact version {version}; this grader reads versions "
                          f"{', '.join(map(str, READABLE_VERSIONS))}")
    j = _Fields(d.raw("job"), "job")
    late = j.raw("late")
    if late is not None and not isinstance(late, bool):
        raise BadArtifact("job.late should be true, false or null")
    job = Job(student=j.str("student"), assignment=j.str("assignment"),
              path=Path(j.str("path")) if j.str("path") else None, problem=j.str("problem"),
              student_id=j.str("student_id"), submitted=j.str("submitted"), late=late,
              source=j.str("source"))
    j.done()
    answered = d.raw("answered")
    if not isinstance(answered, dict) or not all(
            isinstance(k, str) and isinstance(v, bool) for k, v in answered.items()):
        raise BadArtifact("answered should map grade ids to true or false")
    cells_data = d.raw("cells")
    if not isinstance(cells_data, list):
        raise BadArtifact("cells should be a list")
    artifact = RunArtifact(
        job=job, reason=d.str("reason"), salt=d.str("salt"),
        notebook_sha256=d.str("notebook_sha256"), notes=d.strs("notes"), flags=d.strs("flags"),
        sandboxed=d.bool("sandboxed"), limits=d.strs("limits"), problem=d.str("problem"),
        answered=dict(answered), seconds=d.number("seconds"),
        internal_error=d.str("internal_error"),
        cells=[_decode_cell(c, k) for k, c in enumerate(cells_data)])
    if version >= 2:
        artifact.files_sha256 = d.str("files_sha256")
        artifact.source_sha256 = d.str("source_sha256")
        artifact.settings_sha256 = d.str("settings_sha256")
        artifact.timings = d.timings("timings")
    d.done()
    return artifact


def _decode_cell(data: Any, index: int) -> Cell:
    where = f"cells[{index}]"
    c = _Fields(data, where)
    role = _member(CellRole, c.str("role"), f"{where}.role")
    cell_type = c.str("cell_type")
    if cell_type not in ("code", "markdown", "raw"):
        raise BadArtifact(f"{where}.cell_type should be code, markdown or raw")
    grade_id = c.raw("grade_id")
    if grade_id is not None and not isinstance(grade_id, str):
        raise BadArtifact(f"{where}.grade_id should be a string or null")
    outputs = c.raw("outputs")
    if not isinstance(outputs, list):
        raise BadArtifact(f"{where}.outputs should be a list")
    cell = Cell(role=role, cell_type=cell_type, source=c.str("source"), grade_id=grade_id,
                tags=c.strs("tags"),
                outputs=[_check_output(o, f"{where}.outputs[{k}]") for k, o in
                         enumerate(outputs)])
    run = c.raw("run")
    if run is not None:
        r = _Fields(run, f"{where}.run")
        records = r.raw("records")
        if not isinstance(records, list):
            raise BadArtifact(f"{where}.run.records should be a list")
        cell.run = CellRun(status=_member(CellStatus, r.str("status"), f"{where}.run.status"),
                           ename=r.str("ename"), evalue=r.str("evalue"),
                           seconds=r.number("seconds"), records=list(records),
                           truncated=r.bool("truncated"), note=r.str("note"))
        r.done()
    if cell_type == "code" and cell.run is None:
        raise BadArtifact(f"{where}: a code cell needs its run")
    c.done()
    return cell


_OUTPUT_FIELDS = {
    "stream": {"output_type": str, "name": str, "text": str},
    "display_data": {"output_type": str, "data": dict, "metadata": dict},
    "execute_result": {"output_type": str, "data": dict, "metadata": dict,
                       "execution_count": (int, type(None))},
    "error": {"output_type": str, "ename": str, "evalue": str, "traceback": list},
}


def _check_output(output: Any, where: str) -> dict:
    if not isinstance(output, dict):
        raise BadArtifact(f"{where} should be an object")
    kind = output.get("output_type")
    fields = _OUTPUT_FIELDS.get(kind)
    if fields is None:
        raise BadArtifact(f"{where}.output_type {kind!r} is not one of {sorted(_OUTPUT_FIELDS)}")
    if set(output) != set(fields):
        raise BadArtifact(f"{where} should have exactly the fields {sorted(fields)}")
    for name, kind_of_value in fields.items():
        if not isinstance(output[name], kind_of_value) or isinstance(output[name], bool):
            raise BadArtifact(f"{where}.{name} has the wrong type")
    if kind == "error" and not all(isinstance(line, str) for line in output["traceback"]):
        raise BadArtifact(f"{where}.traceback should hold strings")
    if "data" in fields and not all(isinstance(k, str) for k in output["data"]):
        raise BadArtifact(f"{where}.data should be keyed by MIME types")
    return output


def _member(enum, value: str, where: str):
    try:
        return enum(value)
    except ValueError:
        raise BadArtifact(f"{where} {value!r} is not one of "
                          f"{sorted(m.value for m in enum)}") from None


class _Fields:
    """Strict reading of one JSON object: each field read once, with its type checked."""

    def __init__(self, data: Any, where: str):
        if not isinstance(data, dict):
            raise BadArtifact(f"{where} should be an object")
        self.data, self.where, self.seen = data, where, set()

    def raw(self, name: str) -> Any:
        if name not in self.data:
            raise BadArtifact(f"{self.where}.{name} is missing")
        self.seen.add(name)
        return self.data[name]

    def _typed(self, name: str, kind, label: str):
        value = self.raw(name)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise BadArtifact(f"{self.where}.{name} should be {label}")
        return value

    def str(self, name: str) -> str:
        return self._typed(name, str, "a string")

    def bool(self, name: str) -> bool:
        return self._typed(name, bool, "true or false")

    def int(self, name: str) -> int:
        return self._typed(name, int, "an integer")

    def number(self, name: str) -> float:
        value = self._typed(name, (int, float), "a number")
        if not math.isfinite(value) or value < 0:
            raise BadArtifact(f"{self.where}.{name} should be a finite number >= 0")
        return float(value)

    def timings(self, name: str) -> dict[str, float]:
        value = self.raw(name)
        if not isinstance(value, dict) or len(value) > 64 or not all(
                isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v) and v >= 0 for k, v in value.items()):
            raise BadArtifact(f"{self.where}.{name} should map at most 64 names to finite "
                              "numbers >= 0")
        return {k: float(v) for k, v in value.items()}

    def strs(self, name: str) -> list[str]:
        value = self.raw(name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadArtifact(f"{self.where}.{name} should be a list of strings")
        return list(value)

    def done(self) -> None:
        extra = set(self.data) - self.seen
        if extra:
            raise BadArtifact(f"{self.where} has unknown fields {sorted(extra)}")
