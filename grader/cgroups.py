"""A control group per kernel: a memory cap that counts tmpfs, and a process cap.

``RLIMIT_AS`` caps the address space of the kernel's processes, but not what they write to a
tmpfs (the sandbox's ``/tmp``, the working folder), which is host memory all the same; and
``RLIMIT_NPROC`` does not bind root. A memory control group counts every page its processes touch,
tmpfs pages included, and a pids group caps processes for root too. This module makes one group
for one kernel where the machine allows it:

* cgroup v1 (one hierarchy per controller, as in many containers): a child of the grader's own
  group in the ``memory`` and ``pids`` hierarchies;
* cgroup v2 (one unified hierarchy, current distributions): a child of the root when the grader
  runs there, else a sibling of the grader's own group (v2 forbids controllers in a group that has
  processes), else a transient systemd scope (``systemd-run --scope``) where systemd runs;
* elsewhere nothing, and the caller says so loudly.

The kernel enters its group through a tiny shell prefix that writes its own pid into the group
before it ``exec``s the sandbox. Paths are found through ``/proc/self/mountinfo`` and
``/proc/self/cgroup``; ``root`` and ``proc`` parameters exist for tests.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "dltrain-grader-"


@dataclass
class Mounts:
    """Where the controllers are: v1 hierarchies by controller, and the v2 mount."""

    v1: dict[str, Path] = field(default_factory=dict)
    v2: Path | None = None
    own_v1: dict[str, str] = field(default_factory=dict)
    """The grader's own group in each v1 hierarchy (path inside the hierarchy)."""
    own_v2: str | None = None


def read_mounts(proc: Path = Path("/proc/self")) -> Mounts:
    """Read the cgroup mounts and the grader's own groups from ``/proc/self``."""
    mounts = Mounts()
    try:
        mountinfo = (proc / "mountinfo").read_text().splitlines()
        own = (proc / "cgroup").read_text().splitlines()
    except OSError:
        return mounts
    for line in mountinfo:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        point, fstype, options = Path(fields[4]), tail[0], tail[2].split(",")
        if fstype == "cgroup2" and mounts.v2 is None:
            mounts.v2 = point
        elif fstype == "cgroup":
            for controller in ("memory", "pids"):
                if controller in options and controller not in mounts.v1:
                    mounts.v1[controller] = point
    for line in own:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            mounts.own_v2 = path
        for controller in controllers.split(","):
            if controller in ("memory", "pids"):
                mounts.own_v1[controller] = path
    return mounts


@dataclass
class KernelGroup:
    """The group(s) one kernel runs in, and how to put it there and clean up after it."""

    procs: list[Path] = field(default_factory=list)
    """``cgroup.procs`` files the kernel writes its pid into before it starts."""
    folders: list[Path] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    command: list[str] = field(default_factory=list)
    """A command prefix that starts the kernel inside the group (systemd-run), if any."""

    def prefix(self) -> list[str]:
        if self.command:
            return list(self.command)
        if not self.procs:
            return []
        writes = "; ".join(f"echo $$ > {shlex.quote(str(p))} || exit 97" for p in self.procs)
        return ["/bin/sh", "-c", f'{writes}; exec "$@"', "kernel-group"]

    def cleanup(self) -> None:
        """Kill whatever is left in the group(s) and remove them."""
        for folder in self.folders:
            _empty_and_remove(folder)


def _empty_and_remove(folder: Path) -> None:
    for _ in range(100):
        try:
            pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
        except OSError:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            folder.rmdir()
            return
        except OSError:
            time.sleep(0.05)


def _writable_group(base: Path, own: str | None) -> Path | None:
    """The grader's own group in a hierarchy if we may create children there, else the root."""
    for candidate in ([base / own.lstrip("/")] if own else []) + [base]:
        if (candidate / "cgroup.procs").exists() and os.access(candidate, os.W_OK):
            return candidate
    return None


def _make(parent: Path, settings: dict[str, str]) -> Path | None:
    folder = parent / f"{PREFIX}{uuid.uuid4().hex[:12]}"
    try:
        folder.mkdir()
    except OSError:
        return None
    try:
        for name, value in settings.items():
            target = folder / name
            if target.exists() or name in ("memory.max", "pids.max", "memory.limit_in_bytes"):
                target.write_text(value)
    except OSError:
        _empty_and_remove(folder)
        return None
    return folder


