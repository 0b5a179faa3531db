"""The instructor notebooks follow the course's anatomy, so the grader can rely on them."""

import ast
import json
import re

import pytest

from grader import SOLUTIONS_DIR, assignment_ids
from grader.notebooks import (
    grade_id,
    hidden_region,
    is_answer_cell,
    is_feedback_only,
    is_question_cell,
    is_setup_cell,
    is_test_cell,
    points,
    read_notebook,
)
from grader.reference import build_namespace

AIDS = assignment_ids()


def _nb(aid):
    return read_notebook(SOLUTIONS_DIR / aid / f"{aid}.ipynb")


@pytest.mark.parametrize("aid", AIDS)
def test_diff_friendly(aid):
    """No outputs, no execution counts, kernelspec python3, unique stable cell ids."""
    raw = json.loads((SOLUTIONS_DIR / aid / f"{aid}.ipynb").read_text())
    assert raw["metadata"]["kernelspec"]["name"] == "python3"
    ids = [c.get("id") for c in raw["cells"]]
    assert all(ids) and len(set(ids)) == len(ids), "cell ids must exist and be unique"
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, \
                f"cell {cell['id']} has outputs: run `python -m grader normalize`"


@pytest.mark.parametrize("aid", AIDS)
def test_anatomy(aid):
    nb = _nb(aid)
    cells = nb.cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# "), "title first"
    assert "minutes" in cells[0].source, "the title cell gives a time estimate"
    assert sum(is_setup_cell(c) for c in cells) == 1, "exactly one setup cell (tag 'setup')"
    setup = next(c for c in cells if is_setup_cell(c))
    assert setup.source.startswith("import dltrain.guide"), \
        "the setup cell imports dltrain.guide first (errors that name the exercise to solve)"
    tests = [c for c in cells if is_test_cell(c)]
    answers = [c for c in cells if is_answer_cell(c)]
    assert len(tests) >= 3, "at least three graded exercises"
    gids = [grade_id(c) for c in cells if grade_id(c)]
    assert len(gids) == len(set(gids)), "grade ids are unique"
    for cell in answers:
        tree = ast.parse(cell.source)
        if is_question_cell(cell):
            assigned = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign)
                        for t in n.targets if isinstance(t, ast.Name)}
            assert grade_id(cell) in assigned, \
                f"question cell {grade_id(cell)} assigns the variable {grade_id(cell)}"
            continue
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        assert functions, f"answer cell {grade_id(cell)} defines a function"
        for fn in functions:
            doc = ast.get_docstring(fn) or ""
            assert "Parameters" in doc and "Returns" in doc, \
                f"{fn.name}: numpydoc docstring with Parameters and Returns"
    for cell in tests:
        assert points(cell) > 0, f"{grade_id(cell)} has points"
        assert cell.source.lstrip().startswith('"""'), \
            f"{grade_id(cell)} starts with a docstring sentence saying what it tests"
        region = hidden_region(cell.source)
        assert "hidden_test(" in region or "hidden_answer(" in region, \
            f"{grade_id(cell)} has hidden tests (hidden_test or hidden_answer between the markers)"
    last = [c for c in cells if not is_feedback_only(c)][-1]
    assert last.cell_type == "markdown" and "Summary" in last.source, "summary last"
    for cell in cells:
        if is_feedback_only(cell):
            assert cell.cell_type == "markdown", "feedback-only cells are markdown"


@pytest.mark.parametrize("aid", AIDS)
def test_one_widget_and_experiments_tagged(aid):
    cells = _nb(aid).cells
    widget_cells = [c for c in cells if "interactive_plot(" in c.source]
    assert len(widget_cells) >= 1, "one interactive widget per notebook"
    for cell in cells:
        if cell.cell_type == "code" and not (is_answer_cell(cell) or is_test_cell(cell)
                                             or is_setup_cell(cell)):
            assert "experiment" in cell.metadata.get("tags", []), (
                f"code cell {cell.get('id')} is neither setup, answer nor test: tag it "
                "'experiment' so grading can skip it")


@pytest.mark.parametrize("aid", AIDS)
def test_reference_builds_and_hidden_tests_are_self_contained(aid):
    """Hidden regions run in the reference namespace alone (setup + answers), as in grading."""
    import dltrain.grading as protocol

    nb = _nb(aid)
    namespace = build_namespace(nb)
    calls = []

    class Recorder:
        def hidden_test(self, functions, cases, **kw):
            fns = protocol.as_function_tuple(functions)
            cases_list = protocol.make_cases(cases, kw["seed"])
            assert cases_list, "a hidden test needs cases"
            for case in cases_list:
                protocol.call_case(kw.get("run"), fns, case)   # the reference must run
            calls.append(kw["seed"])

        def hidden_answer(self, answer, variable, **kw):
            protocol.encode(answer)   # the reference answer must be sendable
            calls.append(variable)

    for cell in nb.cells:
        if is_test_cell(cell):
            scope = dict(namespace)
            previous, protocol._SESSION = protocol._SESSION, Recorder()
            try:
                exec(compile(hidden_region(cell.source), f"<{grade_id(cell)}>", "exec"), scope)
            finally:
                protocol._SESSION = previous
    assert len(calls) == len(set(calls)), "every hidden test uses its own seed"


@pytest.mark.parametrize("aid", AIDS)
def test_readme_course_map_lists_the_notebook(aid):
    readme = (SOLUTIONS_DIR.parent / "README.md").read_text()
    assert f"| [{aid}](notebooks/{aid}/{aid}.ipynb) |" in readme


@pytest.mark.parametrize("aid", AIDS)
def test_every_exercise_and_question_states_its_points(aid):
    """Each graded test cell's points appear as "(N points)" in the heading of its exercise or
    question (the nearest one above it), and nowhere disagree with the nbgrader metadata."""
    nb = _nb(aid)
    stated, heading = {}, None
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if re.match(r"#+ (Exercise|Question) \d+", line):
                    heading = line
                    stated[heading] = 0.0
        if is_test_cell(cell) and points(cell):
            assert heading is not None, f"cell {k} has points but no exercise heading above it"
            stated[heading] += points(cell)
    assert stated
    for line, total in stated.items():
        found = re.search(r"\((\d+(?:\.\d+)?) points?\)", line)
        if total:
            assert found and float(found.group(1)) == total, f"{line!r}: {total:g} points"
