"""The publish stage: grades.csv, gradebook.json, the LMS import files, feedback pages, the report.

Everything is rendered from results (and, for the feedback pages, the run artifacts) with jinja2
templates (``grader/templates``) that escape every value; the few fragments that are HTML already
(markdown rendered with raw HTML escaped, validated base64 images) are marked safe here, in one
place. Feedback pages show test cells as the student saw them: the hidden tests' source never
appears, only their names and verdicts.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from .artifact import RunArtifact
from .model import GRADED, MISSING, NOT_GRADED, PARTLY_GRADED, CellRole, SubmissionResult
from .notebooks import FEEDBACK_ONLY_TAG, without_hidden_region

TEMPLATES = Path(__file__).resolve().parent / "templates"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/=]*")

MAX_RENDERED_MARKDOWN_CHARS = 300_000
"""Markdown the student added is rendered up to this many characters per page, then shown as
plain text."""
MAX_MARKDOWN_CHARS = 50_000
"""A markdown cell longer than this is shown as escaped plain text, cut at this length: the
renderer's time grows with the text (about 45 µs per character), and a page must stay cheap."""


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.globals["num"] = _num
    return env


def _num(x: float) -> str:
    return f"{x:g}"


# ------------------------------------------------------------------ names on disk

def safe_name(text: str) -> str:
    """A file-system-safe, readable version of a name (not unique: see :func:`page_name`)."""
    return _SAFE.sub("_", text).strip("._")[:60] or "unnamed"


def page_name(student_id: str) -> str:
    """A folder name for one student: readable, and unique for every distinct stable id.

    ``Alice Smith`` and ``Alice_Smith``, or two names written in another script, share a
    readable part but never the hash of their exact id.
    """
    digest = hashlib.sha256(student_id.encode("utf-8")).hexdigest()[:8]
    return f"{safe_name(student_id)}-{digest}"


def feedback_path(result: SubmissionResult) -> str:
    return f"feedback/{page_name(result.student_id)}/{safe_name(result.assignment)}.html"


def run_path(student_id: str, aid: str) -> str:
    return f"runs/{page_name(student_id)}/{safe_name(aid)}.json"


# ------------------------------------------------------------------ feedback pages

def write_feedback(result: SubmissionResult, out_dir: Path,
                   artifact: RunArtifact | None = None) -> str:
    """Write the feedback page of one submission; return its path relative to ``out_dir``."""
    rel = feedback_path(result)
    path = Path(out_dir) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(feedback_html(result, artifact), encoding="utf-8")
    return rel


def feedback_html(result: SubmissionResult, artifact: RunArtifact | None = None) -> str:
    cells = _cells_view(result, artifact) if artifact is not None and artifact.cells else []
    return _environment().get_template("feedback.html.j2").render(
        title=f"{result.assignment} feedback: {result.student}", r=result, cells=cells)


def _cells_view(result: SubmissionResult, artifact: RunArtifact) -> list[dict]:
    by_gid = {e.grade_id: e for e in result.exercises}
    budget = [MAX_RENDERED_MARKDOWN_CHARS]
    after_hidden = False
    view = []
    for cell in artifact.cells:
        if cell.role == CellRole.HIDDEN:
            after_hidden = True
            continue
        if cell.cell_type != "code":
            view.append(_markdown_view(cell, budget))
            continue
        label = {CellRole.ANSWER: "your answer", CellRole.TEST: "tests",
                 CellRole.ADDED: "your cell",
                 CellRole.EXPERIMENT: "experiment (not run while grading)"}.get(cell.role, "")
        source = without_hidden_region(cell.source) if cell.role == CellRole.TEST \
            else cell.source
        if len(source) > MAX_MARKDOWN_CHARS:
            source = source[:MAX_MARKDOWN_CHARS] + f"\n[... {len(source) - MAX_MARKDOWN_CHARS}" \
                                                   " more characters not shown]"
        # A cell of the student's that ran after hidden tests could print what it saw of them:
        # its output is not shown (its errors still count, as everywhere).
        if after_hidden and cell.role in (CellRole.ANSWER, CellRole.ADDED) and cell.outputs:
            outputs = [{"kind": "text",
                        "text": "[output not shown: this cell ran after hidden tests]"}]
        else:
            outputs = [o for o in (_output_view(out, cell.role == CellRole.TEST)
                                   for out in cell.outputs) if o]
        exercise = by_gid.get(cell.grade_id) if cell.role == CellRole.TEST else None
        view.append({"kind": "code", "label": label, "source": source, "outputs": outputs,
                     "exercise": exercise})
    return view


