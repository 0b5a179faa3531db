"""Generate the student notebooks in ``notebooks/`` from ``solutions/`` with nbgrader.

nbgrader runs in a throw-away course directory (with its own throw-away gradebook), so a release
never leaves a database or log in the repository, and the output is byte-identical on a re-run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from dltrain._guide import CODE_STUB, STUB_INSTRUCTION, NotebookMap, exercise_labels, stub_message

from . import RELEASE_DIR, SOLUTIONS_DIR, assignment_ids
from .notebooks import (
    KERNELSPEC,
    blank_notebook_like,
    grade_id,
    is_answer_cell,
    is_question_cell,
    read_notebook,
    without_feedback_only,
    write_notebook,
)


class ReleaseError(RuntimeError):
    """nbgrader refused to generate an assignment; the message says which and why."""


def ensure_tools_on_path() -> None:
    """nbgrader calls the ``alembic`` executable of its environment: put that on PATH."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def release(aids: list[str] | None = None, dest: Path = RELEASE_DIR,
            source: Path = SOLUTIONS_DIR) -> list[Path]:
    """Regenerate the student version of each assignment into ``dest/<aid>/``.

    Parameters
    ----------
    aids : list of str, optional
        Assignment ids; all of them by default.
    dest : Path
        Release directory (``notebooks/``, or a temporary one to check that it is in sync).
    source : Path
        Directory holding ``<aid>/<aid>.ipynb`` instructor notebooks.

    Returns
    -------
    list of Path
        The released notebooks.
    """
    aids = aids or assignment_ids()
    written = []
    for aid in aids:
        if not (source / aid / f"{aid}.ipynb").is_file():
            raise ReleaseError(f"no instructor notebook {source / aid / (aid + '.ipynb')}")
        with tempfile.TemporaryDirectory(prefix="release-") as tmp:
            released = _generate(aid, source, Path(tmp))
            target = dest / aid
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(released, target)
        notebook = target / f"{aid}.ipynb"
        write_notebook(_normalise(read_notebook(notebook)), notebook)
        written.append(notebook)
    return written


def _generate(aid: str, source: Path, course: Path, db_url: str | None = None) -> Path:
    from nbgrader.converters import GenerateAssignment
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    ensure_tools_on_path()
    shutil.copytree(source / aid, course / "source" / aid,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    src_nb = course / "source" / aid / f"{aid}.ipynb"
    write_notebook(without_feedback_only(blank_notebook_like(read_notebook(src_nb))), src_nb)

    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.source_directory = "source"
    config.CourseDirectory.release_directory = "release"
    config.CourseDirectory.db_url = db_url or f"sqlite:///{course / 'gradebook.db'}"
    config.CourseDirectory.assignment_id = aid
    config.GenerateAssignment.force = True
    config.ClearSolutions.code_stub = {"python": CODE_STUB}
    log = logging.getLogger("grader.release")
    coursedir = CourseDirectory(config=config, log=log)
    converter = GenerateAssignment(coursedir=coursedir, config=config, log=log)
    errors = _CollectErrors()
    log.addHandler(errors)
    try:
        converter.start()
    except NbGraderException:
        raise ReleaseError(f"nbgrader could not release {aid}:\n" + errors.text()) from None
    finally:
        log.removeHandler(errors)
    return course / "release" / aid


def _normalise(nb):
    nb = _name_stubs(blank_notebook_like(nb))
    nb.metadata = {"kernelspec": dict(KERNELSPEC),
                   "language_info": {"name": "python"}}
    return nb


def _name_stubs(nb):
    """Each stub's message names its exercise: ``raise NotImplementedError("Exercise 3
    (standardize_splits): replace this line with your code")`` (nbgrader's checksum follows)."""
    from nbgrader.utils import compute_checksum

    generic = f'raise NotImplementedError("{STUB_INSTRUCTION}")'
    labels = exercise_labels(nb.cells)
    cells = NotebookMap(nb.cells).cells
    for cell, info in zip(nb.cells, cells):
        if is_answer_cell(cell) and generic in cell.source:
            gid = grade_id(cell)
            message = stub_message(labels.get(gid), info.name, question=is_question_cell(cell))
            cell.source = cell.source.replace(
                generic, f"raise NotImplementedError({json.dumps(message, ensure_ascii=False)})")
            if "checksum" in cell.metadata.get("nbgrader", {}):
                cell.metadata.nbgrader.checksum = compute_checksum(cell)
    return nb


class _CollectErrors(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def text(self) -> str:
        return "\n".join(self.messages[-6:])
