"""Grading a large class: hidden tests salted per run and assignment, the reference's and the
catalogue's outputs computed once per batch (same verdicts), kernels started ahead and used once,
incremental grading, and the run stage on a dask cluster (same grades, a dying worker costs only
its own submission)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

import dltrain.grading as protocol
from grader import RELEASE_DIR
from grader.artifact import Cell, RunArtifact, encode_artifact, load_artifact
from grader.batch import grade_batch, judge_folder, unchanged_results
from grader.course import Course
from grader.execute import KernelPool, Limits
from grader.grade import Options
from grader.inprocess import _Recorder
from grader.judge import JudgeOptions, judge
from grader.model import CellRole, CellRun, CellStatus, Job
from grader.notebooks import hidden_region, read_notebook, write_notebook
from grader.publish import read_gradebook, run_path
from grader.run import assignment_salt, new_kernel, warmup_code
from grader.samples import demo_submissions, reference_submission
from grader.submissions import discover
from grader.trusted import REFERENCES

AID = "00_inputs"


# ------------------------------------------------------------------ the salt

def test_the_salt_is_one_per_grading_run_and_assignment():
    salt = assignment_salt("run-1", AID)
    assert salt == assignment_salt("run-1", AID), "every student of the run: the same inputs"
    assert salt != assignment_salt("run-2", AID), "a new run: new inputs"
    assert salt != assignment_salt("run-1", "01_initialization")


# ------------------------------------------------------------------ the reference cache

def _artifact(assignment, namespace: dict, salt: str, name: str) -> RunArtifact:
    """The records a kernel running ``namespace``'s functions would send, as an artifact."""
    cells = []
    for exercise in assignment.exercises:
        recorder = _Recorder(protocol.salt_from_text(salt))
        previous, protocol._SESSION = protocol._SESSION, recorder
        try:
            exec(compile(hidden_region(assignment.test_sources[exercise.grade_id]),  # noqa: S102
                         "<hidden>", "exec"), dict(namespace))
        except Exception:  # noqa: BLE001 (a case raised: the kernel stops the cell there too)
            pass
        finally:
            protocol._SESSION = previous
        cells.append(Cell(CellRole.TEST, "code", "", exercise.grade_id,
                          run=CellRun(CellStatus.OK)))
        cells.append(Cell(CellRole.HIDDEN, "code", "", exercise.grade_id,
                          run=CellRun(CellStatus.OK, records=recorder.sink)))
    return RunArtifact(job=Job(name, assignment.aid), salt=salt, cells=cells)


@pytest.mark.parametrize("aid", ["00_inputs", "01_initialization", "07_batchnorm"])
def test_kept_reference_and_variant_outputs_give_the_same_verdicts(aid):
    """Every catalogue mistake, the reference and a blank, judged with and without the cache,
    in two orders: the same results, diagnoses included."""
    assignment = Course().assignment(aid)
    salt = "cache-test"
    artifacts = [_artifact(assignment, assignment.namespace, salt, "reference"),
                 RunArtifact(job=Job("blank", aid), salt=salt, cells=[])]
    artifacts += [_artifact(assignment, v.namespace, salt, f"variant{k}")
                  for k, v in enumerate(assignment.variants)]

    def judged(order):
        return {a.job.student: judge(a, assignment, JudgeOptions()).to_dict() for a in order}

    fresh = judged(artifacts)
    REFERENCES.clear()
    with REFERENCES.active():
        cached = judged(artifacts)
        again = judged(artifacts[::-1])
    assert cached == fresh
    assert again == fresh
    assert REFERENCES.hits > 0 and REFERENCES.misses > 0
    named = [r for r in fresh.values() for e in r["exercises"] for h in e["hidden"]
             if h["diagnosis"]]
    assert named, "the comparison covered named mistakes"
    assert fresh["reference"]["total"] == fresh["reference"]["max_points"]
    REFERENCES.clear()


def test_the_cache_is_used_only_where_it_is_asked_for():
    assignment = Course().assignment(AID)
    REFERENCES.clear()
    judge(_artifact(assignment, assignment.namespace, "x", "ada"), assignment)
    assert REFERENCES.hits == REFERENCES.misses == 0


# ------------------------------------------------------------------ kernels started ahead

