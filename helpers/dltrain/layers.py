"""Layers as forward/backward pairs: linear, ReLU, tanh, sigmoid and the identity.

Each layer is two functions, in the style of CS231n::

    out, cache = xxx_forward(x, ...)
    grads = xxx_backward(dout, cache)

``cache`` holds what the backward pass needs. Nothing is modified in place: the inputs are
left as they were and every output is a new array.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "activation_backward",
    "activation_forward",
    "identity_backward",
    "identity_forward",
    "linear_backward",
    "linear_forward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "tanh_backward",
    "tanh_forward",
]


def _as_float_array(x, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype == bool or not (
        np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
    ):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {x.dtype}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    return x


def _check_same_shape(dout: np.ndarray, expected: tuple, layer: str) -> None:
    if dout.shape != expected:
        raise ValueError(
            f"{layer}_backward: dout must have the shape of the forward output {expected}, "
            f"got {dout.shape}"
        )


# ---------------------------------------------------------------------------------------------
# linear (affine) layer
# ---------------------------------------------------------------------------------------------


def linear_forward(x, W, b):
    """Affine layer: ``out = x @ W + b``.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        A batch of N inputs with D features.
    W : ndarray of shape (D, H)
        Weights, one column per output unit.
    b : ndarray of shape (H,)
        Biases.

    Returns
    -------
    out : ndarray of shape (N, H)
    cache : tuple
        ``(x, W, b)`` for :func:`linear_backward`.

    Notes
    -----
    .. math:: \\text{out}_{nh} = \\sum_d x_{nd} W_{dh} + b_h

    ``W`` is stored (D, H), the transpose of PyTorch's ``nn.Linear.weight``, so that a batch is
    multiplied from the left.
    """
    x = _as_float_array(x, "x")
    W = _as_float_array(W, "W")
    b = _as_float_array(b, "b")
    if x.ndim != 2:
        raise ValueError(
            f"linear_forward: x must have shape (N, D), got {x.shape}; "
            "flatten images first, e.g. x.reshape(len(x), -1)"
        )
    if W.ndim != 2 or W.shape[0] != x.shape[1]:
        raise ValueError(
            f"linear_forward: W must have shape (D, H) with D = {x.shape[1]} "
            f"(the features of x), got {W.shape}"
        )
    if b.shape != (W.shape[1],):
        raise ValueError(f"linear_forward: b must have shape ({W.shape[1]},), got {b.shape}")
    out = x @ W + b
    return out, (x, W, b)


def linear_backward(dout, cache):
    """Backward pass of :func:`linear_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, H)
        Gradient of the loss with respect to ``out``.
    cache : tuple
        From :func:`linear_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D)
    dW : ndarray of shape (D, H)
    db : ndarray of shape (H,)

    Notes
    -----
    .. math:: dx = \\text{dout}\\, W^\\top,\\quad dW = x^\\top\\, \\text{dout},\\quad
              db = \\textstyle\\sum_n \\text{dout}_{n\\cdot}

    The bias gradient sums over the batch because ``b`` is added to every row.
    """
    x, W, b = cache
    dout = _as_float_array(dout, "dout")
    _check_same_shape(dout, (x.shape[0], W.shape[1]), "linear")
    dx = dout @ W.T  # (N, D)
    dW = x.T @ dout  # (D, H)
    db = dout.sum(axis=0)  # (H,)
    return dx, dW, db


# ---------------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------------


def relu_forward(x):
    """Rectified linear unit, ``max(x, 0)`` elementwise.

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    out : ndarray of the shape of x
    cache : ndarray
        ``x``, for :func:`relu_backward`.
    """
    x = _as_float_array(x, "x")
    return np.maximum(x, 0.0), x


def relu_backward(dout, cache):
    """Backward pass of :func:`relu_forward`.

    Parameters
    ----------
    dout : ndarray of the shape of x
    cache : ndarray
        From :func:`relu_forward`.

    Returns
    -------
    dx : ndarray of the shape of x

    Notes
    -----
    :math:`dx = \\text{dout}\\cdot[x > 0]`. At :math:`x = 0` the derivative does not exist;
    like PyTorch we use 0 there.
    """
    x = cache
    dout = _as_float_array(dout, "dout")
    _check_same_shape(dout, x.shape, "relu")
    return dout * (x > 0)


def tanh_forward(x):
    """Hyperbolic tangent elementwise.

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    out : ndarray of the shape of x, values in (-1, 1)
    cache : ndarray
        ``out``, for :func:`tanh_backward`.
    """
    x = _as_float_array(x, "x")
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """Backward pass of :func:`tanh_forward`.

    Parameters
    ----------
    dout : ndarray of the shape of x
    cache : ndarray
        From :func:`tanh_forward`.

    Returns
    -------
    dx : ndarray of the shape of x

    Notes
    -----
    :math:`\\tanh'(x) = 1 - \\tanh^2(x)`, computed from the cached output.
    """
    out = cache
    dout = _as_float_array(dout, "dout")
    _check_same_shape(dout, out.shape, "tanh")
    return dout * (1.0 - out**2)


def sigmoid_forward(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))`` elementwise, without overflow.

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    out : ndarray of the shape of x, values in [0, 1]
    cache : ndarray
        ``out``, for :func:`sigmoid_backward`.

    Notes
    -----
    :math:`\\sigma(x) = 1/(1 + e^{-x}) = e^{x}/(1 + e^{x})`. Written with
    :math:`e = e^{-|x|} \\le 1`, as :math:`1/(1 + e)` for :math:`x \\ge 0` and :math:`e/(1 + e)`
    for :math:`x < 0`, no exponential can overflow, so even ``x = ±1e308`` gives 1 and 0
    without a warning.
    """
    x = _as_float_array(x, "x")
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0, e) / (1.0 + e)
    return out, out


