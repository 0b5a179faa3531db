"""Grading end to end in sandboxed kernels: reference, blank release and a sample of the catalogue.

Each assignment's submissions are graded in one batch (in parallel, as an instructor would), once
per test session; the tests then read the results, the CSV and the feedback files. The sample holds
the first known-wrong and the first alternative-correct entry of every answer cell; every entry is
judged in process by ``tests/test_catalogue.py``, and here both ways must reach the same verdicts,
which keeps the fast path honest.
"""

import csv
import hashlib
import html
import re
from pathlib import Path

import pytest

from grader import RELEASE_DIR, SOLUTIONS_DIR, assignment_ids
from grader import catalogue as catalogue_mod
from grader.batch import grade_batch
from grader.check import check_entry
from grader.grade import Options
from grader.model import GRADED
from grader.notebooks import hidden_region, is_test_cell, read_notebook, without_hidden_region
from grader.samples import entry_submission, reference_submission, write_submission

AIDS = assignment_ids()
ENTRIES = [(aid, k, entry) for aid in AIDS for k, entry in enumerate(catalogue_mod.load(aid))]


def _sample(aid):
    """The first wrong and the first alternative entry of every answer cell of ``aid``."""
    chosen, seen = [], set()
    for entry_aid, k, entry in ENTRIES:
        key = (entry.cell, type(entry))
        if entry_aid == aid and key not in seen:
            seen.add(key)
            chosen.append((entry_aid, k, entry))
    return chosen


SAMPLE = [item for aid in AIDS for item in _sample(aid)]


def _student(aid, k, entry):
    kind = "wrong" if isinstance(entry, catalogue_mod.Wrong) else "alt"
    return f"{kind}{k:02d}-{aid}"