@pytest.mark.kernel
def test_kernels_started_ahead_are_fresh_and_used_once(tmp_path):
    """A kernel started for another key is never handed out; the one taken has imported what
    the setup cell needs (no debugger), frozen those objects, and sees files copied after it
    started; it runs one notebook, never two."""
    import nbformat

    options = Options(limits=Limits(cell_timeout=30))
    assignment = Course().assignment(AID)
    warmup = warmup_code(assignment)
    pool = KernelPool()
    try:
        ahead = new_kernel(options, "other-salt", warmup)
        pool.start_ahead("other", ahead)
        kernel, _ = pool.take("mine", lambda: new_kernel(options, "my-salt", warmup))
        assert kernel is not ahead and ahead.used, "the other key's kernel was discarded"
        assert not kernel.problem, kernel.problem
        (kernel.workdir / "late.txt").write_text("copied after the start")
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "import sys, gc, os\n"
            "print(open('late.txt').read(), sys.modules.get('debugpy') is not None,\n"
            "      'dltrain.testing' in sys.modules, gc.get_freeze_count() > 0,\n"
            "      os.environ['DLTRAIN_GRADING_SALT'])")])
        executed, runs, problem = pool.run(kernel, nb)
        assert not problem and runs[0].status == CellStatus.OK
        assert executed.cells[0].outputs[0]["text"].split() == [
            "copied", "after", "the", "start", "False", "True", "True", "my-salt"]
        with pytest.raises(RuntimeError, match="one notebook only"):
            pool.run(kernel, nb)
        pool.drain()
        assert not kernel.workdir.exists(), "its folders are removed after its run"
    finally:
        pool.close()


# ------------------------------------------------------------------ a small class

@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    """Three students (one with a data file), graded once with a fixed salt, in process."""
    root = tmp_path_factory.mktemp("class")
    subs = root / "subs"
    demo_submissions(subs, [AID])
    (subs / "ada_reference" / AID / "mydata.txt").write_text("1 2 3")
    out = root / "out"
    results = grade_batch(subs, out, jobs=1, options=Options(salt="fixed"), progress=False)
    assert len(results) == 3
    return {"root": root, "subs": subs, "out": out,
            "grades": (out / "grades.csv").read_bytes()}


def _meta(out: Path) -> dict:
    return read_gradebook(out / "gradebook.json")[1]


@pytest.mark.kernel
def test_grading_again_runs_only_what_changed(small_class, tmp_path):
    subs, out = tmp_path / "subs", tmp_path / "out"
    shutil.copytree(small_class["subs"], subs)
    shutil.copytree(small_class["out"], out)
    artifacts = {p.parent.name: p for p in (out / "runs").rglob("*.json")}
    stamps = {name: p.stat().st_mtime_ns for name, p in artifacts.items()}

    # unchanged: nothing runs, nothing is written
    grade_batch(subs, out, jobs=1, progress=False)
    assert (out / "grades.csv").read_bytes() == small_class["grades"]
    assert _meta(out)["graded_now"] == 3   # the first grading's count, left as it was
    assert {n: p.stat().st_mtime_ns for n, p in artifacts.items()} == stamps

    # the student's data file and another student's notebook change: those two run again
    (subs / "ada_reference" / AID / "mydata.txt").write_text("4 5 6")
    write_notebook(reference_submission(AID), subs / "cleo_partly_wrong" / AID / f"{AID}.ipynb")
    grade_batch(subs, out, jobs=1, progress=False)
    meta = _meta(out)
    assert (meta["graded_now"], meta["kept"]) == (2, 1)
    salts = {name.split("-")[0]: load_artifact(p).salt for name, p in artifacts.items()}
    assert salts["ben_blank"] == assignment_salt("fixed", AID), "kept from the first run"
    assert salts["ada_reference"] == salts["cleo_partly_wrong"] == \
        assignment_salt(meta["salt"], AID) != salts["ben_blank"], "a fresh salt for the new runs"
    rows = (out / "grades.csv").read_text()
    assert "cleo_partly_wrong,cleo_partly_wrong,00_inputs,graded,,2,1,2,1,2,2,2,1,1,14,14" in rows

    # re-judging reproduces the mixed folder byte for byte
    graded = (out / "grades.csv").read_bytes()
    judge_folder(out)
    assert (out / "grades.csv").read_bytes() == graded

    # what counts as changed: the instructor notebook, the run's settings, an explicit salt
    jobs = discover(subs, Course(), AID).jobs
    assert len(unchanged_results(jobs, out, Options(), Course(), False)[0]) == 3
    edited = _course_copy(tmp_path / "course")
    nb = read_notebook(edited.solutions / AID / f"{AID}.ipynb")
    nb.cells[0].source += "\n"
    write_notebook(nb, edited.solutions / AID / f"{AID}.ipynb")
    assert unchanged_results(jobs, out, Options(), edited, False) == ([], jobs)
    assert unchanged_results(jobs, out, Options(limits=Limits(cell_timeout=9)), Course(),
                             False) == ([], jobs)
    kept, todo = unchanged_results(jobs, out, Options(salt="fixed"), Course(), True)
    assert [r.student for r in kept] == ["ben_blank"] and len(todo) == 2

    # --force runs everything again
    grade_batch(subs, out, jobs=1, progress=False, force=True)
    assert _meta(out)["graded_now"] == 3


