"""Unit tests of the grader's parts: finding submissions, assembling, judging, the CLI."""

from __future__ import annotations

import base64
import copy
import zipfile

import nbformat
import numpy as np
import pytest

import dltrain.grading as protocol
from grader import RELEASE_DIR, SOLUTIONS_DIR
from grader.__main__ import main
from grader.assemble import (
    ROLE_ADDED,
    ROLE_ANSWER,
    ROLE_EXPERIMENT,
    ROLE_HIDDEN,
    ROLE_TEST,
    NotGradable,
    assemble,
)
from grader.course import Course
from grader.notebooks import (
    UnreadableNotebook,
    grade_id,
    hidden_region,
    read_notebook,
    without_hidden_region,
    write_notebook,
)
from grader.samples import reference_submission
from grader.submissions import SubmissionsError, discover, unpack_zip
from grader.trusted import Garbled, Variant, compare_values, decode, judge_test_cell

AID = "00_inputs"
KNOWN = [AID, "01_initialization"]
COURSE = Course()


def _touch_nb(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(nbformat.v4.new_notebook(), path)


# ------------------------------------------------------------------ submissions

def _jobs(root, assignment=AID, lms="auto"):
    return {(j.student, j.assignment): j
            for j in discover(root, COURSE, assignment, lms).jobs}


def test_discover_course_layout_and_problems(tmp_path):
    _touch_nb(tmp_path / "ada" / AID / f"{AID}.ipynb")
    _touch_nb(tmp_path / "ben" / f"{AID}.ipynb")                      # directly in the folder
    _touch_nb(tmp_path / "cleo" / AID / "Untitled1.ipynb")             # renamed, no graded cells
    (tmp_path / "dan" / AID).mkdir(parents=True)                       # nothing inside
    found = discover(tmp_path, COURSE, AID)
    jobs = {(j.student, j.assignment): j for j in found.jobs}
    assert jobs[("ada", AID)].path.name == f"{AID}.ipynb" and not jobs[("ada", AID)].problem
    assert jobs[("ben", AID)].path is not None
    assert "Untitled1" in jobs[("cleo", AID)].problem
    assert any("Untitled1.ipynb" in e and "without any graded cell" in e
               for e in found.explained)
    assert "no notebook" in jobs[("dan", AID)].problem
    assert found.notebooks_found == 3 and found.adapter == "folder"


def test_a_renamed_notebook_is_identified_by_its_graded_cells(tmp_path):
    write_notebook(reference_submission(AID), tmp_path / "ada" / "homework (1).ipynb")
    write_notebook(reference_submission(AID), tmp_path / "ben" / "sub" / "mine.ipynb")
    jobs = _jobs(tmp_path, None)
    assert jobs[("ada", AID)].path.name == "homework (1).ipynb"
    assert jobs[("ben", AID)].folder == tmp_path / "ben" / "sub"


def test_discover_moodle_folders(tmp_path):
    folder = tmp_path / "Ada Lovelace_1234_assignsubmission_file_"
    _touch_nb(folder / f"{AID}.ipynb")
    write_notebook(reference_submission("01_initialization"), folder / "renamed.ipynb")
    found = discover(tmp_path, COURSE)
    assert found.adapter == "moodle"
    jobs = {(j.student_id, j.assignment): j for j in found.jobs}
    assert jobs[("1234", AID)].student == "Ada Lovelace"
    assert jobs[("1234", "01_initialization")].path.name == "renamed.ipynb"


def test_discover_canvas_files(tmp_path):
    _touch_nb(tmp_path / f"lovelaceada_998_123456_{AID}.ipynb")
    _touch_nb(tmp_path / f"babbagecharles_LATE_997_123457_{AID}-1.ipynb")   # re-upload, late
    _touch_nb(tmp_path / f"babbagecharles_997_123400_{AID}.ipynb")          # older one
    (tmp_path / "notes.pdf").write_text("not a notebook")
    found = discover(tmp_path, COURSE, AID)
    assert found.adapter == "canvas"
    jobs = {j.student_id: j for j in found.jobs}
    assert set(jobs) == {"998", "997"}
    assert jobs["997"].late is True and jobs["997"].submitted == "123457"
    assert jobs["998"].student == "lovelaceada" and jobs["998"].late is False
    assert any("older or second submission" in e for e in found.explained)
    assert any(e.startswith("notes.pdf") for e in found.explained)


def test_discover_without_assignment_finds_each_students_assignments(tmp_path):
    _touch_nb(tmp_path / "ada" / AID / f"{AID}.ipynb")
    _touch_nb(tmp_path / "ada" / "01_initialization" / "01_initialization.ipynb")
    jobs = discover(tmp_path, COURSE).jobs
    assert sorted(j.assignment for j in jobs) == sorted(KNOWN)


def test_zip_is_unpacked_safely(tmp_path):
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"course/ada/{AID}/{AID}.ipynb", nbformat.writes(nbformat.v4.new_notebook()))
        zf.writestr("../escape.txt", "outside")
        zf.writestr("/abs.txt", "absolute")
        zf.writestr("__MACOSX/._junk", "junk")
    dest = tmp_path / "unpacked"
    dest.mkdir()
    unpack_zip(archive, dest)
    assert not (tmp_path / "escape.txt").exists()
    assert not (dest / "abs.txt").exists(), "absolute member names are skipped"
    jobs = discover(dest, COURSE, AID).jobs
    assert [(j.student, j.path.name) for j in jobs] == [("ada", f"{AID}.ipynb")]


