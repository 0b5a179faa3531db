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
