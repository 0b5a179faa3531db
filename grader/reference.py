"""The reference implementations, derived from ``solutions/`` (their single source of truth).

The reference of an assignment is the namespace obtained by executing, in a fresh dictionary, the
notebook's setup cells (tagged ``setup``) and then every answer cell, in notebook order. Replacing
one answer cell's source before executing gives a *variant*: the catalogue's known-wrong and
alternative-correct implementations are variants.

This runs in the grader's own process, never in a student's kernel.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from pathlib import Path

from nbformat import NotebookNode

from . import SOLUTIONS_DIR
from .notebooks import grade_id, is_answer_cell, is_setup_cell, read_notebook


@functools.lru_cache(maxsize=32)
def source_notebook(aid: str, solutions: Path = SOLUTIONS_DIR) -> NotebookNode:
    """The instructor notebook of an assignment (cached; treat as read-only)."""
    return read_notebook(solutions / aid / f"{aid}.ipynb")


def answer_sources(nb: NotebookNode) -> dict[str, str]:
    """grade_id -> source of every answer cell."""
    return {grade_id(c): c.source for c in nb.cells if is_answer_cell(c)}


def build_namespace(nb: NotebookNode, replacements: Mapping[str, str] | None = None,
                    label: str = "reference") -> dict:
    """Execute setup and answer cells into a fresh namespace.

    Parameters
    ----------
    nb : NotebookNode
        The instructor notebook.
    replacements : mapping of str to str, optional
        grade_id of an answer cell -> source to run instead of the reference's.
    label : str
        Used in tracebacks (``<reference:fit_standardizer>``).

    Raises
    ------
    KeyError
        When a replacement names no answer cell.
    """
    replacements = dict(replacements or {})
    unknown = set(replacements) - set(answer_sources(nb))
    if unknown:
        raise KeyError(f"no answer cell with grade_id {sorted(unknown)}")
    module = types.ModuleType(f"__{label}__")
    namespace = module.__dict__
    for cell in nb.cells:
        if is_setup_cell(cell):
            _run(cell.source, namespace, f"<{label}:setup>")
        elif is_answer_cell(cell):
            gid = grade_id(cell)
            _run(replacements.get(gid, cell.source), namespace, f"<{label}:{gid}>")
    return namespace


def _run(source: str, namespace: dict, filename: str) -> None:
    # IPython magics have no meaning outside a kernel; setup cells must not need them.
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    exec(compile("\n".join(lines) + "\n", filename, "exec"), namespace)  # noqa: S102