def test_bad_zip_is_reported(tmp_path):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"not a zip")
    with pytest.raises(SubmissionsError, match="not a valid zip"):
        unpack_zip(archive, tmp_path)


# ------------------------------------------------------------------ reading notebooks

@pytest.mark.parametrize("content,reason", [(b"", "empty"), (b"{oops", "not valid JSON"),
                                            (b"[1, 2]", "not a Jupyter notebook"),
                                            (b'{"cells": [], "nbformat": 3}', "format"),
                                            (b"\xff\xfe\x00", "not UTF-8")])
def test_unreadable_notebooks_have_reasons(tmp_path, content, reason):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    with pytest.raises(UnreadableNotebook, match=reason):
        read_notebook(path)


def test_hidden_region_split():
    source = 'check(1)\n### BEGIN HIDDEN TESTS\nsecret(2)\n### END HIDDEN TESTS\n'
    assert hidden_region(source) == "secret(2)\n"
    assert without_hidden_region(source) == "check(1)\n"
    assert hidden_region("check(1)\n") == ""


# ------------------------------------------------------------------ assembling

@pytest.fixture(scope="module")
def sources():
    return (read_notebook(SOLUTIONS_DIR / AID / f"{AID}.ipynb"),
            read_notebook(RELEASE_DIR / AID / f"{AID}.ipynb"))


def test_assembly_restores_instructor_cells_and_keeps_answers(sources):
    source, release = sources
    student = reference_submission(AID)
    for cell in student.cells:
        if cell.cell_type == "markdown":
            cell.source = "I rewrote the instructions"
    student.cells.append(nbformat.v4.new_code_cell("print('my own cell')"))
    out = assemble(student, source, release, AID)
    assert "I rewrote the instructions" not in "".join(c.source for c in out.nb.cells)
    assert out.roles[-1] == ROLE_ADDED and "my own cell" in out.nb.cells[-1].source
    answers = [c for c, r in zip(out.nb.cells, out.roles) if r == ROLE_ANSWER]
    assert answers and all("NotImplementedError" not in c.source for c in answers)
    # every test cell is followed by its hidden tests, which come from solutions/
    for i, role in enumerate(out.roles):
        if role == ROLE_TEST:
            assert out.roles[i + 1] == ROLE_HIDDEN
            hidden_call = ("hidden_test(", "hidden_answer(")
            assert any(call in out.nb.cells[i + 1].source for call in hidden_call)
            assert not any(call in out.nb.cells[i].source for call in hidden_call)
    assert ROLE_EXPERIMENT in out.roles and out.experiment_cells()


