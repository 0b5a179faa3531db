"""dltrain-validate: runs a notebook as saved and tells the truth in its exit status; cells are
numbered as JupyterLab numbers them; `python -m grader validate` is the same validator."""

import io
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dltrain.validate import UnreadableNotebook, main, read_notebook, validate


def _test_cell(source, gid):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"solution": False, "grade": True, "grade_id": gid,
                                 "locked": True, "points": 1, "schema_version": 3}
    return cell


def _write(folder: Path, cells) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{folder.name}.ipynb"
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def _report(path, **kw):
    stream = io.StringIO()
    return validate(path, stream=stream, **kw), stream.getvalue()


def test_all_tests_pass(tmp_path):
    path = _write(tmp_path / "ok", [nbformat.v4.new_markdown_cell("# ok"),
                                    nbformat.v4.new_code_cell("x = 2"),
                                    _test_cell("assert x == 2", "test_x")])
    code, out = _report(path)
    assert code == 0 and "\u2714 test_x" in out
    assert f"{path}: all 1 test cells passed. Ready to submit." in out


def test_failures_are_named_with_jupyterlabs_cell_numbers(tmp_path):
    path = _write(tmp_path / "bad", [
        nbformat.v4.new_markdown_cell("# bad"),                                   # cell 1
        nbformat.v4.new_code_cell("def f():\n    raise NotImplementedError('f: replace')"),
        _test_cell("f()", "test_f"),                                              # cell 3
        _test_cell("assert 1 == 2, 'one is not two'", "test_one"),               # cell 4
        nbformat.v4.new_code_cell("undefined_name"),                              # cell 5
        _test_cell("pass", "test_ok"),                                            # cell 6
    ])
    code, out = _report(path)
    assert code == 1
    assert "\u2718 test_f (cell 3): NotImplementedError: f: replace" in out
    assert "\u2718 test_one (cell 4): AssertionError: one is not two" in out
    assert "warning: cell 5 raised NameError: name 'undefined_name' is not defined" in out
    assert "\u2714 test_ok" in out
    assert "2 of 3 test cell(s) failed (1 of them not answered yet: NotImplementedError)." in out


def test_a_cell_that_runs_too_long_stops_the_run(tmp_path):
    path = _write(tmp_path / "slow", [nbformat.v4.new_code_cell("import time; time.sleep(30)"),
                                      _test_cell("pass", "test_after")])
    code, out = _report(path, cell_timeout=2)
    assert code == 1
    assert "Stopped early: cell 1 ran longer than 2 s" in out
    assert "\u2718 test_after (cell 2): " in out


@pytest.mark.parametrize("content,reason", [
    ("", "the notebook file is empty"),
    ("{broken", "not valid JSON"),
    ('{"a": 1}', "not a Jupyter notebook"),
    ('{"cells": [], "nbformat": 3}', "unsupported notebook format 3"),
])
def test_unreadable_notebooks_exit_2(tmp_path, content, reason):
    path = tmp_path / "x.ipynb"
    path.write_text(content)
    with pytest.raises(UnreadableNotebook, match=reason):
        read_notebook(path)
    code, out = _report(path)
    assert code == 2 and "cannot validate" in out and reason in out


def test_no_test_cells(tmp_path):
    path = _write(tmp_path / "plain", [nbformat.v4.new_code_cell("1 + 1")])
    code, out = _report(path)
    assert code == 1 and "no test cells found" in out


def test_edited_test_cells_are_noted_against_the_original(tmp_path):
    original = _write(tmp_path / "released" / "nb", [_test_cell("assert True", "test_a")])
    edited = _write(tmp_path / "mine" / "nb", [_test_cell("pass  # mine", "test_a")])
    code, out = _report(edited, original=original)
    assert code == 0 and "the test cell 'test_a' was edited; grading uses the original" in out


def test_command_line_from_any_folder_and_with_a_folder(tmp_path, capsys):
    path = _write(tmp_path / "course" / "nb", [_test_cell("assert 1", "test_1")])
    assert main([str(path.parent)]) == 0
    assert "Ready to submit" in capsys.readouterr().out
    # the installed entry point and `python -m dltrain.validate`, run from elsewhere
    script = Path(sys.executable).parent / "dltrain-validate"
    assert script.is_file(), "dltrain-validate is not installed next to this Python"
    for command in ([str(script), str(path)], [sys.executable, "-m", "dltrain.validate",
                                                 str(path)]):
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Ready to submit" in done.stdout and "Traceback" not in done.stderr


def test_grader_validate_is_the_same_validator(tmp_path, capsys):
    from grader.__main__ import main as grader_main

    path = _write(tmp_path / "g" / "g", [_test_cell("assert 0, 'no'", "test_no")])
    code, out = _report(path)
    assert grader_main(["validate", str(path)]) == code == 1
    assert capsys.readouterr().out == out
