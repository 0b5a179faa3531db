"""Losses with their gradients: softmax cross-entropy and mean squared error.

Each loss returns ``(loss, dinput)``: the scalar loss and its gradient with respect to the
predictions, ready to feed a network's backward pass.
"""

from __future__ import annotations

import numpy as np

from dltrain._checks import _check_labels

__all__ = ["accuracy", "mse_loss", "softmax", "softmax_cross_entropy"]


def _as_logits(logits, name: str = "logits") -> np.ndarray:
    logits = np.asarray(logits)
    if logits.dtype == bool or not (
        np.issubdtype(logits.dtype, np.floating) or np.issubdtype(logits.dtype, np.integer)
    ):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {logits.dtype}")
    if logits.ndim != 2:
        raise ValueError(f"{name} must have shape (N, C), got {logits.shape}")
    return logits.astype(np.float64, copy=False)


def _check_logits_and_labels(logits, y):
    logits = _as_logits(logits)
    y = _check_labels(y)
    n, c = logits.shape
    if y.shape != (n,):
        raise ValueError(
            f"y must have one label per row of logits, shape ({n},), got shape {y.shape}"
        )
    if n == 0:
        raise ValueError("logits and y are empty; the mean over a batch needs N >= 1")
    if y.min() < 0 or y.max() >= c:
        raise ValueError(
            f"labels must be in 0 .. {c - 1} for logits with C = {c} columns, "
            f"got labels from {y.min()} to {y.max()}"
        )
    return logits, y


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    # shifting by the row max changes nothing mathematically and keeps exp() <= 1
    shifted = logits - logits.max(axis=-1, keepdims=True)
    with np.errstate(under="ignore"):
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits):
    """Softmax over the last axis, numerically stable.

    Parameters
    ----------
    logits : ndarray of shape (N, C)
        Unnormalized class scores.

    Returns
    -------
    probs : ndarray of shape (N, C)
        Nonnegative, each row sums to 1.

    Notes
    -----
    .. math:: p_{nc} = \\frac{e^{z_{nc} - m_n}}{\\sum_k e^{z_{nk} - m_n}},
              \\qquad m_n = \\max_k z_{nk}

    Subtracting the row maximum :math:`m_n` leaves the result unchanged (softmax is invariant
    to adding a constant to a row) and keeps every exponent :math:`\\le 0`, so logits like
    1e4 do not overflow.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim == 0:
        raise ValueError("logits must have at least one axis (the classes), got a scalar")
    return np.exp(_log_softmax(logits))


def softmax_cross_entropy(logits, y):
    """Mean softmax cross-entropy of a batch and its gradient with respect to the logits.

    Same value as PyTorch's ``nn.CrossEntropyLoss()`` (``reduction="mean"``).

    Parameters
    ----------
    logits : ndarray of shape (N, C)
        Unnormalized class scores.
    y : ndarray of shape (N,), integers
        Correct classes, in ``0 .. C - 1``.

    Returns
    -------
    loss : float
    dlogits : ndarray of shape (N, C)

    Notes
    -----
    With :math:`p = \\mathrm{softmax}(z)` row by row,

    .. math:: L = -\\frac1N \\sum_n \\log p_{n, y_n}, \\qquad
              \\frac{\\partial L}{\\partial z_{nc}} = \\frac{p_{nc} - [c = y_n]}{N}.

    :math:`\\log p` is computed as :math:`z - m - \\log\\sum_k e^{z_k - m}` (log-sum-exp), never
    as ``log(softmax)``, so a confidently wrong prediction gives a large finite loss rather
    than ``inf``.
    """
    logits, y = _check_logits_and_labels(logits, y)
    n = len(y)
    log_probs = _log_softmax(logits)
    rows = np.arange(n)
    loss = -log_probs[rows, y].mean()
    dlogits = np.exp(log_probs)
    dlogits[rows, y] -= 1.0
    return float(loss), dlogits / n


def mse_loss(pred, target):
    """Mean squared error over all elements, and its gradient.

    Follows PyTorch's ``nn.MSELoss()`` (``reduction="mean"``): the mean is over **all**
    elements, N * D of them, not over the N samples only.

    Parameters
    ----------
    pred : ndarray of shape (N, D) (any shape)
        Predictions.
    target : ndarray of the same shape as pred
        Targets. No broadcasting: a (N,) target for a (N, 1) prediction is an error, because
        broadcasting would silently compare every prediction with every target.

    Returns
    -------
    loss : float
    dpred : ndarray of the shape of pred

    Notes
    -----
    With :math:`M` the number of elements of ``pred``,

    .. math:: L = \\frac1M \\sum_i (\\hat y_i - y_i)^2, \\qquad
              \\frac{\\partial L}{\\partial \\hat y_i} = \\frac{2(\\hat y_i - y_i)}{M}.

    Other texts use :math:`\\frac{1}{2N}\\sum_n \\lVert \\hat y_n - y_n \\rVert^2`; that is
    :math:`D/2` times this loss and its gradient, so only the effective learning rate differs.
    """
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target must have the same shape, got {pred.shape} and {target.shape}; "
            "reshape one of them, e.g. target.reshape(pred.shape)"
        )
    if pred.size == 0:
        raise ValueError("pred and target are empty; the mean needs at least one element")
    diff = pred - target
    return float(np.mean(diff**2)), 2.0 * diff / diff.size


def accuracy(logits, y):
    """Fraction of samples whose highest score is the correct class.

    Parameters
    ----------
    logits : ndarray of shape (N, C)
        Class scores (logits or probabilities: only their argmax matters).
    y : ndarray of shape (N,), integers
        Correct classes.

    Returns
    -------
    float
        In ``[0, 1]``. Ties go to the lowest class index (``np.argmax``).
    """
    logits, y = _check_logits_and_labels(logits, y)
    return float(np.mean(np.argmax(logits, axis=1) == y))
