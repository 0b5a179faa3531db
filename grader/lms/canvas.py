"""Canvas: the "Download Submissions" zip of one assignment.

Canvas names every file ``<sortable name>_[LATE_]<user id>_<submission id>_<original name>``
(the sortable name lower case, without spaces or punctuation), all in one flat folder. The user
id is the student's stable id; ``LATE_`` marks a late submission; the submission id orders
re-submissions (the newest is graded). The original name may be anything (``Homework1.ipynb``,
``01_initialization (1).ipynb``): the assignment comes from the name when it says, else from
the notebook's own graded cells.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..course import Course
from ..files import kind_of
from ..model import Job
from .base import Adapter, Discovery, assignment_by_name, identify, keep_newest

FILE = re.compile(r"^(?P<name>[a-z0-9]+?)_(?P<late>LATE_)?(?P<user>\d+)_(?P<submission>\d+)_"
                  r"(?P<original>.+)$")


class Canvas(Adapter):
    name = "canvas"
    description = "Canvas's Download Submissions zip (flat files with user ids)"

    def detect(self, root: Path) -> bool:
        files = [e for e in root.iterdir() if e.suffix == ".ipynb"]
        return bool(files) and sum(bool(FILE.match(e.name)) for e in files) >= len(files) / 2

    def export(self, results, out_dir: Path, roster=None) -> list[Path]:
        return export_canvas(results, out_dir, roster)

    def discover(self, root: Path, course: Course, wanted: Sequence[str]) -> Discovery:
        found = Discovery()
        jobs = []
        for entry in sorted(root.iterdir()):
            if entry.name.startswith((".", "__MACOSX")):
                continue
            if entry.suffix != ".ipynb":
                found.explain(entry.name, "not a notebook (ignored)" if kind_of(entry) != "folder"
                              else "a folder in a Canvas download (ignored)")
                continue
            found.notebooks_found += 1
            match = FILE.match(entry.name)
            if match is None:
                found.explain(entry.name, "not named as Canvas names submissions "
                                          "(name_userid_submissionid_file)")
                continue
            job = canvas_job(entry, match, course, wanted, found)
            if job is not None:
                jobs.append(job)
        found.jobs = keep_newest(jobs, found)
        return found


def canvas_job(path: Path, match: re.Match, course: Course, wanted: Sequence[str],
               found: Discovery) -> Job | None:
    fields = dict(student_id=match["user"], submitted=match["submission"],
                  late=bool(match["late"]), source=path.name)
    if kind_of(path) == "link":
        return Job(match["name"], wanted[0] if len(wanted) == 1 else "?", None,
                   f"{path.name} is a symbolic link; the grader does not follow links", **fields)
    aid = assignment_by_name(Path(match["original"]).stem, wanted)
    if aid is None:
        aid, why = identify(path, course, wanted)
        if aid is None:
            found.explain(path.name, why)
            return None
    return Job(match["name"], aid, path, **fields)


IMPORT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def export_canvas(results, out_dir: Path, roster=None) -> list[Path]:
    """``canvas-import-<aid>.csv``: Canvas's gradebook import format, one assignment column.

    Canvas matches rows by ``ID`` (the user id). Every rostered student is listed; the score is
    the submission's total, and blank where nothing was graded (missing, or not gradable: the
    grade in Canvas is then left as it is). The assignment column is named after the assignment
    id: rename it to the Canvas column's exact header (``Name (12345)``) to fill an existing one.
    """
    from ..publish import write_csv

    written = []
    for aid in sorted({r.assignment for r in results}):
        mine = [r for r in results if r.assignment == aid]
        top = max((r.max_points for r in mine), default=0)
        rows = [["Points Possible", "", "", "", "", top]]
        by_id = {r.student_id: r for r in mine}
        if roster is not None and roster.kind == "canvas":
            for student in roster.students:
                result = by_id.get(student.id)
                rows.append([student.name, student.id, student.fields.get("SIS User ID", ""),
                             student.fields.get("SIS Login ID", ""),
                             student.fields.get("Section", ""), _score(result)])
        else:
            for result in sorted(mine, key=lambda r: (r.student, r.student_id)):
                rows.append([result.student, result.student_id, "", "", "", _score(result)])
        path = Path(out_dir) / f"canvas-import-{aid}.csv"
        write_csv(path, IMPORT_COLUMNS + [aid], rows)
        written.append(path)
    return written


def _score(result):
    if result is None or result.status in ("missing", "not graded"):
        return ""
    return result.total
