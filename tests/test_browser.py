"""The student's JupyterLab in a real browser: `make lab`, driven in Chromium by Playwright.

One JupyterLab (started with `make lab`, on a copy of notebooks/) serves every notebook; for each
student notebook, on one page:

1. it opens with no error dialog, its maths rendered by MathJax, and nothing of nbgrader's
   instructor tools (no Nbgrader menu, no Create Assignment, no second Validate button); run
   before any exercise is solved, its widget says which exercises to solve first;
2. its first exercise, filled in with the reference solution from solutions/, passes its test
   cell with the pass message, and the next exercise's test cell fails with an error that names
   that exercise and says what to do;
3. with every exercise filled in, moving a slider of its widget in the page redraws the figure.

Screenshots of each step are kept in test-artifacts/browser/. Chromium is the system's
(/usr/bin/chromium, Debian's package: `make browser` installs it); without it these tests fail,
they never skip.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from dltrain.guide import NotebookMap
from grader import RELEASE_DIR, REPO_ROOT, assignment_ids
from grader.samples import reference_answers, reference_submission

AIDS = assignment_ids()
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
TOKEN_URL = re.compile(r"http://(?:localhost|127\.0\.0\.1):(\d+)/lab\?token=(\w+)")
STARTUP_SECONDS = 240   # `make lab` installs .venv-lab first when it is missing
RUN_SECONDS = 180       # the machine may be busy
PAGE_MS = 90_000

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Lab:
    """`make lab` running in the background, its output collected."""

    def __init__(self, root: Path):
        self.root = root
        self.lines: list[str] = []
        self.token_line = -1
        env = {k: v for k, v in os.environ.items() if k != "DLTRAIN_STATIC_WIDGETS"}
        self.process = subprocess.Popen(
            ["make", "--no-print-directory", "lab", f"PORT={_free_port()}",
             f"NOTEBOOK_DIR={root}", "LAB_ARGS=--LabApp.expose_app_in_browser=True"],
            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.url = None
        self._found = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            match = TOKEN_URL.search(line)
            if match and self.url is None:
                self.url = (f"http://127.0.0.1:{match.group(1)}", match.group(2))
                self.token_line = len(self.lines)
                self._found.set()
        self._found.set()

    def wait(self) -> None:
        self._found.wait(STARTUP_SECONDS)
        if self.url is None:
            self.stop()
            pytest.fail("`make lab` printed no token URL within "
                        f"{STARTUP_SECONDS} s:\n" + "\n".join(self.lines[-40:]))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab") / "notebooks"
    shutil.copytree(RELEASE_DIR, root)
    server = _Lab(root)
    server.wait()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium is not installed ({CHROMIUM}). The browser tests need it and never "
                    "skip: run `make browser` (as root it runs apt-get install chromium), or "
                    "install Debian's chromium package.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: `make venv` installs the instructor tools "
                    "(pyproject.toml's dev extra).")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        # Playwright starts it headless, with a fresh profile (--user-data-dir) of its own
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


class Notebook:
    """One notebook open in JupyterLab, with helpers that go through JupyterLab's own API."""

    def __init__(self, page, aid: str):
        self.page, self.aid = page, aid
        self.map = NotebookMap.from_file(RELEASE_DIR / aid / f"{aid}.ipynb")
        self.shots = 0

    def wait_idle(self, timeout_ms: int = RUN_SECONDS * 1000) -> None:
        self.page.wait_for_function(
            "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            " return w && w.sessionContext && w.sessionContext.session &&"
            " w.sessionContext.kernelDisplayStatus === 'idle'; }", timeout=timeout_ms)

    def set_source(self, number: int, source: str) -> None:
        self.page.evaluate("([i, src]) => window.jupyterapp.shell.currentWidget.content"
                           ".widgets[i].model.sharedModel.setSource(src)", [number - 1, source])

    def run_cells(self, numbers: list[int]) -> list[bool]:
        """Run cells one by one, as Shift+Enter would (JupyterLab's notebook:run-cell)."""
        return self.page.evaluate(
            """async (cells) => { const app = window.jupyterapp;
                 const panel = app.shell.currentWidget; const done = [];
                 for (const i of cells) { panel.content.activeCellIndex = i;
                   done.push(await app.commands.execute('notebook:run-cell')); }
                 return done; }""", [n - 1 for n in numbers])

    def outputs(self, number: int) -> str:
        """The text of a cell's outputs, from JupyterLab's model (visible or not)."""
        return self.page.evaluate(
            """(i) => { const outputs = window.jupyterapp.shell.currentWidget.content
                 .widgets[i].model.outputs.toJSON();
               return outputs.map(o => [o.text || '', (o.data && o.data['text/plain']) || '',
                 (o.traceback || []).join('\\n')].join('\\n')).join('\\n'); }""", number - 1)

    def cell(self, number: int):
        """The cell's element, scrolled into view (JupyterLab only renders what is visible)."""
        self.page.evaluate(
            """async (i) => { const nb = window.jupyterapp.shell.currentWidget.content;
                 nb.activeCellIndex = i; await nb.scrollToItem(i, 'start');
                 nb.widgets[i].node.setAttribute('data-course-cell', String(i)); }""",
            number - 1)
        return self.page.locator(f'[data-course-cell="{number - 1}"]')

    def screenshot(self, what: str) -> None:
        self.shots += 1
        self.page.screenshot(path=ARTIFACTS / f"{self.aid}-{self.shots}-{what}.png")

    @property
    def widget(self):
        return next(c for c in self.map.cells if "interactive_plot(" in c.source)


