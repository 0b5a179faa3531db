"""The run stage: assemble a submission and execute it in a sandboxed kernel (untrusted work).

:func:`run_job` turns one :class:`~grader.model.Job` into a :class:`~grader.artifact.RunArtifact`
and never raises: a submission that cannot run becomes an artifact with a ``reason``, a grader bug
an artifact with its traceback. Nothing here decides a grade (see :mod:`grader.judge`).
"""

from __future__ import annotations

import ast
import atexit
import collections
import functools
import hashlib
import json
import logging
import multiprocessing.util
import os
import tempfile
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import dltrain.grading as protocol

from .artifact import Cell, RunArtifact
from .assemble import NotGradable, assemble
from .course import Assignment
from .execute import KERNELS, Kernel, Limits
from .files import (
    MAX_NOTEBOOK_BYTES,
    UnsafeFile,
    copy_tree_safely,
    kind_of,
    read_bytes_capped,
    remove_tree,
)
from .model import CellRole, CellStatus, Job
from .notebooks import UnreadableNotebook, is_setup_cell, parse_notebook

log = logging.getLogger("grader.run")


@dataclass
class Options:
    """How to grade (shared by every submission of a batch)."""

    limits: Limits = field(default_factory=Limits)
    sandbox: str = "auto"
    """auto (use bubblewrap when available), on (require it), off."""
    diagnose: bool = True
    """Name known mistakes by comparing with the catalogue's wrong implementations."""
    max_workdir_bytes: int = 50_000_000
    """The student's own files copied next to the notebook: at most this many bytes."""
    max_notebook_bytes: int = MAX_NOTEBOOK_BYTES
    worker_memory_mb: int = 3072
    """Address-space cap of each grading worker process (the grader's side, not the kernel)."""
    run_experiments: bool = False
    """Also run the instructor's experiment cells (tag ``experiment``); they earn no points and
    never feed a test, so by default grading skips them and is several times faster."""
    salt: str = ""
    """The grading run's salt. The hidden tests of every submission of an assignment are seeded
    from it and the assignment (see :func:`assignment_salt`); a batch draws a fresh one when
    empty."""
    warm_kernels: int = 1
    """Fresh kernels each grading process starts ahead of need, so that the next submission
    finds one ready (0: start each kernel when its submission comes). Each is used once."""
    judges_here: bool = True
    """This process judges the runs (local grading): it builds the reference and the catalogue
    while its first kernel starts. A cluster worker only runs them."""
    fork_kernels: bool = True
    """Fork each sandboxed kernel from a template that did the assignment's imports once
    (:mod:`grader.forkserver`): the same isolation and results as an interpreter started per
    submission, for a tenth of its cost. Off: every kernel starts its own interpreter."""


def assignment_salt(run_salt: str, aid: str) -> str:
    """The salt of the hidden tests of an assignment's submissions in one grading run.

    Every submission of the assignment in that run gets the same inputs, so the reference's and
    the catalogue's outputs on them are computed once per batch; the same run salt and the same
    notebook always give the same grade, and a new grading run (a fresh run salt) gives new inputs:
    what one run's feedback showed of a hidden case is worthless in the next.
    """
    return hashlib.sha256(f"{run_salt}\0{aid}".encode()).hexdigest()


def settings_sha256(options: Options) -> str:
    """A digest of the options that change what a run observes (limits, sandbox, experiments)."""
    settings = {"limits": asdict(options.limits), "sandbox": options.sandbox,
                "run_experiments": options.run_experiments,
                "max_workdir_bytes": options.max_workdir_bytes,
                "max_notebook_bytes": options.max_notebook_bytes}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def source_sha256(assignment: Assignment) -> str:
    """A digest of the assignment's instructor notebook file (the run's other input)."""
    path = assignment.course.solutions / assignment.aid / f"{assignment.aid}.ipynb"
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


MAX_FILES = 2000
"""At most this many of the student's files are copied next to the notebook."""


