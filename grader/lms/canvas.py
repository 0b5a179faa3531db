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