def test_assembly_missing_answer_is_graded_as_stub(sources):
    source, release = sources
    student = reference_submission(AID)
    student.cells = [c for c in student.cells if grade_id(c) != "standardize"]
    out = assemble(student, source, release, AID)
    assert any("'standardize' was missing" in n for n in out.notes)
    assert out.answered["standardize"] is False
    stub = out.nb.cells[out.grade_ids.index("standardize")]
    assert "NotImplementedError" in stub.source


def test_assembly_rejects_other_languages_and_foreign_notebooks(sources):
    source, release = sources
    student = copy.deepcopy(reference_submission(AID))
    student.metadata["kernelspec"] = {"name": "ir", "language": "R"}
    with pytest.raises(NotGradable, match="not Python"):
        assemble(student, source, release, AID)
    foreign = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {"grade_id": "somebody_else", "solution": True, "grade": False}
    foreign.cells = [cell]
    with pytest.raises(NotGradable, match="belong to"):
        assemble(foreign, source, release, AID)


# ------------------------------------------------------------------ the trusted side

def test_decode_is_strict():
    good = protocol.encode({"a": (np.arange(6.0).reshape(2, 3), 1, None, "s", True, float("nan"))})
    value = decode(good)
    assert value["a"][0].shape == (2, 3) and np.isnan(value["a"][5])
    bad = [{"t": "nd", "dtype": "|O", "shape": [1], "b64": ""},
           {"t": "nd", "dtype": "<f8", "shape": [3], "b64": base64.b64encode(b"12345678").decode()},
           {"t": "nd", "dtype": "<f8", "shape": [-1], "b64": ""},
           {"t": "pickle", "v": "..."}, {"t": "int", "v": "3"}, "not a dict",
           {"t": "float", "v": "1e3"}]
    for case in bad:
        with pytest.raises(Garbled):
            decode(case)


def test_encode_refuses_objects():
    with pytest.raises(protocol.EncodingError):
        protocol.encode(object())
    with pytest.raises(protocol.EncodingError):
        protocol.encode(np.array([object()]))


def test_compare_values_messages():
    ref = (np.zeros((2, 3)), np.ones(3))
    assert compare_values([np.zeros((2, 3)), np.ones(3)], ref, rtol=1e-7, atol=0) == ""
    assert "should have 2 items" in compare_values((np.zeros((2, 3)),), ref, rtol=1e-7, atol=0)
    assert "transposed" in compare_values((np.zeros((3, 2)), np.ones(3)), ref, rtol=1e-7, atol=0)
    msg = compare_values((np.zeros((2, 3)), np.array([1, 1, 5.0])), ref, rtol=1e-7, atol=0)
    assert "index (2,)" in msg and "expected 1, got 5" in msg
    assert "should be a number, but it is a str" in compare_values("text", 1.0, rtol=0, atol=0)
    assert compare_values({"w": 1.0}, {"w": 1.0 + 1e-12}, rtol=1e-9, atol=0) == ""
    assert "keys" in compare_values({"v": 1.0}, {"w": 1.0}, rtol=0, atol=0)


def _record(values):
    return {"protocol": 1, "name": "t",
            "cases": [{"ok": True, "value": protocol.encode(v)} for v in values]}


HIDDEN = '''
### BEGIN HIDDEN TESTS
from dltrain.grading import hidden_test
def _cases(rng):
    for n in (3, 5):
        yield {"x": rng.normal(size=n)}
hidden_test(double, _cases, seed=7, name="double")
### END HIDDEN TESTS
'''


def _double(x):
    return 2 * x


_double.__name__ = "double"   # as if defined by the notebook under that name