def _markdown_view(cell, budget: list[int]) -> dict:
    if cell.role != CellRole.ADDED and FEEDBACK_ONLY_TAG in cell.tags:
        return {"kind": "answer-key", "html": _markdown(cell.source)}
    if cell.role == CellRole.ADDED:
        budget[0] -= len(cell.source)
        if budget[0] < 0:   # past the page's budget: plain text costs nothing to render
            return {"kind": "markdown", "html": _plain(cell.source)}
    return {"kind": "markdown", "html": _markdown(cell.source)}


def _output_view(output: dict, sanitize: bool) -> dict | None:
    kind = output.get("output_type")
    if kind == "stream":
        return {"kind": "text", "text": _ANSI.sub("", output.get("text", ""))}
    if kind == "error":
        text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
        if not sanitize:
            text = _ANSI.sub("", "\n".join(output.get("traceback", []))) or text
        return {"kind": "error", "text": text[:5000]}
    data = output.get("data", {})
    for mime in ("image/png", "image/jpeg"):
        if isinstance(data.get(mime), str):
            payload = re.sub(r"\s", "", data[mime])
            if _BASE64.fullmatch(payload):
                return {"kind": "image", "mime": mime, "payload": payload}
    if "text/plain" in data:
        return {"kind": "text", "text": _ANSI.sub("", str(data["text/plain"]))}
    return None


@functools.cache
def _markdown_renderer():
    import mistune

    return mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])


def _plain(text: str) -> Markup:
    """Text shown as is, escaped, cut at :data:`MAX_MARKDOWN_CHARS`."""
    cut = ""
    if len(text) > MAX_MARKDOWN_CHARS:
        cut = (f"<p><i>[a further {len(text) - MAX_MARKDOWN_CHARS} characters of this cell are "
               "not shown]</i></p>")
    return Markup(f"<pre>{Markup.escape(text[:MAX_MARKDOWN_CHARS])}</pre>{cut}")


def _markdown(text: str) -> Markup:
    """Markdown to HTML with any raw HTML escaped (cells the student added are rendered too)."""
    if len(text) > MAX_MARKDOWN_CHARS:
        return _plain(text)
    if len(text) <= MAX_CACHED_MARKDOWN_CHARS:
        return _markdown_cached(text)
    return _markdown_uncached(text)


MAX_CACHED_MARKDOWN_CHARS = 20_000
"""Markdown cells up to this size are rendered once per process (the instructor's cells recur
in every student's feedback page); the cache holds at most 1024 of them."""


@functools.lru_cache(maxsize=1024)
def _markdown_cached(text: str) -> Markup:
    return _markdown_uncached(text)


def _markdown_uncached(text: str) -> Markup:
    try:
        return Markup(_markdown_renderer()(text))   # escape=True: no raw HTML gets through
    except Exception:  # mistune is nbconvert's dependency; plain text is a fine fallback
        return _plain(text)


# ------------------------------------------------------------------ CSV files

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """One CSV cell: numbers as written, text neutralised against spreadsheet formulas.

    A spreadsheet evaluates a cell that starts with ``= + - @`` (or a tab or carriage return
    before one) as a formula on import, so a student folder named ``=HYPERLINK(...)`` would run
    in the instructor's gradebook. Such text gets a leading apostrophe, which spreadsheets show as
    plain text.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:g}"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Every CSV the grader writes goes through here (see :func:`csv_cell`)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([csv_cell(h) for h in header])
        for row in rows:
            writer.writerow([csv_cell(v) for v in row])


def exercise_columns(results: Sequence[SubmissionResult]) -> list[tuple[str, str]]:
    """(assignment, grade_id) of every exercise seen, in assignment then notebook order."""
    columns: list[tuple[str, str]] = []
    for result in sorted(results, key=lambda r: r.assignment):
        for exercise in result.exercises:
            key = (result.assignment, exercise.grade_id)
            if key not in columns:
                columns.append(key)
    return columns


def _order(results: Sequence[SubmissionResult]) -> list[SubmissionResult]:
    return sorted(results, key=lambda r: (r.student, r.student_id, r.assignment))


def write_grades_csv(results: Sequence[SubmissionResult], path: Path) -> None:
    """student, student_id, assignment, status, late, one column per exercise, total, max, flags,
    reason. Deterministic: rows sorted by student then assignment, no timings."""
    columns = exercise_columns(results)
    several = len({a for a, _ in columns}) > 1
    header = ["student", "student_id", "assignment", "status", "late"]
    header += [f"{a}:{g}" if several else g for a, g in columns]
    header += ["total", "max", "flags", "reason"]
    rows = []
    for result in _order(results):
        points = {(result.assignment, e.grade_id): e.points for e in result.exercises}
        row = [result.student, result.student_id, result.assignment, result.status,
               "" if result.late is None else ("late" if result.late else "")]
        row += [points.get(key, "") for key in columns]
        row += [result.total, result.max_points, "; ".join(result.flags), result.reason]
        rows.append(row)
    write_csv(path, header, rows)


def write_gradebook(results: Sequence[SubmissionResult], path: Path, meta: dict) -> None:
    """Every detail, machine-readable: the grader's gradebook of this run."""
    data = {"meta": meta, "results": [r.to_dict() for r in _order(results)]}
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")