def _v1(mounts: Mounts, memory_mb: int, processes: int) -> KernelGroup:
    group = KernelGroup()
    memory = str(memory_mb * 1024 * 1024)
    wanted = {"memory": {"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory},
              "pids": {"pids.max": str(processes)}}
    for controller, settings in wanted.items():
        base = mounts.v1.get(controller)
        parent = _writable_group(base, mounts.own_v1.get(controller)) if base else None
        folder = _make(parent, settings) if parent else None
        if folder is None:
            continue
        group.folders.append(folder)
        group.procs.append(folder / "cgroup.procs")
        group.applied.append(f"memory {memory_mb} MB, tmpfs included (cgroup v1)"
                             if controller == "memory" else f"processes {processes} (cgroup v1)")
    return group


def _v2(mounts: Mounts, memory_mb: int, processes: int) -> KernelGroup:
    root, own = mounts.v2, (mounts.own_v2 or "/").strip("/")
    group = KernelGroup()
    candidates = [root] if not own else [(root / own).parent]
    for parent in candidates:
        if not (parent / "cgroup.procs").exists() or not os.access(parent, os.W_OK):
            continue
        enabled = _read_words(parent / "cgroup.subtree_control")
        available = _read_words(parent / "cgroup.controllers")
        missing = [c for c in ("memory", "pids") if c not in enabled and c in available]
        if missing and parent == root:
            try:
                (parent / "cgroup.subtree_control").write_text(
                    " ".join(f"+{c}" for c in missing))
                enabled = _read_words(parent / "cgroup.subtree_control")
            except OSError:
                pass
        settings = {}
        if "memory" in enabled:
            settings["memory.max"] = str(memory_mb * 1024 * 1024)
            settings["memory.swap.max"] = "0"
        if "pids" in enabled:
            settings["pids.max"] = str(processes)
        if not settings:
            continue
        folder = _make(parent, settings)
        if folder is None:
            continue
        group.folders.append(folder)
        group.procs.append(folder / "cgroup.procs")
        if "memory.max" in settings:
            group.applied.append(f"memory {memory_mb} MB, tmpfs included (cgroup v2)")
        if "pids.max" in settings:
            group.applied.append(f"processes {processes} (cgroup v2)")
        return group
    return group


def _read_words(path: Path) -> set[str]:
    try:
        return set(path.read_text().split())
    except OSError:
        return set()


def _systemd_scope(memory_mb: int, processes: int) -> KernelGroup:
    exe = shutil.which("systemd-run")
    if not exe or not _systemd_scope_works(exe):
        return KernelGroup()
    return KernelGroup(command=[exe, "--scope", "--quiet", "--collect",
                                f"-pMemoryMax={memory_mb}M", "-pMemorySwapMax=0",
                                f"-pTasksMax={processes}", "--"],
                       applied=[f"memory {memory_mb} MB, tmpfs included (systemd scope)",
                                f"processes {processes} (systemd scope)"])


_SCOPE_WORKS: dict[str, bool] = {}


def _systemd_scope_works(exe: str) -> bool:
    if exe not in _SCOPE_WORKS:
        try:
            done = subprocess.run([exe, "--scope", "--quiet", "--collect", "true"],
                                  capture_output=True, timeout=10)
            _SCOPE_WORKS[exe] = done.returncode == 0
        except (OSError, subprocess.SubprocessError):
            _SCOPE_WORKS[exe] = False
    return _SCOPE_WORKS[exe]


def kernel_group(memory_mb: int, processes: int, mounts: Mounts | None = None,
                 systemd: Callable[[int, int], KernelGroup] = _systemd_scope) -> KernelGroup:
    """The control group(s) for one kernel, as capped as this machine allows.

    Returns a group whose ``applied`` says which caps hold; it is empty (no prefix, nothing
    applied) where no group can be made.
    """
    mounts = mounts or read_mounts()
    group = _v1(mounts, memory_mb, processes) if mounts.v1 else KernelGroup()
    have = " ".join(group.applied)
    if mounts.v2 is not None and ("memory" not in have or "processes" not in have):
        extra = _v2(mounts, memory_mb, processes)
        extra_applied = [a for a in extra.applied if a.split()[0] not in have]
        if extra_applied:
            group.folders += extra.folders
            group.procs += extra.procs
            group.applied += extra_applied
        else:
            extra.cleanup()
    if not group.applied:
        return systemd(memory_mb, processes)
    return group


def counts_tmpfs(applied: list[str]) -> bool:
    """Whether the limits applied include a memory cap that counts tmpfs pages."""
    return any("tmpfs included" in item for item in applied)
