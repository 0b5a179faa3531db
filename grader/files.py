"""Reading and copying a submission's files without following what it points at.

A submission folder is hostile input: a notebook or a data file may be a symbolic link (to the
solutions, to ``/etc/shadow``, to ``/dev/zero``), a FIFO that blocks a reader forever, a device, or
simply enormous. Git-based hand-ins and ``cp -a``/``rsync -a`` copies keep links, so they do reach
the grader. Everything here looks at a path with ``lstat`` and opens files with ``O_NOFOLLOW``
and ``O_NONBLOCK``: only regular files and real folders are read, and never more than a cap.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

MAX_NOTEBOOK_BYTES = 20_000_000
"""A notebook larger than this is not graded (the course's notebooks are well under 1 MB)."""

_COPY_CHUNK = 1 << 20
# O_NONBLOCK: opening a FIFO must not wait for a writer that never comes.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class UnsafeFile(Exception):
    """A path that is not a regular file we may read; the message says why, for the student."""


def kind_of(path: Path) -> str:
    """What ``path`` is, without following a link: file, folder, link, missing or other."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "missing"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    return "other"


def is_regular_file(path: Path) -> bool:
    return kind_of(path) == "file"


def is_real_folder(path: Path) -> bool:
    return kind_of(path) == "folder"


def link_between(root: Path, path: Path) -> Path | None:
    """The first component of ``path`` below ``root`` (``path`` included) that is a link."""
    root, path = Path(root), Path(path)
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return path if kind_of(path) == "link" else None
    current = root
    for part in parts:
        current = current / part
        if kind_of(current) == "link":
            return current
    return None


def _open_regular(path: Path) -> int:
    """An fd of the regular file at ``path``; raises UnsafeFile for anything else."""
    try:
        fd = os.open(path, _READ_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFile("it is a symbolic link, which the grader does not follow") from None
        raise UnsafeFile(f"it cannot be read ({exc.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise UnsafeFile("it is not a regular file")
    return fd


def read_bytes_capped(path: Path, max_bytes: int = MAX_NOTEBOOK_BYTES) -> bytes:
    """The bytes of a regular file, never following a link and never reading more than the cap.

    Raises
    ------
    UnsafeFile
        For a link, a FIFO, a device, a folder, an unreadable file or one larger than ``max_bytes``.
    """
    fd = _open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise UnsafeFile(f"it is {size / 1e6:.1f} MB, more than the {max_bytes / 1e6:g} MB a "
                             "notebook may have")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(_COPY_CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:   # the file grew while we read it
                raise UnsafeFile(f"it is larger than the {max_bytes / 1e6:g} MB a notebook may "
                                 "have")
        return b"".join(chunks)
    finally:
        os.close(fd)


@dataclass
class CopyReport:
    """What :func:`copy_tree_safely` copied and what it left out, with the reason."""

    files: int = 0
    bytes: int = 0
    skipped: list[str] = field(default_factory=list)

    def notes(self, limit: int = 8) -> list[str]:
        """Sentences for the feedback (the first ``limit`` skipped paths, then a count)."""
        if not self.skipped:
            return []
        shown = "; ".join(self.skipped[:limit])
        more = f" and {len(self.skipped) - limit} more" if len(self.skipped) > limit else ""
        return [f"Some files of your folder were not given to your notebook: {shown}{more}."]


def copy_tree_safely(src: Path, dst: Path, *, max_bytes: int, max_files: int = 2000,
                     skip_suffixes: tuple[str, ...] = (".ipynb",),
                     skip_names: tuple[str, ...] = (".ipynb_checkpoints",)) -> CopyReport:
    """Copy the regular files and real folders of ``src`` into ``dst`` (created), within caps.

    Links, FIFOs, devices and sockets are skipped and reported, as are files past ``max_files``
    or past ``max_bytes`` in total. Folders are walked without following links.
    """
    report = CopyReport()
    Path(dst).mkdir(parents=True, exist_ok=True)
    _copy_folder(Path(src), Path(dst), Path("."), report, max_bytes, max_files, skip_suffixes,
                 skip_names)
    return report


def _copy_folder(src, dst, rel, report, max_bytes, max_files, skip_suffixes, skip_names):
    try:
        entries = sorted(os.scandir(src), key=lambda e: e.name)
    except OSError as exc:
        report.skipped.append(f"{rel.as_posix()}/ (cannot be listed: {exc.strerror})")
        return
    for entry in entries:
        name = entry.name
        where = (rel / name).as_posix()
        if name in skip_names or name.endswith(skip_suffixes):
            continue
        kind = kind_of(Path(entry.path))
        if kind == "link":
            report.skipped.append(f"{where} (a symbolic link)")
        elif kind == "folder":
            (dst / name).mkdir(exist_ok=True)
            _copy_folder(Path(entry.path), dst / name, rel / name, report, max_bytes, max_files,
                         skip_suffixes, skip_names)
        elif kind != "file":
            report.skipped.append(f"{where} (not a regular file)")
        elif report.files >= max_files:
            report.skipped.append(f"{where} (more than {max_files} files)")
        else:
            _copy_file(Path(entry.path), dst / name, where, report, max_bytes)


def _copy_file(src: Path, dst: Path, where: str, report: CopyReport, max_bytes: int) -> None:
    try:
        fd = _open_regular(src)
    except UnsafeFile as exc:
        report.skipped.append(f"{where} ({exc})")
        return
    try:
        size = os.fstat(fd).st_size
        if report.bytes + size > max_bytes:
            report.skipped.append(f"{where} (the folder's files exceed "
                                  f"{max_bytes / 1e6:g} MB)")
            return
        copied = 0
        with open(dst, "wb") as out:
            while copied <= size:
                chunk = os.read(fd, min(_COPY_CHUNK, size + 1 - copied))
                if not chunk:
                    break
                out.write(chunk)
                copied += len(chunk)
        if copied > size:   # it grew while we copied it: drop it
            os.unlink(dst)
            report.skipped.append(f"{where} (it changed while it was copied)")
            return
        report.files += 1
        report.bytes += copied
    finally:
        os.close(fd)


def remove_tree(path: Path) -> bool:
    """Remove ``path`` and everything in it, however deep, never following a link out of it;
    True when nothing is left.

    A kernel controls what is in its folders: ``shutil.rmtree`` recurses once per level (a chain
    of 5000 nested folders raises ``RecursionError``, which ``ignore_errors`` does not catch), so
    what it leaves is removed by ``rm -rf --one-file-system`` (coreutils walks without recursion
    and stays on the folder's file system).
    """
    path = Path(path)
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return True
    except (OSError, RecursionError):
        pass
    if os.path.lexists(path):
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    return not os.path.lexists(path)
