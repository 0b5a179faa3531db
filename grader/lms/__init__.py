"""LMS formats as adapters: one module per LMS, one interface (:class:`base.Adapter`).

``python -m grader grade --lms auto|folder|canvas|moodle`` chooses one; ``auto`` (the default)
recognises Canvas's flat files and Moodle's participant folders, and falls back to plain folders
(the course's layout, nbgrader's ``submitted/``).
"""

from __future__ import annotations

from pathlib import Path

from .base import Adapter, Discovery
from .canvas import Canvas
from .folder import Folder
from .moodle import Moodle

ADAPTERS: dict[str, Adapter] = {a.name: a for a in (Canvas(), Moodle(), Folder())}


def choose(name: str, root: Path) -> Adapter:
    """The adapter called ``name``, or the first that recognises ``root`` for ``auto``."""
    if name != "auto":
        if name not in ADAPTERS:
            raise KeyError(f"unknown LMS {name!r}; choose one of auto, {', '.join(ADAPTERS)}")
        return ADAPTERS[name]
    for adapter in ADAPTERS.values():
        if adapter.detect(root):
            return adapter
    return ADAPTERS["folder"]


__all__ = ["ADAPTERS", "Adapter", "Discovery", "choose"]
