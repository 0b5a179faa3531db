"""Kernels forked from a warmed template: each as isolated as a bubblewrap sandbox of its own
(from the template and from the other kernels alive beside it), as fresh as a new interpreter,
and graded exactly as a kernel started from scratch would be."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pytest

from grader import assignment_ids
from grader.batch import grade_batch
from grader.execute import KernelPool, Limits
from grader.forkserver import host_pid_of
from grader.grade import Options
from grader.model import CellStatus
from grader.run import KERNEL_TEMPLATES, new_kernel
from grader.samples import demo_submissions
from grader.sandbox import sandbox_works

SANDBOX = sandbox_works()
SANDBOX_EXPECTED = bool(sys.platform.startswith("linux") and os.geteuid() == 0
                        and shutil.which("apt-get"))
needs_sandbox = pytest.mark.skipif(not SANDBOX and not SANDBOX_EXPECTED,
                                   reason="bubblewrap is not available here")
IMPORTS = ("numpy",)
WARMUP = "import gc\ngc.freeze()\n"


def _notebook(*sources: str):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


def _printed(executed, index: int) -> str:
    return "".join(o.get("text", "") for o in executed.cells[index].outputs)


def _forked(options: Options, salt: str = "salt"):
    kernel = new_kernel(options, salt, WARMUP, IMPORTS)
    assert kernel.launch.start is not None, "where the sandbox runs, kernels are forked"
    return kernel


# ------------------------------------------------------------------ finding the kernel's pid

def _fake_process(proc: Path, pid: int, nspid: str, children: list[int]) -> None:
    (proc / str(pid) / "task" / str(pid)).mkdir(parents=True)
    (proc / str(pid) / "status").write_text(f"Name:\tpython\nNSpid:\t{nspid}\n")
    (proc / str(pid) / "task" / str(pid) / "children").write_text(" ".join(map(str, children)))


def test_the_host_pid_is_found_by_the_pid_in_the_templates_namespace(tmp_path):
    """bwrap (100) -> its init (101, pid 1 inside) -> template (102, pid 2) -> two kernels' inits
    (pid 5 and 7 in the template's namespace, 1 in their own)."""
    _fake_process(tmp_path, 100, "100", [101])
    _fake_process(tmp_path, 101, "101\t1", [102])
    _fake_process(tmp_path, 102, "102\t2", [103, 104])
    _fake_process(tmp_path, 103, "103\t5\t1", [])
    _fake_process(tmp_path, 104, "104\t7\t1", [])
    assert host_pid_of(100, 7, proc=tmp_path) == 104
    assert host_pid_of(100, 5, proc=tmp_path) == 103
    assert host_pid_of(100, 2, proc=tmp_path) is None, "the template itself is not a kernel"
    assert host_pid_of(100, 9, proc=tmp_path) is None


SLOW_TEMPLATE = r"""
import json, sys, time
print(json.dumps({"ready": True}), flush=True)
for number, line in enumerate(sys.stdin):
    if number == 0:
        time.sleep(2)   # the first fork answers late
    print(json.dumps({"pid": 101 + number, "id": json.loads(line)["id"]}), flush=True)
"""


def test_a_fork_that_answers_late_ends_the_template(tmp_path):
    """A reply that comes after the grader stopped waiting must not answer the next request: the
    template is given up (its kernels then start one by one)."""
    from grader.forkserver import ForkRequest, Template, TemplateError

    spool = tmp_path / "spool"
    spool.mkdir()
    template = Template([sys.executable, "-c", SLOW_TEMPLATE, "--"], spool)
    try:
        request = ForkRequest(template.new_folder(), 1 << 20, {})
        with pytest.raises(TemplateError, match="did not answer within 1 s"):
            template.fork(request, "kernel.json", place=lambda pid: None, timeout=1)
        assert not template.alive()
        time.sleep(1.5)   # the late reply is in the pipe now
        with pytest.raises(TemplateError, match="did not answer"):
            template.fork(ForkRequest(template.new_folder(), 1 << 20, {}), "kernel.json",
                          place=lambda pid: None, timeout=5)
    finally:
        template.close()
    assert not spool.exists()


# ------------------------------------------------------------------ isolation

PROBE = r'''
import ctypes, json, os, signal
mine = os.getcwd()
report = {"pid": os.getpid(), "spool": sorted(os.listdir(os.path.dirname(os.path.dirname(mine)))),
          "killed": [], "read": [], "written": [], "unmounted": []}
myself = os.readlink("/proc/self")   # this kernel's pid in the template's namespace
for name in os.listdir("/proc"):
    if name.isdigit() and name != myself:
        for what in ("environ", "mem", "root/etc", "cwd"):
            target = f"/proc/{name}/{what}"
            try:
                if what in ("root/etc", "cwd"):
                    os.listdir(target)
                else:
                    open(target, "rb").read(1)
                report["read"].append(target)
            except OSError:
                pass
# every pid /proc shows (the template's namespace), but for numbers this kernel's own namespace
# uses too (its init, itself, its threads: the last column of their NSpid)
own = {1} | {int(open(f"/proc/self/task/{t}/status").read().split("NSpid:")[1]
                  .split("\n")[0].split()[-1]) for t in os.listdir("/proc/self/task")}
for name in os.listdir("/proc"):
    if name.isdigit() and name != myself and int(name) not in own:
        try:
            os.kill(int(name), signal.SIGKILL)
            report["killed"].append(name)
        except OSError:
            pass
for folder in ("/", "/usr", "/dev", "/etc", "/proc/sys", os.path.dirname(os.__file__)):
    try:
        with open(os.path.join(folder, "planted"), "w") as f:
            f.write("x")
        report["written"].append(folder)
    except OSError:
        pass
libc = ctypes.CDLL(None, use_errno=True)
for point in ("/dev/shm", "/tmp", os.path.dirname(mine)):
    if libc.umount2(point.encode(), 2) == 0:
        report["unmounted"].append(point)
for folder in ("/tmp", "/dev/shm", mine):
    open(os.path.join(folder, "mine.txt"), "w").write(str(os.getpid()))
status = open("/proc/self/status").read()
report["capabilities"] = [line.split()[1] for line in status.splitlines() if line.startswith("Cap")]
import numpy
report["random"] = float(numpy.random.rand())
master, child = os.openpty()   # a pseudo-terminal: from this kernel's own devpts
report["pts"] = [os.stat("/dev/pts").st_dev, os.ttyname(child)]
print(json.dumps(report))
'''


@needs_sandbox
@pytest.mark.kernel
def test_a_forked_kernel_reaches_neither_its_sibling_nor_the_template():
    """Two kernels of one template alive at once: the second probes everything it can see (the
    template's pids in /proc); it kills, reads, writes and unmounts nothing outside itself, and
    the first then runs untouched, with a /tmp, /dev/shm and folder of its own."""
    options = Options(limits=Limits(cell_timeout=60))
    first_pool, second_pool = KernelPool(), KernelPool()
    try:
        first, _ = first_pool.take("k", lambda: _forked(options))
        second, _ = second_pool.take("k", lambda: _forked(options))
        assert not first.problem and not second.problem
        (first.workdir / "secret.txt").write_text("the first student's file")
        executed, runs, problem = second_pool.run(second, _notebook(PROBE))
        assert not problem and runs[0].status == CellStatus.OK, runs[0].evalue
        probe = json.loads(_printed(executed, 0))
        assert len(probe["spool"]) == 1, f"other kernels' folders are visible: {probe['spool']}"
        assert probe["read"] == [], "another process's memory, environment or files were read"
        assert probe["killed"] == [], "a process outside the kernel was signalled"
        assert probe["written"] == [], "a read-only place was written"
        assert probe["unmounted"] == [], "a mount of the sandbox was removed"
        assert set(probe["capabilities"]) == {"0000000000000000"}, probe["capabilities"]

        executed, runs, problem = first_pool.run(first, _notebook(
            "import json, os\n"
            "print(json.dumps([os.listdir('/tmp'), os.listdir('/dev/shm'),\n"
            "                  open('secret.txt').read()]))", PROBE))
        assert not problem and runs[0].status == CellStatus.OK, "the first kernel still lives"
        tmp, shm, secret = json.loads(_printed(executed, 0))
        assert "mine.txt" not in tmp + shm, "the sibling's /tmp or /dev/shm is shared"
        assert secret == "the first student's file"
        again = json.loads(_printed(executed, 1))
        assert again["random"] != probe["random"], "numpy's global state is each kernel's own"
        assert again["pts"][0] != probe["pts"][0], "the kernels share their pseudo-terminals"
    finally:
        first_pool.close()
        second_pool.close()
        KERNEL_TEMPLATES.close()


@needs_sandbox
@pytest.mark.kernel
def test_a_forked_kernel_is_capped_and_interruptible():
    """Memory and file caps hold in a forked kernel; a cell past its time limit is interrupted and
    the kernel goes on; the kernel's init (pid 1) ignores the student's signals."""
    options = Options(limits=Limits(cell_timeout=2, memory_mb=1024, file_mb=1))
    pool = KernelPool()
    try:
        kernel, _ = pool.take("k", lambda: _forked(options))
        executed, runs, problem = pool.run(kernel, _notebook(
            "import numpy\ntry:\n    numpy.ones(2 * 1024**3 // 8)\n"
            "except MemoryError:\n    print('no memory')",
            "try:\n    open('big', 'wb').write(b'x' * 2_000_000)\n"
            "except OSError as exc:\n    print('file cap', exc.errno)",
            "import time\ntime.sleep(60)",
            "import os, signal\nos.kill(1, signal.SIGKILL)\nos.kill(1, signal.SIGINT)\n"
            "print('still here')"))
        assert not problem
        assert "no memory" in _printed(executed, 0)
        assert "file cap 27" in _printed(executed, 1), _printed(executed, 1)
        assert runs[2].status == CellStatus.TIMEOUT
        assert runs[3].status == CellStatus.OK and "still here" in _printed(executed, 3)
    finally:
        pool.close()
        KERNEL_TEMPLATES.close()


@needs_sandbox
@pytest.mark.kernel
def test_what_the_sandbox_binds_under_tmp_stays_visible_and_read_only(tmp_path, monkeypatch):
    """A forked kernel gets a fresh /tmp; a folder the sandbox binds beneath /tmp (this Python,
    or the course, when they live there) is bound back, read-only."""
    import grader.sandbox as sandbox

    extra = tmp_path / "course-under-tmp"   # pytest's tmp_path lies under /tmp
    extra.mkdir()
    (extra / "data.txt").write_text("bound back")
    roots = sandbox._package_roots()
    monkeypatch.setattr(sandbox, "_package_roots", lambda: roots + [extra])
    options = Options(limits=Limits(cell_timeout=30))
    pool = KernelPool()
    try:
        kernel, _ = pool.take("k", lambda: _forked(options, salt="under-tmp"))
        executed, runs, problem = pool.run(kernel, _notebook(
            f"print(open({str(extra / 'data.txt')!r}).read())",
            f"open({str(extra / 'planted.txt')!r}, 'w')"))
        assert not problem and _printed(executed, 0).strip() == "bound back"
        assert runs[1].status == CellStatus.ERROR and "Read-only" in runs[1].evalue
        assert not (extra / "planted.txt").exists()
    finally:
        pool.close()
        KERNEL_TEMPLATES.close()


@needs_sandbox
@pytest.mark.kernel
@pytest.mark.parametrize("fork", [True, False], ids=["forked", "fresh"])
def test_a_kernel_makes_no_user_namespace_but_threads_and_processes(fork):
    """Every user namespace a kernel made would count against the host's limit for the grading
    user (tens of thousands, then no sandbox starts for anyone): unshare(CLONE_NEWUSER) fails in
    forked and fresh kernels; threads and subprocesses still work."""
    options = Options(limits=Limits(cell_timeout=30), fork_kernels=fork)
    pool = KernelPool()
    try:
        kernel, _ = pool.take("k", lambda: new_kernel(options, "userns", WARMUP, IMPORTS))
        assert (kernel.launch.start is not None) == fork
        executed, runs, problem = pool.run(kernel, _notebook(
            "import ctypes, subprocess, threading\n"
            "libc = ctypes.CDLL(None, use_errno=True)\n"
            "print('made' if libc.unshare(0x10000000) == 0 else 'refused')\n"
            "done = []\n"
            "thread = threading.Thread(target=lambda: done.append(1)); thread.start(); "
            "thread.join()\n"
            "print(subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout, "
            "done)"))
        assert not problem and runs[0].status == CellStatus.OK, runs[0].evalue
        assert _printed(executed, 0).split() == ["refused", "child", "[1]"]
    finally:
        pool.close()
        KERNEL_TEMPLATES.close()


def test_without_a_template_kernels_start_one_by_one(monkeypatch, caplog):
    """A template that cannot start leaves grading to kernels started from scratch, said once."""
    import grader.run as run
    import grader.sandbox as sandbox
    from grader.forkserver import TemplateError

    def refuse(*args, **kwargs):
        raise TemplateError("no user namespaces here")

    monkeypatch.setattr(sandbox, "start_template", refuse)
    templates = run._Templates()
    monkeypatch.setattr(run, "KERNEL_TEMPLATES", templates)
    options = Options(sandbox="off")
    kernels = [new_kernel(options, "salt", WARMUP, IMPORTS) for _ in range(2)]
    try:
        assert all(k.launch.start is None for k in kernels)
        assert [r.message for r in caplog.records].count(
            "kernels are started one by one (no kernel template): no user namespaces here") == 1
    finally:
        for kernel in kernels:
            kernel.cleanup()


# ------------------------------------------------------------------ same grades

@needs_sandbox
@pytest.mark.kernel
def test_forked_and_fresh_kernels_give_the_same_grades(tmp_path):
    """The demo class, graded with forked kernels and with kernels started from scratch: the same
    grades.csv, byte for byte (same salt)."""
    aid = assignment_ids()[0]
    subs = tmp_path / "subs"
    demo_submissions(subs, [aid])
    outs = {}
    for fork in (True, False):
        out = tmp_path / f"out-{fork}"
        grade_batch(subs, out, jobs=1, options=Options(salt="same", fork_kernels=fork),
                    progress=False)
        outs[fork] = (out / "grades.csv").read_bytes()
    assert outs[True] == outs[False]
    assert outs[True].count(b"\n") > 3