def files_sha256(folder: Path | None, max_bytes: int, max_files: int = MAX_FILES) -> str:
    """A digest of the student's files the run stage gives the notebook (see :func:`place_files`).

    Walks ``folder`` with the rules of :func:`grader.files.copy_tree_safely` (links, devices and
    notebooks left out, sorted, at most ``max_files`` files and ``max_bytes`` bytes of content),
    hashing each regular file's content where copying would copy it; an entry copying would skip
    counts by its name and kind only.
    """
    if folder is None:
        return ""
    digest = hashlib.sha256()
    budget = [max_bytes, max_files]

    def walk(src: Path, rel: str) -> None:
        try:
            entries = sorted(os.scandir(src), key=lambda e: e.name)
        except OSError:
            digest.update(f"unlisted\0{rel}\n".encode())
            return
        for entry in entries:
            name = entry.name
            where = f"{rel}/{name}" if rel else name
            if name in (".ipynb_checkpoints",) or name.endswith(".ipynb"):
                continue
            kind = kind_of(Path(entry.path))
            if kind == "folder":
                digest.update(f"folder\0{where}\n".encode())
                walk(Path(entry.path), where)
                continue
            if kind != "file" or budget[1] <= 0:
                digest.update(f"{kind}\0{where}\n".encode())
                continue
            try:
                content = read_bytes_capped(Path(entry.path), budget[0])
            except UnsafeFile:
                digest.update(f"skipped\0{where}\n".encode())
                continue
            budget[0] -= len(content)
            budget[1] -= 1
            digest.update(f"file\0{where}\0{hashlib.sha256(content).hexdigest()}\n".encode())

    walk(Path(folder), "")
    return digest.hexdigest()



@dataclass
class Inputs:
    """What the run stage reads of one submission: read once, on the machine that has it.

    Locally the student's files are copied straight from the job's folder into the kernel's
    working folder; for a run on another machine (:mod:`grader.cluster`) they travel packed in
    ``files`` (relative path, content; ``None`` for a folder), with the copy's notes.
    """

    notebook: bytes = b""
    reason: str = ""
    """Why the notebook was not read (nothing runs); empty when it was."""
    files_sha256: str = ""
    files: list[tuple[str, bytes | None]] | None = None
    notes: list[str] = field(default_factory=list)


def read_inputs(job: Job, options: Options, pack: bool = False) -> Inputs:
    """Read a submission's notebook (never following a link, capped) and digest its files.

    With ``pack``, the student's files are also read into :attr:`Inputs.files`, exactly as
    :func:`place_files` would copy them.
    """
    inputs = Inputs()
    if job.problem:
        return inputs
    try:
        inputs.notebook = read_bytes_capped(job.path, options.max_notebook_bytes)
    except UnsafeFile as exc:
        inputs.reason = f"the notebook {Path(job.path).name} was not read: {exc}"
        return inputs
    inputs.files_sha256 = files_sha256(job.folder, options.max_workdir_bytes)
    if pack and job.folder is not None:
        with tempfile.TemporaryDirectory(prefix="pack-") as tmp:
            report = copy_tree_safely(Path(job.folder), Path(tmp),
                                      max_bytes=options.max_workdir_bytes)
            inputs.notes = report.notes()
            inputs.files = []
            for path in sorted(Path(tmp).rglob("*")):
                rel = path.relative_to(tmp).as_posix()
                inputs.files.append((rel, None if path.is_dir() else path.read_bytes()))
    return inputs


def place_files(workdir: Path, job: Job, options: Options, inputs: Inputs) -> list[str]:
    """Give the notebook the student's files: a private copy in its working folder.

    Only regular files and real folders are copied (never what a link points at), notebooks are
    left out, and copying stops at ``options.max_workdir_bytes``. Returns notes on what was left
    out, for the feedback.
    """
    if inputs.files is not None:
        root = workdir.resolve()
        for rel, content in inputs.files:
            target = (root / rel).resolve()
            if root not in target.parents:
                raise ValueError(f"a packed file lies outside its folder: {rel!r}")
            if content is None:
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
        return list(inputs.notes)
    if job.folder is None:
        return []
    report = copy_tree_safely(Path(job.folder), workdir, max_bytes=options.max_workdir_bytes,
                              max_files=MAX_FILES)
    return report.notes()


