"""Find the submissions to grade in a folder or an LMS zip.

Layouts understood (``aid`` is an assignment id such as ``00_inputs``):

* ``<student>/<aid>/<aid>.ipynb`` — the course's own layout (and nbgrader's ``submitted/``);
* ``<student>/<aid>.ipynb`` — a student folder with the notebook directly inside (Moodle's
  ``Full Name_123_assignsubmission_file_/`` folders are read this way, the suffix dropped);
* ``<student>_<anything>_<aid>.ipynb`` or ``<student>_<aid>.ipynb`` in the top folder — flat
  LMS downloads (Canvas names files ``lastfirst_userid_submissionid_<original name>``);
* a zip of any of these, possibly wrapped in one top folder.

A student folder holding notebooks that are not named after the assignment gives a job with a
``problem`` (a renamed notebook), never a silent zero.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from pathlib import Path

from .files import is_real_folder, is_regular_file, kind_of, link_between
from .grade import Job

MAX_ZIP_BYTES = 2_000_000_000
MAX_ZIP_FILES = 50_000
_MOODLE = re.compile(r"_(assignsubmission_file|onlinetext)_?$")
_CANVAS_COPY = re.compile(r"-\d+$")   # Canvas appends -1, -2 to re-submitted file names


class SubmissionsError(RuntimeError):
    """The submissions path cannot be read at all (grading cannot run)."""


def unpack_zip(archive: Path, dest: Path) -> Path:
    """Extract an LMS zip safely (no absolute paths, no ``..``, no links, bounded size)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_ZIP_FILES:
                raise SubmissionsError(f"{archive} holds too many files ({len(members)})")
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise SubmissionsError(f"{archive} is too large once unpacked")
            for member in members:
                name = member.filename.replace("\\", "/")
                parts = [p for p in name.split("/") if p not in ("", ".")]
                if not parts or ".." in parts or name.startswith("/") or \
                        parts[0].startswith("__MACOSX"):
                    continue
                if stat.S_ISLNK(member.external_attr >> 16):
                    continue
                target = dest.joinpath(*parts)
                if member.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
    except zipfile.BadZipFile as exc:
        raise SubmissionsError(f"{archive} is not a valid zip file ({exc})") from None
    return dest


def discover(root: Path, known: list[str], assignment: str | None = None) -> list[Job]:
    """The jobs found under ``root`` (a folder, already unpacked).

    Parameters
    ----------
    root : Path
        Folder of submissions.
    known : list of str
        The course's assignment ids.
    assignment : str, optional
        Grade only this assignment (and expect it from every student).
    """
    root = Path(root)
    if not root.is_dir():
        raise SubmissionsError(f"{root} is not a folder or a zip file")
    wanted = [assignment] if assignment else list(known)
    root = _unwrap(root, wanted)
    jobs: list[Job] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "__MACOSX")):
            continue
        kind = kind_of(entry)
        if kind == "link":
            aid = wanted[0] if len(wanted) == 1 else "?"
            jobs.append(Job(student_name(entry.name.removesuffix(".ipynb")), aid, None,
                            f"{entry.name} is a symbolic link; the grader does not follow links "
                            "(submit the notebook itself)"))
        elif kind == "folder":
            jobs.extend(_student_folder(entry, wanted, assignment))
        elif kind == "file" and entry.suffix == ".ipynb":
            job = _flat_file(entry, wanted)
            if job:
                jobs.append(job)
    return _dedupe(jobs)


def _unwrap(root: Path, wanted: list[str]) -> Path:
    """Descend through single wrapper folders (``submissions.zip`` -> ``submissions/``)."""
    for _ in range(3):
        entries = [e for e in root.iterdir() if not e.name.startswith((".", "__MACOSX"))]
        if len(entries) != 1 or not is_real_folder(entries[0]):
            return root
        only = entries[0]
        if any((only / aid).exists() or (only / f"{aid}.ipynb").exists() for aid in wanted):
            return root   # it is a student's folder
        if only.name in ("submitted", "submissions") or not any(
                p.suffix == ".ipynb" for p in only.iterdir()):
            root = only
        else:
            return root
    return root


def student_name(folder_name: str) -> str:
    return _MOODLE.sub("", folder_name).strip() or folder_name


def _student_folder(folder: Path, wanted: list[str], assignment: str | None) -> list[Job]:
    student = student_name(folder.name)
    jobs = []
    for aid in wanted:
        nested = folder / aid / f"{aid}.ipynb"
        direct = folder / f"{aid}.ipynb"
        link = link_between(folder, nested) or link_between(folder, direct)
        if link is not None:
            jobs.append(Job(student, aid, None, f"{link.relative_to(folder.parent).as_posix()} "
                                                "is a symbolic link; the grader does not follow "
                                                "links (submit the notebook itself)"))
        elif is_regular_file(nested):
            jobs.append(Job(student, aid, nested, folder=nested.parent))
        elif is_regular_file(direct):
            jobs.append(Job(student, aid, direct, folder=folder))
        elif "other" in (kind_of(nested), kind_of(direct)):
            odd = nested if kind_of(nested) == "other" else direct
            jobs.append(Job(student, aid, None, f"{odd.relative_to(folder.parent).as_posix()} is "
                                                "not a regular file (a pipe, a device or a "
                                                "socket); submit the notebook itself"))
        elif assignment or is_real_folder(folder / aid):
            jobs.append(Job(student, aid, None, _missing_reason(folder, aid)))
    if not jobs:
        notebooks = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.ipynb")
                           if ".ipynb_checkpoints" not in p.parts)
        aid = wanted[0] if len(wanted) == 1 else "?"
        reason = ("no notebook named after an assignment was found"
                  + (f" (found {', '.join(notebooks[:3])}: rename it to <assignment>.ipynb)"
                     if notebooks else ""))
        jobs.append(Job(student, aid, None, reason))
    return jobs


def _missing_reason(folder: Path, aid: str) -> str:
    others = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.ipynb")
                    if ".ipynb_checkpoints" not in p.parts)
    if others:
        return (f"expected {aid}/{aid}.ipynb but found {', '.join(others[:3])}: was the notebook "
                f"renamed? Rename it to {aid}.ipynb and grade again")
    return f"no notebook {aid}/{aid}.ipynb was submitted"


def _flat_file(path: Path, wanted: list[str]) -> Job | None:
    """A flat LMS download (a regular file: links were set aside by the caller)."""
    stem = _CANVAS_COPY.sub("", path.stem)
    for aid in sorted(wanted, key=len, reverse=True):
        if stem == aid:
            return Job("unknown", aid, None, f"{path.name} sits at the top level with no "
                                             "student name; put it in a folder named after "
                                             "the student")
        if stem.endswith("_" + aid):
            student = stem[: -len(aid) - 1].split("_")[0]
            return Job(student or "unknown", aid, path)
    return None


def _dedupe(jobs: list[Job]) -> list[Job]:
    """One job per (student, assignment): a later duplicate becomes a problem, not a crash."""
    seen: dict[tuple[str, str], Job] = {}
    out = []
    for job in jobs:
        key = (job.student, job.assignment)
        if key in seen:
            out.append(Job(f"{job.student} (duplicate)", job.assignment, None,
                           f"a second submission of {job.assignment} by {job.student} "
                           f"({job.path}); only the first was graded"))
            continue
        seen[key] = job
        out.append(job)
    return out
