"""The course as the grader sees it: one :class:`Assignment` object per assignment.

An assignment is loaded once per process and holds everything grading needs that does not depend
on the student: the instructor notebook (``solutions/``), the released one (``notebooks/``), its
graded exercises, the reference namespace built from the solutions, and the catalogue's
known-wrong variants that name mistakes. The paths are configurable (``Course(solutions, release)``)
and every part of the grader reads them from here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from . import CATALOGUE_DIR, RELEASE_DIR, SOLUTIONS_DIR
from .notebooks import Exercise, exercises, grade_id, is_test_cell, read_notebook
from .trusted import Variant


class UnknownAssignment(LookupError):
    """No instructor notebook for this assignment id."""


@dataclass(frozen=True)
class Course:
    """Where the course lives: instructor notebooks, released notebooks, catalogue."""

    solutions: Path = SOLUTIONS_DIR
    release: Path = RELEASE_DIR
    catalogue: Path = CATALOGUE_DIR

    def assignment_ids(self) -> list[str]:
        """The folders of ``solutions`` that hold ``<aid>/<aid>.ipynb``, sorted."""
        if not self.solutions.is_dir():
            return []
        return sorted(p.name for p in self.solutions.iterdir()
                      if p.is_dir() and (p / f"{p.name}.ipynb").is_file())

    def assignment(self, aid: str) -> Assignment:
        return _load(self, aid)

    def sources(self, but: str | None = None) -> dict[str, NotebookNode]:
        """aid -> instructor notebook of every assignment (except ``but``), to recognise one."""
        return {aid: self.assignment(aid).source for aid in self.assignment_ids() if aid != but}


@functools.cache
def _load(course: Course, aid: str) -> Assignment:
    path = course.solutions / aid / f"{aid}.ipynb"
    if not path.is_file():
        raise UnknownAssignment(f"the course has no assignment {aid!r} (no {path})")
    released = course.release / aid / f"{aid}.ipynb"
    return Assignment(aid, course, read_notebook(path),
                      read_notebook(released) if released.is_file() else None)


class Assignment:
    """One assignment, loaded once per process (see the module docstring)."""

    def __init__(self, aid: str, course: Course, source: NotebookNode,
                 released: NotebookNode | None):
        self.aid, self.course, self.source, self.released = aid, course, source, released

    def __repr__(self) -> str:
        return f"Assignment({self.aid!r})"

    @functools.cached_property
    def exercises(self) -> list[Exercise]:
        return exercises(self.source)

    @functools.cached_property
    def test_sources(self) -> dict[str, str]:
        """grade_id -> source (with its hidden region) of every test cell."""
        return {grade_id(c): c.source for c in self.source.cells if is_test_cell(c)}

    @functools.cached_property
    def namespace(self) -> dict:
        """The reference: setup and answer cells of the solutions, executed (treat read-only)."""
        from .reference import build_namespace

        return build_namespace(self.source)

    def prepare_judging(self, diagnose: bool = True) -> None:
        """Build the reference (and, with ``diagnose``, the catalogue's variants) now, while this
        process waits anyway (for its first kernel to start). A failure is left for judging to
        meet again and report."""
        try:
            _ = self.namespace
            if diagnose:
                _ = self.variants
        except Exception:  # noqa: BLE001, S110 (judging builds it again and says why it fails)
            pass

    @functools.cached_property
    def variants(self) -> tuple[Variant, ...]:
        """The catalogue's known-wrong implementations that name mistakes, built once."""
        from . import catalogue as catalogue_mod
        from .reference import build_namespace

        found = []
        for entry in catalogue_mod.wrong_entries(self.aid, self.course.catalogue):
            if not entry.diagnose:
                continue
            try:
                replacement = catalogue_mod.replacement_in(self.source, entry)
                namespace = build_namespace(self.source, replacement, label="variant")
            except Exception:  # a broken entry must not stop grading; the tests catch it
                continue
            found.append(Variant(entry.description, namespace))
        return tuple(found)


def default_course() -> Course:
    """The course of this repository."""
    return Course()
