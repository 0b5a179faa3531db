"""``dltrain-validate NOTEBOOK``: run a notebook as saved, in a fresh kernel, and list its tests.

Run it from JupyterLab's terminal (*File → New → Terminal*) or any shell where the course is
installed, from any folder::

    dltrain-validate 00_inputs/00_inputs.ipynb      # or: python -m dltrain.validate ...

It executes the **saved** file (save first) top to bottom, like *Kernel → Restart Kernel and Run
All Cells*, never modifies it, and prints one line per test cell. The exit status tells the truth:
0 when every test cell passes, 1 when one fails, errors or does not run, 2 when the notebook
cannot be run at all. Cells are numbered as JupyterLab counts them: cell 1 is the first cell of
the notebook, markdown cells included.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

__all__ = ["CellRun", "KERNEL_ENV", "UnreadableNotebook", "main", "read_notebook",
           "run_notebook", "validate"]

# Kernels started here: static widgets (nobody renders them), no user site-packages, and
# single-threaded BLAS (the course's matrices are small; threads only spin).
KERNEL_ENV = {"DLTRAIN_STATIC_WIDGETS": "1", "PYTHONNOUSERSITE": "1",
              "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONHASHSEED": "0",
              "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

CELL_TIMEOUT = 120.0
NOTEBOOK_TIMEOUT = 3600.0

STATUS_OK, STATUS_ERROR, STATUS_TIMEOUT, STATUS_DIED, STATUS_NOT_RUN = (
    "ok", "error", "timeout", "died", "not run")


class UnreadableNotebook(Exception):
    """A file that is not a notebook we can run; the message is the reason."""


@dataclass
class CellRun:
    """What happened to one code cell (``index``: 0-based position among all cells)."""

    index: int
    status: str = STATUS_NOT_RUN
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0
    note: str = ""


def read_notebook(path: str | os.PathLike):
    """Read and check a notebook without writing to it.

    Raises
    ------
    UnreadableNotebook
        With a one-line reason (empty file, invalid JSON, not a notebook, too old a format).
    """
    import nbformat

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableNotebook(f"cannot read the file: {exc.strerror}") from None
    if not raw.strip():
        raise UnreadableNotebook("the notebook file is empty")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UnreadableNotebook("the notebook file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise UnreadableNotebook(f"the notebook file is not valid JSON (line {exc.lineno}, "
                                 f"column {exc.colno}: {exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise UnreadableNotebook("the file is JSON but not a Jupyter notebook (no list of cells)")
    if data.get("nbformat") != 4:
        raise UnreadableNotebook(f"unsupported notebook format {data.get('nbformat')!r} "
                                 "(Jupyter's current format 4 is expected)")
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:  # nbformat raises several types for malformed notebooks
        raise UnreadableNotebook(f"the notebook is malformed: {str(exc).splitlines()[0]}") from None
    for cell in nb.cells:
        if not isinstance(cell.get("source", ""), str):
            raise UnreadableNotebook("a cell's source is not text")
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise UnreadableNotebook(f"unknown cell type {cell.get('cell_type')!r}")
    return nb


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _is_test_cell(cell) -> bool:
    meta = _nbgrader(cell)
    return bool(meta.get("grade")) and not meta.get("solution")


def _grade_id(cell) -> str | None:
    gid = _nbgrader(cell).get("grade_id")
    return gid if isinstance(gid, str) and gid else None


# ----------------------------------------------------------------------------- running


def run_notebook(nb, workdir: str | os.PathLike, *, cell_timeout: float = CELL_TIMEOUT,
                 notebook_timeout: float = NOTEBOOK_TIMEOUT, env: dict | None = None,
                 python: str | None = None):
    """Execute ``nb`` (modified in place: outputs) in a fresh kernel and report each code cell.

    Parameters
    ----------
    nb : NotebookNode
        The notebook.
    workdir : path
        The kernel's working directory (the notebook's folder).
    cell_timeout, notebook_timeout : float
        Seconds one cell, and the whole notebook, may run. A cell that runs longer stops the
        run (the rest is ``not run``).
    env : dict, optional
        The kernel's environment (default: this process's, with :data:`KERNEL_ENV`).
    python : str, optional
        The kernel's Python (default: this one, where the course is installed).

    Returns
    -------
    runs : dict of int to CellRun
        Per code cell, by its 0-based index among all cells.
    problem : str
        Empty when every cell could run; otherwise what stopped the run.
    """
    kernel_env = dict(os.environ if env is None else env)
    kernel_env.update(KERNEL_ENV)
    with tempfile.TemporaryDirectory(prefix="dltrain-validate-") as runtime:
        return asyncio.run(_run(nb, Path(workdir), Path(runtime), cell_timeout,
                                notebook_timeout, kernel_env, python or sys.executable))


async def _run(nb, workdir, runtime, cell_timeout, notebook_timeout, env, python):
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from traitlets import Instance

    class OneSpec(KernelSpecManager):
        # this Python's kernel, whatever other kernels the machine has registered
        spec = Instance(KernelSpec)

        def get_kernel_spec(self, kernel_name, *args, **kwargs):
            return self.spec

    runs = {i: CellRun(i) for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    spec = KernelSpec(argv=[python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                      display_name="course", language="python", env={})
    km = AsyncKernelManager(kernel_spec_manager=OneSpec(spec=spec), kernel_name="course")
    km.connection_file = str(runtime / "kernel.json")
    client = NotebookClient(nb, km=km, timeout=int(cell_timeout) or None, allow_errors=True,
                            kernel_name="course", record_timing=False,
                            resources={"metadata": {"path": str(workdir)}},
                            iopub_timeout=4, raise_on_iopub_timeout=False,
                            shutdown_kernel="immediate")
    deadline = time.monotonic() + notebook_timeout
    replies: dict = {}

    async def keep_reply(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply

    client.on_cell_executed = keep_reply
    log_path = runtime / "kernel.log"
    try:
        with open(log_path, "wb") as log:
            return await _run_cells(client, nb, runs, replies, deadline, cell_timeout,
                                    notebook_timeout, dict(env=env, cwd=str(workdir),
                                                           stdout=log, stderr=log))
    except (RuntimeError, TimeoutError) as exc:  # the kernel did not start
        return runs, f"the kernel did not start: {exc}{_tail(log_path)}"


def _tail(log_path: Path) -> str:
    """The kernel's last words (its log), for a kernel that died or did not start."""
    try:
        lines = log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    lines = [line for line in lines if "without encryption" not in line][-5:]
    return ("\n  kernel log: " + "\n  ".join(lines)) if lines else ""