def _digest(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


class Batches:
    """Grades each assignment's submissions (reference, blank, catalogue) once, on demand.

    On demand, so that ``pytest -k 03_gd_sgd`` grades only that assignment.
    """

    def __init__(self, root: Path):
        self.root = root
        self.cache = {}

    def __call__(self, aid: str) -> dict:
        if aid not in self.cache:
            subs = self.root / f"submissions-{aid}"
            out = self.root / f"grading-{aid}"
            write_submission(subs, "reference", aid, reference_submission(aid))
            write_submission(subs, "blank", aid,
                             read_notebook(RELEASE_DIR / aid / f"{aid}.ipynb"))
            for _, k, entry in _sample(aid):
                write_submission(subs, _student(aid, k, entry), aid,
                                 entry_submission(aid, entry))
            before = _digest(subs)
            results = grade_batch(subs, out, jobs=2, options=Options(), progress=False)
            self.cache[aid] = {"results": {(r.student, r.assignment): r for r in results},
                               "out": out, "subs": subs, "before": before}
        return self.cache[aid]


@pytest.fixture(scope="session")
def batches(tmp_path_factory):
    return Batches(tmp_path_factory.mktemp("graded"))


def _feedback_text(batch, result) -> str:
    page = (batch["out"] / result.feedback).read_text()
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("aid", AIDS)
def test_reference_scores_full_marks(batches, aid):
    result = batches(aid)["results"][("reference", aid)]
    assert result.status == GRADED, result.reason
    failing = {e.grade_id: (e.messages, [h.message for h in e.hidden if not h.passed])
               for e in result.exercises if e.points != e.max_points}
    assert not failing
    assert result.total == result.max_points > 0
    assert not result.flags


@pytest.mark.parametrize("aid", AIDS)
def test_blank_release_scores_zero_everywhere(batches, aid):
    batch = batches(aid)
    result = batch["results"][("blank", aid)]
    assert result.status == GRADED, result.reason
    assert [e.points for e in result.exercises] == [0] * len(result.exercises)
    assert all(e.status == "not answered" for e in result.exercises)
    assert "NotImplementedError" in _feedback_text(batch, result)


@pytest.mark.parametrize("aid,k,entry", SAMPLE, ids=[f"{a}-{e.cell}-{k}" for a, k, e in SAMPLE])
def test_kernel_and_in_process_grading_agree(batches, aid, k, entry):
    """The same verdicts, points, hidden-test outcomes and diagnoses both ways."""
    kernel = batches(aid)["results"][(_student(aid, k, entry), aid)]
    graded = check_entry(aid, entry).graded.result

    def verdicts(result):
        return [(e.grade_id, e.points, e.status, [(h.name, h.passed, h.diagnosis)
                                                  for h in e.hidden]) for e in result.exercises]

    assert verdicts(kernel) == verdicts(graded)


@pytest.mark.parametrize("aid,k,entry", SAMPLE, ids=[f"{a}-{e.cell}-{k}" for a, k, e in SAMPLE])
def test_catalogue_sample_in_kernels(batches, aid, k, entry):
    batch = batches(aid)
    result = batch["results"][(_student(aid, k, entry), aid)]
    assert result.status == GRADED, result.reason
    points = {e.grade_id: (e.points, e.max_points) for e in result.exercises}
    if isinstance(entry, catalogue_mod.Alternative):
        lost = {g: p for g, p in points.items() if p[0] != p[1]}
        assert not lost, f"an alternative-correct implementation lost points: {lost}"
        return
    assert entry.loses, "a wrong entry names the exercises it must lose"
    for gid in entry.loses:
        assert gid in points, f"unknown test cell {gid}"
        assert points[gid][0] < points[gid][1], \
            f"'{entry.description}' kept its points on {gid}: the tests do not catch it"
    expected = entry.feedback or entry.description
    assert expected in _feedback_text(batch, result), \
        f"the feedback does not name the mistake '{expected}'"


@pytest.mark.parametrize("aid", AIDS)
def test_submitted_files_are_never_modified(batches, aid):
    batch = batches(aid)
    assert _digest(batch["subs"]) == batch["before"]


@pytest.mark.parametrize("aid", AIDS)
def test_output_files(batches, aid):
    batch = batches(aid)
    out = batch["out"]
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert len(rows) == len(batch["results"])
    assert {"student", "assignment", "status", "total", "max", "flags", "reason"} <= set(rows[0])
    assert (out / "report.html").read_text().count("<svg") >= 1, "a chart per assignment"
    assert (out / "gradebook.json").is_file()
    for result in batch["results"].values():
        assert (out / result.feedback).is_file()


def _lines(text):
    return {line.strip() for line in text.splitlines() if len(line.strip()) > 25}


@pytest.mark.parametrize("aid", AIDS)
def test_feedback_never_shows_hidden_test_source(batches, aid):
    batch = batches(aid)
    secrets, public = set(), set()
    for cell in read_notebook(SOLUTIONS_DIR / aid / f"{aid}.ipynb").cells:
        if is_test_cell(cell):
            secrets |= _lines(hidden_region(cell.source))
            public |= _lines(without_hidden_region(cell.source))
    secrets -= public
    assert secrets
    for page in (batch["out"] / "feedback").rglob("*.html"):
        text = html.unescape(page.read_text())
        assert "HIDDEN TESTS" not in text
        shown = secrets & {line.strip() for line in text.splitlines()}
        assert not shown, f"{page.name} shows hidden-test lines: {sorted(shown)[:3]}"


def test_grades_are_deterministic(batches, tmp_path):
    """Grading the same submissions again gives the same grades.csv."""
    batch = batches("00_inputs")
    subset = tmp_path / "again"
    for (student, aid) in sorted(batch["results"])[:6]:
        src = batch["subs"] / student / aid
        dest = subset / student / aid
        dest.mkdir(parents=True)
        for f in src.iterdir():
            dest.joinpath(f.name).write_bytes(f.read_bytes())
    grade_batch(subset, tmp_path / "out1", jobs=2, progress=False)
    grade_batch(subset, tmp_path / "out2", jobs=1, progress=False)
    first = (tmp_path / "out1" / "grades.csv").read_text()
    assert first == (tmp_path / "out2" / "grades.csv").read_text()
    rows = {(r["student"], r["assignment"]): r["total"]
            for r in csv.DictReader((batch["out"] / "grades.csv").open())}
    for row in csv.DictReader((tmp_path / "out1" / "grades.csv").open()):
        assert rows[(row["student"], row["assignment"])] == row["total"]


@pytest.mark.parametrize("aid,k,entry", ENTRIES,
                         ids=[f"{a}-{e.cell}-{k}" for a, k, e in ENTRIES])
def test_catalogue_entry_is_valid_code(aid, k, entry):
    """An entry must fail for its stated mistake, not for a syntax error or a missing name."""
    import ast

    from grader.reference import answer_sources, build_namespace, source_notebook

    reference = answer_sources(source_notebook(aid))[entry.cell]
    wanted = {n.name for n in ast.parse(reference).body if isinstance(n, ast.FunctionDef)}
    source = catalogue_mod.replacement(aid, entry)[entry.cell]
    defined = {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
    assert wanted <= defined, f"the entry does not define {wanted - defined}"
    namespace = build_namespace(source_notebook(aid), {entry.cell: source}, label="entry")
    assert all(callable(namespace[name]) for name in wanted)
