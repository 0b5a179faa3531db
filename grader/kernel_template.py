"""The kernel template: a warmed Python inside the sandbox that forks one fresh kernel per request.

This file is not imported by the grader. Its text is the program of the template process, which
:mod:`grader.forkserver` starts with ``python -c`` inside bubblewrap; only the standard library,
ipykernel and the course's modules are importable there. Starting a kernel from scratch costs an
interpreter start and every import (about 0.9 CPU seconds); forking this process, whose imports
are done, costs a few milliseconds, and the kernel's own start under 0.1 CPU seconds.

Each kernel is isolated from the template and from every other kernel as a bubblewrap sandbox of
its own would be. Per request the template forks a child that

* enters new user, mount, pid, network, IPC and UTS namespaces (no network; processes, signals
  and System V IPC confined to the kernel);
* mounts a fresh ``/tmp`` and ``/dev/shm`` (capped tmpfs) and ``/dev/pts``, hides the spool
  that holds every kernel's folder with only its own folder bound back (and whatever else the
  sandbox bound beneath ``/tmp``, read-only), and makes every other mount read-only: the kernel
  can write to its folder, ``/tmp`` and ``/dev/shm`` only;
* forks the kernel's init (pid 1 of the new pid namespace; it reaps and, when the kernel ends,
  ends everything in the namespace), which waits until the grader has put it into the kernel's
  control group, sets the resource limits, and forks the kernel.

The template and every process it forks are not dumpable: a kernel cannot read or write another
kernel's or the template's memory through ``/proc`` (that needs ``CAP_SYS_PTRACE`` in the
template's user namespace, which nothing forked from it has). A kernel cannot mount a ``/proc`` of
its own there (the sandbox's is not fully visible), so it sees the template's: the other kernels'
process ids and command lines (the template's, the same for all), not their memory, environment,
files or working folder, and it cannot signal them (their pids are not in its namespace).

Protocol: one JSON request per line on stdin, one JSON reply per line on stdout (``{"pid": N}``,
the init's pid in the template's pid namespace, or ``{"error": text}``, with the request's
``id``). The first line on stdout is ``{"ready": true}``, once the imports are done.
"""

import ctypes
import gc
import importlib
import json
import os
import resource
import select
import signal
import stat
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE = 1024, 2048, 4096, 16384, 1 << 18
MS_RELATIME, MS_STRICTATIME = 1 << 21, 1 << 24
PR_SET_DUMPABLE, PR_SET_PDEATHSIG, PR_CAPBSET_DROP = 4, 1, 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_FLAG_OPTIONS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
                 "noatime": MS_NOATIME, "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}
_RLIMITS = {"AS": resource.RLIMIT_AS, "CORE": resource.RLIMIT_CORE,
            "FSIZE": resource.RLIMIT_FSIZE, "NPROC": resource.RLIMIT_NPROC}

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                       ctypes.c_char_p]


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None):
    _check(libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                      flags, data and data.encode()), f"mount {target}")


def _write(path, text):
    # os.write, not open().write(): a refused write must raise here, not be lost at close
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _mount_points():
    """(mount point, per-mount flags) of every mount this process can reach.

    ``/proc/self/mountinfo`` also lists mounts that a later mount covers: those are left out. A
    mount is reachable when its point, opened, lies on it (the ``mnt_id`` of the open file).
    """
    points = []
    with open("/proc/self/mountinfo") as lines:
        for line in lines:
            fields = line.split(" - ")[0].split()
            point = fields[4].encode().decode("unicode_escape")
            flags = 0
            for option in fields[5].split(","):
                flags |= _FLAG_OPTIONS.get(option, 0)
            if not flags & (MS_NOATIME | MS_RELATIME):
                flags |= MS_STRICTATIME
            if _mount_id(point) == int(fields[0]):
                points.append((point, flags))
    return points


def _mount_id(path):
    try:
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        with open(f"/proc/self/fdinfo/{fd}") as info:
            for line in info:
                if line.startswith("mnt_id:"):
                    return int(line.split()[1])
    finally:
        os.close(fd)
    return None


