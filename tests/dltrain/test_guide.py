"""dltrain.guide: the notebook's map (exercises, what each cell needs) and, in a real kernel,
errors that say which exercise to solve, check failures without dltrain's frames, plain numbers."""

import json
import re
import subprocess
import sys

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from dltrain.guide import NotebookMap, exercise_labels, stub_message

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _answer(source, gid):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": gid,
                                 "locked": False, "schema_version": 3}
    return cell


def _test(source, gid):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"solution": False, "grade": True, "grade_id": gid,
                                 "locked": True, "points": 1, "schema_version": 3}
    return cell


def _stub(label, name):
    return f'    raise NotImplementedError("{stub_message(label, name)}")\n'


def _course_notebook(solved=()):
    """A small course notebook: two exercises, experiments that need them, a question."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    body = {"double": "    return 2 * x\n", "shift": "    return double(x) + 1\n"}
    setup = code("import dltrain.guide\nimport numpy as np\n"
                 "from dltrain.testing import check_close, passed\n")
    setup.metadata["tags"] = ["setup"]
    cells = [
        md("# A notebook"),                                                          # 1
        setup,                                                                       # 2
        md("### Exercise 1 — double"),                                              # 3
        _answer("def double(x):\n    '''Twice x.'''\n" +
                (body["double"] if "double" in solved else _stub("Exercise 1", "double")),
                "double"),                                                           # 4
        _test("check_close(double(np.float64(2.0)), 4.0, 'double(2)')\npassed('double')",
              "test_double"),                                                        # 5
        md("### Exercise 2 — shift"),                                               # 6
        _answer("def shift(x):\n    '''Twice x, plus one.'''\n" +
                (body["shift"] if "shift" in solved else _stub("Exercise 2", "shift")),
                "shift"),                                                            # 7
        _test("check_close(shift(1.0), 3.0, 'shift(1)')\npassed('shift')", "test_shift"),  # 8
        md("## 3. Experiment: doubling"),                                            # 9
        code("table = [shift(v) for v in range(3)]\nprint(table)"),                  # 10
        code("def show(k):\n    return table[k] + double(k)\n\nprint(show(1))"),     # 11
        md("### Question 1"),                                                        # 12
        _answer(f'raise NotImplementedError("{stub_message("Question 1", "q_two", True)}")',
                "q_two"),                                                            # 13
        code("x = np.float64(0.25)\nprint((x, np.int64(3)), x)"),                    # 14
        code("check_close(np.array([1.0, 2.0]), np.array([1.0, 3.0]), 'v')"),        # 15
        code("from dltrain._guide import explained_errors\n"
             "with explained_errors():\n    show(0)\nprint('went on')"),             # 16
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


# --------------------------------------------------------------------------- the map


def test_map_numbers_cells_as_jupyterlab_and_labels_exercises():
    nb = NotebookMap(_course_notebook().cells)
    answers = nb.answers()
    assert [(c.number, c.label, c.name) for c in answers] == [
        (4, "Exercise 1", "double"), (7, "Exercise 2", "shift"), (13, "Question 1", "q_two")]
    assert nb.answer_cell("shift").title == "Exercise 2 (shift)"
    assert nb.test_cell_of(answers[0]).number == 5
    assert nb.exercise_tested_by(nb.cells[7]) is answers[1]
    assert exercise_labels(_course_notebook().cells) == {
        "double": "Exercise 1", "shift": "Exercise 2", "q_two": "Question 1"}


def test_map_follows_what_a_cell_reads_through_other_cells():
    nb = NotebookMap(_course_notebook(solved=("double", "shift")).cells)
    show = nb.cells[10]
    # show reads `table` (cell 10, which needs shift, which needs double) and calls double
    assert [c.number for c in nb.prerequisites(show)] == [4, 7, 10]
    assert [c.name for c in nb.needs(show)] == ["double", "shift"]
    assert nb.definer("table", 11).number == 10
    assert nb.definer("table", 5, strict=True) is None


def test_names_local_to_functions_and_comprehensions_are_not_dependencies():
    nb = NotebookMap([
        nbformat.v4.new_code_cell("steps = 3"),
        nbformat.v4.new_code_cell("def f(steps, *args, scale=steps, **kw):\n"
                                  "    inner = [steps * k for k in range(scale)]\n"
                                  "    return inner, args, kw\n"
                                  "squares = {k: k * k for k in range(4)}\n%timeit f(1)"),
    ])
    cell = nb.cells[1]
    assert "steps" in cell.uses            # the default value is read where f is defined
    assert not {"k", "inner", "args", "kw"} & cell.uses
    assert {"f", "squares"} <= cell.defines
    assert [c.number for c in nb.prerequisites(cell)] == [1]


def test_exercise_lists_read_as_a_person_writes_them():
    from dltrain._guide import _enumerate

    nb = NotebookMap([nbformat.v4.new_markdown_cell(f"### Exercise {k}") if i % 2 == 0 else
                      _answer(f"def f{k}():\n    pass", f"f{k}")
                      for k in range(1, 6) for i in range(2)])
    answers = {c.name: c for c in nb.answers()}
    assert _enumerate([answers["f2"]]) == "Exercise 2"
    assert _enumerate([answers["f1"], answers["f2"], answers["f3"]]) == "Exercises 1–3"
    assert _enumerate([answers["f1"], answers["f2"], answers["f5"]]) == "Exercises 1, 2 and 5"


def test_stub_message_names_the_exercise_and_says_what_to_do():
    assert stub_message("Exercise 3", "standardize_splits") == \
        "Exercise 3 (standardize_splits): replace this line with your code"
    assert stub_message(None, "f") == "f: replace this line with your code"
    assert "q_steps = <your answer>" in stub_message("Question 2", "q_steps", question=True)


def test_importing_outside_ipython_changes_nothing():
    code = ("import numpy as np, dltrain.guide as g; "
            "print(g.install(), repr(np.float64(0.5)), np.get_printoptions()['legacy'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "np.float64(0.5)", "False"]


# --------------------------------------------------------------------------- in a kernel


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The course notebook, saved as <folder>/<folder>.ipynb (as in notebooks/) and run."""
    folder = tmp_path_factory.mktemp("nb") / "course"
    folder.mkdir()
    nb = _course_notebook()
    nbformat.write(nb, folder / "course.ipynb")
    replies = {}

    def keep(cell, cell_index, execute_reply):
        replies[cell_index + 1] = execute_reply["content"]

    client = NotebookClient(nb, timeout=60, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}},
                            on_cell_executed=keep)
    client.execute()
    return nb, replies


