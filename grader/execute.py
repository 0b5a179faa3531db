"""Run a notebook in a fresh kernel, cell by cell, within time and output limits.

What this module guarantees to the rest of the grader:

* every code cell ends with a :class:`CellRun` whose ``status`` is one of ``ok``, ``error``,
  ``timeout``, ``died`` (the kernel died in this cell) or ``not run`` (a previous cell killed or
  hung the kernel, or the notebook's time limit passed);
* a cell that times out is interrupted; if the kernel does not come back within a grace period it
  is killed and the remaining cells are ``not run``;
* outputs are capped per cell (text and images), so a flood of output cannot exhaust memory;
* hidden-test records (:data:`dltrain.grading.MIME_TYPE` display outputs) are collected per cell
  as soon as they arrive, apart from the outputs, so ``clear_output`` cannot erase them and they
  never reach a feedback file;
* a kernel runs one notebook and is shut down: kernels started ahead of need
  (:class:`KernelPool`) are fresh, and none is ever given a second notebook.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import json
import multiprocessing.util
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import DEVNULL

import nbformat
import zmq
import zmq.asyncio
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets import Instance

from dltrain.grading import MIME_TYPE

from .model import CellRun, CellStatus

STATUS_OK, STATUS_ERROR, STATUS_TIMEOUT, STATUS_DIED, STATUS_NOT_RUN, STATUS_SKIPPED = (
    CellStatus.OK, CellStatus.ERROR, CellStatus.TIMEOUT, CellStatus.DIED, CellStatus.NOT_RUN,
    CellStatus.SKIPPED)


@dataclass
class Limits:
    """Resource limits of one notebook run (all configurable from the command line)."""

    cell_timeout: float = 60.0
    """Seconds one cell may run before it is interrupted."""
    notebook_timeout: float = 300.0
    """Seconds the whole notebook may run, kernel start included."""
    interrupt_grace: float = 5.0
    """Seconds a timed-out cell has to stop after the interrupt before the kernel is killed."""
    startup_timeout: float = 60.0
    output_bytes_per_cell: int = 1_000_000
    """Outputs of one cell beyond this size are dropped (with a note)."""
    record_bytes_per_cell: int = 16_000_000
    """Hidden-test records of one cell beyond this size are dropped."""
    message_bytes: int = 24_000_000
    """A message from the kernel whose content is larger than this is not parsed: it becomes a
    note in the cell's output. A kernel holds its connection's key and could otherwise send a
    message whose parsed form exhausts the grader's memory (JSON of small items grows about 27x
    when parsed). Beyond ten times this size ZeroMQ itself refuses the message
    (``zmq.MAXMSGSIZE``) and drops the connection."""
    memory_mb: int = 4096
    """Memory cap of the kernel: its address space, and (with a memory control group) every
    page it uses, files it writes to a tmpfs included."""
    processes: int = 64
    """Process/thread cap of the kernel."""
    file_mb: int = 512
    """Largest file the kernel may write."""
    tmp_mb: int = 256
    """Size of the sandbox's private ``/tmp`` (a tmpfs)."""


@dataclass
class KernelLaunch:
    """How to start the kernel: its argv (with ``{connection_file}``) and connection transport."""

    argv: list[str]
    env: dict[str, str]
    transport: str = "tcp"
    runtime_dir: Path | None = None
    """Where the connection file (and ipc sockets) live; must be visible to the kernel."""
    sandboxed: bool = False
    interrupt_mode: str = "signal"
    """``signal`` (SIGINT to the kernel's process group) or ``message`` (an interrupt_request on
    the control channel; the kernel signals itself, which works inside a pid namespace)."""
    cleanup: Callable[[], None] | None = None
    limits_applied: list[str] = field(default_factory=list)
    """Which resource limits are in force (for the report)."""
    start: Callable[[str], object] | None = None
    """Starts the kernel without a command: given the connection file, forks it from a template
    (:mod:`grader.forkserver`) and returns its process; ``argv`` is then not run."""


# ipykernel_launcher, without the debugger: ipykernel imports debugpy at start (about a quarter
# of its start-up time, 140 modules) for a debugger that grading never uses.
KERNEL_LAUNCHER = (
    "import sys\n"
    "if sys.path and sys.path[0] == '': del sys.path[0]  # not the working folder's modules\n"
    "sys.modules['debugpy'] = None  # no debugger while grading: import debugpy fails\n"
    "from ipykernel import kernelapp\n"
    "kernelapp.launch_new_instance()\n")


