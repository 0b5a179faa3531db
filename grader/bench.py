"""``python -m grader bench``: where grading time goes, and grading throughput, measured in one run.

On the same N submissions of one assignment (the demo's three kinds in rotation: reference, blank,
partly wrong), after an untimed warm-up:

1. executing each assembled notebook in a bare kernel (a plain ``ipykernel``, nothing started
   ahead, no sandbox, no limits, no judging, no feedback): the floor;
2. ``grade --jobs J`` (the default: sandbox when available, experiment cells skipped, kernels
   started ahead), whose run artifacts give the split per submission (waiting for a kernel, its
   start, its imports, the graded cells, the hidden-test records) and whose results are judged and
   rendered again here to time those stages;
3. the same with no kernel started ahead; with ``--sandbox off``; with ``--run-experiments`` (the
   cells nbgrader runs); with ``--jobs 1``;
4. plain serial ``nbgrader autograde`` (hidden tests judged in its kernels against
   ``solutions/``, :mod:`grader.native`);
5. a class of 30 graded, then graded again unchanged (the command line, as an instructor runs
   it), then judged again after a tolerance of a hidden test changed;
6. M synthetic submissions with ``--jobs J``, through a local ``dask.distributed`` cluster of J
   worker processes (started beforehand in a process of its own, as ``--cluster`` meets an
   existing cluster), and with ``--jobs J`` again (the cluster is compared with the mean of the
   two: the speed of a shared machine drifts by several percent within a minute), and what that
   projects for 10,000 submissions on N workers.

Every figure has its wall time and its CPU time (user + system of the grader's processes and of
every kernel, read from ``/proc`` for sandboxed kernels, which the grader does not reap): wall
times grow with the machine's load, which is printed with them.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import REPO_ROOT, SOLUTIONS_DIR
from .artifact import load_artifact
from .batch import grade_batch, judge_folder, publish_batch
from .course import Course
from .execute import KERNEL_ENV, KernelLaunch, Limits, run_notebook
from .grade import Options
from .judge import JudgeOptions, judge
from .model import CellRole
from .notebooks import read_notebook, write_notebook
from .publish import feedback_html, read_gradebook
from .release import ensure_tools_on_path
from .samples import demo_submissions
from .sandbox import sandbox_works
from .trusted import REFERENCES

PROJECTED = 10_000
WORKERS = (2, 8, 32, 128)


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class Measured:
    label: str
    n: int
    wall: float
    cpu: float
    load: str
    own_cpu: float = 0.0
    """CPU seconds of this process alone (the instructor's side of a cluster run)."""

    @property
    def per(self) -> float:
        return self.wall / self.n

    @property
    def cpu_per(self) -> float:
        return self.cpu / self.n


def _measure(label: str, n: int, fn, out: Path | None = None) -> Measured:
    """Run ``fn``; its wall time, and CPU time of this process, its children and the sandboxed
    kernels that graded into ``out``."""
    print(f"  {label} ...", end="", flush=True, file=sys.stderr)
    own = resource.getrusage(resource.RUSAGE_SELF)
    cpu, started = _cpu(), time.perf_counter()
    fn()
    wall = time.perf_counter() - started
    cpu = _cpu() - cpu
    after = resource.getrusage(resource.RUSAGE_SELF)
    own_cpu = after.ru_utime + after.ru_stime - own.ru_utime - own.ru_stime
    if out is not None:
        cpu += sum(a.timings.get("kernel_cpu", 0.0) for a in _artifacts(out) if a.sandboxed)
    print(f" {wall:.1f} s (CPU {cpu:.1f} s, load {_load()})", file=sys.stderr)
    return Measured(label, n, wall, cpu, _load(), own_cpu)


def _artifacts(out: Path) -> list:
    return [load_artifact(p) for p in sorted((out / "runs").rglob("*.json"))]


def _submissions(root: Path, aid: str, n: int, start: int = 0) -> Path:
    """n students: the three demo kinds (reference, blank, partly wrong) in rotation."""
    with tempfile.TemporaryDirectory() as tmp:
        kinds = [read_notebook(p) for p in demo_submissions(Path(tmp), [aid])]
    for k in range(start, start + n):
        write_notebook(kinds[k % len(kinds)], root / f"student{k:03d}" / aid / f"{aid}.ipynb")
    return root


def _grade(subs: Path, out: Path, jobs: int, cluster=None, **options):
    def run():
        with open(os.devnull, "w") as quiet:
            grade_batch(subs, out, jobs=jobs, progress=False, options=Options(**options),
                        stream=quiet, force=True, cluster=cluster)
    return run


def _nbgrader(subs: Path, course: Path, aid: str, timeout: float):
    """Serial `nbgrader autograde` in a course directory holding the same submissions; hidden
    tests judged in the kernels against this repository's solutions/ (grader.native)."""
    shutil.copytree(SOLUTIONS_DIR / aid, course / "source" / aid)
    shutil.copytree(subs, course / "submitted")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course / 'gradebook.db'}'\n"
        f"c.ExecutePreprocessor.timeout = {int(timeout)}\n"
        "c.Execute.timeout = %d\n" % int(timeout))
    ensure_tools_on_path()
    exe = Path(sys.executable).parent / "nbgrader"
    env = dict(os.environ, DLTRAIN_STATIC_WIDGETS="1", DLTRAIN_COURSE_ROOT=str(REPO_ROOT))
    subprocess.run([str(exe), "generate_assignment", aid, "--force"], cwd=course, env=env,
                   check=True, capture_output=True)

    def run():
        proc = subprocess.run([str(exe), "autograde", aid, "--create", "--force"], cwd=course,
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("nbgrader autograde failed:\n" + proc.stderr[-2000:])
    return run


def _nbgrader_agrees(course: Path, aid: str, out: Path) -> tuple[int, int]:
    """How many submissions nbgrader scored as the grader did (a check of the comparison)."""
    from nbgrader.api import Gradebook

    results, _ = read_gradebook(out / "gradebook.json")
    same = 0
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for result in results:
            try:
                score = gradebook.find_submission(aid, result.student).score
            except Exception:  # noqa: BLE001 (not graded there)
                continue
            same += abs(score - result.total) < 1e-9
    return same, len(results)


def _bare(subs: Path, aid: str) -> None:
    """Execute each submission's assembled notebook in a bare kernel, one after the other."""
    from .assemble import assemble

    course = Course()
    assignment = course.assignment(aid)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    for path in sorted(subs.rglob(f"{aid}.ipynb")):
        assembled = assemble(read_notebook(path), assignment.source, assignment.released, aid)
        with tempfile.TemporaryDirectory() as tmp:
            launch = KernelLaunch(argv=argv, env=dict(os.environ, **KERNEL_ENV),
                                  runtime_dir=Path(tmp))
            run_notebook(assembled.nb, path.parent, launch, Limits(),
                         assembled.experiment_cells())


def _split(out: Path, course: Course) -> list[tuple[str, float, str]]:
    """Mean seconds per submission of each step, from the artifacts of a grading and by judging
    and rendering them again here."""
    artifacts = [a for a in _artifacts(out) if a.cells]
    n = len(artifacts)
    if not n:
        return []

    def mean(values) -> float:
        values = list(values)
        return sum(values) / n if values else 0.0

    def cells(artifact, roles, setup=None) -> float:
        return sum(c.run.seconds for c in artifact.cells if c.run is not None and c.role in roles
                   and (setup is None or ("setup" in c.tags) == setup))

    timing = lambda key: mean(a.timings.get(key, 0.0) for a in artifacts)  # noqa: E731
    assignment = course.assignment(artifacts[0].job.assignment)
    options = JudgeOptions()
    plain = []
    for artifact in artifacts:
        started = time.perf_counter()
        judge(artifact, assignment, options)
        plain.append(time.perf_counter() - started)
    REFERENCES.clear()
    cached, results = [], []
    with REFERENCES.active():
        for artifact in artifacts:
            started = time.perf_counter()
            results.append(judge(artifact, assignment, options))
            cached.append(time.perf_counter() - started)
    rendering = []
    for result, artifact in zip(results, artifacts):
        started = time.perf_counter()
        feedback_html(result, artifact)
        rendering.append(time.perf_counter() - started)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        publish_batch(results, Path(tmp), {"when": "", "jobs": 0}, course)
    batch_files = time.perf_counter() - started
    hidden = mean(cells(a, {CellRole.HIDDEN}) for a in artifacts)
    return [
        ("reading and assembling the notebook", timing("read") + timing("assemble"), ""),
        ("waiting for a kernel (on the critical path)", timing("kernel_wait"),
         "a kernel started ahead is ready, or nearly"),
        ("  its fork (or start), sandbox, warm-up (overlapped)", timing("kernel_boot"),
         f"{timing('kernel_boot_cpu'):.2f} CPU s, of which warm-up "
         f"{timing('kernel_imports'):.2f} s wall (imports done by the template)"),
        ("copying the student's files", timing("files"), ""),
        ("setup cell (its imports were done at start)",
         mean(cells(a, {CellRole.INSTRUCTOR}, True) for a in artifacts), ""),
        ("graded cells (answers, visible tests, added)",
         mean(cells(a, {CellRole.ANSWER, CellRole.TEST, CellRole.ADDED}) for a in artifacts),
         ""),
        ("hidden-test records (in the kernel)", hidden, ""),
        ("other instructor cells", mean(cells(a, {CellRole.INSTRUCTOR}, False)
                                        for a in artifacts), ""),
        ("the kernel, start to shutdown (CPU)", timing("kernel_cpu"), "CPU s, not wall"),
        ("judging, reference and variants each time", statistics.mean(plain), ""),
        ("judging, first submission (fills the cache)", cached[0], ""),
        ("judging, the others (cache)", statistics.mean(cached[1:] or cached), ""),
        ("rendering the feedback page", statistics.mean(rendering), ""),
        ("grades.csv, gradebook, report (per batch)", batch_files, f"once per batch, / {n}"),
    ]


def _tolerance_changed(aid: str, root: Path) -> tuple[Course, str]:
    """A copy of the course where the first hidden-test tolerance of ``aid`` is 10x looser."""
    course = Course()
    for name, source in (("solutions", course.solutions), ("notebooks", course.release)):
        shutil.copytree(Path(source) / aid, root / name / aid)
    shutil.copytree(course.catalogue, root / "catalogue")
    path = root / "solutions" / aid / f"{aid}.ipynb"
    nb = read_notebook(path)
    changed = ""
    for cell in nb.cells:
        match = re.search(r"rtol=([0-9.eE+-]+)", cell.source)
        if cell.cell_type == "code" and "### BEGIN HIDDEN TESTS" in cell.source and match:
            new = f"rtol={float(match.group(1)) * 10:g}"
            cell.source = cell.source.replace(match.group(0), new, 1)
            changed = f"{match.group(0)} -> {new}"
            break
    write_notebook(nb, path)
    return Course(root / "solutions", root / "notebooks", root / "catalogue"), changed


def _artifact_stamps(out: Path) -> dict[Path, int]:
    """The modification time of every run artifact in ``out``: a run that happened rewrites its
    own."""
    return {path: path.stat().st_mtime_ns for path in (out / "runs").rglob("*.json")}


def _cli_regrade(subs: Path, out: Path, jobs: int) -> callable:
    def run():
        subprocess.run([sys.executable, "-m", "grader", "grade", str(subs), "--out", str(out),
                        "--jobs", str(jobs), "--no-progress"], cwd=REPO_ROOT, check=True,
                       capture_output=True)
    return run


CLUSTER_PROGRAM = """
import logging, sys
from distributed import LocalCluster

cluster = LocalCluster(n_workers=int(sys.argv[1]), threads_per_worker=1, processes=True,
                       dashboard_address=None, silence_logs=logging.ERROR)
print(cluster.scheduler_address, flush=True)
sys.stdin.read()   # until the benchmark closes it
cluster.close()
"""


def _through_cluster(subs: Path, out: Path, workers: int) -> tuple[Measured, float]:
    """Grade through a local cluster of ``workers`` processes, started beforehand in a process of
    its own, as `grader grade --cluster ADDRESS` meets an existing cluster (its scheduler and
    nannies are not the instructor's process): the grading's measure (wall: grading alone; CPU:
    the cluster's whole life, start included), and the cluster's start in seconds."""
    logging.getLogger("distributed").setLevel(logging.ERROR)   # the client's INFO lines
    started, cpu = time.perf_counter(), _cpu()
    cluster = subprocess.Popen([sys.executable, "-c", CLUSTER_PROGRAM, str(workers)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        address = cluster.stdout.readline().strip()
        if not address:
            raise RuntimeError("the local dask cluster did not start")
        start = time.perf_counter() - started
        measured = _measure("  ... through the running cluster", 0,
                            _grade(subs, out, workers, cluster=address, salt="bench"), out)
    finally:
        cluster.stdin.close()
        try:
            cluster.wait(timeout=60)
        except subprocess.TimeoutExpired:
            cluster.kill()
            cluster.wait()
    measured.cpu = _cpu() - cpu + sum(a.timings.get("kernel_cpu", 0.0) for a in _artifacts(out)
                                      if a.sandboxed)
    return measured, start


def bench(aid: str = "00_inputs", n: int = 20, jobs: int = 2, cluster_n: int = 200) -> int:
    sandboxed = sandbox_works()
    print(f"Grading benchmark: {n} submissions of {aid}, {jobs} workers, {os.cpu_count()} CPUs, "
          f"load average {_load()} at the start, sandbox "
          f"{'available' if sandboxed else 'NOT available'}", file=sys.stderr)
    course = Course()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tmp = Path(tmp)
        subs = _submissions(tmp / "subs", aid, n)
        # untimed warm-up: fills the disk cache and the grader's imports for every run below
        _grade(_submissions(tmp / "warm", aid, 2), tmp / "o0", 1)()
        m = {}
        m["bare"] = _measure("bare kernels, serial", n, lambda: _bare(subs, aid))
        m["ours"] = _measure(f"grader --jobs {jobs}", n, _grade(subs, tmp / "o1", jobs),
                             tmp / "o1")
        m["cold"] = _measure(f"grader --jobs {jobs}, no kernel started ahead", n,
                             _grade(subs, tmp / "o2", jobs, warm_kernels=0), tmp / "o2")
        m["off"] = _measure(f"grader --jobs {jobs} --sandbox off", n,
                            _grade(subs, tmp / "o3", jobs, sandbox="off"))
        m["all"] = _measure(f"grader --jobs {jobs} --run-experiments", n,
                            _grade(subs, tmp / "o4", jobs, run_experiments=True), tmp / "o4")
        m["serial"] = _measure("grader --jobs 1", n, _grade(subs, tmp / "o5", 1), tmp / "o5")
        m["serial_cold"] = _measure("grader --jobs 1, no kernel started ahead", n,
                                    _grade(subs, tmp / "o6", 1, warm_kernels=0), tmp / "o6")
        m["nbgrader"] = _measure("nbgrader autograde (serial)", n,
                                 _nbgrader(subs, tmp / "course", aid, Limits().cell_timeout))
        agree = _nbgrader_agrees(tmp / "course", aid, tmp / "o4")
        split = _split(tmp / "o1", course)

        class30 = _submissions(tmp / "class30", aid, 30)
        m["class30"] = _measure(f"a class of 30, --jobs {jobs}", 30,
                                _grade(class30, tmp / "c30", jobs), tmp / "c30")
        stamps = _artifact_stamps(tmp / "c30")
        m["regrade"] = _measure("the same class graded again, unchanged (command line)", 30,
                                _cli_regrade(class30, tmp / "c30", jobs))
        rerun = sum(1 for path, stamp in _artifact_stamps(tmp / "c30").items()
                    if stamps.get(path) != stamp)
        changed_course, change = _tolerance_changed(aid, tmp / "changed")
        m["rejudge"] = _measure(f"judging the 30 again after {change}", 30,
                                lambda: judge_folder(tmp / "c30", course=changed_course))

        same, cluster_start = None, 0.0
        if cluster_n:
            many = _submissions(tmp / "many", aid, cluster_n)
            m["many"] = _measure(f"{cluster_n} submissions, --jobs {jobs}", cluster_n,
                                 _grade(many, tmp / "m1", jobs, salt="bench"), tmp / "m1")
            print(f"  {cluster_n} submissions through a dask LocalCluster of {jobs} workers:",
                  file=sys.stderr)
            m["dask"], cluster_start = _through_cluster(many, tmp / "m2", jobs)
            m["dask"].n = cluster_n
            # --jobs again after the cluster: this machine's speed drifts by several percent
            # over a minute, so the cluster is compared with the mean of the runs around it
            m["many_after"] = _measure(f"{cluster_n} submissions, --jobs {jobs}, again", cluster_n,
                                       _grade(many, tmp / "m3", jobs, salt="bench"), tmp / "m3")
            same = (tmp / "m1" / "grades.csv").read_bytes() == \
                (tmp / "m2" / "grades.csv").read_bytes()
    _report(m, split, n, jobs, agree, rerun, cluster_n, same, cluster_start)
    return 0


def _report(m: dict, split, n: int, jobs: int, agree, rerun: int, cluster_n, same,
            cluster_start) -> None:
    ratio = lambda a, b: m[a].wall / m[b].wall  # noqa: E731
    cpu_ratio = lambda a, b: m[a].cpu / m[b].cpu  # noqa: E731
    print(f"\nPer submission (means over the {n} submissions of `grader --jobs {jobs}`; wall s "
          "unless said):")
    for label, seconds, note in split:
        print(f"  {label:<50}{seconds:8.3f}  {note}")

    print(f"\n{'configuration':<54}{'wall s':>8}{'s/nb':>7}{'CPU s':>8}{'CPU/nb':>8}"
          f"{'speed-up':>10}{'load':>16}")
    rows = [("nbgrader", "nbgrader autograde, serial (all cells)"),
            ("all", f"grader --jobs {jobs} --run-experiments (same cells)"),
            ("ours", f"grader --jobs {jobs} (default)"),
            ("cold", f"grader --jobs {jobs}, no kernel started ahead"),
            ("off", f"grader --jobs {jobs} --sandbox off"),
            ("serial", "grader --jobs 1"),
            ("serial_cold", "grader --jobs 1, no kernel started ahead"),
            ("bare", "bare kernels, serial (execution only)")]
    for key, label in rows:
        r = m[key]
        print(f"{label:<54}{r.wall:8.1f}{r.per:7.2f}{r.cpu:8.1f}{r.cpu_per:8.2f}"
              f"{ratio('nbgrader', key):9.2f}x{r.load:>16}")
    print(f"(nbgrader gave the grader's total to {agree[0]} of {agree[1]} submissions)")

    print("\nGoals (ratios measured in this run):")
    for key, goal, what in (("ours", 8.0, "default"), ("all", 4.0, "the same cells")):
        wall, cpu = ratio("nbgrader", key), cpu_ratio("nbgrader", key)
        print(f"  --jobs {jobs} vs serial nbgrader autograde ({what}): {wall:.1f}x wall, "
              f"{cpu:.1f}x CPU (goal {goal:g}x): {'met' if wall >= goal else 'NOT met'}")
    print(f"  against bare serial execution of the same notebooks: --jobs {jobs} is "
          f"{ratio('bare', 'ours'):.1f}x faster; --jobs 1 {ratio('bare', 'serial'):.2f}x "
          f"(CPU per notebook: grader {m['ours'].cpu_per:.2f} s, bare {m['bare'].cpu_per:.2f} s)")
    print(f"  kernels started ahead save {m['cold'].wall - m['ours'].wall:+.1f} s of "
          f"{m['cold'].wall:.1f} s with --jobs {jobs} and "
          f"{m['serial_cold'].wall - m['serial'].wall:+.1f} s of {m['serial_cold'].wall:.1f} s "
          "with --jobs 1 (wall; CPU "
          f"{m['cold'].cpu - m['ours'].cpu:+.1f} s and "
          f"{m['serial_cold'].cpu - m['serial'].cpu:+.1f} s)")
    print(f"  sandbox on / off: {ratio('ours', 'off'):.2f}x the time; scaling --jobs 1 / "
          f"--jobs {jobs}: {ratio('serial', 'ours'):.2f}x")
    regrade = m["regrade"]
    print(f"  a class of 30 graded again, unchanged: {regrade.wall:.1f} s wall, {regrade.cpu:.1f}"
          f" s CPU, {rerun} run again (goal < 5 s): "
          f"{'met' if regrade.wall < 5 else 'NOT met'} (first grading "
          f"{m['class30'].wall:.1f} s)")
    print(f"  re-judging the 30 after a tolerance change: {m['rejudge'].wall:.1f} s wall, "
          f"{m['rejudge'].cpu:.1f} s CPU")
    if cluster_n:
        dask, before, after = m["dask"], m["many"], m["many_after"]
        local_wall = (before.wall + after.wall) / 2
        local_cpu = (before.cpu + after.cpu) / 2
        print(f"  {cluster_n} submissions: through a dask LocalCluster of {jobs} workers "
              f"{dask.wall:.1f} s, --jobs {jobs} {local_wall:.1f} s (mean of {before.wall:.1f} s "
              f"before and {after.wall:.1f} s after): "
              f"{100 * (dask.wall / local_wall - 1):+.1f}% (goal within 10%): "
              f"{'met' if dask.wall <= 1.1 * local_wall else 'NOT met'}; CPU {dask.cpu:.0f} s "
              f"(the cluster's start included) vs {local_cpu:.0f} s; the cluster started in "
              f"{cluster_start:.1f} s; grades.csv "
              f"{'byte-identical' if same else 'DIFFERS'} (same salt)")
        worker_s = dask.wall * jobs / cluster_n
        client_s = dask.own_cpu / cluster_n
        print(f"\nProjected wall time for {PROJECTED:,} submissions like these on N workers of "
              f"one core each, from this run: {worker_s:.2f} worker-seconds per submission; the "
              f"instructor's process spent {client_s:.3f} CPU s per submission (reading, "
              f"scheduling, judging, feedback), a floor of {PROJECTED * client_s / 60:.0f} min "
              "at any N:")
        for workers in WORKERS:
            minutes = max(PROJECTED * worker_s / workers, PROJECTED * client_s) / 60
            print(f"  N = {workers:>4}: {minutes:7.1f} min")
