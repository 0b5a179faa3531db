"""``python -m grader bench``: grading throughput, measured in one run, printed as figures.

On the same N submissions of one assignment (a mix of correct, blank and partly wrong ones):

1. ``python -m grader grade --jobs J`` (the default: sandbox when available, experiments skipped);
2. the same with ``--sandbox off`` — the sandbox's cost, as a ratio;
3. the same with ``--run-experiments`` — the same cells as nbgrader runs;
4. ``--jobs 1`` — how grading scales with workers;
5. plain serial ``nbgrader autograde`` of the same submissions (nbgrader's own command);
6. executing each assembled notebook alone with a bare kernel (no sandbox, no limits, no
   judging, no feedback), to give the grader's per-notebook overhead beyond running the
   notebook itself.

An untimed warm-up comes first, so that no configuration pays for a cold disk cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import SOLUTIONS_DIR
from .batch import grade_batch
from .execute import Limits, plain_launch, run_notebook
from .grade import Options
from .notebooks import read_notebook, write_notebook
from .release import ensure_tools_on_path
from .samples import demo_submissions
from .sandbox import sandbox_works


def _submissions(root: Path, aid: str, n: int) -> Path:
    """n students: the three demo kinds (reference, blank, partly wrong) in rotation."""
    with tempfile.TemporaryDirectory() as tmp:
        kinds = demo_submissions(Path(tmp), [aid])
        for k in range(n):
            source = kinds[k % len(kinds)]
            write_notebook(read_notebook(source), root / f"student{k:02d}" / aid / f"{aid}.ipynb")
    return root


def _timed(label: str, fn) -> float:
    print(f"  {label} ...", end="", flush=True, file=sys.stderr)
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    print(f" {seconds:.1f} s", file=sys.stderr)
    return seconds


def _ours(subs: Path, out: Path, jobs: int, **options) -> callable:
    def run():
        with open(os.devnull, "w") as quiet:
            grade_batch(subs, out, jobs=jobs, progress=False, options=Options(**options),
                        stream=quiet)
    return run


def _nbgrader(subs: Path, course: Path, aid: str, timeout: float) -> callable:
    """Serial `nbgrader autograde` in a course directory holding the same submissions."""
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
    env = dict(os.environ, DLTRAIN_STATIC_WIDGETS="1")
    subprocess.run([str(exe), "generate_assignment", aid, "--force"], cwd=course, env=env,
                   check=True, capture_output=True)

    def run():
        proc = subprocess.run([str(exe), "autograde", aid, "--create", "--force"], cwd=course,
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError("nbgrader autograde failed:\n" + proc.stderr[-2000:])
    return run


def _execution_only(subs: Path, aid: str, n: int) -> float:
    """Mean seconds to execute one submission's assembled notebook with a bare kernel."""
    from . import RELEASE_DIR
    from .assemble import assemble
    from .reference import source_notebook

    source = source_notebook(aid)
    release = read_notebook(RELEASE_DIR / aid / f"{aid}.ipynb")
    paths = sorted(subs.rglob(f"{aid}.ipynb"))[:n]
    start = time.perf_counter()
    for path in paths:
        assembled = assemble(read_notebook(path), source, release, aid)
        with tempfile.TemporaryDirectory() as tmp:
            launch = plain_launch(path.parent)
            launch.runtime_dir = Path(tmp)
            run_notebook(assembled.nb, path.parent, launch, Limits(),
                         assembled.experiment_cells())
    return (time.perf_counter() - start) / len(paths)


def bench(aid: str = "00_inputs", n: int = 20, jobs: int = 2) -> int:
    sandboxed = sandbox_works()
    print(f"Grading benchmark: {n} submissions of {aid}, {jobs} workers, "
          f"{os.cpu_count()} CPUs, sandbox {'available' if sandboxed else 'NOT available'}",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tmp = Path(tmp)
        subs = _submissions(tmp / "subs", aid, n)
        figures = {}
        # untimed warm-up: fills the disk cache and the grader's imports for every run below
        warm = _submissions(tmp / "warm", aid, 2)
        _ours(warm, tmp / "o0", 1)()
        figures["bare"] = _execution_only(subs, aid, n)
        figures["ours"] = _timed(f"grader, --jobs {jobs}", _ours(subs, tmp / "o1", jobs))
        figures["ours_off"] = _timed(f"grader, --jobs {jobs} --sandbox off",
                                     _ours(subs, tmp / "o2", jobs, sandbox="off"))
        figures["ours_all"] = _timed(f"grader, --jobs {jobs} --run-experiments",
                                     _ours(subs, tmp / "o3", jobs, run_experiments=True))
        figures["ours_serial"] = _timed("grader, --jobs 1", _ours(subs, tmp / "o4", 1))
        figures["nbgrader"] = _timed("nbgrader autograde (serial)",
                                     _nbgrader(subs, tmp / "course", aid, Limits().cell_timeout))
    per = {k: v / n for k, v in figures.items() if k != "bare"}
    rows = [
        ("nbgrader autograde, serial (all cells)", figures["nbgrader"], per["nbgrader"], 1.0),
        (f"grader --jobs {jobs} --run-experiments (same cells)", figures["ours_all"],
         per["ours_all"], figures["nbgrader"] / figures["ours_all"]),
        (f"grader --jobs {jobs} (default)", figures["ours"], per["ours"],
         figures["nbgrader"] / figures["ours"]),
        (f"grader --jobs {jobs} --sandbox off", figures["ours_off"], per["ours_off"],
         figures["nbgrader"] / figures["ours_off"]),
        ("grader --jobs 1", figures["ours_serial"], per["ours_serial"],
         figures["nbgrader"] / figures["ours_serial"]),
    ]
    print(f"\n{'configuration':<52}{'total s':>9}{'s/notebook':>12}{'speed-up':>10}")
    for label, total, each, ratio in rows:
        print(f"{label:<52}{total:>9.1f}{each:>12.2f}{ratio:>9.2f}x")
    print(f"\nsandbox on / off, same run:          {figures['ours'] / figures['ours_off']:.2f}x "
          f"the time{'' if sandboxed else ' (no sandbox here: both ran unsandboxed)'}")
    print(f"scaling, --jobs 1 / --jobs {jobs}:          "
          f"{figures['ours_serial'] / figures['ours']:.2f}x faster with {jobs} workers")
    overhead = per["ours_serial"] - figures["bare"]
    print(f"per notebook, serial: executing the assembled notebook in a bare kernel "
          f"{figures['bare']:.2f} s; grading it {per['ours_serial']:.2f} s; overhead "
          f"{overhead:+.2f} s ({100 * overhead / figures['bare']:+.0f}%: sandbox, limits, "
          "assembly, judging, feedback)")
    return 0