KERNEL_ARGS = ["--HistoryManager.enabled=False"]
"""Options of every grading kernel: no history database (IPython writes each cell to SQLite, a
fifth of the cost of running a short cell; ``In`` and ``_ih`` are kept in memory all the same)."""


def kernel_argv() -> list[str]:
    """The command that starts a grading kernel of this Python (``{connection_file}`` inside)."""
    return [sys.executable, "-c", KERNEL_LAUNCHER, "-f", "{connection_file}", *KERNEL_ARGS]


def plain_launch(workdir: Path, env: dict[str, str] | None = None) -> KernelLaunch:
    """An unsandboxed ipykernel of this Python, in ``workdir``."""
    kernel_env = dict(os.environ if env is None else env)
    kernel_env.update(KERNEL_ENV)
    return KernelLaunch(argv=kernel_argv(), env=kernel_env)


# Every kernel the grader starts: static widgets (nobody renders them), no user site-packages,
# hidden tests that only collect (the grader judges them outside).
# Single-threaded BLAS: notebooks use small matrices, where BLAS threads only spin, and grading
# runs several kernels side by side.
KERNEL_ENV = {"DLTRAIN_STATIC_WIDGETS": "1", "PYTHONNOUSERSITE": "1",
              "DLTRAIN_HIDDEN_TESTS": "collect",
              "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONHASHSEED": "0",
              "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class _OneSpec(KernelSpecManager):
    spec = Instance(KernelSpec)

    def get_kernel_spec(self, kernel_name, *args, **kwargs):
        return self.spec


class _LimitedClient(NotebookClient):
    """nbclient with output caps and a side channel for hidden-test records."""

    def __init__(self, nb, km, limits: Limits, runs: dict[int, CellRun], **kw):
        super().__init__(nb, km=km, **kw)
        self._limits = limits
        self._runs = runs
        self._bytes: dict[int, int] = {}
        self._record_bytes: dict[int, int] = {}

    def process_message(self, msg, cell, cell_index):
        content = msg.get("content", {})
        if isinstance(content, dict) and DROPPED in content and msg.get("msg_type") in (
                "stream", "display_data", "update_display_data", "execute_result", "error"):
            run = self._runs.get(cell_index)
            if run is not None and not run.truncated:
                run.truncated = True
                cell.outputs.append(nbformat.v4.new_output(
                    "stream", name="stderr",
                    text=f"[the grader dropped an output message of "
                         f"{content[DROPPED] / 1e6:.0f} MB: more than "
                         f"{self._limits.message_bytes / 1e6:.0f} MB]\n"))
            return None
        data = content.get("data") if isinstance(content, dict) else None
        if msg.get("msg_type") in ("display_data", "update_display_data") and \
                isinstance(data, dict) and MIME_TYPE in data:
            self._take_record(data[MIME_TYPE], cell_index)
            return None
        return super().process_message(msg, cell, cell_index)

    def _take_record(self, record, cell_index):
        run = self._runs[cell_index]
        if isinstance(record, dict) and "hidden_cell_error" in record:
            run.reported_error = str(record["hidden_cell_error"])[:2000]
            return
        size = len(json.dumps(record)) if not isinstance(record, str) else len(record)
        used = self._record_bytes.get(cell_index, 0) + size
        self._record_bytes[cell_index] = used
        if used > self._limits.record_bytes_per_cell:
            run.truncated = True
            return
        run.records.append(record)

    def output(self, outs, msg, display_id, cell_index):
        size = _message_size(msg)
        used = self._bytes.get(cell_index, 0) + size
        self._bytes[cell_index] = used
        if used > self._limits.output_bytes_per_cell:
            run = self._runs.get(cell_index)
            if run is not None and not run.truncated:
                run.truncated = True
                outs.append(nbformat.v4.new_output(
                    "stream", name="stderr",
                    text=f"[the grader dropped further output of this cell: more than "
                         f"{self._limits.output_bytes_per_cell // 1000} kB]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)


def _message_size(msg) -> int:
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"])
    data = content.get("data", {})
    if isinstance(data, dict):
        return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values())
    return len(json.dumps(content))


def capped_context(max_message_bytes: int) -> zmq.asyncio.Context:
    """A ZeroMQ context whose sockets drop any inbound message above ``max_message_bytes``."""

    class _CappedContext(zmq.asyncio.Context):
        def socket(self, socket_type, **kwargs):
            sock = super().socket(socket_type, **kwargs)
            sock.setsockopt(zmq.MAXMSGSIZE, int(max_message_bytes))
            return sock

    return _CappedContext()


DROPPED = "__dropped_by_the_grader__"


def capped_unpacker(max_bytes: int, unpack: Callable[[bytes], object]) -> Callable:
    """``unpack`` that parses at most ``max_bytes``; a larger frame becomes ``{DROPPED: size}``."""

    def unpack_capped(data):
        if len(data) > max_bytes:
            return {DROPPED: len(data)}
        return unpack(data)

    return unpack_capped


@dataclass
class Kernel:
    """One fresh kernel for one notebook run: started (perhaps ahead of need), used once, shut down.

    ``cleanup`` removes what was made for it (its folders, its control group) once it is down.
    """

    launch: KernelLaunch
    workdir: Path
    limits: Limits
    warmup: str = ""
    """Code run silently once the kernel is ready (imports the graded cells need)."""
    cleanup: Callable[[], None] | None = None
    problem: str = ""
    """Why the kernel is not usable (it did not start); empty when it is."""
    boot_seconds: float = 0.0
    """From launch to ready, warm-up included."""
    warmup_seconds: float = 0.0
    boot_cpu: float = 0.0
    """CPU seconds of the kernel's processes when it was ready (start and warm-up)."""
    cpu: float = 0.0
    """CPU seconds of the kernel's processes when it was shut down (everything it did)."""
    km: AsyncKernelManager | None = None
    kc: object = None
    context: zmq.asyncio.Context | None = None
    log: object = None
    used: bool = False


def run_notebook(nb: NotebookNode, workdir: Path, launch: KernelLaunch,
                 limits: Limits | None = None, skip: frozenset[int] = frozenset(),
                 private: frozenset[int] = frozenset()
                 ) -> tuple[NotebookNode, dict[int, CellRun], str]:
    """Execute ``nb`` (modified in place: outputs) in a kernel started now, and report every cell.

    Cells whose index is in ``skip`` are not executed (status ``skipped``). Cells in ``private``
    (the hidden tests) run without entering the kernel's history, so ``In``, ``_ih`` and
    ``%history`` never hold their source.

    Returns
    -------
    nb : NotebookNode
        The notebook with outputs.
    runs : dict of int to CellRun
        Per code-cell index.
    problem : str
        Empty when the kernel lived to the end; otherwise what stopped it.
    """
    kernel = Kernel(launch, Path(workdir), limits or Limits())

    async def boot_run_shutdown():
        await _boot(kernel)
        try:
            return await _run_on(kernel, nb, skip, private)
        finally:
            await _shutdown(kernel)

    return asyncio.run(boot_run_shutdown())


async def _boot(kernel: Kernel) -> None:
    """Start the kernel, wait until it answers, run its warm-up; failures go to ``problem``."""
    launch, limits = kernel.launch, kernel.limits
    started = time.monotonic()
    spec = KernelSpec(argv=launch.argv, display_name="grader", language="python",
                      env={}, interrupt_mode=launch.interrupt_mode)
    kernel.context = capped_context(10 * limits.message_bytes)
    km = AsyncKernelManager(kernel_spec_manager=_OneSpec(spec=spec), kernel_name="grader",
                            transport=launch.transport, context=kernel.context)
    if launch.start is not None:
        from .forkserver import ForkProvisioner

        km.kernel_id = uuid.uuid4().hex
        km.provisioner = ForkProvisioner(kernel_id=km.kernel_id, kernel_spec=spec, parent=km)
        km.provisioner.start = launch.start
    if launch.runtime_dir is not None:
        km.connection_file = str(launch.runtime_dir / "kernel.json")
        if launch.transport == "ipc":
            km.ip = str(launch.runtime_dir / "kernel-ipc")
    kernel.log = open(launch.runtime_dir / "kernel.log", "wb") if launch.runtime_dir \
        else DEVNULL
    try:
        await km.start_kernel(env=launch.env, cwd=str(kernel.workdir), stdout=kernel.log,
                              stderr=kernel.log)
    except Exception as exc:
        kernel.problem = f"the kernel did not start: {exc}"
        return
    kernel.km = km
    kc = km.client(context=kernel.context)
    kc.session.unpack = capped_unpacker(limits.message_bytes, kc.session.unpack)
    # No heartbeat: its thread would read whatever the kernel sends it, uncapped; the
    # manager knows whether the kernel's process is alive.
    kc.start_channels(hb=False)
    kernel.kc = kc
    try:
        await kc.wait_for_ready(timeout=limits.startup_timeout)
    except RuntimeError as exc:
        kernel.problem = f"the kernel did not start: {exc}"
        return
    if kernel.warmup:
        warm = time.monotonic()
        # silent: no history, no execution count; the warm-up's names stay in its own dict
        code = f"exec(compile({kernel.warmup!r}, '<grader warm-up>', 'exec'), {{}})"
        msg_id = kc.execute(code, silent=True, store_history=False)
        if not await _reply_to(kc, msg_id, limits.startup_timeout):
            kernel.problem = "the kernel did not start: it did not finish its imports within " \
                             f"{limits.startup_timeout:g} s"
        kernel.warmup_seconds = time.monotonic() - warm
    kernel.boot_seconds = time.monotonic() - started
    kernel.boot_cpu = _kernel_cpu(km)


async def _reply_to(kc, msg_id: str, timeout: float) -> bool:
    """Wait for the shell reply to ``msg_id``; False on timeout or a dead kernel."""
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            reply = await kc.get_shell_msg(timeout=left)
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return True
    except Exception:  # Empty on timeout, or a dead kernel
        return False
    return False


async def _shutdown(kernel: Kernel) -> None:
    if kernel.km is not None and not kernel.cpu:
        kernel.cpu = _kernel_cpu(kernel.km)
    try:
        if kernel.kc is not None:
            kernel.kc.stop_channels()
        if kernel.km is not None:
            await kernel.km.shutdown_kernel(now=True)
    except Exception:  # a killed sandbox may already be gone
        pass
    if kernel.context is not None:
        kernel.context.destroy(linger=0)
    if kernel.log not in (None, DEVNULL):
        kernel.log.close()


async def _run_on(kernel: Kernel, nb, skip, private):
    """Run ``nb`` on a booted kernel (see :func:`run_notebook`)."""
    limits = kernel.limits
    kernel.used = True
    runs = {i: CellRun() for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    for i in skip:
        if i in runs:
            runs[i].status = STATUS_SKIPPED
    if kernel.problem:
        return nb, runs, kernel.problem
    client = _LimitedClient(nb, kernel.km, limits, runs, timeout=int(limits.cell_timeout) or None,
                            allow_errors=True, interrupt_on_timeout=False,
                            startup_timeout=int(limits.startup_timeout), record_timing=False,
                            kernel_name="grader",
                            resources={"metadata": {"path": str(kernel.workdir)}},
                            iopub_timeout=4, raise_on_iopub_timeout=False,
                            shutdown_kernel="immediate")
    client.kc = kernel.kc
    deadline = time.monotonic() + limits.notebook_timeout
    problem = await _run_cells(client, kernel.km, nb, runs, limits, deadline, private)
    return nb, runs, problem


def _kernel_cpu(km) -> float:
    """CPU seconds used so far by the kernel's process and its descendants (Linux; else 0).

    Read from ``/proc`` just before the kernel is killed: a sandboxed kernel's processes are not
    reaped by the grader, so the grader's own resource usage never includes them.
    """
    pid = getattr(getattr(km, "provisioner", None), "pid", None)
    if not pid:
        return 0.0
    try:
        ticks = os.sysconf("SC_CLK_TCK")
    except (AttributeError, ValueError, OSError):
        return 0.0
    total = 0
    for current in process_tree(int(pid)):
        try:
            stat = Path(f"/proc/{current}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            total += sum(int(f) for f in fields[11:15])   # utime stime cutime cstime
        except (OSError, ValueError, IndexError):
            continue
    return total / ticks


def process_tree(root: int, proc: Path = Path("/proc"), most: int = 10_000):
    """``root`` and its descendants (pids as this process sees them, read from ``proc``; at
    most ``most`` of them: a kernel's processes are capped, a runaway is not walked forever)."""
    todo, seen = [root], set()
    while todo and len(seen) < most:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        yield pid
        try:
            for task in (proc / str(pid) / "task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue


class KernelPool:
    """Fresh kernels started ahead of need, in this process: each is used once, for one notebook.

    A kernel is started (and warmed up: the imports its notebook needs) while the previous
    notebook runs, so the next submission finds it ready. It is never reused: a kernel that ran one
    student's code is shut down and never given to another. Kernels live on an event loop of their
    own (a thread), since a kernel's sockets belong to the loop that opened them.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ahead: list[tuple[object, Kernel, concurrent.futures.Future]] = []
        self._ending: list[concurrent.futures.Future] = []

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="grader-kernels",
                                 daemon=True).start()
                self._loop = loop
                atexit.register(self.close)
                multiprocessing.util.Finalize(self, self.close, exitpriority=50)
            return self._loop

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._running_loop())

    def start_ahead(self, key, kernel: Kernel) -> None:
        """Start ``kernel`` now, for a later :meth:`take` with the same ``key``."""
        with self._lock:
            stale = [entry for entry in self._ahead if entry[0] != key]
            self._ahead = [entry for entry in self._ahead if entry[0] == key]
        for _, old, booting in stale:   # made for another assignment or other limits
            self._discard(old, booting)
        booting = self._call(_boot(kernel))
        with self._lock:
            self._ahead.append((key, kernel, booting))

    def waiting(self, key) -> int:
        """How many kernels started ahead for ``key`` are waiting to be taken."""
        with self._lock:
            return sum(1 for entry in self._ahead if entry[0] == key)

    def take(self, key, make: Callable[[], Kernel],
             meanwhile: Callable[[], None] | None = None) -> tuple[Kernel, float]:
        """A booted kernel for ``key`` (started ahead, or now with ``make``) and the seconds
        this call waited for it; kernels started ahead for other keys are shut down.
        ``meanwhile`` is called while the kernel boots (work that would otherwise wait)."""
        started = time.monotonic()
        with self._lock:
            found = next((entry for entry in self._ahead if entry[0] == key), None)
            if found is not None:
                self._ahead.remove(found)
            # kernels made for another assignment or other limits will not be asked for again
            # (jobs come grouped by key): shut them down rather than keep them waiting
            stale = [entry for entry in self._ahead if entry[0] != key]
            self._ahead = [entry for entry in self._ahead if entry[0] == key]
        for _, old, booting in stale:
            self._discard(old, booting)
        if found is not None:
            _, kernel, booting = found
        else:
            kernel = make()
            booting = self._call(_boot(kernel))
        if meanwhile is not None:
            meanwhile()
        try:
            booting.result(timeout=kernel.limits.startup_timeout * 2 + 30)
        except Exception as exc:  # noqa: BLE001 (the boot's own failures are in kernel.problem)
            kernel.problem = kernel.problem or f"the kernel did not start: {exc!r}"
        return kernel, time.monotonic() - started

    def run(self, kernel: Kernel, nb: NotebookNode, skip: frozenset[int] = frozenset(),
            private: frozenset[int] = frozenset()):
        """Run ``nb`` on ``kernel`` (from :meth:`take`) and return what it observed; the kernel
        is then shut down and its folders removed in the background (:meth:`drain` waits)."""
        if kernel.used:
            raise RuntimeError("a kernel runs one notebook only")
        try:
            result = self._call(self._run_and_measure(kernel, nb, skip, private)).result()
        except BaseException:
            self._call(_end(kernel)).result()
            raise
        ending = self._call(_end(kernel))
        with self._lock:
            self._ending = [f for f in self._ending if not f.done()] + [ending]
        return result

    @staticmethod
    async def _run_and_measure(kernel, nb, skip, private):
        result = await _run_on(kernel, nb, skip, private)
        if kernel.km is not None:
            kernel.cpu = _kernel_cpu(kernel.km)   # before the kill
        return result

    def drain(self) -> None:
        """Wait until every kernel that has run is shut down and its folders removed."""
        with self._lock:
            ending, self._ending = self._ending, []
        for future in ending:
            try:
                future.result(timeout=120)
            except Exception:  # noqa: BLE001 (best effort, as the shutdown itself)
                pass

    def discard(self, kernel: Kernel) -> None:
        """Shut down a kernel from :meth:`take` without running anything on it."""
        self._discard(kernel, None)

    def _discard(self, kernel: Kernel, booting: concurrent.futures.Future | None) -> None:
        kernel.used = True

        async def stop():
            if booting is not None:
                try:
                    await asyncio.wrap_future(booting)
                except Exception:  # noqa: BLE001
                    pass
            await _shutdown(kernel)

        try:
            self._call(stop()).result(timeout=60)
        except Exception:  # noqa: BLE001 (best effort: the process's exit ends it anyway)
            pass
        if kernel.cleanup:
            kernel.cleanup()

    def close(self) -> None:
        """Shut down every kernel started ahead and not taken, and wait for those that ran (at
        the latest when the process ends)."""
        with self._lock:
            ahead, self._ahead = self._ahead, []
        for _, kernel, booting in ahead:
            self._discard(kernel, booting)
        self.drain()


async def _end(kernel: Kernel) -> None:
    """Shut a kernel down, then remove what was made for it (in a thread: it may wait)."""
    try:
        await _shutdown(kernel)
    finally:
        if kernel.cleanup:
            await asyncio.to_thread(kernel.cleanup)


KERNELS = KernelPool()
"""This process's kernels started ahead (see :class:`KernelPool`)."""


async def _run_cells(client, km, nb, runs, limits, deadline, private) -> str:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or runs[index].status == STATUS_SKIPPED:
            continue
        run = runs[index]
        remaining = deadline - time.monotonic()
        if remaining <= 1:
            return _stop_rest(runs, index, "the notebook's time limit "
                                           f"({limits.notebook_timeout:.0f} s) was reached")
        client.timeout = max(1, int(min(limits.cell_timeout, remaining)))
        started = time.monotonic()
        try:
            reply = await _execute(client, cell, index, store_history=index not in private)
        except CellTimeoutError:
            run.seconds = time.monotonic() - started
            run.status = STATUS_TIMEOUT
            run.ename, run.evalue = "Timeout", f"the cell ran longer than {client.timeout} s"
            if not await _recovers_after_interrupt(client, km, limits):
                return _stop_rest(runs, index + 1, f"cell {index} ran past its time limit and "
                                                   "the kernel did not stop when interrupted")
            continue
        except DeadKernelError:
            run.seconds = time.monotonic() - started
            run.status = STATUS_DIED
            run.ename, run.evalue = "DeadKernel", "the kernel died while running this cell"
            return _stop_rest(runs, index + 1, f"the kernel died in cell {index}")
        except Exception as exc:  # a message the client could not read: the kernel's doing
            run.seconds = time.monotonic() - started
            run.status = STATUS_DIED
            run.ename = "MalformedMessage"
            run.evalue = f"the kernel sent a message the grader could not read " \
                         f"({type(exc).__name__})"
            return _stop_rest(runs, index + 1, f"the kernel sent an unreadable message in cell "
                                               f"{index}")
        run.seconds = time.monotonic() - started
        content = (reply or {}).get("content", {})
        if content.get("status") == "ok":
            run.finish_ok()
        else:
            run.status = STATUS_ERROR
            run.ename = str(content.get("ename", "Error"))[:200]
            run.evalue = str(content.get("evalue", ""))[:2000]
    return ""


async def _execute(client, cell, index, store_history=True):
    """Execute one cell and return its execute_reply (nbclient keeps it to itself)."""
    replies = {}

    async def keep_reply(cell, cell_index, execute_reply):
        replies["reply"] = execute_reply

    client.on_cell_executed = keep_reply
    await client.async_execute_cell(cell, index, store_history=store_history)
    return replies.get("reply")


async def _recovers_after_interrupt(client, km, limits) -> bool:
    """Interrupt the kernel; True when it answers a trivial request within the grace period.

    The shell channel serves requests in order, so a reply to a new request proves that the
    interrupted cell has finished.
    """
    try:
        await km.interrupt_kernel()
        msg_id = client.kc.execute("pass", store_history=False, silent=True)
        deadline = time.monotonic() + limits.interrupt_grace
        while (left := deadline - time.monotonic()) > 0:
            reply = await client.kc.get_shell_msg(timeout=left)
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return True
    except Exception:  # Empty on timeout, or a dead kernel
        return False
    return False


def _stop_rest(runs, start, reason) -> str:
    for index, run in runs.items():
        if index >= start and run.status == STATUS_NOT_RUN:
            run.note = reason
    return reason
