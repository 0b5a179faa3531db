"""Argument checks shared by the dltrain modules (private: messages say what was expected)."""

import numbers

import numpy as np


def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "rng must be a numpy random Generator, e.g. rng = np.random.default_rng(0); "
            f"got {type(rng).__name__}"
        )
    return rng


def check_scalar(value, name: str, *, integer: bool = False, minimum: float | None = None,
                 finite: bool = True) -> float | int:
    """The one validator of scalar arguments: ``value`` as an int or float, or a clear error.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, for the message.
    integer : bool, default False
        Require an integer (``numbers.Integral``); otherwise any real number.
    minimum : float, optional
        The smallest value allowed.
    finite : bool, default True
        Refuse NaN and infinities.

    Raises
    ------
    TypeError
        When ``value`` is not a number of the required kind (``bool`` never is: ``True`` samples
        or ``lr=True`` is always a mistake).
    ValueError
        When it is not finite, or below ``minimum``.
    """
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a real number"
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}")
    if finite and not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}, got {value}")
    return int(value) if integer else float(value)


def _check_int(value, name: str, *, minimum: int = 1) -> int:
    return check_scalar(value, name, integer=True, minimum=minimum)


def _check_nonnegative(value, name: str) -> float:
    return check_scalar(value, name, minimum=0)


def _check_labels(y, name: str = "y") -> np.ndarray:
    """Return ``y`` as a 1-D int64 array, or raise a message saying what was wrong."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of integer class labels of shape (N,), got shape {y.shape}"
        )
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        # an empty list arrives as float64; it holds no wrong label, so let it through
        if not (y.size == 0 and np.issubdtype(y.dtype, np.floating)):
            raise TypeError(
                f"{name} must hold integer class labels, got dtype {y.dtype}; "
                f"convert with {name}.astype(np.int64) if the values are whole numbers"
            )
    return y.astype(np.int64, copy=False)


def _check_finite_number(value, name: str) -> float:
    """``value`` as a float; TypeError when it is not a number, ValueError when not finite.

    Unlike :func:`check_scalar`, anything ``float()`` accepts passes (a 0-d array, a numpy
    scalar, a string of digits): these are values a student's function returned.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number
