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


def _check_int(value, name: str, *, minimum: int = 1) -> int:
    # bool is an Integral in Python, but True samples is always a mistake
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_nonnegative(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return float(value)


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
    """``value`` as a float; TypeError when it is not a number, ValueError when not finite."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number
