"""One comparison of a result with the expected value, for the notebooks' visible checks and the
grader's judging alike, so a student reads the same sentence in both places.

:func:`array_problem` says what is wrong with a numeric result, or returns None: its kind, then
its shape (naming the transposed and the reshaped cases), then its values
(:func:`describe_difference`: the worst element, the two values, how many elements differ).
:mod:`dltrain.testing` frames it for a visible check; the grader's trusted side frames it for a
hidden test.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["array_problem", "describe_difference", "describe_kind", "scalar", "shape_hint"]


def shape_hint(actual: tuple, expected: tuple) -> str:
    """A short reason two shapes may differ: a transposed matrix or a reshape (else empty)."""
    actual, expected = tuple(actual), tuple(expected)
    if len(actual) == 2 and actual == expected[::-1] and actual != expected:
        return "it looks transposed"
    if int(np.prod(actual)) == int(np.prod(expected)) and actual != expected:
        return "same number of elements: check keepdims, reshape or a missing squeeze"
    return ""


def scalar(x: Any) -> str:
    """A number as a person writes it (``1.5``, not ``np.float64(1.5)``)."""
    x = np.asarray(x).item()
    return f"{x:.8g}" if isinstance(x, float) else repr(x)


def describe_difference(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str:
    """Describe where ``actual`` and ``expected`` differ most (same shapes assumed).

    Returns
    -------
    str
        A sentence naming the worst element, both values, the difference, and how many elements
        are outside the tolerance.
    """
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    bad = ~np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    if not bad.any():
        return "all elements agree within tolerance"
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(actual - expected)
    # NaN/inf where the other side is finite is the worst possible difference
    diff = np.where(bad & ~np.isfinite(diff), np.inf, np.where(bad, diff, -1.0))
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    where = f"at index {tuple(int(i) for i in worst)}" if diff.ndim else ""
    return (f"worst element {where}: expected {scalar(expected[worst])}, got "
            f"{scalar(actual[worst])} "
            f"(difference {diff[worst]:.3g}); {int(bad.sum())} of {bad.size} elements differ "
            f"beyond rtol={rtol:g}, atol={atol:g}").replace("  ", " ")


def describe_kind(value: Any, *, show_scalar: bool = False) -> str:
    """What ``value`` is, for a message: "an array of shape (3, 2)", "a list of 4 items", "None",
    "a str"; with ``show_scalar``, a number or string is shown too ("a float (0.5)")."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    if value is None:
        return "None"
    if show_scalar and isinstance(value, (int, float, str)):
        return f"a {type(value).__name__} ({value!r})"
    return f"a {type(value).__name__}"



def array_problem(actual: Any, expected: Any, *, rtol: float, atol: float,
                  exact: bool = False) -> str | None:
    """What is wrong with a numeric ``actual`` compared with ``expected``, or None when it agrees.

    The sentence has no subject (it reads after "the result" or a variable's name): "should have
    shape (3, 2), but it has shape (2, 3) (it looks transposed)." A NaN matches only a NaN.
    """
    if isinstance(actual, (str, dict, tuple, list)) or actual is None or \
            isinstance(actual, bool) and not isinstance(expected, (bool, np.bool_)):
        wanted = describe_kind(expected) if isinstance(expected, np.ndarray) else "a number"
        return f"should be {wanted}, but it is {describe_kind(actual)}."
    a, e = np.asarray(actual), np.asarray(expected)
    if isinstance(expected, np.ndarray) and not isinstance(actual, np.ndarray) and e.ndim > 0:
        return f"should be an array of shape {e.shape}, but it is {describe_kind(actual)}."
    if a.shape != e.shape:
        hint = shape_hint(a.shape, e.shape)
        return f"should have shape {e.shape}, but it has shape {a.shape}" + \
            (f" ({hint})." if hint else ".")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        return f"should hold numbers, but its dtype is {a.dtype}."
    if a.dtype == bool and e.dtype == bool:
        differ = int((a != e).sum())
        return None if differ == 0 else f"is not what was expected: {differ} booleans differ."
    if exact:
        if np.array_equal(a, e, equal_nan=a.dtype.kind in "fc"):
            return None
        return f"is not what was expected: {describe_difference(a, e, 0.0, 0.0)}."
    if np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        return None
    return f"is not what was expected: {describe_difference(a, e, rtol, atol)}."
