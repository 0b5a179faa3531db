"""The nbgrader-native path: nbgrader's own commands, as the README shows them, grade right.

In a scratch copy of the instructor repository: `nbgrader generate_assignment` releases without
the feedback-only cells; `nbgrader autograde` judges the hidden tests (against solutions/, in the
kernel) and reaches the same points as `python -m grader grade` for honest submissions, including
one that fails only when a hidden test calls it; `nbgrader generate_feedback` shows no hidden
test's source; `grader grade --gradebook` writes its scores where formgrader reads them.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import REPO_ROOT
from grader.batch import grade_batch
from grader.notebooks import hidden_region, is_test_cell, read_notebook, without_hidden_region
from grader.samples import reference_submission, write_submission

AID = "00_inputs"
HIDDEN_ONLY_MISTAKE = '''
import inspect

def fit_standardizer(X):
    X = np.asarray(X, dtype=float)
    std = X.std(axis=0)
    std = np.where(std == 0, 1.0, std)
    if any(f.function == "record_of" for f in inspect.stack()):
        return X.mean(axis=0), std ** 2          # wrong only when a hidden test calls it
    return X.mean(axis=0), std
'''


def _readme_nbgrader_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    return [line.strip() for line in text.splitlines() if line.strip().startswith("nbgrader ")]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    for name in ("solutions", "grader"):
        shutil.copytree(REPO_ROOT / name, root / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "nbgrader_config.py", root)
    (root / "notebooks").mkdir()
    write_submission(root / "submitted", "ada", AID, reference_submission(AID))
    write_submission(root / "submitted", "bob", AID,
                     reference_submission(AID, fit_standardizer=HIDDEN_ONLY_MISTAKE))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("DLTRAIN_HIDDEN_TESTS", None)
    outputs = {}
    for command in _readme_nbgrader_commands():
        done = subprocess.run(shlex.split(command), cwd=root, env=env, capture_output=True,
                              text=True, timeout=900)
        outputs[command] = done
    return root, outputs


def test_the_readme_shows_the_nbgrader_commands_and_each_works_as_written(course):
    root, outputs = course
    commands = _readme_nbgrader_commands()
    assert any(c.startswith("nbgrader generate_assignment") for c in commands)
    assert any(c.startswith("nbgrader autograde") for c in commands)
    assert any(c.startswith("nbgrader generate_feedback") for c in commands)
    for command, done in outputs.items():
        assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
        assert "Unrecognized alias" not in done.stderr, command


def test_nbgrader_releases_without_feedback_only_cells_or_hidden_tests(course):
    root, _ = course
    text = (root / "notebooks" / AID / f"{AID}.ipynb").read_text()
    assert "hidden_test" not in text and "feedback-only" not in text


def _scores(root) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return {s: {g.name: g.score for g in gb.find_submission(AID, s).notebooks[0].grades}
                for s in ("ada", "bob")}


def test_nbgrader_autograde_judges_hidden_tests_as_the_grader_does(course, tmp_path):
    root, _ = course
    native = _scores(root)
    results = grade_batch(root / "submitted", tmp_path / "out", jobs=2, progress=False)
    ours = {r.student: {e.grade_id: e.points for e in r.exercises} for r in results}
    assert native == ours
    assert native["ada"]["test_fit_standardizer"] == 2
    assert native["bob"]["test_fit_standardizer"] == 0, "the hidden tests were judged"


def test_nbgrader_feedback_shows_no_hidden_test_source(course):
    root, _ = course
    secrets, public = set(), set()
    for cell in read_notebook(root / "solutions" / AID / f"{AID}.ipynb").cells:
        hidden = hidden_region(cell.source) if is_test_cell(cell) else ""
        secrets |= {line.strip() for line in hidden.splitlines() if len(line.strip()) > 25}
        public |= {line.strip() for line in without_hidden_region(cell.source).splitlines()}
    secrets -= public
    assert secrets
    for page in (root / "feedback").rglob("*.html"):
        text = re.sub(r"<[^>]+>", "", page.read_text())
        assert "BEGIN HIDDEN TESTS" not in text
        assert not [s for s in secrets if s in text], page


def test_hidden_tests_fail_loudly_where_no_solutions_are_at_hand(tmp_path):
    """A kernel outside the instructor repository cannot judge: the test fails, never passes."""
    code = (f"import os; os.chdir({str(tmp_path)!r})\n"
            "from dltrain.grading import hidden_test\n"
            "try:\n"
            "    hidden_test(abs, lambda rng: [(1.0,)], seed=1)\n"
            "except AssertionError as exc:\n"
            "    print('FAILED LOUDLY:', exc)\n")
    env = dict(os.environ)
    env.pop("DLTRAIN_HIDDEN_TESTS", None)
    env.pop("DLTRAIN_COURSE_ROOT", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "FAILED LOUDLY" in done.stdout and "instructor's solutions" in done.stdout


def test_grade_writes_its_scores_into_an_nbgrader_gradebook(course, tmp_path):
    from nbgrader.api import Gradebook

    from grader.__main__ import main

    root, _ = course
    url = f"sqlite:///{tmp_path / 'formgrader.db'}"
    assert main(["grade", str(root / "submitted"), "--out", str(tmp_path / "out"),
                 "--gradebook", url, "--no-progress", "--jobs", "2"]) == 0
    with Gradebook(url) as gb:
        ada = gb.find_submission(AID, "ada")
        bob = gb.find_submission(AID, "bob")
        assert ada.score == ada.max_score == 9
        assert bob.notebooks[0].grades and bob.score < bob.max_score
