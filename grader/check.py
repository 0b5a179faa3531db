"""``python -m grader check AID``: is the catalogue of an assignment still true?

Every entry is graded in this process (:mod:`grader.inprocess`), in seconds, and checked against
its promise:

* the reference scores full marks;
* a known-wrong entry loses points on each exercise it names, and the feedback names its mistake;
  it counts as *caught by the visible tests* when some visible test cell fails on it (a student
  sees the problem before submitting);
* an alternative-correct entry keeps full marks and, with ``--experiments``, every experiment of
  the notebook still runs to the end with it (each claim the notebook asserts holds for it too).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass, field

from . import catalogue as catalogue_mod
from .inprocess import Graded, grade_in_process
from .notebooks import grade_id, is_test_cell, without_hidden_region
from .reference import source_notebook
from .samples import as_student_answer, reference_answers, submission


@dataclass
class EntryCheck:
    """The outcome of one catalogue entry (or of the reference, ``entry`` None)."""

    label: str
    entry: catalogue_mod.Entry | None
    graded: Graded
    problems: list[str] = field(default_factory=list)

    @property
    def caught_visibly(self) -> bool:
        return bool(self.graded.visible_failures())


def entry_answers(aid: str, entries: list[catalogue_mod.Entry]) -> dict[str, str]:
    """The reference answers with each entry's implementation in its cell (one entry per cell)."""
    answers = reference_answers(aid)
    for entry in entries:
        answers[entry.cell] = as_student_answer(catalogue_mod.replacement(aid, entry)[entry.cell])
    return answers


def _experiment_failures(graded: Graded) -> list[str]:
    failures = []
    for index, run in graded.run.runs.items():
        if index in graded.assembled.experiment_cells() and run.status != "ok":
            failures.append(f"experiment cell {index} ({graded.assembled.nb.cells[index].get('id')}"
                            f"): {run.ename}: {run.evalue[:300]}")
    return failures


def check_reference(aid: str, experiments: bool = False) -> EntryCheck:
    graded = grade_in_process(aid, submission(aid, reference_answers(aid)),
                              experiments=experiments)
    check = EntryCheck("reference", None, graded)
    lost = _lost(graded)
    if lost:
        check.problems.append(f"the reference loses points: {lost}")
    if experiments:
        check.problems += _experiment_failures(graded)
    return check


def check_entry(aid: str, entry: catalogue_mod.Entry, experiments: bool = False) -> EntryCheck:
    """Grade one catalogue entry in process and compare with its promise."""
    graded = grade_in_process(aid, submission(aid, entry_answers(aid, [entry])),
                              experiments=experiments and isinstance(entry,
                                                                      catalogue_mod.Alternative))
    check = EntryCheck(f"{entry.cell}: {entry.description}", entry, graded)
    lost = _lost(graded)
    if isinstance(entry, catalogue_mod.Alternative):
        if lost:
            check.problems.append(f"an alternative-correct implementation lost points: {lost}")
        if experiments:
            check.problems += _experiment_failures(graded)
        return check
    if not entry.loses:
        check.problems.append("a wrong entry must name the exercises it loses (loses=...)")
    for gid in entry.loses:
        if gid not in {e.grade_id for e in graded.result.exercises}:
            check.problems.append(f"loses names an unknown test cell {gid!r}")
        elif gid not in lost:
            check.problems.append(f"kept its points on {gid}: the tests do not catch it")
    expected = entry.feedback or entry.description
    if expected not in graded.messages():
        check.problems.append(f"the feedback does not name the mistake {expected!r}")
    return check


def alternative_rounds(aid: str) -> list[list[catalogue_mod.Alternative]]:
    """The alternatives of ``aid`` grouped so that each group has at most one per answer cell.

    Round k holds the k-th alternative of every cell: running the notebook's experiments once per
    round exercises every alternative, in a few runs instead of one per entry.
    """
    by_cell: dict[str, list] = defaultdict(list)
    for entry in catalogue_mod.alternative_entries(aid):
        by_cell[entry.cell].append(entry)
    depth = max((len(v) for v in by_cell.values()), default=0)
    return [[entries[k] for entries in by_cell.values() if k < len(entries)]
            for k in range(depth)]


def check_experiments(aid: str, entries: list[catalogue_mod.Alternative]) -> EntryCheck:
    """Run every experiment with these alternatives substituted together; all must run clean."""
    graded = grade_in_process(aid, submission(aid, entry_answers(aid, entries)), experiments=True)
    check = EntryCheck(" + ".join(f"{e.cell}: {e.description}" for e in entries), None, graded)
    lost = _lost(graded)
    if lost:
        check.problems.append(f"these alternatives together lost points: {lost}")
    check.problems += _experiment_failures(graded)
    return check


