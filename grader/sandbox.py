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
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .cgroups import counts_tmpfs, kernel_group
from .execute import KERNEL_ENV, KernelLaunch, kernel_argv, plain_launch
from .files import remove_tree

SANDBOX_WARNING = ("WARNING: bubblewrap (bwrap) is not available, so submissions run UNSANDBOXED: "
                   "a submission could read the solutions and the grader, use the network, or "
                   "write outside its folder. Install bubblewrap (make sandbox, or your package "
                   "manager) before grading real submissions.")


PROCESS_CAP_WARNING = ("WARNING: no process cap can be set on the kernels here (no pids control "
                       "group, no systemd scope, and RLIMIT_NPROC does not bind root): a "
                       "submission could fork until the machine runs out of processes. Grade as "
                       "a non-root user, or where cgroups can be created.")
MEMORY_CAP_WARNING = ("WARNING: no memory control group can be made here: a kernel's address "
                      "space is capped, but files it writes to a tmpfs are not counted, and its "
                      "working folder is on disk (each file capped by RLIMIT_FSIZE only).")


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


@functools.cache
def bwrap_can(option: str) -> bool:
    """True when this bubblewrap knows ``option`` (asked once)."""
    try:
        proc = subprocess.run([bwrap_path() or "bwrap", "--help"], capture_output=True,
                              text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return option in proc.stdout + proc.stderr


@dataclass
class LimitPlan:
    """The resource limits of one kernel: a command prefix, its cleanup, and what holds."""

    prefix: list[str] = field(default_factory=list)
    cleanup: Callable[[], None] | None = None
    applied: list[str] = field(default_factory=list)
    rlimits: dict[str, int] = field(default_factory=dict)
    """The same resource limits for a kernel that sets them itself (a forked kernel): ``AS``,
    ``CORE``, ``FSIZE``, ``NPROC`` -> value; only those the prefix sets."""
    procs: list[Path] = field(default_factory=list)
    """``cgroup.procs`` files a forked kernel's process is put into (its control groups)."""
    needs_command: bool = False
    """The control group is entered only by starting the kernel through the prefix (a systemd
    scope): a forked kernel cannot be capped this way."""

    @property
    def counts_tmpfs(self) -> bool:
        return counts_tmpfs(self.applied)

    @property
    def caps_processes(self) -> bool:
        return any(item.startswith("processes") for item in self.applied)


def scratch_folder(plan: LimitPlan) -> str | None:
    """Where a submission's working folder and runtime files go.

    On a memory-capped kernel, ``/dev/shm`` (a tmpfs): whatever the kernel writes there is counted
    by its memory cap, so it can fill neither the host's disk nor its memory. Elsewhere the
    system's temporary folder (on disk; ``RLIMIT_FSIZE`` caps each file).
    """
    shm = Path("/dev/shm")
    if plan.counts_tmpfs and shm.is_dir() and os.access(shm, os.W_OK):
        return str(shm)
    return None


def kernel_launch(workdir: Path, runtime_dir: Path, options,
                  extra_env: dict[str, str] | None = None,
                  plan: LimitPlan | None = None) -> KernelLaunch:
    """How to start the kernel for one submission, given ``options.sandbox`` (auto, on, off).

    Resource limits (memory, processes, file sizes, core dumps) apply in every mode where the
    machine allows them; the namespaces (files, network, processes) only with bubblewrap.
    ``extra_env`` is added to the kernel's environment (the grading salt); ``plan`` is the result
    of :func:`resource_limits` (made here when not given).
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
        launch = _bwrap_launch(workdir, runtime_dir, extra_env, options.limits)
    plan = plan or resource_limits(options.limits)
    launch.argv = plan.prefix + launch.argv
    return _with_plan(launch, plan, options)


def _with_plan(launch: KernelLaunch, plan: LimitPlan, options) -> KernelLaunch:
    """``launch`` with the cleanup of ``plan`` and the list of limits in force."""
    launch.cleanup = plan.cleanup
    launch.limits_applied = list(plan.applied)
    if launch.sandboxed:
        launch.limits_applied.append(f"sandbox /tmp {options.limits.tmp_mb} MB")
    return launch


def resource_limits(limits) -> LimitPlan:
    """Command prefix that caps the kernel's memory, processes and files; its cleanup; a summary.

    Memory: ``RLIMIT_AS`` through ``prlimit``, and a memory control group (which also counts
    tmpfs) where the machine lets us make one. Processes: a pids control group (cgroup v1 or v2,
    or a systemd scope), else ``RLIMIT_NPROC`` for a non-root user (it does not bind root), else
    none — which the grader then reports loudly. Files: ``RLIMIT_FSIZE``.
    """
    plan = LimitPlan()
    prlimit = shutil.which("prlimit")
    if prlimit:
        plan.rlimits = {"AS": limits.memory_mb * 1024 * 1024, "CORE": 0,
                        "FSIZE": limits.file_mb * 1024 * 1024}
        plan.prefix = [prlimit, f"--as={plan.rlimits['AS']}", "--core=0",
                       f"--fsize={plan.rlimits['FSIZE']}"]
        plan.applied.append(f"address space {limits.memory_mb} MB")
        plan.applied.append(f"files {limits.file_mb} MB each")
    group = kernel_group(limits.memory_mb, limits.processes)
    if prlimit and os.geteuid() != 0 and not any(a.startswith("processes")
                                                 for a in group.applied):
        # RLIMIT_NPROC counts all of the user's processes: allow the current ones plus ours.
        plan.rlimits["NPROC"] = _user_processes() + limits.processes
        plan.prefix.append(f"--nproc={plan.rlimits['NPROC']}")
        plan.applied.append(f"processes {limits.processes} (RLIMIT_NPROC)")
    if prlimit:
        plan.prefix.append("--")
    plan.prefix = group.prefix() + plan.prefix
    plan.applied += group.applied
    plan.procs = list(group.procs)
    plan.needs_command = bool(group.command)
    plan.cleanup = group.cleanup if group.folders else None
    return plan


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


def bwrap_argv(writable: list[Path], chdir: Path, env: dict[str, str], limits,
               uid: int | None = None) -> list[str]:
    """The bubblewrap command (up to ``--``) of a sandbox: the system, this Python and ``dltrain``
    read-only, ``writable`` folders bound read-write at their own paths, a private capped
    ``/tmp``, no network, its own processes; ``env`` is its whole environment. With ``uid``, the
    sandbox's user id (a kernel template forks kernels into user namespaces of their own, which
    the user id 0 may not map)."""
    home = env.get("HOME", "/tmp/home")
    argv = [bwrap_path(), "--die-with-parent", "--unshare-all"]
    if uid is not None:
        argv += ["--unshare-user", "--uid", str(uid), "--gid", str(uid)]
    elif bwrap_can("--disable-userns"):
        # a kernel makes no user namespaces of its own: each would count against the host's
        # limit for the grading user (a template forks kernels into theirs, and its kernels are
        # refused them by a seccomp filter, grader/kernel_template.py)
        argv += ["--unshare-user", "--disable-userns"]
    argv += ["--cap-drop", "ALL", "--hostname", "sandbox",
             "--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp", "--dir", home]
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
    for folder in writable:
        argv += ["--bind", str(folder), str(folder)]
    argv += ["--chdir", str(chdir), "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    return argv + ["--"]


def sandbox_env(extra_env: dict[str, str]) -> dict[str, str]:
    """The whole environment of a sandboxed kernel."""
    home = "/tmp/home"
    return {"HOME": home, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "LANG": "C.UTF-8", "MPLCONFIGDIR": f"{home}/.matplotlib",
            "JUPYTER_PLATFORM_DIRS": "1", "IPYTHONDIR": f"{home}/.ipython", **KERNEL_ENV,
            **extra_env}


def _bwrap_launch(workdir: Path, runtime_dir: Path, extra_env: dict[str, str],
                  limits) -> KernelLaunch:
    workdir = workdir.resolve()
    runtime_dir = runtime_dir.resolve()
    argv = bwrap_argv([workdir, runtime_dir], workdir, sandbox_env(extra_env), limits)
    return KernelLaunch(argv=argv + kernel_argv(), env={}, transport="ipc",
                        runtime_dir=runtime_dir, sandboxed=True, interrupt_mode="message")


def start_template(options, plan: LimitPlan, extra_env: dict[str, str], imports: list[str]):
    """A kernel template (:class:`grader.forkserver.Template`) that has imported ``imports``,
    in a sandbox whose only writable host folder is its spool; None where kernels cannot be
    forked here: no sandbox (forking serves sandboxed kernels only), or a control group that
    only a command can enter."""
    from .forkserver import SANDBOX_UID, Template, new_spool

    if options.sandbox == "off" or not sandbox_works() or plan.needs_command:
        return None
    spool = new_spool(scratch_folder(plan))
    env = sandbox_env({**extra_env, "GRADER_TEMPLATE_IMPORTS": json.dumps(imports)})
    argv = bwrap_argv([spool], spool, env, options.limits, uid=SANDBOX_UID)
    try:
        return Template(argv, spool, options.limits.startup_timeout)
    except BaseException:
        remove_tree(spool)
        raise


def forked_launch(template, folder: Path, options, plan: LimitPlan) -> KernelLaunch:
    """How to start one kernel forked from ``template``, in ``folder`` (from its
    :meth:`~grader.forkserver.Template.new_folder`), with the limits of ``plan``."""
    from .forkserver import ForkRequest

    request = ForkRequest(folder, options.limits.tmp_mb * 1024 * 1024, dict(plan.rlimits))

    def place(host_pid: int) -> None:
        for procs in plan.procs:
            procs.write_text(str(host_pid))

    launch = KernelLaunch(argv=["forked-kernel", "-f", "{connection_file}"], env={},
                          transport="ipc", runtime_dir=request.runtime_dir, sandboxed=True,
                          interrupt_mode="message",
                          start=functools.partial(template.fork, request, place=place))
    return _with_plan(launch, plan, options)
