"""Sandboxed kernels forked from a warmed template: a fresh kernel for a tenth of the cost.

A kernel started from scratch pays an interpreter start and every import of its notebook (about
0.9 CPU seconds per submission, most of what grading costs). Here a *template* process, started
once per assignment and grading process inside a bubblewrap sandbox, does those imports once and
then forks each kernel (:mod:`grader.kernel_template` says how a forked kernel is isolated from
the template and from the other kernels: namespaces of its own, its own folder and ``/tmp``
only, not dumpable). Every kernel is still fresh: forked from a template that never ran a
submission's code, used for one notebook, then killed.

The grader's side of one kernel: a folder in the template's spool (the only host folder the
template sees), a fork request, the kernel's init put into the kernel's control group, then the
word to go. :class:`ForkProvisioner` lets ``jupyter_client`` manage such a kernel like any other.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner

from .execute import KERNEL_ARGS, process_tree
from .files import remove_tree

TEMPLATE_SOURCE = (Path(__file__).parent / "kernel_template.py").read_text()
SANDBOX_UID = 1000
"""The template's user id inside its sandbox. Not 0: a process may map only its own user id into
a new user namespace, and mapping 0 there needs ``CAP_SETFCAP``, which the sandbox drops."""


class TemplateError(RuntimeError):
    """The template could not start, or could not fork a kernel."""


@dataclass
class ForkRequest:
    """One kernel to fork: its folder in the spool and what its init needs."""

    folder: Path
    tmp_bytes: int
    rlimits: dict[str, int]

    @property
    def workdir(self) -> Path:
        return self.folder / "work"

    @property
    def runtime_dir(self) -> Path:
        return self.folder / "runtime"


class Template:
    """A template process for one kind of kernel (one assignment, salt and limits).

    ``argv`` is the sandbox's command up to its program (see :func:`grader.sandbox.bwrap_argv`),
    with the spool bound read-write; ``spool`` the host folder that holds every kernel's folder.
    Thread-safe: forks are serialised.
    """

    def __init__(self, argv: list[str], spool: Path, startup_timeout: float = 60.0):
        self.spool = spool
        self.startup_timeout = startup_timeout
        self.failure = ""
        """Why the template did not start (empty while it has not failed)."""
        self._ready = False
        self._lock = threading.Lock()
        self._pending = b""
        # not waited for here: its imports take a while, and the first fork waits for them
        self.process = subprocess.Popen(argv + [sys.executable, "-c", TEMPLATE_SOURCE],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, start_new_session=True,
                                        bufsize=0)

    def _wait_ready(self) -> None:
        """Wait (once, under the lock) for the template to say it has done its imports."""
        if self._ready:
            return
        if not self.failure:
            reply = self._reply(self.startup_timeout)
            self._ready = bool(reply.get("ready"))
            if not self._ready:
                self.failure = f"the kernel template did not start: {reply.get('error', reply)}"
        if self.failure:
            raise TemplateError(self.failure)

    def new_folder(self) -> Path:
        """A fresh folder in the spool for one kernel, with ``work`` and ``runtime`` inside."""
        folder = self.spool / f"k{uuid.uuid4().hex[:16]}"
        (folder / "work").mkdir(parents=True)
        (folder / "runtime").mkdir()
        return folder

    def fork(self, request: ForkRequest, connection_file: str, place: Callable[[int], None],
             timeout: float = 30.0) -> ForkedProcess:
        """Fork a kernel; ``place(host_pid)`` puts its init into its control group before it
        is told to go. Returns the init's process, which lives as long as the kernel."""
        go = request.runtime_dir / "go"
        os.mkfifo(go, 0o600)
        message = {"id": uuid.uuid4().hex, "spool": str(self.spool), "folder": str(request.folder),
                   "cwd": str(request.workdir), "connection_file": connection_file,
                   "log": str(request.runtime_dir / "kernel.log"), "go": str(go),
                   "tmp_bytes": request.tmp_bytes, "rlimits": request.rlimits,
                   "kernel_args": KERNEL_ARGS}
        with self._lock:
            self._wait_ready()
            if self.process.poll() is not None:
                raise TemplateError("the kernel template has ended")
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
            reply = self._reply(timeout)
            if reply.get("id") != message["id"]:
                # no answer in time (or a stray one): a late reply would answer the next request,
                # so this template forks no more kernels
                self.failure = f"the kernel template did not answer within {timeout:g} s"
                raise TemplateError(self.failure)
        if "pid" not in reply:
            raise TemplateError(f"the kernel template could not fork a kernel: "
                                f"{reply.get('error', reply)}")
        host_pid = host_pid_of(self.process.pid, int(reply["pid"]))
        if host_pid is None:
            raise TemplateError("the forked kernel's process was not found")
        process = ForkedProcess(host_pid)
        try:
            place(host_pid)
            _say_go(go, process, timeout)
        except BaseException:
            process.kill()
            raise
        return process

    def _reply(self, timeout: float) -> dict:
        """The template's next line, read from its pipe within ``timeout`` seconds."""
        fd, deadline = self.process.stdout.fileno(), time.monotonic() + timeout
        while b"\n" not in self._pending and len(self._pending) < 65536:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(fd, 65536) if ready else b""
            if not chunk:
                return {"error": "no answer"}
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            return {"error": f"an unreadable answer: {line[:200]!r}"}

    def alive(self) -> bool:
        return self.process.poll() is None and not self.failure

    def close(self) -> None:
        """End the template (its kernels end with their own init) and remove its spool."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        remove_tree(self.spool)


def _say_go(fifo: Path, process: ForkedProcess, timeout: float) -> None:
    """Open the init's FIFO once it reads it, and write the word to go."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:   # ENXIO: the init has not opened it yet
            if process.poll() is not None or time.monotonic() > deadline:
                raise TemplateError("the forked kernel did not wait for the grader") from None
            time.sleep(0.002)
    try:
        os.write(fd, b"1")
    finally:
        os.close(fd)


