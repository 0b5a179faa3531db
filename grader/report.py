"""Everything grading writes: grades.csv, gradebook.json, feedback pages, the class report.

Feedback pages are rendered here, by a small renderer that escapes everything the student's code
produced (no student HTML or JavaScript runs in an instructor's browser) and that shows test cells
as the student saw them: the hidden tests' source never appears, only their names and verdicts.
"""

from __future__ import annotations

import base64
import csv
import functools
import html
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path

from .assemble import ROLE_ADDED, ROLE_ANSWER, ROLE_EXPERIMENT, ROLE_HIDDEN, ROLE_TEST
from .notebooks import is_feedback_only, without_hidden_region
from .results import GRADED, NOT_GRADED, PARTLY_GRADED, SubmissionResult

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;border-radius:4px;font-size:.85rem}
.cell{margin:1rem 0}.out pre{background:#fff;border-left:3px solid #ddd}
.err pre{border-left-color:#c62828;background:#fff5f5}
.tag{font-size:.75rem;color:#555;text-transform:uppercase;letter-spacing:.05em}
.result{border:1px solid #ccc;border-radius:6px;padding:.5rem .8rem;margin:.4rem 0}
.passed{border-color:#2e7d32;background:#f1f8f1}.failed{border-color:#c62828;background:#fdf3f3}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.25rem .6rem;
text-align:left}.num{text-align:right}.warn{background:#fff3cd;border:1px solid #e0b000;
padding:.6rem;border-radius:6px}.md{color:#333}img{max-width:100%}
.answer{border-left:4px solid #1565c0;background:#f3f7fc;padding:.2rem .8rem}
"""


def safe_name(text: str) -> str:
    """A file-system-safe version of a student or assignment name."""
    return _SAFE.sub("_", text).strip("._") or "unnamed"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


# ---------------------------------------------------------------- feedback for one submission

def write_feedback(result: SubmissionResult, out_dir: Path, executed=None) -> str:
    """Write ``feedback/<student>/<aid>.html``; return its path relative to ``out_dir``."""
    rel = Path("feedback") / safe_name(result.student) / f"{safe_name(result.assignment)}.html"
    path = Path(out_dir) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(feedback_html(result, executed), encoding="utf-8")
    return str(rel)


def feedback_html(result: SubmissionResult, executed=None) -> str:
    """The feedback page of one submission (``executed``: (notebook, assembled, runs) or None)."""
    parts = [f"<h1>{_e(result.assignment)} — feedback for {_e(result.student)}</h1>"]
    if result.status == NOT_GRADED:
        parts.append(f"<p class=\"warn\">This submission could not be graded: "
                     f"{_e(result.reason)}</p>")
    parts.append(f"<p><b>Score: {result.total:g} / {result.max_points:g}</b> "
                 f"({_e(result.status)})</p>")
    if result.notes:
        parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in result.notes) + "</ul>")
    parts.append(_summary_table(result))
    if executed is not None:
        nb, assembled, runs = executed
        by_gid = {e.grade_id: e for e in result.exercises}
        parts.append("<h2>Your notebook, as graded</h2>")
        after_hidden = False
        budget = [MAX_RENDERED_MARKDOWN_CHARS]   # markdown the student added, rendered per page
        for index, cell in enumerate(nb.cells):
            role = assembled.roles[index]
            gid = assembled.grade_ids[index]
            if role == ROLE_HIDDEN:
                after_hidden = True
                continue
            # A cell of the student's that ran after hidden tests could print what it saw of
            # them: its output is not shown (its errors still count, as everywhere).
            withhold = after_hidden and role in (ROLE_ANSWER, ROLE_ADDED)
            parts.append(_render_cell(cell, role, runs.get(index), by_gid.get(gid), withhold,
                                      budget))
    return _page(f"{result.assignment} feedback: {result.student}", "\n".join(parts))


def _summary_table(result: SubmissionResult) -> str:
    rows = "".join(
        f"<tr><td>{_e(e.title)}</td><td>{_e(e.grade_id)}</td><td>{_e(e.status)}</td>"
        f"<td class=num>{e.points:g} / {e.max_points:g}</td></tr>" for e in result.exercises)
    return ("<table><tr><th>exercise</th><th>test cell</th><th>result</th><th>points</th></tr>"
            f"{rows}</table>")


def _render_cell(cell, role, run, exercise, withhold_output: bool = False,
                 budget: list[int] | None = None) -> str:
    if cell.cell_type != "code":
        if role != ROLE_ADDED and is_feedback_only(cell):
            return ("<div class=\"cell md answer\"><div class=tag>after grading: the "
                    f"instructor's answer</div>{_markdown(cell.source)}</div>")
        if role == ROLE_ADDED and budget is not None:
            budget[0] -= len(cell.source)
            if budget[0] < 0:   # past the page's budget: plain text costs nothing to render
                return f"<div class=\"cell md\">{_plain(cell.source)}</div>"
        return f"<div class=\"cell md\">{_markdown(cell.source)}</div>"
    label = {ROLE_ANSWER: "your answer", ROLE_TEST: "tests", ROLE_ADDED: "your cell",
             ROLE_EXPERIMENT: "experiment (not run while grading)"}.get(role, "")
    # Test cells are already split from their hidden tests; strip again in case a marker remains.
    source = without_hidden_region(cell.source) if role == ROLE_TEST else cell.source
    if len(source) > MAX_MARKDOWN_CHARS:
        source = source[:MAX_MARKDOWN_CHARS] + f"\n[... {len(source) - MAX_MARKDOWN_CHARS} " \
                                                "more characters not shown]"
    out = [f"<div class=\"cell\"><div class=tag>{_e(label)}</div><pre>{_e(source)}</pre>"]
    if withhold_output and cell.get("outputs"):
        out.append("<div class=out><pre>[output not shown: this cell ran after hidden tests]"
                   "</pre></div>")
    else:
        for output in cell.get("outputs", []):
            out.append(_render_output(output, sanitize=(role == ROLE_TEST)))
    if exercise is not None:
        out.append(_result_box(exercise))
    out.append("</div>")
    return "".join(out)


def _render_output(output, sanitize: bool) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        return f"<div class=out><pre>{_e(_ANSI.sub('', output.get('text', '')))}</pre></div>"
    if kind == "error":
        text = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
        if not sanitize:
            text = _ANSI.sub("", "\n".join(output.get("traceback", []))) or text
        return f"<div class=\"out err\"><pre>{_e(text[:5000])}</pre></div>"
    data = output.get("data", {})
    for mime in ("image/png", "image/jpeg"):
        if mime in data and isinstance(data[mime], str):
            payload = re.sub(r"\s", "", data[mime])
            if re.fullmatch(r"[A-Za-z0-9+/=]*", payload):
                return f"<div class=out><img alt=\"figure\" src=\"data:{mime};base64,{payload}\">" \
                       "</div>"
    if "text/plain" in data:
        return f"<div class=out><pre>{_e(_ANSI.sub('', str(data['text/plain'])))}</pre></div>"
    return ""


def _result_box(exercise) -> str:
    cls = "passed" if exercise.status == "passed" else "failed"
    lines = [f"<div class=\"result {cls}\"><b>{_e(exercise.title)}: {exercise.points:g} / "
             f"{exercise.max_points:g} — {_e(exercise.status)}</b><ul>"]
    for message in exercise.messages:
        lines.append(f"<li>{_e(message)}</li>")
    for hidden in exercise.hidden:
        mark = "\u2714" if hidden.passed else "\u2718"
        text = f"{mark} hidden test <i>{_e(hidden.name)}</i>"
        if hidden.message:
            text += f": <pre>{_e(hidden.message)}</pre>"
        if hidden.diagnosis:
            text += f"<b>Likely mistake:</b> your results match code that " \
                    f"{_e(hidden.diagnosis)}."
        lines.append(f"<li>{text}</li>")
    lines.append("</ul></div>")
    return "".join(lines)


@functools.lru_cache(maxsize=1)
def _markdown_renderer():
    import mistune

    return mistune.create_markdown(escape=True, plugins=["table", "strikethrough"])


MAX_RENDERED_MARKDOWN_CHARS = 300_000
"""Markdown the student added is rendered up to this many characters per page, then shown as
plain text."""
MAX_MARKDOWN_CHARS = 50_000
"""A markdown cell longer than this is shown as escaped plain text, cut at this length: the
renderer's time grows with the text (about 45 µs per character), and a page must stay cheap."""


def _plain(text: str) -> str:
    """Text shown as is, escaped, cut at :data:`MAX_MARKDOWN_CHARS`."""
    cut = ""
    if len(text) > MAX_MARKDOWN_CHARS:
        cut = (f"<p><i>[a further {len(text) - MAX_MARKDOWN_CHARS} characters of this cell are "
               "not shown]</i></p>")
    return f"<pre>{_e(text[:MAX_MARKDOWN_CHARS])}</pre>{cut}"


def _markdown(text: str) -> str:
    """Markdown to HTML with any raw HTML escaped (cells the student added are rendered too)."""
    if len(text) > MAX_MARKDOWN_CHARS:
        return _plain(text)
    try:
        return _markdown_renderer()(text)
    except Exception:  # mistune is nbconvert's dependency; plain text is a fine fallback
        return f"<pre>{_e(text)}</pre>"


# ---------------------------------------------------------------- the batch's files

def exercise_columns(results: Sequence[SubmissionResult]) -> list[tuple[str, str]]:
    """(assignment, grade_id) of every exercise seen, in assignment then notebook order."""
    columns: list[tuple[str, str]] = []
    for result in sorted(results, key=lambda r: r.assignment):
        for exercise in result.exercises:
            key = (result.assignment, exercise.grade_id)
            if key not in columns:
                columns.append(key)
    return columns


def write_grades_csv(results: Sequence[SubmissionResult], path: Path) -> None:
    """student, assignment, status, one column per exercise, total, max, flags, reason.

    Deterministic: rows sorted by student then assignment, no timings.
    """
    columns = exercise_columns(results)
    several = len({a for a, _ in columns}) > 1
    header = ["student", "assignment", "status"]
    header += [f"{a}:{g}" if several else g for a, g in columns]
    header += ["total", "max", "flags", "reason"]
    rows = []
    for result in sorted(results, key=lambda r: (r.student, r.assignment)):
        points = {(result.assignment, e.grade_id): e.points for e in result.exercises}
        row = [result.student, result.assignment, result.status]
        row += [points.get(key, "") for key in columns]
        row += [result.total, result.max_points, "; ".join(result.flags), result.reason]
        rows.append(row)
    write_csv(path, header, rows)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """One CSV cell: numbers as written, text neutralised against spreadsheet formulas.

    A spreadsheet evaluates a cell that starts with ``= + - @`` (or a tab or carriage return
    before one) as a formula on import, so a student folder named ``=HYPERLINK(...)`` would run
    in the instructor's gradebook. Such text gets a leading apostrophe, which spreadsheets show as
    plain text.
    """
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


def write_gradebook(results: Sequence[SubmissionResult], path: Path, meta: dict) -> None:
    """Every detail, machine-readable: the grader's gradebook of this run."""
    data = {"meta": meta, "results": [r.to_dict() for r in
                                      sorted(results, key=lambda r: (r.student, r.assignment))]}
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")


def summary_table(results: Sequence[SubmissionResult]) -> str:
    """The per-student table printed at the end of ``grade``."""
    rows = [("student", "assignment", "score", "status", "remarks")]
    for r in sorted(results, key=lambda r: (r.student, r.assignment)):
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


def write_report(results: Sequence[SubmissionResult], path: Path, meta: dict) -> None:
    """report.html: pass rate per exercise, score distribution, who could not be graded, flags."""
    graded = [r for r in results if r.status in (GRADED, PARTLY_GRADED)]
    parts = [f"<h1>Grading report</h1><p>{len(results)} submission(s), {len(graded)} graded, "
             f"{len(results) - len(graded)} not graded. Grader run at {_e(meta.get('when', ''))} "
             f"with {meta.get('jobs', '?')} worker(s).</p>"]
    unsandboxed = [r for r in results if r.status != NOT_GRADED and not r.sandboxed]
    if unsandboxed:
        parts.append(f"<p class=warn><b>{len(unsandboxed)} submission(s) ran UNSANDBOXED.</b> "
                     "Their code could read the solutions and the grader and use the network. "
                     "Install bubblewrap and grade again before trusting these grades.</p>")
    applied = sorted({item for r in results for item in r.limits})
    if applied:
        parts.append(f"<p>Limits applied to the kernels: {_e(', '.join(applied))}.</p>")
    ran = [r for r in results if r.status != NOT_GRADED and r.limits]
    no_pids = [r for r in ran if not any(x.startswith("processes") for x in r.limits)]
    if no_pids:
        parts.append(f"<p class=warn><b>{len(no_pids)} submission(s) ran with NO PROCESS CAP.</b>"
                     " Their code could fork until the machine ran out of processes. Grade "
                     "where a pids control group can be made, or as a non-root user.</p>")
    no_memcg = [r for r in ran if not any("tmpfs included" in x for x in r.limits)]
    if no_memcg:
        parts.append(f"<p class=warn><b>{len(no_memcg)} submission(s) ran without a memory "
                     "control group.</b> Files they wrote to a tmpfs were not counted against "
                     "their memory cap, and their working folder was on disk.</p>")
    for aid in sorted({r.assignment for r in results}):
        mine = [r for r in graded if r.assignment == aid]
        parts.append(f"<h2>{_e(aid)}</h2>")
        if mine:
            parts.append(_figure(_plot_assignment(mine, aid)))
            parts.append(_rate_table(mine))
    parts.append("<h2>Students</h2>" + _student_table(results))
    flagged = [r for r in results if r.flags]
    if flagged:
        parts.append("<h2>Flagged for review (suspected tampering)</h2><ul>" + "".join(
            f"<li><b>{_e(r.student)}</b> ({_e(r.assignment)}): {_e('; '.join(r.flags))}</li>"
            for r in flagged) + "</ul>")
    Path(path).write_text(_page("Grading report", "\n".join(parts)), encoding="utf-8")


def _rate_table(results) -> str:
    rows = []
    for k, exercise in enumerate(results[0].exercises):
        passed = sum(1 for r in results if r.exercises[k].status == "passed")
        rows.append(f"<tr><td>{_e(exercise.grade_id)}</td><td>{_e(exercise.title)}</td>"
                    f"<td class=num>{passed}/{len(results)}</td>"
                    f"<td class=num>{100 * passed / len(results):.0f}%</td></tr>")
    return ("<table><tr><th>test cell</th><th>exercise</th><th>passed</th><th>rate</th></tr>"
            + "".join(rows) + "</table>")


def _student_table(results) -> str:
    rows = "".join(
        f"<tr><td>{_e(r.student)}</td><td>{_e(r.assignment)}</td><td class=num>{r.total:g}/"
        f"{r.max_points:g}</td><td>{_e(r.status)}</td><td>{_e(r.reason)}</td>"
        f"<td>{_link(r.feedback)}</td></tr>"
        for r in sorted(results, key=lambda r: (r.student, r.assignment)))
    return ("<table><tr><th>student</th><th>assignment</th><th>score</th><th>status</th>"
            "<th>reason</th><th>feedback</th></tr>" + rows + "</table>")


def _link(rel: str) -> str:
    return f"<a href=\"{_e(rel)}\">feedback</a>" if rel else ""


def _plot_assignment(results, aid: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(10, 3.2), layout="constrained")
    ax_rate, ax_hist = fig.subplots(1, 2, width_ratios=[3, 2])
    names = [e.grade_id for e in results[0].exercises]
    rates = [100 * sum(r.exercises[k].status == "passed" for r in results) / len(results)
             for k in range(len(names))]
    ax_rate.barh(names[::-1], rates[::-1], color="#4C72B0")
    ax_rate.set_xlim(0, 100)
    ax_rate.set_xlabel("students who passed (%)")
    ax_rate.set_title(f"{aid}: pass rate per exercise")
    totals = [r.total for r in results]
    top = max(r.max_points for r in results) or 1
    # one bar per whole point when that is few enough, so each bar sits on its score
    bins = np.arange(-0.5, top + 1.0, 1.0) if top <= 40 else np.linspace(0, top, 21)
    ax_hist.hist(totals, bins=bins, color="#55A868", rwidth=0.85)
    ax_hist.set_xlim(bins[0], bins[-1])
    ax_hist.set_xlabel(f"score (out of {top:g})")
    ax_hist.set_ylabel("students")
    ax_hist.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax_hist.set_title("score distribution")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def _figure(png: bytes) -> str:
    return f"<img alt=\"chart\" src=\"data:image/png;base64,{base64.b64encode(png).decode()}\">"