def read_gradebook(path: Path) -> tuple[list[SubmissionResult], dict]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [SubmissionResult.from_dict(r) for r in data["results"]], data.get("meta", {})


def summary_table(results: Sequence[SubmissionResult]) -> str:
    """The per-student table printed at the end of ``grade``."""
    rows = [("student", "assignment", "score", "status", "remarks")]
    for r in _order(results):
        remarks = r.reason if r.status != GRADED else ""
        if r.flags:
            remarks = (remarks + "; " if remarks else "") + f"FLAGGED: {r.flags[0]}"
        rows.append((r.student, r.assignment, f"{r.total:g}/{r.max_points:g}", r.status,
                     remarks[:70]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4])
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 7)
    return "\n".join(lines)


# ------------------------------------------------------------------ the class report

def write_report(results: Sequence[SubmissionResult], path: Path, meta: dict,
                 sections: dict[tuple[str, str], tuple[str, str]] | None = None,
                 explained: Sequence[str] = ()) -> None:
    """report.html: limits and warnings, pass rate per exercise, score distribution, the
    misconceptions the grader named (with where the notebook teaches them), every student with
    a link to their feedback, what could not be graded, files that are not submissions, flags.

    ``sections`` maps (assignment, grade id) to (section title, link) for the misconceptions.
    """
    sections = sections or {}
    graded = [r for r in results if r.status in (GRADED, PARTLY_GRADED)]
    ran = [r for r in results if r.status not in (NOT_GRADED, MISSING) and r.limits]
    applied = sorted({item for r in results for item in r.limits})
    warnings = []
    unsandboxed = [r for r in results if r.status not in (NOT_GRADED, MISSING)
                   and not r.sandboxed]
    if unsandboxed:
        warnings.append({"headline": f"{len(unsandboxed)} submission(s) ran UNSANDBOXED.",
                         "text": "Their code could read the solutions and the grader and use "
                                 "the network. Install bubblewrap and grade again before "
                                 "trusting these grades."})
    no_pids = [r for r in ran if not any(x.startswith("processes") for x in r.limits)]
    if no_pids:
        warnings.append({"headline": f"{len(no_pids)} submission(s) ran with NO PROCESS CAP.",
                         "text": "Their code could fork until the machine ran out of processes. "
                                 "Grade where a pids control group can be made, or as a "
                                 "non-root user."})
    no_memcg = [r for r in ran if not any("tmpfs included" in x for x in r.limits)]
    if no_memcg:
        warnings.append({"headline": f"{len(no_memcg)} submission(s) ran without a memory "
                                     "control group.",
                         "text": "Files they wrote to a tmpfs were not counted against their "
                                 "memory cap, and their working folder was on disk."})
    assignments = []
    for aid in sorted({r.assignment for r in results}):
        mine = [r for r in graded if r.assignment == aid]
        entry = {"aid": aid, "chart": "", "rates": [], "mistakes": []}
        if mine:
            entry["rates"] = _rates(mine)
            entry["chart"] = _chart_svg(mine, aid, entry["rates"])
            entry["mistakes"] = _misconceptions(mine, aid, sections)
        assignments.append(entry)
    counts = {"total": len(results), "graded": len(graded),
              "missing": sum(r.status == MISSING for r in results),
              "not_graded": sum(r.status == NOT_GRADED for r in results)}
    html = _environment().get_template("report.html.j2").render(
        title="Grading report", meta={"when": meta.get("when", ""), "jobs": meta.get("jobs", "?")},
        counts=counts, accounting=meta.get("accounting", ""), limits=", ".join(applied),
        warnings=warnings, assignments=assignments, students=_order(results),
        explained=list(explained), flagged=[r for r in _order(results) if r.flags])
    Path(path).write_text(html, encoding="utf-8")


