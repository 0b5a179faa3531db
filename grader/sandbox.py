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

import os
import shutil
import sys
import sysconfig
import uuid
from pathlib import Path

from .execute import KERNEL_ENV, KernelLaunch, plain_launch

_WARNED = False
SANDBOX_WARNING = ("WARNING: bubblewrap (bwrap) is not available, so submissions run UNSANDBOXED: "
                   "a submission could read the solutions and the grader, use the network, or "
                   "write outside its folder. Install bubblewrap (make sandbox, or your package "
                   "manager) before grading real submissions.")


class SandboxUnavailable(RuntimeError):
    """``--sandbox on`` was asked for and bubblewrap cannot run here."""


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def sandbox_works() -> bool:
    """True when bubblewrap is installed and can create the namespaces we use."""
    return _probe()


def _probe(cache={}) -> bool:  # noqa: B006  (a deliberate per-process memo)
    if "ok" not in cache:
        exe = bwrap_path()
        ok = False
        if exe:
            import subprocess

            try:
                proc = subprocess.run([exe, "--unshare-all", "--die-with-parent",
                                       "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
                                       "true"], capture_output=True, timeout=20)
                ok = proc.returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
        cache["ok"] = ok
    return cache["ok"]


def kernel_launch(workdir: Path, runtime_dir: Path, options) -> KernelLaunch:
    """How to start the kernel for one submission, given ``options.sandbox`` (auto, on, off)."""
    runtime_dir.mkdir(parents=True, exist_ok=True)
    if options.sandbox == "off":
        launch = plain_launch(workdir)
        launch.runtime_dir = runtime_dir
        return launch
    if not sandbox_works():
        if options.sandbox == "on":
            raise SandboxUnavailable("bubblewrap is not available or cannot create namespaces "
                                     "here; install it or grade with --sandbox off")
        launch = plain_launch(workdir)
        launch.runtime_dir = runtime_dir
        return launch
    return _bwrap_launch(workdir, runtime_dir, options.limits)


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


def _bwrap_launch(workdir: Path, runtime_dir: Path, limits) -> KernelLaunch:
    workdir = workdir.resolve()
    runtime_dir = runtime_dir.resolve()
    home = "/tmp/home"
    argv = [bwrap_path(), "--die-with-parent", "--unshare-all", "--new-session",
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
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "JUPYTER_PLATFORM_DIRS": "1", "IPYTHONDIR": f"{home}/.ipython", **KERNEL_ENV}
    for key, value in env.items():
        argv += ["--setenv", key, value]
    limit = ["prlimit", f"--as={limits.memory_mb * 1024 * 1024}",
             f"--nproc={limits.processes}", "--core=0", "--"]
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    return KernelLaunch(argv=argv + ["--"] + limit + kernel, env={}, transport="ipc",
                        runtime_dir=runtime_dir, sandboxed=True)


def sandbox_id() -> str:
    return uuid.uuid4().hex[:12]