async def _run_cells(client, nb, runs, replies, deadline, cell_timeout, notebook_timeout,
                     start):
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    async with client.async_setup_kernel(cleanup_kc=True, **start):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            run = runs[index]
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                return runs, _stop(runs, index, f"the notebook's time limit "
                                                f"({notebook_timeout:.0f} s) was reached")
            client.timeout = max(1, int(min(cell_timeout, remaining)))
            started = time.monotonic()
            try:
                await client.async_execute_cell(cell, index, store_history=True)
            except CellTimeoutError:
                run.status, run.ename = STATUS_TIMEOUT, "Timeout"
                run.evalue = f"the cell ran longer than {client.timeout} s"
                run.seconds = time.monotonic() - started
                return runs, _stop(runs, index + 1, f"cell {index + 1} ran longer than "
                                                    f"{client.timeout} s")
            except DeadKernelError:
                run.status, run.ename = STATUS_DIED, "DeadKernel"
                run.evalue = "the kernel died while running this cell"
                run.seconds = time.monotonic() - started
                return runs, _stop(runs, index + 1, f"the kernel died in cell {index + 1}"
                                                    f"{_tail(Path(start['stdout'].name))}")
            run.seconds = time.monotonic() - started
            content = (replies.pop(index, None) or {}).get("content", {})
            if content.get("status") == "ok":
                run.status = STATUS_OK
            else:
                run.status = STATUS_ERROR
                run.ename = str(content.get("ename", "Error"))[:200]
                run.evalue = str(content.get("evalue", ""))[:2000]
    return runs, ""


def _stop(runs: dict, start: int, reason: str) -> str:
    for index, run in runs.items():
        if index >= start and run.status == STATUS_NOT_RUN:
            run.note = reason
    return reason


# ----------------------------------------------------------------------------- validating


