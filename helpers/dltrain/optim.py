"""Plain stochastic gradient descent, momentum in CS231n's velocity form, and applying any
per-array step to a dict of parameters.

Every optimizer in the course is a *step function* with one signature::

    new_w, new_state = step(w, grad, state, **hyper)

``w`` and ``grad`` are arrays of the same shape, ``state`` is whatever the optimizer carries
from one step to the next (``None`` on the first call), and the hyperparameters (``lr``, ...)
are keyword arguments. A step returns a new array and a new state and modifies neither ``w``
nor ``state``. :func:`apply_step` runs a step function on every parameter of a network.

:func:`cs231n_momentum_step` is momentum in the form of CS231n and Sutskever et al. (2013),
which notebook ``04_momentum`` contrasts with PyTorch's form (the students implement PyTorch's)
and ``05_adaptive`` uses as the baseline the adaptive optimizers are compared with.
"""

from __future__ import annotations

import numpy as np

from ._checks import _check_nonnegative, check_scalar

__all__ = ["apply_step", "cs231n_momentum_step", "sgd_step"]


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
    lr = check_scalar(lr, "lr", minimum=0)
    w = np.asarray(w)
    grad = np.asarray(grad)
    if w.shape != grad.shape:
        raise ValueError(f"grad must have the shape of w {w.shape}, got {grad.shape}")
    return w - lr * grad, state


def cs231n_momentum_step(w, grad, state=None, *, lr, momentum=0.9):
    r"""One step of SGD with momentum in the velocity form of CS231n and Sutskever et al. (2013).

    Parameters
    ----------
    w : ndarray of any shape
        Current parameter values; not modified.
    grad : ndarray of the shape of w
        Gradient of the loss with respect to ``w``; not modified.
    state : ndarray of the shape of w, or None
        The velocity returned by the previous step; ``None`` at the first step (a zero
        velocity). Not modified.
    lr : float
        Learning rate :math:`\eta`, >= 0.
    momentum : float, default 0.9
        Momentum :math:`\mu`, 0 <= mu < 1.

    Returns
    -------
    new_w : ndarray of the shape of w
        A new array, :math:`w + v`.
    new_state : ndarray of the shape of w
        The new velocity :math:`v`.

    Notes
    -----
    .. math:: v_t = \mu\, v_{t-1} - \eta_t\, g_t, \qquad w_t = w_{t-1} + v_t,
              \qquad v_0 = 0

    At a constant learning rate this produces the same iterates as ``torch.optim.SGD(lr=eta,
    momentum=mu)``, whose buffer is :math:`b_t = -v_t/\eta`. Under a schedule the two differ:
    here each gradient keeps the learning rate of the step at which it arrived, while PyTorch
    rescales the whole buffer by the current learning rate.
    """
    lr = _check_nonnegative(lr, "lr")
    if _check_nonnegative(momentum, "momentum") >= 1:
        raise ValueError(f"momentum must be < 1 (0.9 is usual), got {momentum}")
    w, grad = np.asarray(w, dtype=float), np.asarray(grad, dtype=float)
    if w.shape != grad.shape:
        raise ValueError(f"grad must have the shape of w {w.shape}, got {grad.shape}")
    velocity = np.zeros(w.shape) if state is None else np.asarray(state, dtype=float)
    if velocity.shape != w.shape:
        raise ValueError(f"state must have the shape of w {w.shape}, got {velocity.shape}")
    velocity = momentum * velocity - lr * grad
    return w + velocity, velocity


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
