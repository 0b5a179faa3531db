"""Catalogues of known-wrong and alternative-correct implementations, one file per assignment.

``grader/catalogue/<aid>.py`` defines ``ENTRIES``, a list of :class:`Wrong` and
:class:`Alternative`. Each replaces one answer cell of the reference solution, either by textual
edits of the reference source (``edits``, so an entry follows the solution when it is reworded and
fails loudly when its target text disappears) or by a whole new ``source``.

The grader uses the catalogue twice:

* the test suite grades every entry end to end: a wrong one must lose points on the exercises it
  names and its feedback must name the mistake; an alternative one must keep full marks;
* while grading real students, when a hidden test fails, the outputs of every wrong entry are
  compared with the student's; a match names the mistake in the feedback.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from .. import CATALOGUE_DIR
from ..reference import answer_sources, source_notebook


@dataclass(frozen=True)
class Entry:
    cell: str
    """grade_id of the answer cell this entry replaces."""
    description: str
    edits: tuple[tuple[str, str], ...] = ()
    """(old, new) textual replacements applied to the reference source, each exactly once."""
    source: str | None = None
    """A whole replacement source, instead of edits."""

    def resolve(self, reference_source: str) -> str:
        """The source of this entry's answer cell."""
        if self.source is not None:
            return self.source
        text = reference_source
        for old, new in self.edits:
            count = text.count(old)
            if count != 1:
                raise ValueError(f"catalogue entry {self.description!r}: expected {old!r} exactly "
                                 f"once in the reference cell {self.cell!r}, found it {count} "
                                 "times")
            text = text.replace(old, new)
        if text == reference_source:
            raise ValueError(f"catalogue entry {self.description!r} changes nothing")
        return text


@dataclass(frozen=True)
class Wrong(Entry):
    """A known-wrong implementation: the mistake a student could plausibly make."""

    loses: tuple[str, ...] = field(default=())
    """grade_ids of the test cells (exercises) that must lose points."""
    feedback: str | None = None
    """Text the feedback must contain; defaults to ``description`` (named by output matching)."""
    diagnose: bool = True
    """Whether real submissions are compared with this entry's outputs to name the mistake."""


@dataclass(frozen=True)
class Alternative(Entry):
    """A correct implementation written differently from the reference; keeps full marks."""


@functools.lru_cache(maxsize=64)
def load(aid: str, folder: Path = CATALOGUE_DIR) -> tuple[Entry, ...]:
    """The catalogue of an assignment (empty when it has none)."""
    path = Path(folder) / f"{aid}.py"
    if not path.is_file():
        return ()
    spec = importlib.util.spec_from_file_location(f"grader.catalogue._{aid}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.ENTRIES)


def wrong_entries(aid: str, folder: Path = CATALOGUE_DIR) -> list[Wrong]:
    return [e for e in load(aid, folder) if isinstance(e, Wrong)]


def alternative_entries(aid: str, folder: Path = CATALOGUE_DIR) -> list[Alternative]:
    return [e for e in load(aid, folder) if isinstance(e, Alternative)]


def replacement_in(source_nb, entry: Entry) -> dict[str, str]:
    """{grade_id: source} to build this entry's variant of the instructor notebook ``source_nb``."""
    sources = answer_sources(source_nb)
    if entry.cell not in sources:
        raise KeyError(f"catalogue entry {entry.description!r}: no answer cell {entry.cell!r}")
    return {entry.cell: entry.resolve(sources[entry.cell])}


def replacement(aid: str, entry: Entry) -> dict[str, str]:
    """{grade_id: source} to build this entry's variant of the course's reference of ``aid``."""
    return replacement_in(source_notebook(aid), entry)