def host_pid_of(root: int, ns_pid: int, proc: Path = Path("/proc")) -> int | None:
    """The pid, as this process sees it, of the descendant of ``root`` whose pid in the
    template's pid namespace (the second level of its ``NSpid``) is ``ns_pid``."""
    for pid in process_tree(root, proc):
        try:
            status = (proc / str(pid) / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("NSpid:"):
                levels = line.split()[1:]
                if len(levels) >= 3 and levels[1] == str(ns_pid):
                    return pid
    return None


class ForkedProcess:
    """The forked kernel's init, for ``jupyter_client``: what it asks of a ``Popen``.

    Not this process's child: watched through a pidfd, so a reused pid is never signalled.
    """

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd = os.pidfd_open(pid)
        self.stdin = self.stdout = self.stderr = None

    def poll(self) -> int | None:
        if self.returncode is None and self._pidfd is not None:
            ready, _, _ = select.select([self._pidfd], [], [], 0)
            if ready:
                self.returncode = -1   # ended; its exit status belongs to its parent
                os.close(self._pidfd)
                self._pidfd = None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("forked kernel", timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            signal.pidfd_send_signal(self._pidfd, signum)

    def kill(self) -> None:
        try:
            self.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """A ``jupyter_client`` provisioner whose kernel is forked by ``start(connection_file)``."""

    start: Callable[[str], ForkedProcess] | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs) -> dict:
        connection_file = cmd[cmd.index("-f") + 1]
        self.process = await asyncio.to_thread(self.start, connection_file)
        self.pid, self.pgid = self.process.pid, None
        self.cwd = kwargs.get("cwd")
        return self.connection_info


def new_spool(parent: str | None) -> Path:
    """A fresh spool folder (in ``parent``, else the system's temporary folder), readable by the
    grading user only: the sandbox's user is that user."""
    return Path(tempfile.mkdtemp(prefix="grade-spool-", dir=parent))