def _course_copy(root: Path) -> Course:
    course = Course()
    shutil.copytree(course.solutions / AID, root / "solutions" / AID)
    shutil.copytree(RELEASE_DIR / AID, root / "notebooks" / AID)
    shutil.copytree(course.catalogue, root / "catalogue")
    return Course(root / "solutions", root / "notebooks", root / "catalogue")


# ------------------------------------------------------------------ a dask cluster

@pytest.fixture(scope="module")
def cluster():
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    import logging

    # a task may kill one worker and be tried again; killing a second one ends it
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None,
                                      silence_logs=logging.ERROR) as local:
            yield local


@pytest.mark.kernel
def test_a_class_graded_on_a_dask_cluster_gets_the_same_grades(small_class, cluster, tmp_path):
    out = tmp_path / "out"
    results = grade_batch(small_class["subs"], out, options=Options(salt="fixed"),
                          progress=False, cluster=cluster.scheduler_address)
    assert len(results) == 3
    assert (out / "grades.csv").read_bytes() == small_class["grades"]
    assert _meta(out)["cluster"] == cluster.scheduler_address
    assert all(load_artifact(p).sandboxed == load_artifact(
        small_class["out"] / p.relative_to(out)).sandboxed for p in (out / "runs").rglob("*.json"))
    assert (out / "feedback").is_dir() and (out / "report.html").is_file()


def _dies_sometimes(task):
    """A stand-in run: kills its worker for "culprit" always, for "flaky" the first time."""
    marker = Path(task.job.path).with_suffix(".tried")
    if task.job.student == "culprit" or (task.job.student == "flaky" and not marker.exists()):
        marker.write_text("tried")
        os._exit(1)
    return json.dumps(encode_artifact(RunArtifact(job=task.job, reason=f"ran in {os.getpid()}")))


@pytest.mark.kernel
def test_a_dying_worker_costs_only_its_own_submission(cluster, tmp_path):
    import cloudpickle

    from grader.cluster import run_on_cluster

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    jobs = []
    for name in ("culprit", "flaky", "ada", "ben"):
        path = tmp_path / name / AID / f"{AID}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text("{}")
        jobs.append(Job(name, AID, path))
    results = {r.student: r for r in run_on_cluster(
        jobs, Options(salt="x"), None, cluster.scheduler_address, progress=False,
        task_function=_dies_sometimes)}
    assert "killed the grading workers" in results["culprit"].reason
    for name in ("flaky", "ada", "ben"):
        assert results[name].reason.startswith("ran in "), results[name].reason
    assert (tmp_path / "flaky" / AID / f"{AID}.tried").exists(), "flaky was tried twice"


def test_a_worker_with_another_course_refuses_the_task(tmp_path):
    from grader.cluster import CourseMismatch, Task, run_task
    from grader.run import Inputs

    path = tmp_path / "ada" / AID / f"{AID}.ipynb"
    write_notebook(reference_submission(AID), path)
    task = Task(Job("ada", AID, path), Inputs(notebook=path.read_bytes()), Options(),
                source_sha256="not the instructor's", released_sha256="")
    with pytest.raises(CourseMismatch, match="differs from the instructor's"):
        run_task(task)


def test_the_instructor_guide_covers_the_cluster_and_incremental_grading():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for needed in ("--cluster", "dask scheduler", "dask worker", "dask-jobqueue",
                   "dask-kubernetes", "--force", "10,000"):
        assert needed in readme, needed
    assert run_path("ada", AID) == f"runs/{run_path('ada', AID).split('/')[1]}/{AID}.json"
