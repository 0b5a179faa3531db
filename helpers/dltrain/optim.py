"""Plain stochastic gradient descent, and applying any per-array step to a dict of parameters.

Every optimizer in the course is a *step function* with one signature::

    new_w, new_state = step(w, grad, state, **hyper)

``w`` and ``grad`` are arrays of the same shape, ``state`` is whatever the optimizer carries
from one step to the next (``None`` on the first call), and the hyperparameters (``lr``, ...)
are keyword arguments. A step returns a new array and a new state and modifies neither ``w``
nor ``state``. :func:`apply_step` runs a step function on every parameter of a network.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["apply_step", "sgd_step"]


def sgd_step(w, grad, state=None, *, lr):
    """One step of plain gradient descent: ``w - lr * grad``.

    Parameters
    ----------
    w : ndarray of any shape
        Current parameter values; not modified.
    grad : ndarray of the shape of w
        Gradient of the loss with respect to ``w``.
    state : None
        Plain SGD carries no state; whatever is passed is returned unchanged.
    lr : float
        Learning rate, >= 0.

    Returns
    -------
    new_w : ndarray of the shape of w
        A new array.
    state : None
        The ``state`` passed in.

    Notes
    -----
    .. math:: w_{t+1} = w_t - \\eta\\, g_t

    This is PyTorch's ``torch.optim.SGD`` with ``momentum=0`` and ``weight_decay=0``.
    """
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise TypeError(f"lr must be a number, got {type(lr).__name__} {lr!r}")
    if not np.isfinite(lr) or lr < 0:
        raise ValueError(f"lr must be a finite number >= 0, got {lr}")
    w = np.asarray(w)
    grad = np.asarray(grad)
    if w.shape != grad.shape:
        raise ValueError(f"grad must have the shape of w {w.shape}, got {grad.shape}")
    return w - lr * grad, state


def apply_step(step, params, grads, states=None, **hyper):
    """Apply a per-array step function to every parameter of a dict.

    Parameters
    ----------
    step : callable
        ``step(w, grad, state, **hyper) -> (new_w, new_state)``, e.g. :func:`sgd_step`.
    params : dict of str -> ndarray
        Current parameters; the dict and its arrays are not modified.
    grads : dict of str -> ndarray
        Gradients with exactly the keys of ``params`` and the same shapes.
    states : dict of str -> object, or None
        Per-parameter optimizer states from the previous call; ``None`` at the start, when
        every parameter's state is ``None``.
    **hyper
        Hyperparameters passed to every call of ``step`` (``lr=0.1``, ...).

    Returns
    -------
    new_params : dict of str -> ndarray
        New dict, same keys and order as ``params``.
    new_states : dict of str -> object
        New dict of the states the step returned, same keys.

    Notes
    -----
    ``apply_step`` itself never assigns into ``params``, ``grads`` or ``states``; whether the
    arrays are left untouched also depends on ``step`` following the rule above.
    """
    if not callable(step):
        raise TypeError(f"step must be a function step(w, grad, state, **hyper), got {step!r}")
    for name, value in (("params", params), ("grads", grads)):
        if not isinstance(value, dict):
            raise TypeError(f"{name} must be a dict of arrays, got {type(value).__name__}")
    if set(grads) != set(params):
        raise ValueError(
            "grads must have exactly the keys of params; "
            f"missing {sorted(set(params) - set(grads))}, unexpected "
            f"{sorted(set(grads) - set(params))}"
        )
    if states is None:
        states = dict.fromkeys(params)
    elif not isinstance(states, dict):
        raise TypeError(f"states must be a dict or None, got {type(states).__name__}")

    new_params, new_states = {}, {}
    for name, w in params.items():
        if np.shape(grads[name]) != np.shape(w):
            raise ValueError(
                f"grads[{name!r}] has shape {np.shape(grads[name])} but params[{name!r}] has "
                f"shape {np.shape(w)}"
            )
        result = step(w, grads[name], states.get(name), **hyper)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise TypeError(
                f"step must return a pair (new_w, new_state); for {name!r} it returned "
                f"{type(result).__name__}"
            )
        new_w, new_states[name] = result
        if np.shape(new_w) != np.shape(w):
            raise ValueError(
                f"step returned new_w of shape {np.shape(new_w)} for {name!r} of shape "
                f"{np.shape(w)}"
            )
        new_params[name] = new_w
    return new_params, new_states
