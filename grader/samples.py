"""Build submissions from the released notebooks: for the demo, the tests and the benchmark.

A submission is the released notebook with some answer cells filled in, as a student would hand
it in. Nothing here is committed: samples are generated from ``solutions/``, ``notebooks/`` and the
catalogue, so they can never drift from the course.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path

from nbformat import NotebookNode

from . import RELEASE_DIR
from . import catalogue as catalogue_mod
from .notebooks import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    grade_id,
    is_answer_cell,
    read_notebook,
    write_notebook,
)
from .reference import answer_sources, source_notebook


def as_student_answer(source: str) -> str:
    """A solution cell's source as a student would write it (solution markers removed)."""
    lines = [line for line in source.splitlines()
             if BEGIN_SOLUTION not in line and END_SOLUTION not in line]
    return "\n".join(lines).rstrip() + "\n"


def reference_answers(aid: str) -> dict[str, str]:
    """grade_id -> the reference solution of every answer cell, in student form."""
    return {gid: as_student_answer(src) for gid, src in
            answer_sources(source_notebook(aid)).items()}


def submission(aid: str, answers: Mapping[str, str], release_dir: Path = RELEASE_DIR
               ) -> NotebookNode:
    """The released notebook with the given answer cells filled in (others left as stubs)."""
    nb = copy.deepcopy(read_notebook(release_dir / aid / f"{aid}.ipynb"))
    unknown = set(answers) - {grade_id(c) for c in nb.cells if is_answer_cell(c)}
    if unknown:
        raise KeyError(f"{aid} has no answer cells {sorted(unknown)}")
    for cell in nb.cells:
        if is_answer_cell(cell) and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def reference_submission(aid: str, **overrides: str) -> NotebookNode:
    """Every answer correct, except the answer cells given as keyword overrides."""
    return submission(aid, {**reference_answers(aid), **overrides})


def entry_submission(aid: str, entry: catalogue_mod.Entry) -> NotebookNode:
    """The reference submission with one catalogue entry's implementation in its cell."""
    source = catalogue_mod.replacement(aid, entry)[entry.cell]
    return reference_submission(aid, **{entry.cell: as_student_answer(source)})


def write_submission(root: Path, student: str, aid: str, nb: NotebookNode) -> Path:
    """Write ``root/<student>/<aid>/<aid>.ipynb``."""
    path = Path(root) / student / aid / f"{aid}.ipynb"
    write_notebook(nb, path)
    return path


def demo_submissions(root: Path, aids: list[str]) -> list[Path]:
    """Three students per assignment: the reference, the blank release, a partly wrong one."""
    paths = []
    for aid in aids:
        paths.append(write_submission(root, "ada_reference", aid, reference_submission(aid)))
        paths.append(write_submission(root, "ben_blank", aid,
                                      read_notebook(RELEASE_DIR / aid / f"{aid}.ipynb")))
        paths.append(write_submission(root, "cleo_partly_wrong", aid, _partly_wrong(aid)))
    return paths


def _partly_wrong(aid: str) -> NotebookNode:
    """The first catalogue mistake of the first answer cell, and the last answer cell blank."""
    answers = reference_answers(aid)
    wrong = catalogue_mod.wrong_entries(aid)
    if wrong:
        entry = wrong[0]
        answers[entry.cell] = as_student_answer(catalogue_mod.replacement(aid, entry)[entry.cell])
    if len(answers) > 1:
        answers.pop(list(answers)[-1])
    return submission(aid, answers)