def test_judge_passes_right_values_and_names_known_mistakes():
    cases = protocol.make_cases(lambda rng: ({"x": rng.normal(size=n)} for n in (3, 5)), 7)
    right = [2 * c["x"] for c in cases]
    namespace = {"double": _double, "np": np}
    assert [o.passed for o in judge_test_cell(HIDDEN, [_record(right)], namespace)] == [True]
    wrong = [3 * c["x"] for c in cases]

    def triple(x):
        return 3 * x
    triple.__name__ = "double"
    variants = [Variant("multiplies by three", {"double": triple})]
    (outcome,) = judge_test_cell(HIDDEN, [_record(wrong)], namespace, variants)
    assert not outcome.passed and outcome.diagnosis == "multiplies by three"
    assert "case 1 of 2" in outcome.message


def test_judge_missing_garbled_and_extra_records():
    namespace = {"double": _double, "np": np}
    (missing,) = judge_test_cell(HIDDEN, [], namespace)
    assert missing.missing and not missing.passed
    (garbled,) = judge_test_cell(HIDDEN, [{"protocol": 1, "cases": [1]}], namespace)
    assert garbled.garbled and not garbled.passed
    cases = protocol.make_cases(lambda rng: ({"x": rng.normal(size=n)} for n in (3, 5)), 7)
    right = _record([2 * c["x"] for c in cases])
    outcomes = judge_test_cell(HIDDEN, [right, right], namespace)
    assert outcomes[0].passed and outcomes[-1].garbled and not outcomes[-1].passed


def test_student_errors_are_reported_not_raised():
    record = {"protocol": 1, "name": "t",
              "cases": [{"ok": False, "error": "ValueError: nope"}] * 2}
    (outcome,) = judge_test_cell(HIDDEN, [record], {"double": _double, "np": np})
    assert not outcome.passed and "ValueError: nope" in outcome.message


# ------------------------------------------------------------------ command line

def test_cli_grade_missing_path_cannot_run(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_grade_empty_folder_cannot_run(tmp_path, capsys):
    (tmp_path / "subs").mkdir()
    assert main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "o")]) == 2
    assert "no submissions" in capsys.readouterr().err


def test_cli_grade_unknown_assignment(tmp_path, capsys):
    _touch_nb(tmp_path / "subs" / "ada" / AID / f"{AID}.ipynb")
    assert main(["grade", str(tmp_path / "subs"), "--assignment", "99_nope",
                 "--out", str(tmp_path / "o")]) == 2
    assert "unknown assignment" in capsys.readouterr().err


def test_cli_grade_runs_even_when_nothing_is_gradable(tmp_path, capsys):
    bad = tmp_path / "subs" / "ada" / AID / f"{AID}.ipynb"
    bad.parent.mkdir(parents=True)
    bad.write_text("{broken")
    assert main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "o"),
                 "--no-progress", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "not graded" in out and "not valid JSON" in out
    assert (tmp_path / "o" / "grades.csv").is_file()


@pytest.mark.parametrize("which,code", [("reference", 0), ("blank", 1), ("broken", 2)])
def test_cli_validate_exit_status(tmp_path, capsys, which, code):
    path = tmp_path / AID / f"{AID}.ipynb"
    if which == "reference":
        write_notebook(reference_submission(AID), path)
    elif which == "blank":
        write_notebook(read_notebook(RELEASE_DIR / AID / f"{AID}.ipynb"), path)
    else:
        path.parent.mkdir(parents=True)
        path.write_text("")
    assert main(["validate", str(path)]) == code
    out = capsys.readouterr().out
    if which == "blank":
        assert "failed" in out and "not answered yet" in out


def test_without_bubblewrap_grading_warns_loudly(tmp_path, monkeypatch, capsys):
    import io

    import grader.batch
    import grader.sandbox
    from grader.batch import GradingCannotRun, grade_batch
    from grader.grade import Options

    monkeypatch.setattr(grader.sandbox, "sandbox_works", lambda: False)
    monkeypatch.setattr(grader.batch, "sandbox_works", lambda: False)
    path = tmp_path / "subs" / "ada" / AID / f"{AID}.ipynb"
    write_notebook(read_notebook(RELEASE_DIR / AID / f"{AID}.ipynb"), path)
    with pytest.raises(GradingCannotRun, match="bubblewrap"):
        grade_batch(tmp_path / "subs", tmp_path / "o0", jobs=1, options=Options(sandbox="on"),
                    progress=False)
    stream = io.StringIO()
    (result,) = grade_batch(tmp_path / "subs", tmp_path / "out", jobs=1, progress=False,
                            options=Options(sandbox="auto"), stream=stream)
    assert "UNSANDBOXED" in stream.getvalue()
    assert result.sandboxed is False and result.total == 0
    assert "UNSANDBOXED" in (tmp_path / "out" / "report.html").read_text()


