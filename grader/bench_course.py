"""``python -m grader bench-course``: how long each solution notebook takes, top to bottom.

The course's budget: each notebook at most 20 s on 2 cores, the whole course at most 120 s. Each
notebook of ``solutions/`` runs in a fresh kernel (as a student's Run All, with the hidden tests
too), one after the other; the table gives the wall time and the kernel's CPU time (user + system,
what a busy machine does not inflate; BLAS is single-threaded, as in every kernel the course
starts, so CPU time is close to the time on an idle core).
"""

from __future__ import annotations

import os
import resource
import sys
import time

from dltrain.validate import STATUS_OK, run_notebook

from . import SOLUTIONS_DIR, assignment_ids
from .notebooks import read_notebook

NOTEBOOK_BUDGET = 20.0
COURSE_BUDGET = 120.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_course(aids: list[str] | None = None, stream=None) -> int:
    """Run the solution notebooks and print the table; 1 when a notebook had an error."""
    stream = stream or sys.stdout
    aids = aids or assignment_ids()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average {load} (wall times grow with the load)",
          file=stream)
    print(f"{'notebook':<26}{'wall s':>8}{'CPU s':>8}  slowest cells (wall s)", file=stream)
    total_wall = total_cpu = 0.0
    errors = 0
    for aid in aids:
        path = SOLUTIONS_DIR / aid / f"{aid}.ipynb"
        nb = read_notebook(path)
        cpu_before, started = _children_cpu(), time.perf_counter()
        runs, problem = run_notebook(nb, path.parent, cell_timeout=300, notebook_timeout=900)
        wall = time.perf_counter() - started
        cpu = _children_cpu() - cpu_before  # the kernel, reaped at shutdown
        total_wall += wall
        total_cpu += cpu
        failed = [r for r in runs.values() if r.status != STATUS_OK]
        errors += bool(failed or problem)
        slowest = sorted(runs.values(), key=lambda r: -r.seconds)[:3]
        cells = ", ".join(f"cell {r.index + 1}: {r.seconds:.1f}" for r in slowest)
        flag = "  OVER BUDGET" if cpu > NOTEBOOK_BUDGET else ""
        print(f"{aid:<26}{wall:8.1f}{cpu:8.1f}  {cells}{flag}", file=stream, flush=True)
        for run in failed[:3]:
            print(f"    cell {run.index + 1}: {run.status} {run.ename}: {run.evalue[:120]}",
                  file=stream)
        if problem:
            print(f"    stopped: {problem}", file=stream)
    flag = "  OVER BUDGET" if total_cpu > COURSE_BUDGET else ""
    print(f"{'total':<26}{total_wall:8.1f}{total_cpu:8.1f}{flag}", file=stream)
    print(f"budget: {NOTEBOOK_BUDGET:g} s per notebook, {COURSE_BUDGET:g} s for the course, "
          f"on 2 cores, judged on CPU time (wall time includes starting each kernel and "
          f"waiting for the cores)", file=stream)
    return 1 if errors else 0
