"""Find the submissions to grade in a folder or an LMS zip.

A zip is unpacked safely (no absolute paths, no ``..``, no links, bounded size, the members'
times kept); wrapper folders are descended; then the LMS adapter that recognises the layout
(:mod:`grader.lms`: Canvas, Moodle, plain folders) turns it into jobs, and explains every
notebook that is not one.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from datetime import datetime
from pathlib import Path

from .course import Course
from .files import is_real_folder
from .lms import Discovery, choose

MAX_ZIP_BYTES = 2_000_000_000
MAX_ZIP_FILES = 50_000


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
                _keep_time(target, member)
    except zipfile.BadZipFile as exc:
        raise SubmissionsError(f"{archive} is not a valid zip file ({exc})") from None
    return dest


def _keep_time(path: Path, member: zipfile.ZipInfo) -> None:
    """The file's time as the zip records it (an LMS's submission time: newest is graded)."""
    try:
        stamp = datetime(*member.date_time).timestamp()
        os.utime(path, (stamp, stamp))
    except (ValueError, OverflowError, OSError):
        pass


def discover(root: Path, course: Course, assignment: str | None = None,
             lms: str = "auto") -> Discovery:
    """The jobs found under ``root`` (a folder, already unpacked), and every other notebook's
    reason.

    Parameters
    ----------
    root : Path
        Folder of submissions.
    course : Course
        The course (its assignment ids; instructor notebooks to identify renamed notebooks).
    assignment : str, optional
        Grade only this assignment (and expect it from every student).
    lms : str
        ``auto`` or an adapter's name (see :mod:`grader.lms`).
    """
    root = Path(root)
    if not is_real_folder(root):
        raise SubmissionsError(f"{root} is not a folder or a zip file")
    wanted = [assignment] if assignment else course.assignment_ids()
    root = _unwrap(root, wanted)
    try:
        adapter = choose(lms, root)
    except KeyError as exc:
        raise SubmissionsError(str(exc)) from None
    found = adapter.discover(root, course, wanted)
    found.adapter = adapter.name
    return found


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