def validate(path: str | os.PathLike, *, cell_timeout: float = CELL_TIMEOUT,
             notebook_timeout: float = NOTEBOOK_TIMEOUT, original: str | os.PathLike | None = None,
             stream: TextIO | None = None) -> int:
    """Execute the notebook at ``path`` (never modified) and report its test cells.

    Parameters
    ----------
    path : path
        The notebook.
    cell_timeout, notebook_timeout : float
        Seconds one cell, and the whole notebook, may run.
    original : path, optional
        The notebook as released: a note names each test cell that differs from it (grading
        uses the original).
    stream : file, optional
        Where the report goes (default standard output).

    Returns
    -------
    int
        0 when every test cell passed, 1 when one failed, errored or did not run (or there are
        none), 2 when the notebook could not be read.
    """
    stream = stream or sys.stdout
    path = Path(path)
    try:
        nb = read_notebook(path)
    except UnreadableNotebook as exc:
        print(f"{path}: cannot validate: {exc}", file=stream)
        return 2
    if original is not None:
        _note_edited_tests(nb, Path(original), stream)
    runs, problem = run_notebook(copy.deepcopy(nb), path.parent.resolve(),
                                 cell_timeout=cell_timeout, notebook_timeout=notebook_timeout)
    failures, tests, unanswered = 0, 0, 0
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        run, number = runs[index], index + 1
        if not _is_test_cell(cell):
            if run.ename and run.ename != "NotImplementedError":
                print(f"  warning: cell {number} raised {run.ename}: {run.evalue[:200]}",
                      file=stream)
            continue
        tests += 1
        if run.ename == "NotImplementedError":
            unanswered += 1
        if run.status == STATUS_OK:
            print(f"  \u2714 {_grade_id(cell)}", file=stream)
            continue
        failures += 1
        detail = f"{run.ename}: {run.evalue}" if run.ename else (run.note or run.status)
        print(f"  \u2718 {_grade_id(cell)} (cell {number}): {detail}", file=stream)
    if problem:
        print(f"Stopped early: {problem}", file=stream)
    if tests == 0:
        print(f"{path}: no test cells found (is this a course notebook?)", file=stream)
        return 1
    if failures:
        extra = f" ({unanswered} of them not answered yet: NotImplementedError)" \
            if unanswered else ""
        print(f"{path}: {failures} of {tests} test cell(s) failed{extra}.", file=stream)
        return 1
    print(f"{path}: all {tests} test cells passed. Ready to submit.", file=stream)
    return 0


def _note_edited_tests(nb, original: Path, stream) -> None:
    try:
        released = read_notebook(original)
    except UnreadableNotebook:
        return
    sources = {_grade_id(c): c.source for c in released.cells if _is_test_cell(c)}
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid in sources and cell.source != sources[gid]:
            print(f"  note: the test cell {gid!r} was edited; grading uses the original.",
                  file=stream)


def _resolve(argument: str) -> Path:
    """A notebook path; a folder ``X`` stands for ``X/X.ipynb`` (the course's layout)."""
    path = Path(argument).expanduser()
    if path.is_dir():
        inside = path / f"{path.resolve().name}.ipynb"
        if inside.is_file():
            return inside
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dltrain-validate",
        description="Run a course notebook as saved, top to bottom in a fresh kernel, and say "
                    "which test cells pass. Exit status 0 when all pass, 1 when one fails, 2 "
                    "when the notebook cannot be read.")
    parser.add_argument("notebook", help="the .ipynb file (or its folder, e.g. 00_inputs)")
    parser.add_argument("--cell-timeout", type=float, default=CELL_TIMEOUT, metavar="S",
                        help=f"seconds one cell may run (default {CELL_TIMEOUT:g})")
    parser.add_argument("--notebook-timeout", type=float, default=NOTEBOOK_TIMEOUT, metavar="S",
                        help=f"seconds the whole notebook may run (default {NOTEBOOK_TIMEOUT:g})")
    args = parser.parse_args(argv)
    path = _resolve(args.notebook)
    print(f"Running {path} as saved on disk, top to bottom in a fresh kernel (save it first)...",
          flush=True)
    return validate(path, cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout)


if __name__ == "__main__":
    sys.exit(main())