def _out(executed, number):
    nb, _ = executed
    parts = []
    for o in nb.cells[number - 1].outputs:
        parts += [o.get("text", ""), "\n".join(o.get("traceback", [])),
                  o.get("data", {}).get("text/plain", "")]
    return ANSI.sub("", "\n".join(parts))


def test_unsolved_exercise_is_named_with_what_to_do(executed):
    out = _out(executed, 5)
    assert "NotImplementedError: Exercise 1 (double) is not solved yet." in out
    assert "In cell 4, replace the line `raise NotImplementedError(...)` with your code" in out
    assert "Traceback" not in out
    # the grader still reads "not answered" from the exception's type
    assert executed[1][5]["ename"] == "NotImplementedError"


def test_an_experiment_says_which_exercises_to_solve_first(executed):
    out = _out(executed, 10)
    assert "this cell needs Exercise 2 (shift), which is not solved yet" in out
    # the stub of shift does not call double yet: Exercise 2 is all this cell needs
    assert "Solve Exercise 2 and run its cell first, then run this cell again." in out
    out = _out(executed, 11)
    assert "NameError: name 'table' is not defined" in out
    assert "`table` is made by cell 10, under “3. Experiment: doubling”" in out
    assert "Solve Exercises 1–2 and run their cells first, then run cell 10 and this cell " \
           "again." in out
    assert "Traceback" not in out


def test_a_question_stub_says_how_to_answer(executed):
    out = _out(executed, 13)
    assert "Question 1 (q_two) is not answered yet" in out and "`q_two = ...`" in out


def test_numbers_print_plainly(executed):
    assert _out(executed, 14).strip().splitlines()[0] == "(0.25, 3) 0.25"
    assert np.get_printoptions()["legacy"] is False  # only the kernel's printing changed


def test_a_failing_check_shows_the_callers_line_and_the_message(executed):
    out = _out(executed, 15)
    assert "CheckFailed" in out and "v is not what was expected" in out
    assert "check_close(np.array([1.0, 2.0])" in out
    assert "testing.py" not in out and "_fail" not in out and "skipping hidden" not in out


def test_callbacks_get_the_same_guidance_and_do_not_raise(executed):
    assert executed[1][16]["status"] == "ok"
    out = _out(executed, 16)
    assert "NameError: name 'table' is not defined" in out and "went on" in out


def test_solved_notebook_runs_clean(tmp_path):
    folder = tmp_path / "solved"
    folder.mkdir()
    nb = _course_notebook(solved=("double", "shift"))
    nb.cells = nb.cells[:11]
    nbformat.write(nb, folder / "solved.ipynb")
    NotebookClient(nb, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    assert "passed" in json.dumps(nb.cells[4].outputs) and "[1, 3, 5]" in \
        json.dumps(nb.cells[9].outputs)


def test_a_cell_edited_since_the_save_keeps_its_number():
    nb = NotebookMap(_course_notebook().cells)
    saved = nb.cells[9]
    found = nb.find(source="table = [double(v) for v in range(3)]", cell_id=saved.cell_id)
    assert (found.number, found.kind) == (10, "code")
    assert "double" in found.uses and "shift" not in found.uses
    assert nb.find(source=saved.source) is saved
    assert nb.find(source="print('a cell nobody saved')") is None