def setup_imports(assignment: Assignment) -> list[str]:
    """The modules the assignment's setup cells import, in order (names imported from a module
    are listed as ``module.name``: they may be submodules)."""
    modules: list[str] = []
    for cell in assignment.source.cells:
        if not is_setup_cell(cell):
            continue
        lines = [line for line in cell.source.splitlines()
                 if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                modules += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.append(node.module)
                modules += [f"{node.module}.{alias.name}" for alias in node.names
                            if alias.name != "*"]
    return list(dict.fromkeys(modules))


def warmup_code(assignment: Assignment) -> str:
    """What a kernel runs once it is ready, before it is given a submission.

    The modules the assignment's setup cells import (:func:`setup_imports`; nothing else: the
    graded cells need them all, the setup cell imports them anyway), then ``gc.freeze()``: the
    objects of the interpreter and those modules are left out of every later garbage collection,
    so the collection that ends each hidden-test cell
    (:func:`dltrain.grading.forget_hidden_source`) walks only what the notebook made since (about
    0.15 s less per hidden-test cell). A kernel forked from a template finds the modules imported
    already; its warm-up only freezes.
    """
    names = setup_imports(assignment)
    return ("import gc, importlib\n"
            f"for name in {names!r}:\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "    except Exception:   # not a module (a function imported by name), or broken:\n"
            "        pass            # the setup cell will say so when it runs\n"
            "gc.freeze()\n")


def run_job(job: Job, assignment: Assignment, options: Options,
            inputs: Inputs | None = None) -> RunArtifact:
    """Run one submission (see the module docstring). Never raises.

    ``inputs`` are what :func:`read_inputs` read of it (read here when not given).
    """
    started = time.monotonic()
    artifact = RunArtifact(job=job)
    try:
        _run_into(artifact, job, assignment, options, inputs)
    except Exception:  # a grader bug: keep its story for the instructor, go on with the batch
        artifact.internal_error = traceback.format_exc()
        log.error("internal error while running %s / %s:\n%s", job.student_id, job.assignment,
                  artifact.internal_error)
    artifact.seconds = round(time.monotonic() - started, 2)
    return artifact


def _run_into(artifact: RunArtifact, job: Job, assignment: Assignment, options: Options,
              inputs: Inputs | None) -> None:
    clock = _Clock(artifact.timings)
    artifact.source_sha256 = source_sha256(assignment)
    artifact.settings_sha256 = settings_sha256(options)
    if job.problem:
        artifact.reason = job.problem
        return
    inputs = inputs if inputs is not None else read_inputs(job, options)
    clock.lap("read")
    if inputs.reason:
        artifact.reason = inputs.reason
        return
    raw = inputs.notebook
    artifact.notebook_sha256 = hashlib.sha256(raw).hexdigest()
    artifact.files_sha256 = inputs.files_sha256
    artifact.salt = assignment_salt(options.salt, job.assignment)
    if assignment.released is None:
        raise FileNotFoundError(f"no released notebook of {assignment.aid}: run "
                                "`python -m grader release`")
    try:
        student = parse_notebook(raw)
        assembled = assemble(student, assignment.source, assignment.released, assignment.aid,
                             other_sources=assignment.course.sources(but=assignment.aid))
    except (UnreadableNotebook, NotGradable) as exc:
        artifact.reason = str(exc)
        return
    clock.lap("assemble")
    artifact.notes.extend(assembled.notes)
    artifact.answered = dict(assembled.answered)

    for attempt in range(ENVIRONMENT_ATTEMPTS):
        executed, runs, problem, copy_notes = _execute(artifact, assembled, job, options, inputs,
                                                       assignment, clock, fresh=attempt > 0)
        trouble = environment_problem(assembled, runs, problem)
        if not trouble:
            break
        log.warning("grading environment failed for %s / %s (attempt %d): %s", job.student_id,
                    job.assignment, attempt + 1, trouble)
    else:
        artifact.reason = f"{ENVIRONMENT_PREFIX}{trouble}; this is the grading machine's " \
                          "fault, not the submission's: fix it and grade again"
        return
    artifact.notes.extend(copy_notes)
    artifact.problem = problem
    artifact.cells = [
        Cell(role=role, cell_type=cell.cell_type, source=cell.source, grade_id=gid,
             tags=list(cell.get("metadata", {}).get("tags", []) or []),
             outputs=[plain_output(o) for o in cell.get("outputs", [])] if cell.cell_type ==
             "code" else [],
             run=runs.get(index))
        for index, (cell, role, gid) in enumerate(zip(executed.cells, assembled.roles,
                                                      assembled.grade_ids))]


class _Clock:
    """Adds the seconds since the last lap to a timings dict, by name."""

    def __init__(self, timings: dict[str, float]):
        self.timings, self.last = timings, time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.timings[name] = round(self.timings.get(name, 0.0) + now - self.last, 4)
        self.last = now

    def add(self, name: str, seconds: float) -> None:
        self.timings[name] = round(self.timings.get(name, 0.0) + max(0.0, seconds), 4)


ENVIRONMENT_ATTEMPTS = 2
ENVIRONMENT_PREFIX = "grading environment: "


def new_kernel(options: Options, salt: str, warmup: str = "", imports: tuple[str, ...] = (),
               fresh: bool = False) -> Kernel:
    """A kernel, not yet started, for one submission: its own working folder (empty: the
    student's files come once it runs), control group and sandbox, with the salt in its
    environment. Forked from this process's template for the same kind of kernel
    (``imports`` done once there) where :func:`grader.sandbox.start_template` allows, unless
    ``fresh``; otherwise its own interpreter."""
    from .sandbox import forked_launch, kernel_launch, resource_limits, scratch_folder

    plan = resource_limits(options.limits)
    env = {protocol.SALT_VARIABLE: salt}
    template = None
    if options.fork_kernels and not fresh:
        key = _kernel_key(options, salt, warmup)
        template = KERNEL_TEMPLATES.get(key, options, plan, env, imports)
    try:
        if template is not None:
            tmp = template.new_folder()
            launch = forked_launch(template, tmp, options, plan)
        else:
            tmp = Path(tempfile.mkdtemp(prefix="grade-", dir=scratch_folder(plan)))
            (tmp / "work").mkdir()
            launch = kernel_launch(tmp / "work", tmp / "runtime", options, env, plan)
    except BaseException:
        if plan.cleanup:
            plan.cleanup()
        raise

    def cleanup():
        try:
            if plan.cleanup:
                plan.cleanup()
        finally:
            remove_tree(tmp)

    return Kernel(launch, tmp / "work", options.limits, warmup, cleanup)


class _Templates:
    """This process's kernel templates: one per kind of kernel, the few asked for last.

    Ending a template ends the kernels it forked that still run, so a template is ended only
    when more kinds than :attr:`KEEP` were asked for since it was last used (jobs come grouped
    by assignment: a process needs one at a time).
    """

    KEEP = 3

    def __init__(self):
        self._lock = threading.Lock()
        self._templates: collections.OrderedDict = collections.OrderedDict()
        self._refused: set = set()

    def get(self, key, options: Options, plan, env: dict[str, str], imports):
        """The template for ``key`` (started now if needed), or None where kernels cannot be
        forked here (no sandbox, a control group entered by command, or a template that failed
        to start: the reason is logged once)."""
        from .forkserver import TemplateError
        from .sandbox import start_template

        with self._lock:
            template = self._templates.pop(key, None)
            if template is not None and template.alive():
                self._templates[key] = template
                return template
            if template is not None:
                template.close()
                if template.failure:   # it did not start, or answered late: no second try
                    log.warning("kernels are started one by one (no kernel template): %s",
                                template.failure)
                    self._refused.add(key)
            if key in self._refused:
                return None
            try:
                template = start_template(options, plan, env, list(imports))
            except (TemplateError, OSError) as exc:
                log.warning("kernels are started one by one (no kernel template): %s", exc)
                template = None
            if template is None:
                self._refused.add(key)
                return None
            self._templates[key] = template
            while len(self._templates) > self.KEEP:
                self._templates.popitem(last=False)[1].close()
            return template

    def close(self) -> None:
        """End every template (and with them any kernel they forked that still runs)."""
        with self._lock:
            templates, self._templates = list(self._templates.values()), \
                collections.OrderedDict()
        for template in templates:
            template.close()


KERNEL_TEMPLATES = _Templates()
"""This process's kernel template (see :mod:`grader.forkserver`)."""
atexit.register(KERNEL_TEMPLATES.close)
multiprocessing.util.Finalize(KERNEL_TEMPLATES, KERNEL_TEMPLATES.close, exitpriority=50)


def close_kernels() -> None:
    """Shut down this process's kernels started ahead and its kernel templates (after a batch)."""
    KERNELS.close()
    KERNEL_TEMPLATES.close()


def _kernel_key(options: Options, salt: str, warmup: str) -> tuple:
    """Kernels started with the same key are interchangeable (same environment and limits)."""
    return (options.sandbox, json.dumps(asdict(options.limits), sort_keys=True), salt, warmup)


def _execute(artifact: RunArtifact, assembled, job: Job, options: Options, inputs: Inputs,
             assignment: Assignment, clock: _Clock, fresh: bool = False):
    """Run the assembled notebook once in a fresh, capped kernel (started ahead or now).

    With ``fresh``, a kernel started now (after the grading machine failed once).
    """
    warmup = warmup_code(assignment)
    key = _kernel_key(options, artifact.salt, warmup)
    make = functools.partial(new_kernel, options, artifact.salt, warmup,
                             tuple(setup_imports(assignment)), fresh)
    if fresh:
        KERNELS.close()
    # the first kernel of a process waits for its template's imports: meanwhile, build what
    # judging will need (later, a kernel started ahead is ready and this has nothing to do)
    prepare = (lambda: assignment.prepare_judging(options.diagnose)) if options.judges_here \
        else None
    kernel, waited = KERNELS.take(key, make, meanwhile=prepare)
    clock.lap("kernel_wait")
    clock.add("kernel_boot", kernel.boot_seconds)
    clock.add("kernel_imports", kernel.warmup_seconds)
    if options.warm_kernels > KERNELS.waiting(key) and not fresh:
        try:
            KERNELS.start_ahead(key, make())
        except Exception:  # the next submission starts its own kernel; this one goes on
            log.exception("could not start a kernel ahead")
    artifact.sandboxed = kernel.launch.sandboxed
    artifact.limits = list(kernel.launch.limits_applied)
    clock.lap("ahead")
    try:
        copy_notes = place_files(kernel.workdir, job, options, inputs)
    except BaseException:
        KERNELS.discard(kernel)
        raise
    clock.lap("files")
    skip = frozenset() if options.run_experiments else assembled.experiment_cells()
    executed, runs, problem = KERNELS.run(kernel, assembled.nb, skip,
                                          private=assembled.hidden_cells())
    clock.lap("execute")
    clock.add("kernel_boot_cpu", kernel.boot_cpu)
    clock.add("kernel_cpu", kernel.cpu)
    return executed, runs, problem, copy_notes


def environment_problem(assembled, runs, problem: str) -> str:
    """Why the grading machine, not the submission, stopped this run (empty when it did not).

    The kernel did not start, or it died, hung or failed in the instructor's cells before any
    of the student's code ran: every submission would score 0 the same way.
    """
    if problem.startswith("the kernel did not start"):
        return problem
    student = [i for i, role in enumerate(assembled.roles)
               if role in (CellRole.ANSWER, CellRole.ADDED)]
    first = student[0] if student else len(assembled.roles)
    for index in sorted(runs):
        if index >= first:
            break
        run = runs[index]
        if run.status in (CellStatus.ERROR, CellStatus.DIED, CellStatus.TIMEOUT):
            return (f"the course's own cell {index} failed before any student code ran "
                    f"({run.ename}: {run.evalue[:300]})")
    return ""


_OUTPUT_KEYS = {"stream": ("name", "text"), "display_data": ("data", "metadata"),
                "execute_result": ("data", "metadata", "execution_count"),
                "error": ("ename", "evalue", "traceback")}


def plain_output(output) -> dict:
    """An executed output as plain JSON data with exactly the fields the artifact keeps."""
    kind = output.get("output_type")
    keys = _OUTPUT_KEYS.get(kind)
    if keys is None:
        return {"output_type": "stream", "name": "stderr",
                "text": f"[an output of type {str(kind)[:40]!r} is not kept]\n"}
    data = json.loads(json.dumps({k: output.get(k) for k in keys}, default=str))
    out = {"output_type": kind}
    for key in keys:
        value = data.get(key)
        if key in ("data", "metadata"):
            value = value if isinstance(value, dict) else {}
        elif key == "traceback":
            value = [str(v) for v in value] if isinstance(value, list) else []
        elif key == "execution_count":
            value = value if isinstance(value, int) and not isinstance(value, bool) else None
        else:
            value = value if isinstance(value, str) else "" if value is None else str(value)
        out[key] = value
    return out
