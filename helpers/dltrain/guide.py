"""Errors that guide: what a failing cell is waiting for, in plain words.

Every notebook's setup cell imports this module (``import dltrain.guide``). In a Jupyter kernel
that registers an IPython custom exception handler which

* explains an exercise that is not solved yet: instead of a bare ``NotImplementedError`` it names
  the exercise, the cell to edit and what to do;
* explains a cell that needs earlier exercises (an experiment, a widget): instead of a traceback
  ending in ``NameError`` or in an exercise's ``NotImplementedError`` it says which exercises to
  solve and which cells to run first ("Solve Exercises 1–2 and run their cells first");
* shows a failing check as the student's own line and the message: frames of code that sets
  ``__tracebackhide__`` (the checks of :mod:`dltrain.testing`) are left out;

and makes numpy scalars print plainly (``0.25``, not ``np.float64(0.25)``). Every other error is
shown as IPython shows it. The exception itself is never changed: a cell still fails with the
same type, so the grader reads ``NotImplementedError`` as "not answered" as before.

The exercises are learned from the notebook itself (the saved ``.ipynb`` file of the kernel, as
JupyterLab names it, or the notebook in the kernel's folder): an exercise is an nbgrader answer
cell, numbered by the ``Exercise N`` heading above it; cells are numbered as JupyterLab counts
them (1-based, all cells). Without the file the messages name the functions only.

Outside IPython (a script, the grader's reference build) importing this module does nothing.
"""

from dltrain._guide import (
    CODE_STUB,
    NotebookMap,
    exercise_labels,
    explained_errors,
    install,
    load_ipython_extension,
    stub_message,
)

__all__ = [
    "CODE_STUB",
    "NotebookMap",
    "explained_errors",
    "exercise_labels",
    "install",
    "load_ipython_extension",
    "stub_message",
]

install()
