"""Numerical gradients by centred differences, and checks of analytic gradients against them.

Typical use, for a layer written as a forward/backward pair::

    rng = np.random.default_rng(0)
    errors = check_layer_gradients(linear_forward, linear_backward,
                                   {"x": rng.normal(size=(4, 3)), "W": rng.normal(size=(3, 5)),
                                    "b": rng.normal(size=5)}, rng)

which raises an ``AssertionError`` naming the input whose gradient is wrong.
"""

from __future__ import annotations

import numpy as np

from dltrain._checks import _check_rng

__all__ = [
    "check_layer_gradients",
    "numerical_gradient",
    "numerical_gradient_array",
    "rel_error",
]


def _float_copy(x, name: str) -> np.ndarray:
    x = np.array(x, dtype=np.float64, copy=True)
    if x.size == 0:
        raise ValueError(f"{name} is empty; there is no gradient to compute")
    return x


def numerical_gradient(f, x, *, h=1e-5):
    """Gradient of a scalar function by centred differences.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; it must compute its value from the array it is given.
    x : ndarray of any shape
        Point at which to take the gradient. Not modified: the function works on a float64
        copy, perturbs one entry of the copy at a time, calls ``f`` on the copy and restores
        the entry before moving on.
    h : float, default 1e-5
        Step size.

    Returns
    -------
    grad : ndarray of the shape of x, float64

    Notes
    -----
    .. math:: \\frac{\\partial f}{\\partial x_i} \\approx
              \\frac{f(x + h e_i) - f(x - h e_i)}{2h}

    The error is :math:`O(h^2)` from truncation plus about :math:`\\epsilon |f| / h` from
    rounding (:math:`\\epsilon \\approx 10^{-16}`); ``h = 1e-5`` balances the two for values of
    order one. It costs two evaluations of ``f`` per entry of ``x``, so use small arrays.
    """
    h = _check_step(h)
    x = _float_copy(x, "x")
    grad = np.zeros_like(x)
    # one entry at a time is the definition of the partial derivative; no way around the loop
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = _scalar(f(x))
        x[index] = original - h
        f_minus = _scalar(f(x))
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_array(f, x, dout, *, h=1e-5):
    """Gradient of ``sum(f(x) * dout)`` with respect to x, for an array-valued ``f``.

    This is what a layer's backward pass returns when the gradient arriving from above is
    ``dout``.

    Parameters
    ----------
    f : callable
        ``f(x) -> ndarray`` of the shape of ``dout``, computed from the array it is given.
    x : ndarray of any shape
        Not modified: perturbed on a float64 copy, entry by entry, restored after each one.
    dout : ndarray of the shape of f(x)
        Upstream gradient.
    h : float, default 1e-5

    Returns
    -------
    grad : ndarray of the shape of x, float64

    Notes
    -----
    .. math:: \\frac{\\partial}{\\partial x_i} \\sum_j f_j(x)\\,\\text{dout}_j \\approx
              \\sum_j \\frac{f_j(x + h e_i) - f_j(x - h e_i)}{2h}\\,\\text{dout}_j
    """
    dout = np.asarray(dout, dtype=np.float64)

    def weighted_sum(x_perturbed):
        out = np.asarray(f(x_perturbed), dtype=np.float64)
        if out.shape != dout.shape:
            raise ValueError(f"f(x) has shape {out.shape} but dout has shape {dout.shape}")
        return float(np.sum(out * dout))

    return numerical_gradient(weighted_sum, x, h=h)