def _rates(results: Sequence[SubmissionResult]) -> list[dict]:
    rows = []
    for k, exercise in enumerate(results[0].exercises):
        passed = sum(1 for r in results if r.exercises[k].status == "passed")
        rows.append({"grade_id": exercise.grade_id, "title": exercise.title, "passed": passed,
                     "n": len(results), "rate": f"{100 * passed / len(results):.0f}"})
    return rows


def _misconceptions(results, aid, sections) -> list[dict]:
    """Per exercise, each mistake the grader named and how many students made it."""
    counted: Counter = Counter()
    for result in results:
        named = {(e.grade_id, h.diagnosis) for e in result.exercises for h in e.hidden
                 if h.diagnosis}
        counted.update(named)
    order = {e.grade_id: k for k, e in enumerate(results[0].exercises)}
    rows = []
    for (gid, mistake), count in sorted(counted.items(),
                                        key=lambda kv: (order.get(kv[0][0], 0), -kv[1])):
        section, link = sections.get((aid, gid), ("", ""))
        rows.append({"grade_id": gid, "mistake": mistake, "count": count, "section": section,
                     "link": link})
    return rows


def _chart_svg(results, aid: str, rates_rows: list[dict]) -> Markup:
    """Two charts as inline SVG: the pass rate of each exercise (bars, from the rows of
    :func:`_rates`), and the distribution of total scores (one bar per whole point when the
    maximum is at most 40, else 20 bins).

    Drawn by hand rather than with matplotlib: a report has one per assignment, and importing
    and drawing with matplotlib cost the grading run most of a second at its very end.
    """
    names = [row["grade_id"] for row in rates_rows]
    rates = [100 * row["passed"] / row["n"] for row in rates_rows]
    totals = [r.total for r in results]
    top = max(r.max_points for r in results) or 1
    if top <= 40:
        edges = [k - 0.5 for k in range(int(top) + 2)]
    else:
        edges = [top * k / 20 for k in range(21)]
    counts = [0] * (len(edges) - 1)
    for total in totals:
        index = next((k for k in range(len(counts)) if total < edges[k + 1]), len(counts) - 1)
        counts[index] += 1
    row, label_w, bar_w, gap, hist_w = 18, 230, 260, 60, 300
    height = max(150, row * len(names) + 60)
    plot_h = height - 60
    full_w = label_w + bar_w + gap + hist_w + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{full_w}" height="{height}"'
             f'  font-family="sans-serif" font-size="11" role="img" '
             f'aria-label="{escape(aid)}: pass rate per exercise and score distribution">',
             f'<text x="{label_w}" y="14" font-weight="bold">{escape(aid)}: pass rate per '
             'exercise</text>']
    for k, (name, rate) in enumerate(zip(names, rates)):
        y = 24 + k * row
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">'
                     f'{escape(name)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{bar_w * rate / 100:.1f}" '
                     f'height="{row - 5}" fill="#4C72B0"><title>{rate:.0f}%</title></rect>')
        parts.append(f'<text x="{label_w + bar_w * rate / 100 + 4:.1f}" y="{y + 12}">'
                     f'{rate:.0f}%</text>')
    left = label_w + bar_w + gap
    parts.append(f'<text x="{left}" y="14" font-weight="bold">score distribution (out of '
                 f'{top:g}; students per bar)</text>')
    most = max(counts) or 1
    width = hist_w / len(counts)
    for k, count in enumerate(counts):
        bar_h = plot_h * count / most
        low, high = edges[k], edges[k + 1]
        what = f"{(low + high) / 2:g}" if top <= 40 else f"{low:g} to {high:g}"
        parts.append(f'<rect x="{left + k * width + 0.1 * width:.1f}" '
                     f'y="{24 + plot_h - bar_h:.1f}" width="{0.8 * width:.1f}" '
                     f'height="{bar_h:.1f}" fill="#55A868"><title>score {what}: {count} '
                     f'student(s)</title></rect>')
    baseline = 24 + plot_h
    parts.append(f'<line x1="{left}" y1="{baseline}" x2="{left + hist_w}" y2="{baseline}" '
                 'stroke="#333"/>')
    parts.append(f'<text x="{left}" y="{baseline + 14}">{edges[0] + (0.5 if top <= 40 else 0):g}'
                 f'</text><text x="{left + hist_w}" y="{baseline + 14}" text-anchor="end">'
                 f'{top:g}</text><text x="{left - 4}" y="30" text-anchor="end">{most}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
