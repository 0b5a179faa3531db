"""Hostile submissions: each one tries to crash, stall, fool or escape the grader.

Every case is a variant of the reference submission of 00_inputs (or a broken file), graded in one
batch with short time limits; each test asserts the outcome the grader promises: the batch goes on,
faults stay with the submission that caused them, no test passes unless the numbers are right,
tampering is flagged, and nothing outside the submission's own folder is read, written or reached.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import html
import json
import os
import re
import shutil
import socket
import sys

import nbformat
import pytest

from grader import RELEASE_DIR, REPO_ROOT, SOLUTIONS_DIR, assignment_ids
from grader.batch import grade_batch
from grader.execute import Limits
from grader.grade import Options
from grader.model import GRADED, NOT_GRADED, PARTLY_GRADED
from grader.notebooks import grade_id, read_notebook, write_notebook
from grader.publish import csv_cell
from grader.samples import reference_submission
from grader.sandbox import resource_limits, sandbox_works

MEMORY_MB = 1536   # the kernel's cap in this batch: low enough to test, enough to run
AID = "00_inputs"
FIRST = "fit_standardizer"   # the first answer cell: a cell added after it runs before any hidden
SANDBOX = sandbox_works()
# Linux as root with apt-get: `make sandbox` installs bubblewrap, so a missing sandbox is a failure
# here, never a reason to skip the tests that need it.
SANDBOX_EXPECTED = bool(sys.platform.startswith("linux") and os.geteuid() == 0
                        and shutil.which("apt-get"))
needs_sandbox = pytest.mark.skipif(not SANDBOX and not SANDBOX_EXPECTED,
                                   reason="bubblewrap is not available here")
_PLAN = resource_limits(Limits())
if _PLAN.cleanup:
    _PLAN.cleanup()
HAS_MEMORY_CAP = any(item.startswith("address space") for item in _PLAN.applied)
HAS_PROCESS_CAP = _PLAN.caps_processes
COUNTS_TMPFS = _PLAN.counts_tmpfs

WRONG_FIT = '''
def fit_standardizer(X):
    X = np.asarray(X, dtype=float)
    std = X.var(axis=0)                      # the variance: wrong on purpose
    return X.mean(axis=0), np.where(std == 0, 1.0, std)
'''


# ------------------------------------------------------------------ building the submissions

def _cells_index(nb, gid):
    return next(i for i, c in enumerate(nb.cells) if grade_id(c) == gid)


def added(code: str, after: str = "test_standardize", base=None):
    nb = copy.deepcopy(base or reference_submission(AID))
    nb.cells.insert(_cells_index(nb, after) + 1, nbformat.v4.new_code_cell(code))
    return nb


def answer(gid: str, code: str, base=None):
    nb = copy.deepcopy(base or reference_submission(AID))
    nb.cells[_cells_index(nb, gid)].source = code
    return nb


def wrong_fit(extra: str = ""):
    return answer("fit_standardizer", extra + WRONG_FIT)


def edited_test(source: str):
    nb = wrong_fit()
    nb.cells[_cells_index(nb, "test_fit_standardizer")].source = source
    return nb


def deleted_test():
    nb = wrong_fit()
    del nb.cells[_cells_index(nb, "test_fit_standardizer")]
    return nb


def unlocked_test():
    nb = wrong_fit()
    cell = nb.cells[_cells_index(nb, "test_fit_standardizer")]
    cell.metadata["nbgrader"]["locked"] = False
    cell.metadata["editable"] = True
    cell.metadata["deletable"] = True
    cell.source = "passed('fit_standardizer')"
    return nb


def markdown_test():
    nb = wrong_fit()
    i = _cells_index(nb, "test_fit_standardizer")
    old = nb.cells[i]
    new = nbformat.v4.new_markdown_cell(old.source)
    new.metadata = old.metadata
    new["id"] = old.get("id")
    nb.cells[i] = new
    return nb


def duplicated_test():
    nb = reference_submission(AID)
    i = _cells_index(nb, "test_fit_standardizer")
    twin = copy.deepcopy(nb.cells[i])
    twin["id"] = "pasted-copy"
    nb.cells.insert(i + 1, twin)
    nb.cells.insert(len(nb.cells), copy.deepcopy(twin))
    nb.cells[-1]["id"] = "pasted-copy-2"
    return nb


def duplicated_answer():
    nb = reference_submission(AID)
    i = _cells_index(nb, "fit_standardizer")
    twin = copy.deepcopy(nb.cells[i])
    twin.source = WRONG_FIT
    twin["id"] = "second-answer"
    nb.cells.insert(i + 1, twin)
    return nb


def kernelspec(name: str, language: str):
    nb = reference_submission(AID)
    nb.metadata["kernelspec"] = {"name": name, "display_name": name, "language": language}
    nb.metadata["language_info"] = {"name": language}
    return nb


def _with_markdown(text: str):
    nb = reference_submission(AID)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(text))
    return nb


def _released_others():
    return [a for a in assignment_ids()
            if a != AID and (RELEASE_DIR / a / f"{a}.ipynb").is_file()]


def other_assignment():
    others = _released_others()
    if others:
        return read_notebook(RELEASE_DIR / others[0] / f"{others[0]}.ipynb")
    nb = reference_submission(AID)
    for cell in nb.cells:
        if grade_id(cell):
            cell.metadata["nbgrader"]["grade_id"] = "elsewhere_" + grade_id(cell)
    return nb


HIDDEN_PROBE = '''
import gc, linecache

def standardize(X, mean, std):
    gc.collect()
    needle = "hidden" + "_test("    # not literally here: this cell's own source is cached too
    history = [x for x in globals().get("In", []) if needle in x]
    cached = [k for k, v in linecache.cache.items()
              if any(needle in line for line in (v[2] if len(v) > 2 else []))]
    alive = [f for f in gc.get_objects()
             if callable(f) and "__grader_hidden_tests__" in getattr(f, "__qualname__", "")]
    raise ValueError(f"PROBE:leaks:{len(history)}-{len(cached)}-{len(alive)}")
'''

SENDS_HUGE_MESSAGE = '''
kernel = get_ipython().kernel
kernel.session.send(kernel.iopub_socket, "stream",
                    {"name": "stdout", "text": "x" * 180_000_000}, parent=kernel.get_parent())
'''

CRAFTED_RECORD = '''
import dltrain.grading as g
from IPython.display import publish_display_data

def crafted(functions, cases, **kw):
    value = {"t": "nd", "dtype": "<f8", "shape": [2**62, 4], "b64": ""}
    record = {"protocol": 1, "name": "x", "cases": [{"ok": True, "value": value}] * 3}
    publish_display_data({g.MIME_TYPE: record, "text/plain": "crafted"})

g.hidden_test = crafted
print("hidden_test replaced")
'''

FILLS = '''
import os
written = 0
try:
    for k in range({chunks}):
        with open(os.path.join({folder!r}, f"fill{{k}}.bin"), "wb") as handle:
            os.posix_fallocate(handle.fileno(), 0, 50_000_000)   # pages, without the writing
        written += 50
except OSError as exc:
    pass
print(f"PROBE:{name}:{{written}}")
'''

SECRET_PATHS = {
    "solutions": SOLUTIONS_DIR / AID / f"{AID}.ipynb",
    "grader": REPO_ROOT / "grader" / "catalogue" / f"{AID}.py",
}


def _reader(targets: dict) -> str:
    lines = ["for name, path in %r.items():" % {k: str(v) for k, v in targets.items()},
             "    try:",
             "        open(path).read(64)",
             "        print(f'PROBE:read-{name}:ok')",
             "    except Exception as exc:",
             "        print(f'PROBE:read-{name}:blocked')"]
    return "\n".join(lines)


def _writer(targets: dict) -> str:
    lines = ["for name, path in %r.items():" % {k: str(v) for k, v in targets.items()},
             "    try:",
             "        with open(path, 'a') as handle:",
             "            handle.write('HOSTILE-WRITE')",
             "        print(f'PROBE:write-{name}:ok')",
             "    except Exception as exc:",
             "        print(f'PROBE:write-{name}:blocked')"]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    subs, out = root / "submissions", root / "out"
    gradebook = root / "course" / "gradebook.db"
    gradebook.parent.mkdir()
    gradebook.write_text("the instructor's gradebook")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    port = server.getsockname()[1]
    victim = subs / "victim" / AID / f"{AID}.ipynb"

    cases = {
        "infinite_loop": added("while True:\n    pass"),
        "swallows_interrupt": added("import time\nwhile True:\n    try:\n        time.sleep(0.05)"
                                    "\n    except KeyboardInterrupt:\n        pass"),
        "ignores_sigint": added("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                "while True:\n    pass"),
        "os_exit": added("import os\nos._exit(3)"),
        "sys_exit": added("import sys\nsys.exit(0)"),
        "allocates_50GB": added("import numpy as np\nhuge = np.ones(50 * 10**9 // 8)",
                                after=FIRST),
        "prints_200k_lines": added("for i in range(200_000):\n    print(i)", after=FIRST),
        "100MB_image": added("from IPython.display import Image, display\n"
                             "display(Image(data=b'\\x89PNG\\r\\n\\x1a\\n' + bytes(100_000_000),"
                             " format='png'))", after=FIRST),
        "empties_later_cells": added("get_ipython().input_transformers_cleanup.append("
                                     "lambda lines: [])", after="test_fit_standardizer"),
        "empties_hidden_tests": added(
            "def _drop(lines):\n    return [] if any('hidden_test' in l for l in lines) "
            "else lines\nget_ipython().input_transformers_cleanup.append(_drop)",
            after="test_fit_standardizer"),
        "patches_showtraceback": wrong_fit("get_ipython().showtraceback = lambda *a, **k: None\n"
                                           "get_ipython()._showtraceback = lambda *a, **k: None"
                                           "\n"),
        "patches_allclose": wrong_fit("np.allclose = lambda *a, **k: True\n"
                                      "np.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)"
                                      "\n"),
        "patches_np_testing": wrong_fit("np.testing.assert_allclose = lambda *a, **k: None\n"
                                        "np.testing.assert_array_equal = lambda *a, **k: None\n"),
        "lying_eq": answer("fit_standardizer", '''
class Liar(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)
    def __array_finalize__(self, obj):
        pass

def fit_standardizer(X):
    d = np.shape(X)[1]
    return np.zeros(d).view(Liar), np.ones(d).view(Liar)
'''),
        "lying_object": answer("fit_standardizer", '''
class Anything:
    def __eq__(self, other):
        return True
    def __array__(self, dtype=None, copy=None):
        return np.zeros(1)

def fit_standardizer(X):
    return Anything(), Anything()
'''),
        "edited_test_cell": edited_test("passed('fit_standardizer')"),
        "deleted_test_cell": deleted_test(),
        "unlocked_test_cell": unlocked_test(),
        "markdown_test_cell": markdown_test(),
        "duplicated_test_cell": duplicated_test(),
        "duplicated_answer_cell": duplicated_answer(),
        "reads_secrets": added(_reader({**SECRET_PATHS, "gradebook": gradebook}), after=FIRST),
        "copies_reference": answer("fit_standardizer", f'''
import json

def fit_standardizer(X):
    source = json.load(open({str(SECRET_PATHS["solutions"])!r}))
    code = [c for c in source["cells"] if "def fit_standardizer" in "".join(c["source"])]
    scope = {{"np": np}}
    exec("".join(code[0]["source"]), scope)
    return scope["fit_standardizer"](X)
'''),
        "writes_elsewhere": added(_writer({"gradebook": gradebook, "victim": victim,
                                           "grades": out / "grades.csv",
                                           "solutions": SECRET_PATHS["solutions"]}), after=FIRST),
        "network": added(f"import socket\nfor host in ('127.0.0.1', 'pypi.org'):\n    try:\n"
                         f"        socket.create_connection((host, {port} if host[0] == '1' "
                         f"else 443), timeout=3)\n        print(f'PROBE:net-{{host}}:ok')\n"
                         f"    except OSError:\n        print(f'PROBE:net-{{host}}:blocked')",
                         after=FIRST),
        "warns_on_stderr": answer("fit_standardizer", '''
import sys, warnings

def fit_standardizer(X):
    warnings.warn("this is fine", RuntimeWarning)
    print("a note on stderr", file=sys.stderr)
    X = np.asarray(X, dtype=float)
    std = X.std(axis=0)
    return X.mean(axis=0), np.where(std == 0, 1.0, std)
'''),
        "forges_results": added('''
import dltrain.grading as g
from IPython.display import publish_display_data

def fake(functions, cases, **kw):
    record = {"protocol": 1, "name": "x",
              "cases": [{"ok": True, "value": {"t": "float", "v": 0.0}}] * 50}
    publish_display_data({g.MIME_TYPE: record, "text/plain": "ok"})

g.hidden_test = fake
publish_display_data({g.MIME_TYPE: {"protocol": 1, "cases": []}, "text/plain": "ok"})
''', after="test_fit_standardizer"),
        "many_processes": added('''
import os, time
children = 0
for _ in range(400):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(2)
        os._exit(0)
    children += 1
for _ in range(children):
    os.wait()
print(f"PROBE:forked:{children}")
''', after=FIRST),
        "uses_own_files": added("text = open('mydata.txt').read()\n"
                                "open('mydata.txt', 'a').write('changed by the kernel')\n"
                                "print(f'PROBE:own-file:{text.strip()}')", after=FIRST),
        "python2_kernelspec": kernelspec("python2", "python"),
        "r_kernelspec": kernelspec("ir", "R"),
        "other_assignment": other_assignment(),
        "steals_hidden_source": answer("standardize", HIDDEN_PROBE),
        "sends_huge_message": added(SENDS_HUGE_MESSAGE, after=FIRST),
        "crafted_record": added(CRAFTED_RECORD, after="test_fit_standardizer"),
        "fills_tmp": added(FILLS.format(chunks=40, folder="/tmp", name="tmp"), after=FIRST),
        "fills_workdir": added(FILLS.format(chunks=80, folder=".", name="work"), after=FIRST),
        "huge_markdown": _with_markdown("# notes\n" + "word " * 300_000),
        '=HYPERLINK("evil.example","x")': reference_submission(AID),
        "@SUM(1+1)": reference_submission(AID),
        "+cmd": reference_submission(AID),
    }
    for name, nb in cases.items():
        write_notebook(nb, subs / name / AID / f"{AID}.ipynb")
    write_notebook(reference_submission(AID), victim)
    own_file = subs / "uses_own_files" / AID / "mydata.txt"
    own_file.write_text("present")
    files = {"malformed_json": "{not json", "empty_file": ""}
    for name, text in files.items():
        path = subs / name / AID / f"{AID}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(text)
    renamed = subs / "renamed_notebook" / AID / "my copy.ipynb"
    write_notebook(reference_submission(AID), renamed)

    # Links, special files and sizes: what git or `cp -a` hands in.
    host_secret = root / "host-secret.txt"
    host_secret.write_text("HOST-SECRET-LINE")
    link_nb = subs / "link_notebook" / AID / f"{AID}.ipynb"
    link_nb.parent.mkdir(parents=True)
    link_nb.symlink_to(SECRET_PATHS["solutions"])
    (subs / "link_folder").mkdir()
    (subs / "link_folder" / AID).symlink_to(victim.parent, target_is_directory=True)
    linked_data = subs / "linked_data" / AID
    write_notebook(added("for name in ('secret.txt', 'zero.bin', 'pipe'):\n"
                         "    try:\n        print(f'PROBE:{name}:', open(name).read(20))\n"
                         "    except OSError:\n        print(f'PROBE:{name}:absent')",
                         after=FIRST), linked_data / f"{AID}.ipynb")
    (linked_data / "secret.txt").symlink_to(host_secret)
    (linked_data / "zero.bin").symlink_to("/dev/zero")
    os.mkfifo(linked_data / "pipe")
    fifo_nb = subs / "fifo_notebook" / AID
    fifo_nb.mkdir(parents=True)
    os.mkfifo(fifo_nb / f"{AID}.ipynb")
    big_nb = subs / "huge_notebook" / AID / f"{AID}.ipynb"
    big_nb.parent.mkdir(parents=True)
    big_nb.write_text('{"cells": [], "padding": "' + "x" * 21_000_000 + '"}')
    big_folder = subs / "big_folder" / AID
    write_notebook(reference_submission(AID), big_folder / f"{AID}.ipynb")
    (big_folder / "a_small.txt").write_text("kept")
    (big_folder / "b_large.bin").write_bytes(bytes(60_000_000))

    victim_digest = hashlib.sha256(victim.read_bytes()).hexdigest()
    options = Options(limits=Limits(cell_timeout=8, interrupt_grace=3, notebook_timeout=120,
                                    memory_mb=MEMORY_MB))
    results = grade_batch(subs, out, jobs=2, assignment=AID, options=options, progress=False)
    connections = 0
    try:
        while True:
            server.accept()[0].close()
            connections += 1
    except BlockingIOError:
        pass
    server.close()
    return {"results": {r.student: r for r in results}, "out": out, "gradebook": gradebook,
            "own_file": own_file, "host_secret": host_secret, "subs": subs,
            "victim": victim, "victim_digest": victim_digest, "connections": connections}


def _result(hostile, name):
    return hostile["results"][name]


def _points(result):
    return {e.grade_id: e.points for e in result.exercises}


def _full(result):
    return result.total == result.max_points > 0


def _feedback(hostile, result):
    page = (hostile["out"] / result.feedback).read_text()
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _probes(hostile, name):
    return dict(re.findall(r"PROBE:([\w.-]+):(\w+)", _feedback(hostile, _result(hostile, name))))


EARLY = ("test_fit_standardizer", "test_standardize")
LATE = ("test_standardize_splits", "test_linear_regression_hessian", "test_gd_stability")


# ------------------------------------------------------------------ the promises

def test_every_submission_has_a_row(hostile):
    rows = list(csv.DictReader((hostile["out"] / "grades.csv").open()))
    assert {r["student"] for r in rows} == {csv_cell(name) for name in hostile["results"]}


def test_infinite_loop_is_interrupted_and_grading_goes_on(hostile):
    result = _result(hostile, "infinite_loop")
    assert result.status == GRADED and _full(result)
    assert any("interrupted" in note for note in result.notes)


@pytest.mark.parametrize("name", ["swallows_interrupt", "ignores_sigint", "os_exit"])
def test_a_dead_or_stuck_kernel_keeps_earlier_scores(hostile, name):
    result = _result(hostile, name)
    assert result.status == PARTLY_GRADED
    points = _points(result)
    assert all(points[g] > 0 for g in EARLY), "tests before the fault keep their points"
    assert all(points[g] == 0 for g in LATE)
    late = [e for e in result.exercises if e.grade_id in LATE]
    assert all(e.status == "kernel died" for e in late)
    assert all(any("kernel" in m for m in e.messages) for e in late)
    assert "kernel" in _feedback(hostile, result)


def test_sys_exit_does_not_stop_grading(hostile):
    assert _full(_result(hostile, "sys_exit"))


@pytest.mark.skipif(not HAS_MEMORY_CAP, reason="no memory cap on this machine (prlimit)")
def test_allocating_50GB_fails_inside_the_kernel_only(hostile):
    result = _result(hostile, "allocates_50GB")
    assert result.status == GRADED and _full(result)
    assert "MemoryError" in _feedback(hostile, result)


@pytest.mark.parametrize("name", ["prints_200k_lines", "100MB_image"])
def test_output_floods_are_capped(hostile, name):
    result = _result(hostile, name)
    assert result.status == GRADED and _full(result)
    assert (hostile["out"] / result.feedback).stat().st_size < 3_000_000
    page = _feedback(hostile, result)
    assert "dropped further output" in page or "dropped an output message" in page


@pytest.mark.parametrize("name", ["empties_later_cells", "empties_hidden_tests"])
def test_tests_that_did_not_run_their_checks_score_nothing(hostile, name):
    result = _result(hostile, name)
    points = _points(result)
    assert points["test_fit_standardizer"] == 2, "the test before the transformer counts"
    assert all(points[g] == 0 for g in ("test_standardize",) + LATE)
    assert any("did not report" in flag for flag in result.flags), result.flags


@pytest.mark.parametrize("name", ["patches_showtraceback", "patches_allclose",
                                  "patches_np_testing", "lying_eq", "lying_object"])
def test_patched_checks_and_lying_objects_do_not_pass(hostile, name):
    result = _result(hostile, name)
    assert _points(result)["test_fit_standardizer"] == 0
    assert result.total < result.max_points


@pytest.mark.parametrize("name", ["patches_showtraceback", "patches_allclose"])
def test_patching_is_flagged(hostile, name):
    assert _result(hostile, name).flags


@pytest.mark.parametrize("name", ["edited_test_cell", "deleted_test_cell", "unlocked_test_cell",
                                  "markdown_test_cell"])
def test_test_cells_are_restored_from_the_source(hostile, name):
    result = _result(hostile, name)
    assert result.status == GRADED
    assert _points(result)["test_fit_standardizer"] == 0, "the wrong answer is still caught"
    assert _points(result)["test_standardize"] == 1


def test_restoration_is_explained(hostile):
    assert any("restored" in n for n in _result(hostile, "deleted_test_cell").notes)
    assert any("turned into" in n for n in _result(hostile, "markdown_test_cell").notes)


def test_a_pasted_test_cell_counts_once(hostile):
    result = _result(hostile, "duplicated_test_cell")
    assert _full(result) and result.total == result.max_points
    assert any("copy of the test cell" in n for n in result.notes)


def test_a_duplicated_answer_runs_in_order(hostile):
    result = _result(hostile, "duplicated_answer_cell")
    assert result.status == GRADED
    assert _points(result)["test_fit_standardizer"] == 0, "the later (wrong) copy is graded"
    assert any("more than once" in n for n in result.notes)


@needs_sandbox
def test_secrets_are_out_of_reach(hostile):
    probes = _probes(hostile, "reads_secrets")
    assert probes == {"read-solutions": "blocked", "read-grader": "blocked",
                      "read-gradebook": "blocked"}, probes
    assert _points(_result(hostile, "copies_reference"))["test_fit_standardizer"] == 0


@needs_sandbox
def test_nothing_outside_the_working_copy_is_written(hostile):
    probes = _probes(hostile, "writes_elsewhere")
    assert set(probes.values()) == {"blocked"}, probes
    assert hostile["gradebook"].read_text() == "the instructor's gradebook"
    victim = hostile["victim"]
    assert hashlib.sha256(victim.read_bytes()).hexdigest() == hostile["victim_digest"]
    assert _full(hostile["results"]["victim"])
    assert "HOSTILE-WRITE" not in (hostile["out"] / "grades.csv").read_text()


@needs_sandbox
def test_no_network(hostile):
    probes = _probes(hostile, "network")
    assert probes == {"net-127.0.0.1": "blocked", "net-pypi.org": "blocked"}, probes
    assert hostile["connections"] == 0


def test_the_working_copy_holds_the_students_files_and_protects_them(hostile):
    assert _probes(hostile, "uses_own_files") == {"own-file": "present"}
    assert _full(_result(hostile, "uses_own_files"))
    assert hostile["own_file"].read_text() == "present", "the submitted file was not modified"


def test_a_correct_answer_that_warns_keeps_its_points(hostile):
    result = _result(hostile, "warns_on_stderr")
    assert result.status == GRADED and _full(result)


def test_forged_results_do_not_score(hostile):
    result = _result(hostile, "forges_results")
    points = _points(result)
    assert points["test_fit_standardizer"] == 2
    assert all(points[g] == 0 for g in ("test_standardize",) + LATE)
    assert result.flags


@pytest.mark.skipif(not HAS_PROCESS_CAP, reason="no process cap on this machine")
def test_process_cap(hostile):
    result = _result(hostile, "many_processes")
    forked = int(_probes(hostile, "many_processes")["forked"])
    assert forked < Limits().processes, "the cap stopped the forks"
    # The kernel survives its own fork storm (it may lack threads for a while: its problem).
    assert result.status == GRADED
    assert _points(result)["test_fit_standardizer"] == 2


@pytest.mark.parametrize("name,reason", [("malformed_json", "not valid JSON"),
                                         ("empty_file", "empty"),
                                         ("renamed_notebook", "renamed"),
                                         ("r_kernelspec", "not Python")])
def test_ungradable_files_are_reported_with_their_reason(hostile, name, reason):
    result = _result(hostile, name)
    assert result.status == NOT_GRADED
    assert reason in result.reason
    assert result.total == 0
    assert reason in _feedback(hostile, result)


def test_another_assignments_notebook_is_recognised(hostile):
    result = _result(hostile, "other_assignment")
    assert result.status == NOT_GRADED
    others = _released_others()
    assert (others[0] in result.reason) if others else ("belong to" in result.reason)


def test_a_python_kernel_under_another_name_is_graded(hostile):
    result = _result(hostile, "python2_kernelspec")
    assert _full(result)
    assert any("python2" in n for n in result.notes)


def test_gradebook_json_holds_every_result(hostile):
    data = json.loads((hostile["out"] / "gradebook.json").read_text())
    assert len(data["results"]) == len(hostile["results"])
    assert data["meta"]["sandbox"] == SANDBOX


def test_report_lists_flags_and_failures(hostile):
    report = html.unescape((hostile["out"] / "report.html").read_text())
    assert "Flagged for review" in report
    for name in ("malformed_json", "empty_file"):
        assert name in report


# ------------------------------------------------------------------ links, sizes, messages, leaks

def test_the_sandbox_runs_where_it_can():
    """Where `make sandbox` can install bubblewrap, the suite never runs without it."""
    if SANDBOX_EXPECTED:
        assert SANDBOX, "bubblewrap should run here (make sandbox installs it) but does not"


@pytest.mark.parametrize("name", ["link_notebook", "link_folder", "fifo_notebook",
                                  "huge_notebook"])
def test_a_notebook_that_is_a_link_or_not_a_regular_file_is_refused(hostile, name):
    result = _result(hostile, name)
    assert result.status == NOT_GRADED and result.total == 0
    assert any(word in result.reason for word in ("symbolic link", "not a regular file", "MB"))
    page = _feedback(hostile, result)
    assert "BEGIN SOLUTION" not in page and "np.where(std == 0" not in page


def test_links_and_special_files_in_a_folder_are_not_followed(hostile):
    result = _result(hostile, "linked_data")
    assert result.status == GRADED and _full(result)
    assert _probes(hostile, "linked_data") == {"secret.txt": "absent", "zero.bin": "absent",
                                               "pipe": "absent"}
    page = _feedback(hostile, result)
    assert "HOST-SECRET-LINE" not in page
    assert "secret.txt (a symbolic link)" in page and "pipe (not a regular file)" in page


def test_a_large_folder_is_copied_up_to_its_cap(hostile):
    result = _result(hostile, "big_folder")
    assert _full(result)
    assert any("b_large.bin" in note and "exceed" in note for note in result.notes), result.notes


def test_hidden_tests_leave_no_trace_in_the_kernel(hostile):
    """No history, no line cache, no live function of a hidden region after it ran."""
    result = _result(hostile, "steals_hidden_source")
    assert "PROBE:leaks:0-0-0" in _feedback(hostile, result)


def test_output_of_student_cells_after_hidden_tests_is_withheld(hostile):
    result = _result(hostile, "crafted_record")
    assert "output not shown: this cell ran after hidden tests" in _feedback(hostile, result)


def test_an_oversized_kernel_message_costs_nobody_else(hostile):
    result = _result(hostile, "sends_huge_message")
    # Sending 180 MB may take the culprit's kernel past this batch's 8 s cell limit: its own loss.
    assert result.status in (GRADED, PARTLY_GRADED), result.reason
    innocents = [r for name, r in hostile["results"].items()
                 if name in ("victim", "sys_exit", "warns_on_stderr", "python2_kernelspec")]
    assert len(innocents) == 4 and all(_full(r) for r in innocents)
    assert not any("worker process" in r.reason for r in hostile["results"].values())


def test_a_crafted_record_fails_its_test_only(hostile):
    result = _result(hostile, "crafted_record")
    assert result.status == GRADED, result.reason
    assert _points(result)["test_fit_standardizer"] == 2
    assert _points(result)["test_standardize"] == 0
    assert any("invalid hidden-test results" in f or "did not report" in f
               for f in result.flags), result.flags


@needs_sandbox
def test_writes_to_tmp_are_capped(hostile):
    written = int(_probes(hostile, "fills_tmp")["tmp"])
    assert written <= Limits().tmp_mb, f"{written} MB reached the sandbox's /tmp"


@pytest.mark.skipif(not COUNTS_TMPFS, reason="no memory control group can be made here")
def test_writes_to_the_working_folder_count_against_the_memory_cap(hostile):
    result = _result(hostile, "fills_workdir")
    probes = _probes(hostile, "fills_workdir")
    if "work" in probes:   # the writes failed before the cap killed the kernel
        assert int(probes["work"]) < MEMORY_MB
    else:                  # the memory cap killed the kernel: the rest is not graded
        assert result.status == PARTLY_GRADED and "kernel" in result.reason
    assert not list(hostile["subs"].rglob("fill*.bin")), "the submitted folder is untouched"


def test_an_enormous_markdown_cell_is_shown_as_text(hostile):
    result = _result(hostile, "huge_markdown")
    assert _full(result)
    assert "characters of this cell are not shown" in _feedback(hostile, result)


def test_csv_cells_cannot_be_spreadsheet_formulas(hostile):
    rows = list(csv.reader((hostile["out"] / "grades.csv").read_text().splitlines()))
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
    students = {row[0] for row in rows[1:]}
    assert '\'=HYPERLINK("evil.example","x")' in students
    assert "'@SUM(1+1)" in students and "'+cmd" in students


# ------------------------------------------------------------------ forged summaries

ZERO_INITIALIZERS = '''
def {name}(fan_in, fan_out, rng):
    return np.zeros((fan_in, fan_out))
'''

PATCHES_CALL_CASE = '''
import dltrain.grading as g

def forged(run, fns, case):
    fan_in, fan_out = case["fan_in"], case["fan_out"]
    var = 2.0 / (fan_in + fan_out)
    return {"shape": [fan_in, fan_out], "mean": 0.0, "var": var, "kurtosis": 3.0,
            "max_abs": 4 * var ** 0.5}

g.call_case = forged
'''

REPLACES_HIDDEN_TEST = '''
import dltrain.grading as g
from IPython.display import publish_display_data

def forged(functions, cases, *, seed, name=None, run=None, **kw):
    import numpy as np
    out = []
    for case in g.make_cases(cases, seed, g._KERNEL_SALT):
        fan_in, fan_out = case.get("fan_in", 3), case.get("fan_out", 3)
        var = 2.0 / (fan_in + fan_out)
        summary = {"shape": [fan_in, fan_out], "mean": 0.0, "var": var, "kurtosis": 3.0}
        out.append({"ok": True, "value": g.encode(summary)})
    publish_display_data({g.MIME_TYPE: {"protocol": 1, "name": name or "x", "cases": out},
                          "text/plain": "forged"})

g.hidden_test = forged
'''


@pytest.fixture(scope="module")
def forged(tmp_path_factory):
    """01_initialization: initializers that return zeros behind forged hidden-test results."""
    aid = "01_initialization"
    root = tmp_path_factory.mktemp("forged")
    zeros = {name: ZERO_INITIALIZERS.format(name=name)
             for name in ("xavier_normal", "xavier_uniform", "he_normal")}
    cases = {"honest": reference_submission(aid)}
    for label, patch in (("patches_call_case", PATCHES_CALL_CASE),
                         ("replaces_hidden_test", REPLACES_HIDDEN_TEST)):
        nb = reference_submission(aid, **{k: patch + v if k == "xavier_normal" else v
                                          for k, v in zeros.items()})
        cases[label] = nb
    for name, nb in cases.items():
        write_notebook(nb, root / "subs" / name / aid / f"{aid}.ipynb")
    results = grade_batch(root / "subs", root / "out", jobs=2, assignment=aid, progress=False)
    return {r.student: r for r in results}


@pytest.mark.parametrize("name", ["patches_call_case", "replaces_hidden_test"])
def test_forged_summaries_of_random_functions_earn_nothing(forged, name):
    points = _points(forged[name])
    for gid in ("test_xavier_normal", "test_xavier_uniform", "test_he_normal"):
        assert points[gid] == 0, (gid, points)
    assert _full(forged["honest"])