@pytest.fixture(scope="module")
def page(lab, browser):
    """One JupyterLab page for all notebooks (loading JupyterLab is the slow part)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(PAGE_MS)
    base, token = lab.url
    page.goto(f"{base}/lab?reset&token={token}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
    page.evaluate("async () => await window.jupyterapp.started")
    yield page
    page.close()


@pytest.fixture(scope="module", params=AIDS)
def notebook(request, page):
    """The notebook open in JupyterLab (all tests of one notebook share it, in order); closed,
    its kernel shut down, afterwards."""
    aid = request.param
    path = f"{aid}/{aid}.ipynb"
    page.evaluate("async (path) => { const app = window.jupyterapp;"
                  " const widget = await app.commands.execute('docmanager:open', {path});"
                  " await widget.context.ready; }", path)
    page.wait_for_function("(path) => { const w = window.jupyterapp.shell.currentWidget;"
                           " return w && w.context && w.context.path === path; }", arg=path)
    page.wait_for_selector(".jp-NotebookPanel")
    nb = Notebook(page, aid)
    nb.wait_idle()
    yield nb
    page.evaluate("async () => { const w = window.jupyterapp.shell.currentWidget;"
                  " await w.sessionContext.shutdown(); w.dispose(); }")


def test_make_lab_starts_quietly_with_the_student_environment(lab):
    startup = lab.lines[:lab.token_line]
    assert not [line for line in lab.lines if "nbgrader" in line.lower()], \
        "the student's JupyterLab must not load nbgrader"
    warnings = [line for line in startup if re.match(r"\[(W|E|C) ", line)]
    assert not warnings, f"warnings while JupyterLab starts: {warnings}"
    assert any("dltrain-validate" in line for line in startup), \
        "make lab says how to validate a notebook"
    assert not (REPO_ROOT / ".venv-lab" / "lib").exists() or not list(
        (REPO_ROOT / ".venv-lab" / "lib").glob("python*/site-packages/nbgrader")), \
        "nbgrader is installed in the student's environment"


def test_opens_with_maths_only_the_course_and_guidance(notebook):
    page = notebook.page
    assert page.locator(".jp-Dialog").count() == 0, \
        f"an error dialog: {page.locator('.jp-Dialog').first.inner_text()}"
    page.wait_for_selector("mjx-container")
    assert page.locator("mjx-container").count() > 0, "the notebook's maths is not rendered"
    menus = page.locator(".lm-MenuBar-content").inner_text()
    assert "Nbgrader" not in menus, f"nbgrader's menu is shown: {menus!r}"
    toolbar = page.locator(".jp-NotebookPanel-toolbar").inner_text()
    assert "Validate" not in toolbar, f"nbgrader's Validate button is shown: {toolbar!r}"
    for label in ("Create Assignment", "Formgrader", "Assignments", "Courses"):
        assert page.get_by_text(label, exact=True).count() == 0, f"nbgrader's {label} is shown"
    notebook.screenshot("open")

    # before any exercise is solved, the widget says which exercises it needs
    setup = next(c for c in notebook.map.cells if c.kind == "setup")
    notebook.run_cells([setup.number, notebook.widget.number])
    notebook.wait_idle()
    cell = notebook.cell(notebook.widget.number)
    cell.locator(".jp-Cell-outputArea").get_by_text(re.compile(r"Solve Exercises? \d")).first \
        .wait_for()
    output = cell.locator(".jp-Cell-outputArea")
    text = output.inner_text()
    assert "Traceback" not in text, f"a traceback instead of guidance:\n{text}"
    output.scroll_into_view_if_needed()
    notebook.screenshot("widget-before-solving")


def test_first_exercise_with_the_reference_passes(notebook):
    exercises = [c for c in notebook.map.answers() if c.kind == "answer"]
    first, second = exercises[0], exercises[1]
    notebook.set_source(first.number, reference_answers(notebook.aid)[first.grade_id])
    setup = next(c for c in notebook.map.cells if c.kind == "setup")
    tests = [notebook.map.test_cell_of(a) for a in (first, second)]
    # the student's way: run the setup cell, the exercise and its test; then the next ones
    notebook.run_cells([setup.number, first.number, tests[0].number, second.number,
                        tests[1].number])
    notebook.wait_idle()
    out = notebook.outputs(tests[0].number)
    assert "\u2714" in out and "all visible tests passed" in out, \
        f"cell {tests[0].number} ({tests[0].grade_id}) did not pass:\n{out}"
    out = notebook.outputs(tests[1].number)
    assert f"{second.title} is not solved yet" in out, \
        f"the next test cell should name {second.title} and say what to do:\n{out}"
    assert "Traceback" not in out
    notebook.cell(tests[0].number).locator(".jp-Cell-outputArea").scroll_into_view_if_needed()
    notebook.screenshot("first-exercise-passes")


def test_moving_a_slider_redraws_the_widget(notebook):
    reference = reference_answers(notebook.aid)
    for answer in notebook.map.answers():
        notebook.set_source(answer.number, reference[answer.grade_id])
    widget = notebook.widget
    # what the widget needs, read from the notebook with its exercises solved
    solved = NotebookMap(reference_submission(notebook.aid).cells)
    needed = [c.number for c in solved.prerequisites(widget)] + [widget.number]
    assert all(notebook.run_cells(needed)), f"cells {needed} did not all run"
    notebook.wait_idle()
    cell = notebook.cell(widget.number)
    image = cell.locator(".widget-output img").first
    image.wait_for()
    image.scroll_into_view_if_needed()
    before = image.get_attribute("src")
    notebook.screenshot("widget")
    handle = cell.locator(".widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page = notebook.page
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 50, y, steps=5)
    page.mouse.up()
    started = time.monotonic()
    page.wait_for_function(
        "([cell, before]) => [...document.querySelectorAll("
        "`[data-course-cell=\"${cell}\"] .widget-output img`)]"
        ".some(i => i.src && i.src !== before)",
        arg=[widget.number - 1, before], timeout=RUN_SECONDS * 1000)
    assert time.monotonic() - started < RUN_SECONDS
    notebook.screenshot("widget-after-slider")


_TERMINAL_TEXT = """() => { const term = window.jupyterapp.shell.currentWidget.content._term;
    const lines = term.buffer.active; let text = '';
    for (let i = 0; i < lines.length; i++) text += lines.getLine(i).translateToString(true) + '\\n';
    return text; }"""


def test_validate_from_jupyterlabs_terminal(page):
    """The README's and the notebook's command, typed in JupyterLab's terminal (File → New →
    Terminal), which opens in notebooks/ and finds dltrain-validate."""
    page.evaluate("async () => { const w = await window.jupyterapp.commands.execute("
                  "'terminal:create-new'); await w.content.ready; }")
    page.locator(".jp-Terminal").first.click()
    page.keyboard.type("dltrain-validate 00_inputs/00_inputs.ipynb; echo EXIT=$?\n")
    page.wait_for_function(f"() => /EXIT=[0-9]+/.test(({_TERMINAL_TEXT})())",
                           timeout=RUN_SECONDS * 1000)
    text = page.evaluate(_TERMINAL_TEXT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "terminal-validate.png")
    assert "EXIT=1" in text, text
    assert "\u2718 test_fit_standardizer (cell 7): NotImplementedError: Exercise 1" in text, text
    assert "not answered yet" in text and "command not found" not in text
    page.evaluate("async () => { const w = window.jupyterapp.shell.currentWidget;"
                  " await w.content.session.shutdown(); w.dispose(); }")