def _isolate(request):
    """In the forked child: new namespaces and the kernel's view of the files (see above)."""
    uid, gid = os.getuid(), os.getgid()
    _check(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC
                        | CLONE_NEWUTS), "unshare")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    _check(libc.sethostname(b"sandbox", 7), "sethostname")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    spool, folder = request["spool"], request["folder"]
    if os.path.dirname(folder) != spool:
        raise ValueError("the kernel's folder must lie directly in the spool")
    # The fresh /tmp and /dev/shm below cover whatever the sandbox bound beneath them (this
    # Python or the course, when they live under /tmp; the spool): held open here, the kernel's
    # own folder and those mounts (not the spool) are bound back at their paths.
    fresh_points = ("/tmp", "/dev/shm")
    beneath = [point for point, _ in _mount_points()
               if point.startswith(tuple(p + "/" for p in fresh_points))
               and point != spool and not point.startswith(spool + "/")]
    outermost = [point for point in sorted(beneath, key=len)
                 if not any(point.startswith(other + "/") for other in beneath)]
    held = [(point, os.open(point, os.O_PATH)) for point in outermost]
    held.append((folder, os.open(folder, os.O_PATH | os.O_DIRECTORY)))
    fresh = MS_NOSUID | MS_NODEV
    for point in fresh_points:
        _mount("tmpfs", point, "tmpfs", fresh, f"size={int(request['tmp_bytes'])},mode=1777")
    if os.path.isdir(spool):   # still visible: cover every kernel's folder
        _mount("tmpfs", spool, "tmpfs", fresh, "size=65536,mode=755")
    for point, fd in held:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            os.makedirs(point, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(point), exist_ok=True)
            os.close(os.open(point, os.O_WRONLY | os.O_CREAT, 0o600))
        _mount(f"/proc/self/fd/{fd}", point, None, MS_BIND | MS_REC)
        os.close(fd)
    # pseudo-terminals of its own (the template's devpts is shared by all its kernels)
    _mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
           "newinstance,ptmxmode=0666,mode=620")
    writable = {"/tmp", "/dev/shm", "/dev/pts", folder}
    for point, flags in _mount_points():
        if point in writable or point.startswith(folder + "/") or flags & MS_RDONLY:
            continue
        # read-only, keeping the flags the mount was made with (a locked mount refuses to lose
        # nosuid, nodev, noexec or its atime setting)
        _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
    os.makedirs(os.environ.get("HOME", "/tmp/home"), exist_ok=True)


def _drop_capabilities():
    """Give up every capability the new user namespace gave (a forked process keeps them, where
    an ``execve`` as a non-root user would drop them): without them the kernel can neither
    unmount what covers the other kernels' folders nor make a read-only mount writable, and a
    user namespace it makes itself locks every mount it inherits."""
    cap = 0
    while libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
        cap += 1
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()   # effective, permitted, inheritable: two words each, none
    _check(libc.capset(header, data), "capset")


_SYSCALLS = {"x86_64": (0xC000003E, 56, 272, 435), "aarch64": (0xC00000B7, 220, 97, 435)}
"""Machine -> (its seccomp architecture, the numbers of clone, unshare, clone3)."""


