"""Moodle: the "Download all submissions" zip of one assignment.

Moodle puts each student's files in a folder ``<Full Name>_<participant id>_assignsubmission_file_``
(and ``..._onlinetext_`` for online text). The participant id is the student's stable id, the
full name the display name. Files keep the names the student gave them (a folder may hold
another assignment's notebook, or a renamed one): the assignment comes from the name when it says,
else from the notebook's own graded cells. Of two notebooks of one assignment in one folder, the
newer (by the time the zip records) is graded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..course import Course
from ..files import kind_of
from .base import Adapter, Discovery, keep_newest
from .folder import student_folder

FOLDER = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_(?P<plugin>assignsubmission_file|"
                    r"assignsubmission_onlinetext|onlinetext)_?$")


class Moodle(Adapter):
    name = "moodle"
    description = "Moodle's Download all submissions zip (a folder per participant)"

    def detect(self, root: Path) -> bool:
        return any(FOLDER.match(e.name) for e in root.iterdir() if kind_of(e) == "folder")

    def export(self, results, out_dir: Path, roster=None) -> list[Path]:
        return export_moodle(results, out_dir, roster)

    def discover(self, root: Path, course: Course, wanted: Sequence[str]) -> Discovery:
        found = Discovery()
        jobs = []
        for entry in sorted(root.iterdir()):
            if entry.name.startswith((".", "__MACOSX")):
                continue
            match = FOLDER.match(entry.name)
            kind = kind_of(entry)
            if kind != "folder" or match is None:
                if entry.suffix == ".ipynb":
                    found.notebooks_found += 1
                found.explain(entry.name, "not a Moodle submission folder "
                                          "(Full Name_id_assignsubmission_file_)")
                continue
            if match["plugin"] != "assignsubmission_file":
                continue   # online text: nothing to grade here
            jobs += student_folder(entry, match["name"].strip(), match["participant"], course,
                                   wanted, found, root, submitted="")
        for job in jobs:
            if job.path is not None:
                job.submitted = f"{job.path.stat().st_mtime:017.3f}"
        found.jobs = keep_newest(jobs, found)
        return found


WORKSHEET = ["Identifier", "Full name", "Email address", "Grade", "Maximum Grade",
             "Feedback comments"]


def export_moodle(results, out_dir: Path, roster=None) -> list[Path]:
    """``moodle-import-<aid>.csv``: the grades in a form Moodle imports.

    With the assignment's grading worksheet as roster (or no roster): the worksheet, keyed by
    ``Identifier`` (``Participant 123``), with ``Grade`` filled in — upload it with "Upload
    grading worksheet". With the course's participants export as roster: its identifying column
    (ID number, email address or username), the names and one grade column — import it with
    "Import grades: CSV file", mapping that column to the user. Every rostered student is listed;
    the grade is blank where nothing was graded.
    """
    from ..publish import write_csv

    written = []
    for aid in sorted({r.assignment for r in results}):
        mine = [r for r in results if r.assignment == aid]
        top = max((r.max_points for r in mine), default=0)
        by_id = {r.student_id: r for r in mine}
        path = Path(out_dir) / f"moodle-import-{aid}.csv"
        if roster is not None and roster.kind == "moodle-participants":
            key = next(h for h in roster.header if h.casefold() in ("id number",
                                                                    "email address",
                                                                    "username"))
            rows = [[s.fields.get(key, s.id), s.fields.get("First name", ""),
                     s.fields.get("Last name", ""), _grade(by_id.get(s.id))]
                    for s in roster.students]
            write_csv(path, [key, "First name", "Last name", aid], rows)
        else:
            people = ([(s.id, s.name, s.fields.get("Email address", "")) for s in
                       roster.students] if roster is not None else
                      [(r.student_id, r.student, "") for r in
                       sorted(mine, key=lambda r: (r.student, r.student_id))])
            rows = [[f"Participant {pid}", name, email, _grade(by_id.get(pid)), top,
                     _comment(by_id.get(pid))] for pid, name, email in people]
            write_csv(path, WORKSHEET, rows)
        written.append(path)
    return written


def _grade(result):
    if result is None or result.status in ("missing", "not graded"):
        return ""
    return result.total


def _comment(result) -> str:
    if result is None:
        return ""
    return f"{result.status}; see your feedback page" if result.status != "missing" else ""
