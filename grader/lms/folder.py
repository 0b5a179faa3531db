"""Plain folders: the course's own layout, nbgrader's ``submitted/``, a folder per student.

* ``<student>/<aid>/<aid>.ipynb`` — the course's layout and nbgrader's ``submitted/``;
* ``<student>/<aid>.ipynb`` — the notebook directly in the student's folder;
* ``<student>/<anything>.ipynb`` (at any depth) — identified by its graded cells;
* ``<student>_<aid>.ipynb`` at the top — a flat download with the student's name first.

The folder name is the student's stable id and display name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..course import Course
from ..files import is_real_folder, is_regular_file, kind_of, link_between
from ..model import Job
from .base import (
    Adapter,
    Discovery,
    assignment_by_name,
    identify,
    keep_newest,
    notebooks_under,
    strip_copy_suffix,
)


class Folder(Adapter):
    name = "folder"
    description = "a folder per student (the course's layout, nbgrader's submitted/)"

    def detect(self, root: Path) -> bool:
        return True   # the fallback

    def discover(self, root: Path, course: Course, wanted: Sequence[str]) -> Discovery:
        found = Discovery()
        jobs: list[Job] = []
        for entry in sorted(root.iterdir()):
            if entry.name.startswith((".", "__MACOSX")):
                continue
            kind = kind_of(entry)
            if kind == "folder":
                jobs += student_folder(entry, entry.name, entry.name, course, wanted, found,
                                       root)
            elif entry.suffix == ".ipynb":
                found.notebooks_found += 1
                job = flat_file(entry, course, wanted, found, root)
                if job:
                    jobs.append(job)
            elif kind == "link":
                found.explain(entry.name, "a symbolic link; the grader does not follow links")
            else:
                found.explain(entry.name, "not a notebook (ignored)")
        found.jobs = keep_newest(jobs, found)
        return found


def student_folder(folder: Path, student: str, student_id: str, course: Course,
                   wanted: Sequence[str], found: Discovery, root: Path,
                   **job_fields) -> list[Job]:
    """The jobs of one student's folder; every notebook in it ends in a job or a reason."""
    jobs: list[Job] = []
    notebooks = notebooks_under(folder)
    found.notebooks_found += len(notebooks)
    used: set[Path] = set()
    for aid in wanted:
        nested = folder / aid / f"{aid}.ipynb"
        direct = folder / f"{aid}.ipynb"
        link = link_between(folder, nested) or link_between(folder, direct)
        base = dict(student_id=student_id, **job_fields)
        if link is not None:
            used.add(nested if link_between(folder, nested) else direct)
            jobs.append(Job(student, aid, None, f"{link.relative_to(root).as_posix()} is a "
                            "symbolic link; the grader does not follow links (submit the "
                            "notebook itself)", source=_rel(link, root), **base))
        elif is_regular_file(nested):
            used.add(nested)
            jobs.append(Job(student, aid, nested, folder=nested.parent,
                            source=_rel(nested, root), **base))
        elif is_regular_file(direct):
            used.add(direct)
            jobs.append(Job(student, aid, direct, folder=folder, source=_rel(direct, root),
                            **base))
        elif "other" in (kind_of(nested), kind_of(direct)):
            odd = nested if kind_of(nested) == "other" else direct
            used.add(odd)
            jobs.append(Job(student, aid, None, f"{odd.relative_to(root).as_posix()} is not a "
                            "regular file (a pipe, a device or a socket); submit the notebook "
                            "itself", source=_rel(odd, root), **base))
    for path in notebooks:
        if path in used:
            continue
        aid, why = identify(path, course, wanted)
        if aid is None:
            found.explain(_rel(path, root), why)
            continue
        if link_between(folder, path) is not None:
            found.explain(_rel(path, root), "sits under a symbolic link (not followed)")
            continue
        parent = path.parent if path.parent != folder and is_real_folder(path.parent) else folder
        jobs.append(Job(student, aid, path, folder=parent, student_id=student_id,
                        source=_rel(path, root), **job_fields))
    have = {job.assignment for job in jobs}
    for aid in wanted:
        if aid not in have and (len(wanted) == 1 or is_real_folder(folder / aid)):
            jobs.append(Job(student, aid, None, _missing_reason(folder, aid, notebooks, root),
                            student_id=student_id, **job_fields))
    return jobs


def _missing_reason(folder: Path, aid: str, notebooks: list[Path], root: Path) -> str:
    if notebooks:
        names = ", ".join(_rel(p, folder) for p in notebooks[:3])
        return (f"no notebook of {aid} was found (found {names}, which are not {aid}: see "
                f"the report's list of files that are not a submission)")
    return f"no notebook {aid}/{aid}.ipynb was submitted"


def flat_file(path: Path, course: Course, wanted: Sequence[str], found: Discovery,
              root: Path) -> Job | None:
    """``<student>_<aid>.ipynb`` at the top of a plain folder."""
    if kind_of(path) == "link":
        found.explain(path.name, "a symbolic link; the grader does not follow links")
        return None
    stem = strip_copy_suffix(path.stem)
    aid = assignment_by_name(stem, wanted)
    if aid is None:
        aid, why = identify(path, course, wanted)
        if aid is None:
            found.explain(path.name, why)
            return None
    student = stem[: -len(aid) - 1] if stem.endswith(aid) and stem != aid else ""
    if not student:
        found.explain(path.name, "sits at the top level with no student name; put it in a "
                                 "folder named after the student")
        return None
    return Job(student, aid, path, source=path.name)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