def test_a_check_that_chokes_on_a_malformed_value_fails_the_student_not_the_grader():
    hidden = HIDDEN.replace('name="double")', 'name="double", check=_strict)')

    def _strict(student, reference, case):
        assert student.shape == reference.shape, "wrong shape"   # AttributeError on a float

    cases = protocol.make_cases(lambda rng: ({"x": rng.normal(size=n)} for n in (3, 5)), 7)
    record = _record([1.0 for _ in cases])
    (outcome,) = judge_test_cell(hidden, [record], {"double": _double, "np": np,
                                                    "_strict": _strict})
    assert not outcome.passed and "could not be checked" in outcome.message


def test_salt_changes_the_hidden_cases_and_the_same_salt_repeats_them():
    draw = lambda rng: [rng.normal(size=3)]  # noqa: E731
    same = protocol.make_cases(draw, 7, protocol.salt_from_text("run-1"))
    again = protocol.make_cases(draw, 7, protocol.salt_from_text("run-1"))
    other = protocol.make_cases(draw, 7, protocol.salt_from_text("run-2"))
    assert np.array_equal(same[0], again[0])
    assert not np.array_equal(same[0], other[0])


def test_a_question_is_judged_against_the_instructors_answer_and_names_a_known_wrong_one():
    from grader.trusted import Variant, judge_test_cell

    source = "### BEGIN HIDDEN TESTS\nhidden_answer(q_steps, 'q_steps', rtol=0.1)\n" \
             "### END HIDDEN TESTS\n"
    namespace = {"hidden_answer": protocol.hidden_answer, "q_steps": 2390}
    variants = [Variant("answers kappa itself", {"q_steps": 300})]

    def record(value):
        return [{"protocol": protocol.PROTOCOL, "name": "q_steps",
                 "cases": [{"ok": True, "value": protocol.encode(value)}]}]

    assert judge_test_cell(source, record(2300), namespace, variants)[0].passed
    wrong = judge_test_cell(source, record(300), namespace, variants)[0]
    assert not wrong.passed and wrong.diagnosis == "answers kappa itself"
    assert not judge_test_cell(source, record(1000), namespace, variants)[0].diagnosis


def test_an_oversized_message_is_not_parsed_and_becomes_a_note():
    import json

    from grader.execute import DROPPED, capped_unpacker

    unpack = capped_unpacker(100, json.loads)
    assert unpack(b'{"a": 1}') == {"a": 1}
    assert unpack(b"[" + b"0," * 100 + b"0]") == {DROPPED: 203}


def test_a_broken_worker_costs_only_its_own_submission(tmp_path):
    """After a worker dies, the pending jobs are graded again, each alone: one is lost."""
    from grader.batch import _run_pool
    from grader.grade import Job, Options

    jobs = [Job(f"student{k}", "00_inputs", tmp_path / f"{k}.ipynb") for k in range(4)]
    jobs[2] = Job("culprit", "00_inputs", tmp_path / "culprit.ipynb")
    results = _run_pool(jobs, Options(), None, 2, False, None, grade=_dies_on_culprit)
    by_student = {r.student: r for r in results}
    assert len(results) == 4
    assert by_student["culprit"].status == "not graded"
    assert "killed the grader's worker process" in by_student["culprit"].reason
    assert all(by_student[f"student{k}"].status == "graded" for k in (0, 1, 3))