def sigmoid_backward(dout, cache):
    """Backward pass of :func:`sigmoid_forward`.

    Parameters
    ----------
    dout : ndarray of the shape of x
    cache : ndarray
        From :func:`sigmoid_forward`.

    Returns
    -------
    dx : ndarray of the shape of x

    Notes
    -----
    :math:`\\sigma'(x) = \\sigma(x)(1 - \\sigma(x))`, computed from the cached output; at most
    1/4, which is why deep sigmoid networks see vanishing gradients.
    """
    out = cache
    dout = _as_float_array(dout, "dout")
    _check_same_shape(dout, out.shape, "sigmoid")
    return dout * out * (1.0 - out)


def identity_forward(x):
    """The identity, a "linear" activation: ``out = x`` (a copy).

    Parameters
    ----------
    x : ndarray of any shape

    Returns
    -------
    out : ndarray of the shape of x
    cache : tuple
        The shape of x.
    """
    x = _as_float_array(x, "x")
    return x.copy(), x.shape


def identity_backward(dout, cache):
    """Backward pass of :func:`identity_forward`: ``dx = dout`` (a copy).

    Parameters
    ----------
    dout : ndarray of the shape of x
    cache : tuple
        From :func:`identity_forward`.

    Returns
    -------
    dx : ndarray of the shape of x
    """
    dout = _as_float_array(dout, "dout")
    _check_same_shape(dout, cache, "identity")
    return dout.copy()


ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "linear": (identity_forward, identity_backward),
    "identity": (identity_forward, identity_backward),
}
"""Activation name -> ``(forward, backward)``; "linear" and "identity" are the same."""


def _lookup_activation(name):
    if not isinstance(name, str):
        raise TypeError(
            f"activation must be a name (str), one of {sorted(ACTIVATIONS)}; "
            f"got {type(name).__name__}"
        )
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; expected one of {sorted(ACTIVATIONS)}"
        ) from None


def activation_forward(name, x):
    """Apply the activation called ``name`` (a key of :data:`ACTIVATIONS`).

    Parameters
    ----------
    name : str
        "relu", "tanh", "sigmoid", or "linear" / "identity".
    x : ndarray of any shape

    Returns
    -------
    out : ndarray of the shape of x
    cache : object
        For :func:`activation_backward` with the same name.
    """
    forward, _ = _lookup_activation(name)
    return forward(x)


def activation_backward(name, dout, cache):
    """Backward pass of :func:`activation_forward` with the same ``name``.

    Parameters
    ----------
    name : str
    dout : ndarray of the shape of x
    cache : object
        From :func:`activation_forward`.

    Returns
    -------
    dx : ndarray of the shape of x
    """
    _, backward = _lookup_activation(name)
    return backward(dout, cache)