def _refuse_user_namespaces():
    """A seccomp filter: ``clone`` and ``unshare`` with ``CLONE_NEWUSER`` fail (EPERM), ``clone3``
    is unavailable (ENOSYS: the C library falls back to ``clone``), and so are other ABIs' system
    calls. Every user namespace a kernel made would count against the host's limit for the grading
    user, and a kernel that made tens of thousands would stop new sandboxes for everyone. True
    when the filter is in force (on the machines of :data:`_SYSCALLS`)."""
    import platform

    numbers = _SYSCALLS.get(platform.machine())
    if numbers is None:
        return False
    arch, clone, unshare, clone3 = numbers
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | 1          # SECCOMP_RET_ALLOW, ERRNO(EPERM)
    unavailable = 0x00050000 | 38                     # ERRNO(ENOSYS)
    program = [(ld, 0, 0, 4),                         # 0: the system call's architecture
               (jeq, 0, 8, arch),                     # 1: another ABI -> deny
               (ld, 0, 0, 0),                         # 2: the system call's number
               (jge, 6, 0, 0x40000000),               # 3: x32 numbers -> deny
               (jeq, 6, 0, clone3),                   # 4: clone3 -> unavailable
               (jeq, 1, 0, clone),                    # 5: clone -> its flags
               (jeq, 0, 2, unshare),                  # 6: unshare -> its flags; else allow
               (ld, 0, 0, 16),                        # 7: the flags (low word of argument 0)
               (jset, 1, 0, CLONE_NEWUSER),           # 8: a new user namespace -> deny
               (ret, 0, 0, allow),                    # 9
               (ret, 0, 0, deny),                     # 10
               (ret, 0, 0, unavailable)]              # 11

    class Instruction(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(Instruction))]

    instructions = (Instruction * len(program))(*[Instruction(*i) for i in program])
    fprog = Program(len(program), instructions)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")
    return True


def _run_kernel(request):
    """In the kernel's process (pid 2 of its namespace): limits, then the kernel, never returns."""
    os.setsid()
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.closerange(3, 65536)
    os.chdir(request["cwd"])
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()   # numpy's global state, like a fresh interpreter's, is not shared
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"],
                *[str(arg) for arg in request["kernel_args"]]]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
    os._exit(0)


def _kernel_init(request):
    """Pid 1 of the kernel's namespace: wait for the grader, limit, fork the kernel, reap."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # an interrupt is the kernel's, not its init's
    go = os.open(request["go"], os.O_RDONLY)   # blocks until the grader opens it for writing
    answer = os.read(go, 1)
    os.close(go)
    if answer != b"1":
        os._exit(3)
    for name, value in request["rlimits"].items():
        _, hard = resource.getrlimit(_RLIMITS[name])
        value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        resource.setrlimit(_RLIMITS[name], (value, value))
    _drop_capabilities()
    _refuse_user_namespaces()
    kernel = os.fork()
    if kernel == 0:
        try:
            _run_kernel(request)
        finally:
            os._exit(1)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _fork_kernel(request):
    """Fork the child that isolates itself and forks the kernel's init; the init's pid."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(read_end)
            null = os.open("/dev/null", os.O_RDWR)
            os.dup2(null, 0)   # the template's requests and replies are not this child's
            os.dup2(null, 1)
            os.close(null)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _isolate(request)
            init = os.fork()
            if init == 0:
                os.close(write_end)
                try:
                    _kernel_init(request)
                finally:
                    os._exit(1)
            os.write(write_end, json.dumps({"pid": init}).encode())
            os.close(write_end)
            os.waitpid(init, 0)
            os._exit(0)
        except BaseException as exc:  # noqa: BLE001 (reported to the grader, then gone)
            os.write(write_end, json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
            os._exit(1)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 20)   # the grader waits 30 s
        data = os.read(read_end, 4096) if ready else b""
    finally:
        os.close(read_end)
    return json.loads(data) if data else {"error": "the kernel's process did not report"}


def main():
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # the forked children are reaped by the system
    if sys.path and sys.path[0] == "":
        del sys.path[0]   # not the working folder's modules
    sys.modules["debugpy"] = None   # no debugger while grading
    from ipykernel import kernelapp  # noqa: F401  (imported once, here, for every kernel)

    for name in json.loads(os.environ.get("GRADER_TEMPLATE_IMPORTS", "[]")):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 (the setup cell will say so when it runs)
            pass
    gc.collect()
    gc.freeze()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = {}
        try:
            request = json.loads(line)
            reply = _fork_kernel(request)
        except Exception as exc:  # noqa: BLE001
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        reply["id"] = request.get("id") if isinstance(request, dict) else None
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