def rel_error(a, b):
    """Largest elementwise relative error between two arrays.

    Parameters
    ----------
    a, b : ndarray of the same shape

    Returns
    -------
    float
        0 for identical arrays; about 1e-8 or less for a correct analytic gradient against a
        numerical one, of order 1 for a wrong one.

    Notes
    -----
    .. math:: \\max_i \\frac{|a_i - b_i|}{\\max(10^{-8}, |a_i| + |b_i|)}

    The floor :math:`10^{-8}` keeps entries where both are (almost) zero from dividing by
    zero. This is the measure CS231n uses.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs arrays of the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(_elementwise_rel_error(a, b)))


def _elementwise_rel_error(a, b):
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def check_layer_gradients(
    forward, backward, inputs, rng, *, h=1e-5, tol=1e-6, raise_on_failure=True
):
    """Compare a layer's backward pass with numerical gradients of its forward pass.

    Parameters
    ----------
    forward : callable
        ``forward(*arrays) -> (out, cache)``, taking the inputs in the order of ``inputs``.
        It must be deterministic (fix any random mask outside it).
    backward : callable
        ``backward(dout, cache) -> grads``: one array per input, in the same order, or a
        single array when there is one input.
    inputs : dict of str -> ndarray
        Name -> value of each input of ``forward``, in its positional order; e.g.
        ``{"x": x, "W": W, "b": b}``. Not modified.
    rng : np.random.Generator
        Draws the upstream gradient ``dout``, standard normal: non-uniform on purpose, since a
        ``dout`` of ones hides mistakes such as a missing transpose or a swapped sum axis.
    h : float, default 1e-5
        Step of the centred differences.
    tol : float, default 1e-6
        Largest accepted :func:`rel_error`.
    raise_on_failure : bool, default True
        Raise ``AssertionError`` when a gradient is off by more than ``tol`` (or when forward
        or backward modifies an input in place); otherwise only return the errors.

    Returns
    -------
    dict of str -> float
        Name of each input -> relative error of its gradient.
    """
    if not isinstance(inputs, dict) or not inputs:
        raise TypeError("inputs must be a non-empty dict name -> array, e.g. {'x': x}")
    rng = _check_rng(rng)
    names = list(inputs)
    arrays = [_float_copy(inputs[name], name) for name in names]
    untouched = [a.copy() for a in arrays]

    out, cache = forward(*arrays)
    out = np.asarray(out, dtype=np.float64)
    dout = rng.standard_normal(out.shape)
    analytic = _as_gradient_list(backward(dout, cache), names)
    modified = [
        n for n, a, a0 in zip(names, arrays, untouched, strict=True) if not np.array_equal(a, a0)
    ]
    if modified and raise_on_failure:
        raise AssertionError(
            f"forward or backward modified input(s) {modified} in place; a layer must leave "
            "its inputs unchanged and return new arrays"
        )

    errors, failures = {}, []
    for position, name in enumerate(names):
        grad = np.asarray(analytic[position], dtype=np.float64)
        if grad.shape != arrays[position].shape:
            raise AssertionError(
                f"the gradient for {name!r} has shape {grad.shape}, expected "
                f"{arrays[position].shape} (the shape of {name!r})"
            )

        def output_of(value, position=position):
            varied = [a.copy() for a in untouched]
            varied[position] = value
            return forward(*varied)[0]

        numerical = numerical_gradient_array(output_of, untouched[position], dout, h=h)
        errors[name] = rel_error(grad, numerical)
        if not errors[name] <= tol:  # written so that a NaN error fails too
            failures.append(_describe_failure(name, grad, numerical, errors[name], tol))
    if failures and raise_on_failure:
        raise AssertionError("\n".join(failures))
    return errors


def _as_gradient_list(grads, names):
    if len(names) == 1 and not isinstance(grads, (tuple, list)):
        return [grads]
    if not isinstance(grads, (tuple, list)) or len(grads) != len(names):
        got = len(grads) if isinstance(grads, (tuple, list)) else type(grads).__name__
        raise AssertionError(
            f"backward must return {len(names)} gradient(s), one per input {names}, in that "
            f"order; got {got}"
        )
    return list(grads)


def _describe_failure(name, analytic, numerical, error, tol):
    worst = np.unravel_index(np.argmax(_elementwise_rel_error(analytic, numerical)), analytic.shape)
    return (
        f"gradient of {name!r} is wrong: relative error {error:.3e} > tol {tol:.1e}; worst "
        f"at index {tuple(int(i) for i in worst)}: backward gives {analytic[worst]:.6g}, "
        f"numerical gradient is {numerical[worst]:.6g}"
    )


def _check_step(h):
    try:
        h = float(h)
    except (TypeError, ValueError):
        raise TypeError(f"h must be a number, got {h!r}") from None
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a small positive number like 1e-5, got {h}")
    return h


def _scalar(value):
    value = np.asarray(value, dtype=np.float64)
    if value.size != 1:
        raise ValueError(
            f"f must return a scalar, got an array of shape {value.shape}; for an array-valued "
            "function use numerical_gradient_array"
        )
    return float(value.reshape(()))
