"""Checks for the notebooks' visible tests, with messages that help.

Every check raises :class:`CheckFailed` (an ``AssertionError``) whose message says what was
expected, what came back, where the worst element is and, when we can tell, the likely mistake.
A check that passes returns ``None`` and prints nothing, so a test cell reads as a list of claims::

    mean, std = fit_standardizer(X)
    check_shape(mean, (3,), "mean")
    check_close(mean, X.mean(axis=0), "mean",
                mistakes={"averaged over features (axis=1) instead of samples (axis=0)":
                          X.mean(axis=1)[:3]})
    passed("fit_standardizer")

The checks set ``__tracebackhide__``: in a notebook a failure shows the test cell's line and the
message, not the frames of this module.

``mistakes`` maps a description of a plausible mistake to the value that mistake would have
produced; when the student's value matches one of them, the message names it ("your result matches
code that <description>"). Each description is, word for word, that of a known-wrong entry of the
grader's catalogue, so the visible and the hidden tests name a mistake the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .compare import array_problem, describe_difference, scalar, shape_hint

__all__ = [
    "CheckFailed",
    "check_type",
    "check_shape",
    "check_close",
    "check_equal",
    "check_true",
    "check_finite",
    "check_unchanged",
    "check_choice",
    "check_number",
    "describe_difference",
    "passed",
]


class CheckFailed(AssertionError):
    """A visible test failed; the message says what was expected and what came back."""


def _fmt(value: Any, limit: int = 6) -> str:
    """Short, readable rendering of a value for a failure message."""
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=4, suppress=True, threshold=limit * 2, edgeitems=limit // 2):
            text = np.array2string(value, separator=", ")
        return f"array of shape {value.shape}: {text}"
    with np.printoptions(legacy="1.25"):  # numbers as a person writes them: 0.25, not np.float64
        text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _type_name(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"ndarray of shape {value.shape} and dtype {value.dtype}"
    return type(value).__name__


def check_type(value: Any, expected: type | tuple[type, ...], name: str, hint: str | None = None):
    """Check that ``value`` is an instance of ``expected``.

    Parameters
    ----------
    value : object
        What the student's code returned.
    expected : type or tuple of types
        Accepted types.
    name : str
        What the value is, as the student would call it (``"mean"``, ``"the returned tuple"``).
    hint : str, optional
        The likely mistake, added to the message.
    """
    __tracebackhide__ = True  # noqa: F841  (IPython shows the caller's line instead)
    if not isinstance(value, expected):
        names = expected.__name__ if isinstance(expected, type) else " or ".join(
            t.__name__ for t in expected)
        _fail(f"{name} should be a {names}, but it is a {_type_name(value)}.", hint)


def check_shape(array: Any, expected: tuple[int, ...], name: str, hint: str | None = None):
    """Check that ``array`` is an ndarray of shape ``expected``."""
    __tracebackhide__ = True  # noqa: F841  (IPython shows the caller's line instead)
    check_type(array, np.ndarray, name, hint)
    expected = tuple(expected)
    if array.shape != expected:
        reason = shape_hint(array.shape, expected)
        _fail(f"{name} should have shape {expected}, but it has shape {array.shape}"
              + (f" ({reason})." if reason else "."), hint)


def check_close(actual: Any, expected: Any, name: str, *, rtol: float = 1e-6, atol: float = 1e-8,
                hint: str | None = None, mistakes: Mapping[str, Any] | None = None):
    """Check that ``actual`` equals ``expected`` up to floating-point tolerance.

    Type and shape are checked first, then values with ``np.isclose(actual, expected, rtol, atol)``
    (NaN only matches NaN).

    Parameters
    ----------
    actual : ndarray or float
        What the student's code returned.
    expected : ndarray or float
        The right answer.
    name : str
        What the value is.
    rtol, atol : float
        Relative and absolute tolerance.
    hint : str, optional
        The likely mistake when no entry of ``mistakes`` matches.
    mistakes : mapping of str to array, optional
        Description of a plausible mistake -> the value it would produce. When ``actual`` matches
        one, the message names that mistake.
    """
    __tracebackhide__ = True  # noqa: F841  (IPython shows the caller's line instead)
    expected_arr = np.asarray(expected)
    if isinstance(expected, np.ndarray):
        check_shape(actual, expected.shape, name, hint)
    problem = array_problem(actual, expected, rtol=rtol, atol=atol)
    if problem is None:
        return
    if not problem.startswith("is not what was expected"):
        _fail(f"{name} {problem}", hint)
    actual_arr = np.asarray(actual)
    lines = [f"{name} is not what was expected.",
             f"  expected: {_fmt(expected)}",
             f"  got:      {_fmt(actual)}",
             f"  {describe_difference(actual_arr, expected_arr, rtol, atol)}"]
    diagnosis = _match_mistake(actual_arr, mistakes, rtol, atol)
    _fail("\n".join(lines), diagnosis or hint)


def check_equal(actual: Any, expected: Any, name: str, hint: str | None = None):
    """Check exact equality (integers, booleans, labels, shapes, strings)."""
    __tracebackhide__ = True  # noqa: F841  (IPython shows the caller's line instead)
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        if isinstance(expected, np.ndarray):
            check_shape(actual, expected.shape, name, hint)
        if np.array_equal(np.asarray(actual), np.asarray(expected)):
            return
        where = np.argwhere(np.asarray(actual) != np.asarray(expected))
        first = tuple(int(i) for i in where[0]) if len(where) else ()
        _fail(f"{name} is not what was expected.\n  expected: {_fmt(expected)}\n"
              f"  got:      {_fmt(actual)}\n  first difference at index {first}; "
              f"{len(where)} elements differ", hint)
    elif not (type(actual) is type(expected) or _both_numbers(actual, expected)) or \
            actual != expected:
        _fail(f"{name} should be {_fmt(expected)}, but it is {_fmt(actual)}.", hint)


def check_true(condition: Any, message: str, hint: str | None = None):
    """Check a claim; ``message`` says what should hold and what was seen instead."""
    __tracebackhide__ = True  # noqa: F841  (IPython shows the caller's line instead)
    if not bool(condition):
        _fail(message, hint)


def check_finite(array: Any, name: str, hint: str | None = None):
    """Check that every element of ``array`` is finite (no NaN, no inf)."""
    __tracebackhide__ = True  # noqa: F841  (IPython shows the caller's line instead)
    arr = np.asarray(array, dtype=float)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
        _fail(f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or inf); the first at "
              f"index {first} is {scalar(arr[first])}.", hint or "Look for a division by zero.")


def check_unchanged(before: np.ndarray, after: np.ndarray, name: str):
    """Check that the caller's array was not modified in place.

    Pass a copy taken before the call as ``before`` and the caller's array as ``after``.
    """
    __tracebackhide__ = True  # noqa: F841  (IPython shows the caller's line instead)
    if before.shape != after.shape or not np.array_equal(before, after, equal_nan=True):
        _fail(f"Your function modified its input {name} in place.",
              "Work on a copy or build a new array (x = x - m rather than x -= m).")


def check_choice(answer: Any, choices: str | tuple[str, ...], name: str):
    """Check that a multiple-choice answer is one of ``choices`` (not whether it is right).

    Parameters
    ----------
    answer : object
        The student's answer variable.
    choices : str or tuple of str
        The allowed answers: ``"abcd"`` for single letters, or a tuple of words.
    name : str
        The answer variable's name.
    """
    __tracebackhide__ = True  # noqa: F841  (IPython shows the caller's line instead)
    allowed = tuple(choices)
    if answer is ... or answer is None:
        _fail(f"{name} has no answer yet.",
              f"Set {name} to one of {', '.join(map(repr, allowed))}.")
    if not isinstance(answer, str) or answer not in allowed:
        _fail(f"{name} should be one of {', '.join(map(repr, allowed))}, but it is "
              f"{_fmt(answer)}.", "Answer with the letter (a string), e.g. "
              f"{name} = {allowed[0]!r}.")


def check_number(answer: Any, name: str, *, integer: bool = False):
    """Check that a numeric answer is a finite number (not whether it is right).

    Parameters
    ----------
    answer : object
        The student's answer variable.
    name : str
        The answer variable's name.
    integer : bool, default False
        Require a whole number (an int, or a float with no fractional part).
    """
    __tracebackhide__ = True  # noqa: F841  (IPython shows the caller's line instead)
    if answer is ... or answer is None:
        _fail(f"{name} has no answer yet.", f"Set {name} to a number.")
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, (int, float, np.number)):
        _fail(f"{name} should be a number, but it is a {_type_name(answer)}.", None)
    if not np.isfinite(float(answer)):
        _fail(f"{name} should be a finite number, but it is {scalar(answer)}.", None)
    if integer and float(answer) != int(float(answer)):
        _fail(f"{name} should be a whole number, but it is {scalar(answer)}.", None)


def passed(what: str = "") -> None:
    """Print a short confirmation once every check of a test cell has passed."""
    print(f"\u2714 {what + ': ' if what else ''}all visible tests passed.")


def _both_numbers(a: Any, b: Any) -> bool:
    return isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number))


def _match_mistake(actual: np.ndarray, mistakes: Mapping[str, Any] | None, rtol: float,
                   atol: float) -> str | None:
    for description, wrong in (mistakes or {}).items():
        wrong = np.asarray(wrong)
        if wrong.shape == actual.shape and np.allclose(actual, wrong, rtol=rtol, atol=atol,
                                                       equal_nan=True):
            return f"your result matches code that {description}."
    return None


def _fail(message: str, hint: str | None) -> None:
    __tracebackhide__ = True  # noqa: F841  (IPython shows the caller's line instead)
    if hint:
        message += f"\n  likely mistake: {hint}"
    raise CheckFailed(message)
