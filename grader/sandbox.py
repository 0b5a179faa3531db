"""Start each submission's kernel in a bubblewrap sandbox (or, where impossible, without one).

Inside the sandbox the kernel sees a minimal read-only system: the operating system's libraries,
this Python installation, and the ``dltrain`` package. It does not see the repository's
``solutions/``, ``grader/`` or ``notebooks/``, the grading output, the gradebook, other students'
submissions or the user's home directory. Its working copy is the only writable place besides a
private ``/tmp``. It has no network (a fresh network namespace with only a loopback device), its
own process namespace, and limits on memory, processes and time.

Kernel and grader talk over Unix sockets in a runtime folder that both see, so the kernel needs no
network at all.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
import uuid
from collections.abc import Callable
from pathlib import Path

from .execute import KERNEL_ENV, KernelLaunch, plain_launch

SANDBOX_WARNING = ("WARNING: bubblewrap (bwrap) is not available, so submissions run UNSANDBOXED: "
                   "a submission could read the solutions and the grader, use the network, or "
                   "write outside its folder. Install bubblewrap (make sandbox, or your package "
                   "manager) before grading real submissions.")


class SandboxUnavailable(RuntimeError):
    """``--sandbox on`` was asked for and bubblewrap cannot run here."""


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def sandbox_works() -> bool:
    """True when bubblewrap is installed and can create the namespaces we use (asked once)."""
    exe = bwrap_path()
    if not exe:
        return False
    try:
        proc = subprocess.run([exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/",
                               "--proc", "/proc", "--dev", "/dev", "true"],
                              capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0


def kernel_launch(workdir: Path, runtime_dir: Path, options,
                  extra_env: dict[str, str] | None = None) -> KernelLaunch:
    """How to start the kernel for one submission, given ``options.sandbox`` (auto, on, off).

    Resource limits (memory, processes, core dumps) apply in every mode where the machine
    allows them; the namespaces (files, network, processes) only with bubblewrap. ``extra_env``
    is added to the kernel's environment (the grading salt).
    """
    runtime_dir.mkdir(parents=True, exist_ok=True)
    extra_env = dict(extra_env or {})
    if options.sandbox == "off" or not sandbox_works():
        if options.sandbox == "on":
            raise SandboxUnavailable("bubblewrap is not available or cannot create namespaces "
                                     "here; install it or grade with --sandbox off")
        launch = plain_launch(workdir)
        launch.env.update(extra_env)
        launch.runtime_dir = runtime_dir
    else:
        launch = _bwrap_launch(workdir, runtime_dir, extra_env)
    prefix, cleanup, applied = resource_limits(options.limits)
    launch.argv = prefix + launch.argv
    launch.cleanup = cleanup
    launch.limits_applied = applied
    return launch


def resource_limits(limits) -> tuple[list[str], Callable[[], None] | None, list[str]]:
    """Command prefix that caps the kernel's memory and processes, its cleanup, and a summary.

    Memory: ``RLIMIT_AS`` through ``prlimit``. Processes: a pids cgroup when this machine lets
    us create one (cgroup v1 as root, as in CI containers), else ``RLIMIT_NPROC`` for a non-root
    user (it does not bind root), else none.
    """
    prefix: list[str] = []
    applied: list[str] = []
    cleanup = None
    prlimit = shutil.which("prlimit")
    if prlimit:
        prefix = [prlimit, f"--as={limits.memory_mb * 1024 * 1024}", "--core=0"]
        applied.append(f"memory {limits.memory_mb} MB")
        if os.geteuid() != 0:
            # RLIMIT_NPROC counts all of the user's processes: allow the current ones plus ours.
            prefix.append(f"--nproc={_user_processes() + limits.processes}")
            applied.append(f"processes {limits.processes} (RLIMIT_NPROC)")
        prefix.append("--")
    group = _pids_cgroup(limits.processes)
    if group is not None:
        procs, cleanup = group
        prefix = ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(procs)] + prefix
        applied.append(f"processes {limits.processes} (cgroup)")
    return prefix, cleanup, applied


def _user_processes() -> int:
    uid = os.geteuid()
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(list((entry / "task").iterdir()))
            except OSError:
                continue
    return count


PIDS_ROOT = Path("/sys/fs/cgroup/pids")


def _pids_cgroup(max_tasks: int):
    """A fresh cgroup v1 ``pids`` group limited to ``max_tasks``, or None where impossible."""
    if not (PIDS_ROOT / "cgroup.procs").exists() or not os.access(PIDS_ROOT, os.W_OK):
        return None
    group = PIDS_ROOT / f"dltrain-grader-{uuid.uuid4().hex[:12]}"
    try:
        group.mkdir()
        (group / "pids.max").write_text(str(max_tasks))
    except OSError:
        return None

    def cleanup() -> None:
        import signal
        import time

        for _ in range(50):
            try:
                pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
            except OSError:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                group.rmdir()
                return
            except OSError:
                time.sleep(0.05)

    return group / "cgroup.procs", cleanup


def _python_roots() -> list[Path]:
    """Folders the kernel's Python needs: the interpreter, its stdlib and site-packages."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        roots.add(Path(sysconfig.get_paths()[key]))
    roots.add(Path(os.path.realpath(sys.executable)).parent.parent)
    return sorted({r.resolve() for r in roots if r.exists()})


def _package_roots() -> list[Path]:
    """Folders on sys.path added by editable installs (dltrain's source) — only those."""
    import dltrain

    return [Path(dltrain.__file__).resolve().parent.parent]


def _bwrap_launch(workdir: Path, runtime_dir: Path, extra_env: dict[str, str]) -> KernelLaunch:
    workdir = workdir.resolve()
    runtime_dir = runtime_dir.resolve()
    home = "/tmp/home"
    argv = [bwrap_path(), "--die-with-parent", "--unshare-all",
            "--cap-drop", "ALL", "--hostname", "sandbox",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", home]
    for path in ("/usr", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                 "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
                 "/etc/alternatives", "/etc/fonts"):
        if os.path.exists(path):
            argv += ["--ro-bind", path, path]
    for link, target in (("/bin", "usr/bin"), ("/lib", "usr/lib"), ("/lib64", "usr/lib64"),
                         ("/sbin", "usr/sbin")):
        if os.path.islink(link):
            argv += ["--symlink", target, link]
        elif os.path.isdir(link):
            argv += ["--ro-bind", link, link]
    for root in _python_roots() + _package_roots():
        argv += ["--ro-bind", str(root), str(root)]
    argv += ["--bind", str(workdir), str(workdir), "--bind", str(runtime_dir), str(runtime_dir),
             "--chdir", str(workdir), "--clearenv"]
    env = {"HOME": home, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
           "LANG": "C.UTF-8", "MPLCONFIGDIR": f"{home}/.matplotlib",
           "JUPYTER_PLATFORM_DIRS": "1", "IPYTHONDIR": f"{home}/.ipython", **KERNEL_ENV,
           **extra_env}
    for key, value in env.items():
        argv += ["--setenv", key, value]
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return KernelLaunch(argv=argv + ["--"] + kernel, env={}, transport="ipc",
                        runtime_dir=runtime_dir, sandboxed=True, interrupt_mode="message")
