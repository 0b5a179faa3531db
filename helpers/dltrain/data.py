"""Datasets: small synthetic problems, train/val/test splits and the 8x8 handwritten digits.

Every random function takes a ``np.random.Generator`` and draws from it only, so the same
seed gives the same data (NEP 19); nothing here touches numpy's global random state.

Shapes: ``X`` is ``(N, D)`` with one sample per row, ``y`` is ``(N,)`` of ``int64`` class labels
for classification problems and ``(N, D_out)`` of floats for regression.
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
from typing import NamedTuple

import numpy as np

from dltrain._checks import _check_int, _check_labels, _check_nonnegative, _check_rng

__all__ = [
    "DIGITS_CITATION",
    "Splits",
    "load_digits",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_teacher_regression",
    "one_hot",
    "train_val_test_split",
]

DIGITS_CITATION = (
    "E. Alpaydin and C. Kaynak (1998). Optical Recognition of Handwritten Digits [Dataset]. "
    "UCI Machine Learning Repository. https://doi.org/10.24432/C50P49. "
    "Licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). "
    "dltrain ships the copy of its test set (1797 images) distributed with scikit-learn."
)


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    order = rng.permutation(len(y))
    return X[order], y[order]


def _class_counts(n: int, classes: int) -> np.ndarray:
    # the first n % classes classes get one sample more: as even as integers allow
    return np.full(classes, n // classes) + (np.arange(classes) < n % classes)


# ---------------------------------------------------------------------------------------------
# synthetic classification problems
# ---------------------------------------------------------------------------------------------


def make_blobs(n, rng, *, centers=3, dim=2, spread=1.0, radius=5.0, shuffle=True):
    """Gaussian blobs, one per class, with their centres spread evenly on a circle.

    Parameters
    ----------
    n : int
        Number of samples, split as evenly as possible across the classes (the first
        ``n % centers`` classes get one more).
    rng : np.random.Generator
        The only source of randomness.
    centers : int, default 3
        Number of blobs, i.e. classes C.
    dim : int, default 2
        Number of features D.
    spread : float, default 1.0
        Standard deviation of each blob, the same along every axis.
    radius : float, default 5.0
        Distance of every centre from the origin.
    shuffle : bool, default True
        Shuffle the samples (with ``rng``); otherwise they come grouped by class.

    Returns
    -------
    X : ndarray of shape (n, dim), float64
    y : ndarray of shape (n,), int64
        Labels in ``0 .. centers - 1``.

    Notes
    -----
    Centre k sits at angle :math:`\\theta_k = 2\\pi k / C` on the circle of the given radius in
    the plane of the first two features, :math:`\\mu_k = r(\\cos\\theta_k, \\sin\\theta_k, 0,
    \\dots, 0)`; neighbouring centres are :math:`2r\\sin(\\pi/C)` apart. With ``dim=1`` the
    centres are spaced evenly on the segment :math:`[-r, r]`. Samples of class k are
    :math:`x = \\mu_k + \\sigma\\,\\varepsilon`, :math:`\\varepsilon \\sim \\mathcal N(0, I)`.
    """
    n = _check_int(n, "n")
    rng = _check_rng(rng)
    centers = _check_int(centers, "centers")
    dim = _check_int(dim, "dim")
    spread = _check_nonnegative(spread, "spread")
    radius = _check_nonnegative(radius, "radius")

    means = np.zeros((centers, dim))
    if dim == 1:
        means[:, 0] = np.linspace(-radius, radius, centers) if centers > 1 else 0.0
    else:
        angles = 2 * np.pi * np.arange(centers) / centers
        means[:, 0] = radius * np.cos(angles)
        means[:, 1] = radius * np.sin(angles)

    y = np.repeat(np.arange(centers, dtype=np.int64), _class_counts(n, centers))
    X = means[y] + spread * rng.standard_normal((n, dim))
    return _shuffled(X, y, rng) if shuffle else (X, y)


def make_moons(n, rng, *, noise=0.1, shuffle=True):
    """Two interleaving half circles, scikit-learn's ``make_moons``.

    Parameters
    ----------
    n : int
        Number of samples; class 0 (upper moon) gets ``n - n // 2``, class 1 gets ``n // 2``.
    rng : np.random.Generator
    noise : float, default 0.1
        Standard deviation of the gaussian noise added to each coordinate.
    shuffle : bool, default True

    Returns
    -------
    X : ndarray of shape (n, 2), float64
    y : ndarray of shape (n,), int64
        Labels 0 and 1.

    Notes
    -----
    Before noise, class 0 is :math:`(\\cos t, \\sin t)` and class 1 is
    :math:`(1 - \\cos t, \\tfrac12 - \\sin t)` for :math:`t` evenly spaced in :math:`[0, \\pi]`.
    """
    n = _check_int(n, "n")
    rng = _check_rng(rng)
    noise = _check_nonnegative(noise, "noise")

    n_upper, n_lower = _class_counts(n, 2)
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    X = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_upper, n_lower])
    return _shuffled(X, y, rng) if shuffle else (X, y)


def make_circles(n, rng, *, noise=0.05, factor=0.5, shuffle=True):
    """A small circle (class 1) inside a large one (class 0), scikit-learn's ``make_circles``.

    Parameters
    ----------
    n : int
        Number of samples; class 0 (outer circle) gets ``n - n // 2``, class 1 ``n // 2``.
    rng : np.random.Generator
    noise : float, default 0.05
        Standard deviation of the gaussian noise added to each coordinate.
    factor : float, default 0.5
        Radius of the inner circle relative to the outer one (radius 1), in ``(0, 1)``.
    shuffle : bool, default True

    Returns
    -------
    X : ndarray of shape (n, 2), float64
    y : ndarray of shape (n,), int64
        Labels 0 and 1.

    Notes
    -----
    Before noise, class 0 is :math:`(\\cos t, \\sin t)` and class 1 is
    :math:`f\\,(\\cos t, \\sin t)`, :math:`t` evenly spaced on :math:`[0, 2\\pi)`. No linear
    classifier separates them; one hidden layer does.
    """
    n = _check_int(n, "n")
    rng = _check_rng(rng)
    noise = _check_nonnegative(noise, "noise")
    factor = _check_nonnegative(factor, "factor")
    if not 0 < factor < 1:
        raise ValueError(f"factor must be strictly between 0 and 1, got {factor}")

    n_outer, n_inner = _class_counts(n, 2)
    t_outer = np.linspace(0.0, 2 * np.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2 * np.pi, n_inner, endpoint=False)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = factor * np.column_stack([np.cos(t_inner), np.sin(t_inner)])
    X = np.concatenate([outer, inner]) + noise * rng.standard_normal((n, 2))
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_outer, n_inner])
    return _shuffled(X, y, rng) if shuffle else (X, y)


def make_spirals(n, rng, *, classes=3, noise=0.2, turns=1.0, shuffle=True):
    """Interleaved spiral arms, one per class (the CS231n spiral data).

    Parameters
    ----------
    n : int
        Number of samples, split as evenly as possible across the arms.
    rng : np.random.Generator
    classes : int, default 3
        Number of arms, i.e. classes C.
    noise : float, default 0.2
        Standard deviation of the gaussian noise on the angle, in radians.
    turns : float, default 1.0
        How many full turns each arm makes from the centre to radius 1.
    shuffle : bool, default True

    Returns
    -------
    X : ndarray of shape (n, 2), float64
        Points inside the unit disc.
    y : ndarray of shape (n,), int64
        Labels in ``0 .. classes - 1``.

    Notes
    -----
    Arm k has radius :math:`r` evenly spaced in :math:`[0, 1]` and angle
    :math:`t = 2\\pi(\\text{turns}\\cdot r + k/C) + \\sigma\\varepsilon`, and the point is
    :math:`r(\\sin t, \\cos t)`. The noise is on the angle, so it grows with the radius.
    """
    n = _check_int(n, "n")
    rng = _check_rng(rng)
    classes = _check_int(classes, "classes")
    noise = _check_nonnegative(noise, "noise")
    turns = _check_nonnegative(turns, "turns")

    counts = _class_counts(n, classes)
    y = np.repeat(np.arange(classes, dtype=np.int64), counts)
    # radius runs 0 -> 1 along each arm; position of each sample within its own arm
    first_of_class = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.arange(n) - first_of_class[y]
    r = position / np.maximum(counts[y] - 1, 1)
    t = 2 * np.pi * (turns * r + y / classes) + noise * rng.standard_normal(n)
    X = r[:, None] * np.column_stack([np.sin(t), np.cos(t)])
    return _shuffled(X, y, rng) if shuffle else (X, y)


# ---------------------------------------------------------------------------------------------
# synthetic regression
# ---------------------------------------------------------------------------------------------


def make_teacher_regression(
    n,
    rng,
    *,
    d_in=5,
    hidden=16,
    d_out=1,
    noise=0.1,
    feature_scales=None,
    feature_offsets=None,
):
    """Regression targets produced by a random one-hidden-layer tanh "teacher" network.

    A student network of the same shape can fit the data down to the noise level, so the
    best achievable mean squared error is known: ``noise ** 2``.

    Parameters
    ----------
    n : int
        Number of samples N.
    rng : np.random.Generator
    d_in : int, default 5
        Number of input features D.
    hidden : int, default 16
        Width H of the teacher's hidden layer.
    d_out : int, default 1
        Number of targets per sample.
    noise : float, default 0.1
        Standard deviation of the gaussian noise added to the targets.
    feature_scales : array_like of shape (d_in,), optional
        Multiplies column j of X by ``feature_scales[j]`` after the targets are computed, so a
        notebook can make badly scaled features for the same underlying problem.
    feature_offsets : array_like of shape (d_in,), optional
        Added to column j of X after scaling, to make features that are not centred.

    Returns
    -------
    X : ndarray of shape (n, d_in), float64
    y : ndarray of shape (n, d_out), float64

    Notes
    -----
    With :math:`z \\sim \\mathcal N(0, I_D)`,
    :math:`W_1 \\sim \\mathcal N(0, 1/D)^{D\\times H}`, :math:`b_1 \\sim \\mathcal N(0, 0.1^2)`,
    :math:`W_2 \\sim \\mathcal N(0, 1/H)^{H\\times D_{out}}`,

    .. math:: y = \\tanh(z W_1 + b_1) W_2 + \\sigma\\varepsilon, \\qquad x = s \\odot z + o .

    The teacher sees the standardized features :math:`z`; scales :math:`s` and offsets
    :math:`o` only change how the student sees them. The random draws do not depend on
    ``feature_scales`` or ``feature_offsets``: with the same seed, ``(X - o) / s`` is the same
    array whatever ``s`` and ``o`` are, and ``y`` is the same.
    """
    n = _check_int(n, "n")
    rng = _check_rng(rng)
    d_in = _check_int(d_in, "d_in")
    hidden = _check_int(hidden, "hidden")
    d_out = _check_int(d_out, "d_out")
    noise = _check_nonnegative(noise, "noise")
    scales = _feature_vector(feature_scales, d_in, "feature_scales", default=1.0)
    offsets = _feature_vector(feature_offsets, d_in, "feature_offsets", default=0.0)

    W1 = rng.standard_normal((d_in, hidden)) / np.sqrt(d_in)
    b1 = 0.1 * rng.standard_normal(hidden)
    W2 = rng.standard_normal((hidden, d_out)) / np.sqrt(hidden)
    Z = rng.standard_normal((n, d_in))
    y = np.tanh(Z @ W1 + b1) @ W2 + noise * rng.standard_normal((n, d_out))
    return Z * scales + offsets, y


def _feature_vector(values, d_in: int, name: str, *, default: float) -> np.ndarray:
    if values is None:
        return np.full(d_in, default)
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (d_in,):
        raise ValueError(f"{name} must have shape ({d_in},) (one per feature), got {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite, got {values}")
    return values


# ---------------------------------------------------------------------------------------------
# splits and labels
# ---------------------------------------------------------------------------------------------


class Splits(NamedTuple):
    """Train, validation and test sets, returned by :func:`train_val_test_split`."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def train_val_test_split(X, y, rng, *, val=0.2, test=0.2) -> Splits:
    """Split samples at random into disjoint train, validation and test sets.

    Parameters
    ----------
    X : ndarray of shape (N, ...)
        Samples along the first axis.
    y : ndarray of shape (N, ...)
        Labels or targets, aligned with ``X``.
    rng : np.random.Generator
        Draws the random permutation of the samples.
    val, test : float, default 0.2
        Fractions of the samples in the validation and test sets, each in ``[0, 1)``, with
        ``val + test < 1``.

    Returns
    -------
    Splits
        ``(X_train, y_train, X_val, y_val, X_test, y_test)``, new arrays (never views of the
        inputs). Each sample lands in exactly one set.

    Notes
    -----
    The sizes are ``n_val = round(val * N)``, ``n_test = round(test * N)`` and the rest, at
    least one sample, is the training set. The first ``n_test`` samples of the permutation form
    the test set, the next ``n_val`` the validation set.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    rng = _check_rng(rng)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"X and y must have the samples along their first axis, got shapes {X.shape} "
            f"and {y.shape}"
        )
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of samples, got {len(X)} and {len(y)}")
    fractions = {"val": val, "test": test}
    for name, fraction in fractions.items():
        _check_nonnegative(fraction, name)
        if fraction >= 1:
            raise ValueError(f"{name} must be a fraction in [0, 1), got {fraction}")
    if val + test >= 1:
        raise ValueError(
            f"val + test must be < 1 to leave training samples, got {val} + {test} = {val + test}"
        )

    n = len(X)
    n_test = int(round(test * n))
    n_val = int(round(val * n))
    if n - n_test - n_val < 1:
        raise ValueError(f"with {n} samples, val={val} and test={test} leave no training sample")
    order = rng.permutation(n)
    test_idx = order[:n_test]
    val_idx = order[n_test : n_test + n_val]
    train_idx = order[n_test + n_val :]
    return Splits(X[train_idx], y[train_idx], X[val_idx], y[val_idx], X[test_idx], y[test_idx])


def one_hot(y, num_classes=None) -> np.ndarray:
    """One-hot encoding of integer class labels.

    Parameters
    ----------
    y : array_like of shape (N,), integers
        Class labels in ``0 .. num_classes - 1``.
    num_classes : int, optional
        Number of classes C; by default ``max(y) + 1``.

    Returns
    -------
    ndarray of shape (N, C), float64
        ``out[i, y[i]] = 1`` and every other entry 0.
    """
    y = _check_labels(y)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    else:
        num_classes = _check_int(num_classes, "num_classes", minimum=0)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"labels must be in 0 .. {num_classes - 1} for num_classes={num_classes}, "
            f"got labels from {y.min()} to {y.max()}"
        )
    out = np.zeros((y.size, num_classes))
    out[np.arange(y.size), y] = 1.0
    return out


# ---------------------------------------------------------------------------------------------
# handwritten digits
# ---------------------------------------------------------------------------------------------


@functools.cache
def _read_digits() -> tuple[np.ndarray, np.ndarray]:
    # read-only so that a slip inside dltrain cannot corrupt the cache either
    resource = importlib.resources.files("dltrain").joinpath("datasets").joinpath("digits.csv.gz")
    with resource.open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64, ndmin=2)
    X = table[:, :64].astype(np.float64)
    y = table[:, 64].copy()
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def load_digits(*, as_images=False):
    """The 8x8 handwritten digits shipped with dltrain (1797 images, 10 classes).

    Read from the package data on first use (no download) and cached; every call returns
    fresh copies, so changing them cannot affect later calls.

    Parameters
    ----------
    as_images : bool, default False
        Return ``X`` as images of shape (1797, 8, 8) instead of flat rows of 64 pixels.

    Returns
    -------
    X : ndarray of shape (1797, 64) or (1797, 8, 8), float64
        Pixel intensities, whole numbers in ``[0, 16]``; pixels are in row-major order.
    y : ndarray of shape (1797,), int64
        The digit shown, ``0 .. 9``.

    Notes
    -----
    The test set of the UCI "Optical Recognition of Handwritten Digits" data set, in the copy
    scikit-learn distributes; see :data:`DIGITS_CITATION` and ``datasets/DIGITS_LICENSE.txt``
    (CC BY 4.0: cite it when you use it).
    """
    X, y = _read_digits()
    X = X.copy()
    if as_images:
        X = X.reshape(-1, 8, 8)
    return X, y.copy()
