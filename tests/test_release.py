"""notebooks/ is exactly what `python -m grader release` makes of solutions/, and leaks nothing."""

import ast
from pathlib import Path

import pytest

from grader import RELEASE_DIR, REPO_ROOT, SOLUTIONS_DIR, assignment_ids
from grader.notebooks import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    hidden_region,
    is_answer_cell,
    is_feedback_only,
    is_test_cell,
    read_notebook,
    solution_region,
    split_regions,
    without_hidden_region,
)
from grader.release import release

AIDS = assignment_ids()
DLTRAIN = REPO_ROOT / "helpers" / "dltrain"


def test_course_has_assignments():
    assert "00_inputs" in AIDS


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    dest = tmp_path_factory.mktemp("release")
    release(AIDS, dest=dest)
    return dest


@pytest.mark.parametrize("aid", AIDS)
def test_release_is_in_sync(aid, fresh_release):
    """Regenerating the release gives byte-identical files: nobody edited notebooks/ by hand."""
    ours = sorted(p.relative_to(RELEASE_DIR / aid) for p in (RELEASE_DIR / aid).rglob("*")
                  if p.is_file())
    fresh = sorted(p.relative_to(fresh_release / aid) for p in (fresh_release / aid).rglob("*")
                   if p.is_file())
    assert ours == fresh, "notebooks/ holds different files: run `python -m grader release`"
    for rel in fresh:
        assert (RELEASE_DIR / aid / rel).read_bytes() == (fresh_release / aid / rel).read_bytes(), (
            f"notebooks/{aid}/{rel} is out of date: run `python -m grader release` and commit")


def test_release_is_deterministic(tmp_path, fresh_release):
    release(AIDS[:1], dest=tmp_path)
    aid = AIDS[0]
    assert (tmp_path / aid / f"{aid}.ipynb").read_bytes() == \
        (fresh_release / aid / f"{aid}.ipynb").read_bytes()


def test_no_stray_release_folders():
    assert sorted(p.name for p in RELEASE_DIR.iterdir() if p.is_dir()) == AIDS


def _long_lines(text: str, minimum: int = 20) -> set[str]:
    return {line.strip() for line in text.splitlines() if len(line.strip()) >= minimum
            and not line.strip().startswith("#")}


def _solution_regions(source: str) -> str:
    return solution_region(source)


@pytest.mark.parametrize("aid", AIDS)
def test_release_has_no_solutions_or_hidden_tests(aid):
    released = (RELEASE_DIR / aid / f"{aid}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "hidden_test",
                   "hidden_answer", "feedback-only"):
        assert marker not in released, f"{marker!r} leaked into notebooks/{aid}"
    source = read_notebook(SOLUTIONS_DIR / aid / f"{aid}.ipynb")
    released_lines = _long_lines("\n".join(c.source for c in read_notebook(
        RELEASE_DIR / aid / f"{aid}.ipynb").cells))
    public = _long_lines("\n".join(without_hidden_region(c.source) if is_test_cell(c) else
                                   split_regions(c.source, BEGIN_SOLUTION, END_SOLUTION)[0]
                                   for c in source.cells if not is_feedback_only(c)))
    for cell in source.cells:
        secret = cell.source if is_feedback_only(cell) else \
            _solution_regions(cell.source) if is_answer_cell(cell) else \
            hidden_region(cell.source) if is_test_cell(cell) else ""
        leaked = (_long_lines(secret) - public) & released_lines
        assert not leaked, f"lines of a solution or hidden test appear in notebooks/{aid}: {leaked}"


def _exercise_functions(aid: str) -> set[str]:
    names = set()
    for cell in read_notebook(SOLUTIONS_DIR / aid / f"{aid}.ipynb").cells:
        if is_answer_cell(cell):
            tree = ast.parse(cell.source)
            names |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return names


def _dltrain_definitions() -> dict[str, Path]:
    found = {}
    for path in DLTRAIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                found[node.name] = path
    return found


@pytest.mark.parametrize("aid", AIDS)
def test_dltrain_contains_no_exercise_answer(aid):
    """dltrain never defines an exercise's function, nor holds a line of its solution."""
    definitions = _dltrain_definitions()
    clash = {name: str(definitions[name]) for name in _exercise_functions(aid)
             if name in definitions}
    assert not clash, f"dltrain defines exercise functions of {aid}: {clash}"
    dltrain_lines = set()
    for path in DLTRAIN.rglob("*.py"):
        dltrain_lines |= _long_lines(path.read_text(), minimum=30)
    for cell in read_notebook(SOLUTIONS_DIR / aid / f"{aid}.ipynb").cells:
        if is_answer_cell(cell):
            copied = _long_lines(_solution_regions(cell.source), minimum=30) & dltrain_lines
            assert not copied, f"dltrain contains solution lines of {aid}: {copied}"


@pytest.mark.parametrize("aid", AIDS)
def test_released_notebook_is_clean(aid):
    nb = read_notebook(RELEASE_DIR / aid / f"{aid}.ipynb")
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_student_package_never_imports_the_grader():
    """dltrain is shipped to students; the grader (with the references) must not be."""
    for path in DLTRAIN.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n == "grader" or n.startswith("grader.") for n in names), path
