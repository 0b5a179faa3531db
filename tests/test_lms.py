"""LMS layouts, rosters and import files: every file and every rostered student accounted for.

The fixture folders (``tests/fixtures/lms/<lms>/``, written by ``make_fixtures.py``) are laid out
as each LMS downloads submissions, with Canvas's LATE marks, ``(1)`` copies, ``Untitled``
notebooks and stray files, Moodle folders that hold another assignment's or a renamed notebook,
and nbgrader's ``submitted/``.
"""

import csv
import shutil
from pathlib import Path

import pytest

from grader.batch import grade_batch, missing_rows
from grader.course import Course
from grader.lms.canvas import export_canvas
from grader.lms.moodle import export_moodle
from grader.model import MISSING, SubmissionResult
from grader.notebooks import write_notebook
from grader.roster import RosterError, read_roster
from grader.samples import reference_submission
from grader.submissions import discover

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "lms"
COURSE = Course()
AID = "00_inputs"


def _found(lms, assignment=None):
    return discover(FIXTURES / lms, COURSE, assignment)


def _accounted(found):
    with_file = sum(1 for j in found.jobs if j.source.endswith(".ipynb"))
    notebooks_explained = sum(1 for e in found.explained if ".ipynb" in e.split(":")[0])
    return with_file + notebooks_explained == found.notebooks_found


def test_canvas_ids_late_copies_renamed_and_strays():
    found = _found("canvas", AID)
    assert found.adapter == "canvas"
    jobs = {j.student_id: j for j in found.jobs}
    assert set(jobs) == {"998", "997", "444"}
    assert jobs["997"].late is True and jobs["997"].submitted == "123457"
    assert jobs["997"].path.name.endswith("Homework1.ipynb"), "identified by its graded cells"
    assert jobs["444"].path.name == "roejim_444_4_00_inputs (1).ipynb"
    assert jobs["998"].late is False
    explained = " | ".join(found.explained)
    assert "babbagecharles_997_123400_00_inputs.ipynb: an older or second submission" in explained
    assert "Untitled.ipynb: a notebook without any graded cell" in explained
    assert "essay.pdf: not a notebook" in explained
    assert found.notebooks_found == 5 and _accounted(found)


def test_moodle_participants_other_assignments_and_renamed_files():
    found = _found("moodle")
    assert found.adapter == "moodle"
    jobs = {(j.student_id, j.assignment): j for j in found.jobs}
    assert set(jobs) == {("1234", "00_inputs"), ("1234", "01_initialization"),
                         ("1235", "00_inputs")}
    assert jobs[("1234", "00_inputs")].student == "Ada Lovelace"
    assert jobs[("1234", "01_initialization")].path.name == "draft.ipynb"
    assert jobs[("1235", "00_inputs")].path.name == "my work (renamed).ipynb"
    assert found.notebooks_found == 3 and _accounted(found)


def test_plain_folders_and_flat_files():
    found = _found("folder", AID)
    jobs = {j.student_id: j for j in found.jobs}
    assert {"ada", "ben", "cleo", "dan"} <= set(jobs)
    assert jobs["dan"].path.name == "homework.ipynb"
    assert "eve" in jobs and jobs["eve"].problem, "a student folder with nothing of AID"
    assert any("eve/Untitled.ipynb" in e for e in found.explained)
    assert found.notebooks_found == 5


def test_nbgrader_submitted_folder():
    found = _found("nbgrader")
    assert {(j.student_id, j.assignment) for j in found.jobs} == {
        ("ada", "00_inputs"), ("ben", "01_initialization")}


# ------------------------------------------------------------------ rosters

CANVAS_ROSTER = """Student,ID,SIS User ID,SIS Login ID,Section,Homework 1 (12345)
    Points Possible,,,,,9
"Lovelace, Ada",998,S998,ada,Sec 1,
"Babbage, Charles",997,S997,charles,Sec 1,
"Hopper, Grace",996,S996,grace,Sec 2,
"Smith, Alice",995,S995,alice1,Sec 2,
"Smith, Alice",994,S994,alice2,Sec 2,
"""