def _dies_on_culprit(job, options, out_dir, course):
    import os
    import time

    from grader.model import SubmissionResult

    if job.student == "culprit":
        time.sleep(0.2)
        os._exit(9)
    time.sleep(0.5)
    return SubmissionResult(job.student, job.assignment, status="graded")


@pytest.mark.parametrize("source,problem", [
    ("a\n### BEGIN HIDDEN TESTS\nb\n### BEGIN HIDDEN TESTS\nc\n### END HIDDEN TESTS\n",
     "inside the region opened at line 2"),
    ("a\n### END HIDDEN TESTS\n", "without a"),
    ("a\n### BEGIN HIDDEN TESTS\nb\n", "never closed")])
def test_malformed_markers_fail_loudly(source, problem):
    from grader.notebooks import MarkerError

    with pytest.raises(MarkerError, match=problem):
        hidden_region(source)


def test_a_cell_may_hold_several_hidden_regions():
    source = ("x = 1\n### BEGIN HIDDEN TESTS\nh1()\n### END HIDDEN TESTS\ny = 2\n"
              "### BEGIN HIDDEN TESTS\nh2()\n### END HIDDEN TESTS\n")
    assert hidden_region(source) == "h1()\nh2()\n"
    assert without_hidden_region(source) == "x = 1\ny = 2\n"


def test_a_broken_grading_machine_is_not_a_class_of_zeros(tmp_path, capsys):
    """Kernels that cannot start: retried, 'grading environment', and exit status 3."""
    write_notebook(reference_submission(AID), tmp_path / "subs" / "ada" / AID / f"{AID}.ipynb")
    code = main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                 "--memory-mb", "200", "--jobs", "1", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 3
    assert "grading environment: the kernel did not start" in captured.out
    assert "NO KERNEL COULD RUN" in captured.err


@pytest.mark.parametrize("stage", ["judge_folder", "publish_folder"])
def test_judging_or_publishing_an_ungraded_folder_says_to_grade_it_first(stage, tmp_path):
    import grader.batch as batch

    with pytest.raises(batch.GradingCannotRun, match="grade it first"):
        getattr(batch, stage)(tmp_path)


# ------------------------------------------------------------------ the report's chart

def test_the_report_chart_draws_each_rate_and_every_student():
    """One bar per exercise, as long as its pass rate; one histogram bar per whole point, the
    students stacked where their totals fall; names escaped."""
    import xml.dom.minidom

    from grader.model import ExerciseResult, SubmissionResult
    from grader.publish import _chart_svg, _rates

    def student(name, passed):   # two exercises of 1 point each
        return SubmissionResult(name, "00_inputs", status="graded", exercises=[
            ExerciseResult("test_<a>", "a", 1.0, 1.0 if passed[0] else 0.0,
                           "passed" if passed[0] else "failed"),
            ExerciseResult("test_b", "b", 1.0, 1.0 if passed[1] else 0.0,
                           "passed" if passed[1] else "failed")])

    results = [student("x", (1, 1)), student("y", (1, 0)), student("z", (0, 0)),
               student("w", (1, 0))]
    svg = str(_chart_svg(results, "00_inputs", _rates(results)))
    dom = xml.dom.minidom.parseString(svg)   # well-formed: the name "test_<a>" is escaped
    assert "test_&lt;a&gt;" in svg
    bars = [r for r in dom.getElementsByTagName("rect") if r.getAttribute("fill") == "#4C72B0"]
    widths = [float(r.getAttribute("width")) for r in bars]
    assert len(bars) == 2 and widths[0] == pytest.approx(3 * widths[1]), "75% and 25%"
    hist = [r for r in dom.getElementsByTagName("rect") if r.getAttribute("fill") == "#55A868"]
    titles = [r.getElementsByTagName("title")[0].firstChild.data for r in hist]
    assert titles == ["score 0: 1 student(s)", "score 1: 2 student(s)", "score 2: 1 student(s)"]
    heights = [float(r.getAttribute("height")) for r in hist]
    assert heights[1] == pytest.approx(2 * heights[0]) and heights[0] == heights[2]
