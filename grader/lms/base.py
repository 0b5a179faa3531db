"""What every LMS adapter shares: the interface, identifying a notebook, and the accounting.

An adapter turns a folder of submissions, laid out as one LMS downloads them, into jobs (one per
student and assignment, each with a stable id and a display name), and explains every notebook
that is not a job: "files found = graded + not graded + explained" holds for every run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..course import Course
from ..files import UnsafeFile, kind_of, read_bytes_capped
from ..model import Job, SubmissionResult
from ..notebooks import UnreadableNotebook, grade_id, is_answer_cell, is_test_cell, parse_notebook

_COPY_SUFFIX = re.compile(r"(\s*\(\d+\)|-\d+)$")   # "name (1)", "name-1": an LMS's re-upload


@dataclass
class Discovery:
    """What discovery found: the jobs, and a reason for every notebook that is not one."""

    jobs: list[Job] = field(default_factory=list)
    explained: list[str] = field(default_factory=list)
    notebooks_found: int = 0
    """Every ``*.ipynb`` under the root (links and pipes with that name included)."""
    adapter: str = ""
    """The name of the adapter that read the layout."""

    def explain(self, where: str, why: str) -> None:
        self.explained.append(f"{where}: {why}")


class Adapter:
    """One LMS's layout (see the module docstring). Subclasses set ``name`` and implement
    :meth:`detect` and :meth:`discover`; :meth:`export` writes the LMS's grade import file."""

    name = ""
    description = ""

    def detect(self, root: Path) -> bool:
        raise NotImplementedError

    def discover(self, root: Path, course: Course, wanted: Sequence[str]) -> Discovery:
        raise NotImplementedError

    def export(self, results: Sequence[SubmissionResult], out_dir: Path,
               roster=None) -> list[Path]:
        """Write the LMS's import file(s); the base LMS has none."""
        return []


def strip_copy_suffix(stem: str) -> str:
    """``01_initialization (1)`` or ``01_initialization-1`` -> ``01_initialization``."""
    return _COPY_SUFFIX.sub("", stem).strip()


def assignment_by_name(stem: str, wanted: Sequence[str]) -> str | None:
    """The assignment a file name stands for: its stem, or a stem ending in ``_<aid>``."""
    stem = strip_copy_suffix(stem)
    for aid in sorted(wanted, key=len, reverse=True):
        if stem == aid or stem.endswith("_" + aid) or stem.endswith("-" + aid):
            return aid
    return None


def identify(path: Path, course: Course, wanted: Sequence[str]) -> tuple[str | None, str]:
    """Which assignment a notebook is, by its graded cells: (aid or None, the reason if None)."""
    if kind_of(path) == "link":
        return None, "a symbolic link (not followed)"
    try:
        raw = read_bytes_capped(path)
    except UnsafeFile as exc:
        return None, str(exc)
    key = (hashlib.sha256(raw).hexdigest(), course, tuple(wanted))
    if key not in _IDENTIFIED:
        _IDENTIFIED[key] = _identify_bytes(raw, course, tuple(wanted))
    return _IDENTIFIED[key]


_IDENTIFIED: dict = {}


def _identify_bytes(raw: bytes, course: Course, wanted: tuple[str, ...]
                    ) -> tuple[str | None, str]:
    try:
        nb = parse_notebook(raw)
    except UnreadableNotebook as exc:
        return None, f"not a notebook the grader can read ({exc})"
    ids = {grade_id(c) for c in nb.cells if (is_answer_cell(c) or is_test_cell(c))
           and grade_id(c)}
    if not ids:
        return None, "a notebook without any graded cell of the course"
    best, overlap = None, 0
    for aid in wanted:
        source_ids = {gid for gid in course.assignment(aid).test_sources} | {
            grade_id(c) for c in course.assignment(aid).source.cells if is_answer_cell(c)}
        n = len(ids & source_ids)
        if n > overlap:
            best, overlap = aid, n
    if best is None:
        return None, "a notebook whose graded cells belong to no assignment being graded"
    return best, ""


def notebooks_under(folder: Path) -> list[Path]:
    """Every ``*.ipynb`` below ``folder`` (not in checkpoints, links not followed), sorted."""
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        found.append(path)
    return found


def keep_newest(jobs: Iterable[Job], discovery: Discovery) -> list[Job]:
    """One job per (student id, assignment): the newest by the LMS's submission id or time.

    The others are explained ("an older submission of ..."). A job with a problem never beats
    one that can be graded.
    """
    best: dict[tuple[str, str], Job] = {}
    order: list[tuple[str, str]] = []
    for job in jobs:
        key = job.key
        if key not in best:
            best[key] = job
            order.append(key)
            continue
        keep, drop = sorted([best[key], job], key=_recency, reverse=True)
        best[key] = keep
        discovery.explain(drop.source or str(drop.path or drop.student),
                          f"an older or second submission of {drop.assignment} by "
                          f"{drop.student} ({drop.student_id}); the newest, "
                          f"{keep.source or keep.path}, was graded")
    return [best[key] for key in order]


def _recency(job: Job):
    gradable = 0 if job.problem else 1
    submitted = job.submitted
    number = int(submitted) if submitted.isdigit() else -1
    return (gradable, number, submitted, job.source)