WORKSHEET = """Identifier,Full name,Email address,Status,Grade,Maximum Grade
Participant 1234,Ada Lovelace,ada@example.org,Submitted,,100
Participant 1235,Charles Babbage,cb@example.org,Submitted,,100
Participant 1236,Grace Hopper,gh@example.org,No submission,,100
"""

PARTICIPANTS = """First name,Last name,ID number,Email address
Ada,Lovelace,A1,ada@example.org
Charles,Babbage,C2,cb@example.org
"""


@pytest.mark.parametrize("text,kind,n", [(CANVAS_ROSTER, "canvas", 5),
                                         (WORKSHEET, "moodle-worksheet", 3),
                                         (PARTICIPANTS, "moodle-participants", 2),
                                         ("id,name\nada,Ada\nben,Ben\n", "plain", 2)])
def test_rosters_are_read_as_each_lms_exports_them(tmp_path, text, kind, n):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    roster = read_roster(path)
    assert roster.kind == kind and len(roster.students) == n


def test_same_name_students_stay_apart_and_duplicate_ids_are_refused(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(CANVAS_ROSTER)
    roster = read_roster(path)
    smiths = [s for s in roster.students if s.name == "Smith, Alice"]
    assert sorted(s.id for s in smiths) == ["994", "995"]
    assert roster.match("995", "smithalice").id == "995"
    assert roster.match("000", "Smith, Alice") is None, "an ambiguous name matches nobody"
    path.write_text("id,name\nada,Ada\nada,Ada again\n")
    with pytest.raises(RosterError, match="twice"):
        read_roster(path)
    path.write_text("who,what\n1,2\n")
    with pytest.raises(RosterError, match="not a format"):
        read_roster(path)


def test_every_rostered_student_gets_a_row_per_assignment(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("id,name\nada,Ada\nben,Ben\ncleo,Cleo\n")
    roster = read_roster(path)
    graded = [SubmissionResult("Ada", AID, status="graded", student_id="ada")]
    rows = missing_rows(graded, roster, COURSE, [AID, "01_initialization"])
    keys = {r.key for r in rows}
    assert keys == {("ben", AID), ("cleo", AID), ("ada", "01_initialization"),
                    ("ben", "01_initialization"), ("cleo", "01_initialization")}
    assert all(r.status == MISSING and r.max_points > 0 for r in rows)


# ------------------------------------------------------------------ import files

def _results():
    return [SubmissionResult("Lovelace, Ada", AID, status="graded", student_id="998"),
            SubmissionResult("Babbage, Charles", AID, status="not graded", student_id="997"),
            SubmissionResult("Hopper, Grace", AID, status=MISSING, student_id="996")]


def test_canvas_import_file_parses_back(tmp_path):
    roster_path = tmp_path / "roster.csv"
    roster_path.write_text(CANVAS_ROSTER)
    results = _results()
    results[0].exercises = []
    [path] = export_canvas(results, tmp_path, read_roster(roster_path))
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0])[:6] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", AID]
    assert rows[0]["Student"] == "Points Possible"
    by_id = {r["ID"]: r for r in rows[1:]}
    assert set(by_id) == {"998", "997", "996", "995", "994"}, "every rostered student"
    assert by_id["998"][AID] == "0" and by_id["998"]["SIS Login ID"] == "ada"
    assert by_id["997"][AID] == "" and by_id["996"][AID] == "", "nothing graded: left blank"


def test_moodle_worksheet_and_participants_imports_parse_back(tmp_path):
    roster_path = tmp_path / "roster.csv"
    roster_path.write_text(WORKSHEET)
    results = [SubmissionResult("Ada Lovelace", AID, status="graded", student_id="1234")]
    [path] = export_moodle(results, tmp_path, read_roster(roster_path))
    rows = {r["Identifier"]: r for r in csv.DictReader(path.open())}
    assert set(rows) == {"Participant 1234", "Participant 1235", "Participant 1236"}
    assert rows["Participant 1234"]["Grade"] == "0" and rows["Participant 1235"]["Grade"] == ""
    roster_path.write_text(PARTICIPANTS)
    results = [SubmissionResult("Ada Lovelace", AID, status="graded", student_id="A1")]
    [path] = export_moodle(results, tmp_path, read_roster(roster_path))
    rows = {r["ID number"]: r for r in csv.DictReader(path.open())}
    assert set(rows) == {"A1", "C2"} and rows["A1"][AID] == "0"