def _lost(graded: Graded) -> dict[str, str]:
    return {e.grade_id: f"{e.points:g}/{e.max_points:g} {e.status}"
            for e in graded.result.exercises if e.points != e.max_points}


def check_assignment(aid: str, experiments: bool = False) -> list[EntryCheck]:
    """The reference and every catalogue entry of ``aid``, checked."""
    checks = [check_reference(aid, experiments)]
    checks += [check_entry(aid, entry, experiments) for entry in catalogue_mod.load(aid)]
    return checks


def visible_mistakes(aid: str) -> dict[str, list[str]]:
    """grade_id of each test cell -> the keys of its visible ``mistakes={...}`` dicts.

    A key that is not a literal string is returned as ``"<not a literal string>"``.
    """
    found: dict[str, list[str]] = {}
    for cell in source_notebook(aid).cells:
        if not is_test_cell(cell):
            continue
        keys = []
        for node in ast.walk(ast.parse(without_hidden_region(cell.source))):
            if isinstance(node, ast.keyword) and node.arg == "mistakes" and \
                    isinstance(node.value, ast.Dict):
                keys += [k.value if isinstance(k, ast.Constant) and isinstance(k.value, str)
                         else "<not a literal string>" for k in node.value.keys]
        if keys:
            found[grade_id(cell)] = keys
    return found


def mistake_list_problems(aid: str, checks: list[EntryCheck]) -> list[str]:
    """Where the visible tests' mistakes and the catalogue disagree (they are one list).

    Every visible key must be the description of a known-wrong entry of the assignment, and that
    entry's code must be named by the visible tests (so the value given for the key is what the
    entry's code returns).
    """
    wrong = {c.entry.description: c for c in checks
             if isinstance(c.entry, catalogue_mod.Wrong)}
    problems = []
    for gid, keys in visible_mistakes(aid).items():
        for key in keys:
            if key not in wrong:
                problems.append(f"{gid}: the visible mistake {key!r} is not the description of "
                                "a known-wrong entry of the catalogue")
                continue
            named = "\n".join(wrong[key].graded.visible_failures().values())
            if f"matches code that {key}" not in named:
                problems.append(f"{gid}: the catalogue's code that {key!r} is not named by the "
                                "visible tests (the value given for it, or an earlier check, "
                                "disagrees)")
    return problems


def visible_catch_rate(checks: list[EntryCheck]) -> tuple[int, int]:
    """(caught by some visible test, number of known-wrong entries).

    Wrong answers to conceptual questions (cells ``q_*``) do not count: their visible tests
    check only the answer's form, on purpose.
    """
    wrong = [c for c in checks if isinstance(c.entry, catalogue_mod.Wrong)
             and not c.entry.cell.startswith("q_")]
    return sum(c.caught_visibly for c in wrong), len(wrong)


def print_checks(aid: str, checks: list[EntryCheck], stream=None) -> int:
    """Print one line per entry and the totals; return the number of entries with problems."""
    stream = stream or sys.stdout
    bad = 0
    per_cell: dict[str, list[bool]] = defaultdict(list)
    for check in checks:
        kind = "reference" if check.entry is None else \
            "wrong" if isinstance(check.entry, catalogue_mod.Wrong) else "alternative"
        visible = ""
        if kind == "wrong" and check.entry.cell.startswith("q_"):
            visible = "(a question)"
        elif kind == "wrong":
            visible = "visible: caught" if check.caught_visibly else "visible: MISSED"
            per_cell[check.entry.cell].append(check.caught_visibly)
        mark = "ok " if not check.problems else "BAD"
        print(f"{mark} {kind:<11} {check.label[:90]:<90} {visible}", file=stream)
        for problem in check.problems:
            print(f"      - {problem}", file=stream)
        bad += bool(check.problems)
    caught, total = visible_catch_rate(checks)
    share = f"{100 * caught / total:.0f}%" if total else "n/a"
    print(f"{aid}: {len(checks)} checked, {bad} with problems; the visible tests catch {caught} of "
          f"{total} known-wrong entries ({share}).", file=stream)
    missed = {cell: flags.count(False) for cell, flags in per_cell.items() if not all(flags)}
    if missed:
        print("  missed by the visible tests, per answer cell: "
              + ", ".join(f"{c} {n}" for c, n in sorted(missed.items())), file=stream)
    disagreements = mistake_list_problems(aid, checks)
    if disagreements:
        print(f"  visible mistakes vs the catalogue: {len(disagreements)} disagreement(s)",
              file=stream)
        for problem in disagreements:
            print(f"      - {problem}", file=stream)
    return bad + len(disagreements)