# ------------------------------------------------------------------ a class, end to end

def test_a_class_of_30_with_a_roster_has_one_row_per_student_and_assignment(tmp_path):
    """10 correct notebooks, 5 broken files, 2 strays, 15 rostered students with nothing."""
    subs = tmp_path / "subs"
    roster = ["id,name"]
    for k in range(30):
        roster.append(f"s{k:02d},Student {k:02d}")
        if k < 10:
            write_notebook(reference_submission(AID), subs / f"s{k:02d}" / AID / f"{AID}.ipynb")
        elif k < 15:
            broken = subs / f"s{k:02d}" / AID / f"{AID}.ipynb"
            broken.parent.mkdir(parents=True)
            broken.write_text("{not a notebook")
    write_notebook(reference_submission(AID), subs / "visitor" / AID / f"{AID}.ipynb")
    (subs / "s03" / "scratch.ipynb").write_text("{}")
    (tmp_path / "roster.csv").write_text("\n".join(roster) + "\n")
    out = tmp_path / "out"
    results = grade_batch(subs, out, jobs=2, assignment=AID, progress=False,
                          roster=tmp_path / "roster.csv")
    keys = [r.key for r in results]
    assert len(keys) == len(set(keys)) == 31
    by_id = {r.student_id: r for r in results}
    assert all(by_id[f"s{k:02d}"].total == by_id[f"s{k:02d}"].max_points > 0 for k in range(10))
    assert all(by_id[f"s{k:02d}"].status == "not graded" for k in range(10, 15))
    assert all(by_id[f"s{k:02d}"].status == MISSING for k in range(15, 30))
    assert any("not on the roster" in n for n in by_id["visitor"].notes)
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert len(rows) == 31 and {"student_id", "late"} <= set(rows[0])
    report = (out / "report.html").read_text()
    assert ("17 notebook(s) found = 11 graded + 5 not graded + 1 explained (not a submission: "
            "listed below); 15 row(s) for students with nothing gradable.") in report
    assert "s03/scratch.ipynb: not a notebook the grader can read" in report
    shutil.rmtree(subs)   # the submissions are gone; judge and publish need only the output


@pytest.mark.parametrize("lms,roster", [
    ("canvas", CANVAS_ROSTER), ("moodle", WORKSHEET),
    ("nbgrader", "id,name\nada,Ada\nben,Ben\ncleo,Cleo\n")])
def test_each_lms_fixture_is_graded_with_every_file_and_student_accounted_for(tmp_path, lms,
                                                                           roster):
    (tmp_path / "roster.csv").write_text(roster)
    out = tmp_path / "out"
    results = grade_batch(FIXTURES / lms, out, jobs=2, progress=False,
                          roster=tmp_path / "roster.csv")
    found = _found(lms)
    rostered = {s.id for s in read_roster(tmp_path / "roster.csv").students}
    scope = {r.assignment for r in results}
    keys = [r.key for r in results]
    assert len(keys) == len(set(keys)), "one row per student and assignment"
    assert {(sid, aid) for sid in rostered for aid in scope} <= set(keys)
    with_file = [r for r in results if r.path]
    assert len(with_file) + len(found.explained) >= found.notebooks_found
    report = (out / "report.html").read_text()
    assert f"{found.notebooks_found} notebook(s) found" in report
    exports = sorted(p.name for p in out.glob("*-import-*.csv"))
    assert exports == ([] if lms == "nbgrader" else
                       [f"{'canvas' if lms == 'canvas' else 'moodle'}-import-{aid}.csv"
                        for aid in sorted(scope)])
