"""A small fully connected network (multilayer perceptron) built from :mod:`dltrain.layers`.

The parameters are a plain dict of arrays, ``{"W1": (D, H1), "b1": (H1,), "W2": ..., ...}``,
so an optimizer can step each one by name and a notebook can inspect or replace any of them.
Layer ``l`` computes ``z_l = h_{l-1} @ W_l + b_l`` and, except for the last layer,
``h_l = activation(z_l)``; ``h_0`` is the input and ``z_L`` the scores.
"""

from __future__ import annotations

import re

import numpy as np

from dltrain._checks import _check_finite_number, _check_int, _check_nonnegative, _check_rng
from dltrain.layers import (
    _lookup_activation,
    activation_backward,
    activation_forward,
    linear_backward,
    linear_forward,
)
from dltrain.losses import mse_loss, softmax_cross_entropy

__all__ = [
    "LOSSES",
    "default_init",
    "init_mlp",
    "mlp_backward",
    "mlp_forward",
    "mlp_loss_and_grads",
    "num_layers",
]

LOSSES = {"cross_entropy": softmax_cross_entropy, "mse": mse_loss}
"""Loss name -> ``loss(scores, y) -> (loss, dscores)`` accepted by :func:`mlp_loss_and_grads`."""

_PARAM_NAME = re.compile(r"^([Wb])([1-9][0-9]*)$")


def default_init(fan_in, fan_out, rng):
    """PyTorch's default weight initialisation for ``nn.Linear``: uniform in ±1/sqrt(fan_in).

    This is a sensible default so that networks train out of the box; it is **not** Xavier
    (Glorot) or He (Kaiming) initialisation. Notebook ``01_initialization`` is where
    initialisation is studied and those are derived.

    Parameters
    ----------
    fan_in : int
        Number of inputs of the layer, D.
    fan_out : int
        Number of outputs of the layer, H.
    rng : np.random.Generator

    Returns
    -------
    W : ndarray of shape (fan_in, fan_out), float64

    Notes
    -----
    :math:`W_{ij} \\sim \\mathcal U(-a, a)` with :math:`a = 1/\\sqrt{\\text{fan\\_in}}`, so
    :math:`\\operatorname{Var} W_{ij} = a^2/3 = 1/(3\\,\\text{fan\\_in})`. (PyTorch writes it as
    ``kaiming_uniform_(a=sqrt(5))``, which works out to the same bound.)
    """
    fan_in = _check_int(fan_in, "fan_in")
    fan_out = _check_int(fan_out, "fan_out")
    rng = _check_rng(rng)
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def init_mlp(sizes, rng, *, init=None, bias=0.0):
    """Parameters of a fully connected network with the given layer sizes.

    Parameters
    ----------
    sizes : sequence of int
        ``[D, H1, ..., C]``: input features, hidden widths, outputs; at least two entries.
        ``[64, 100, 100, 10]`` is a network with two hidden layers of 100 units.
    rng : np.random.Generator
    init : callable, optional
        ``init(fan_in, fan_out, rng) -> W`` of shape (fan_in, fan_out), called once per layer
        from the first to the last. Default :func:`default_init`.
    bias : float or "default", default 0.0
        A number fills every bias with it; ``"default"`` draws biases like PyTorch's
        ``nn.Linear``, uniform in ±1/sqrt(fan_in).

    Returns
    -------
    params : dict of str -> ndarray
        ``"W1"`` of shape (D, H1), ``"b1"`` of shape (H1,), ..., ``"WL"``, ``"bL"`` for
        L = len(sizes) - 1 layers, all float64 and freshly allocated.
    """
    rng = _check_rng(rng)
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(
            f"sizes must be a sequence of layer sizes like [64, 100, 10], got {sizes!r}"
        ) from None
    if len(sizes) < 2:
        raise ValueError(
            f"sizes needs at least an input and an output size, like [64, 10], got {sizes}"
        )
    sizes = [_check_int(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
    if init is None:
        init = default_init
    elif not callable(init):
        raise TypeError(f"init must be a callable init(fan_in, fan_out, rng), got {init!r}")
    if isinstance(bias, str):
        if bias != "default":
            raise ValueError(f'bias must be a number or "default", got {bias!r}')
    else:
        _check_finite_number(bias, "bias")

    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        W = np.array(init(fan_in, fan_out, rng), dtype=np.float64)
        if W.shape != (fan_in, fan_out):
            raise ValueError(
                f"init({fan_in}, {fan_out}, rng) must return an array of shape "
                f"({fan_in}, {fan_out}) for layer {layer}, got shape {W.shape}"
            )
        if bias == "default":
            bound = 1.0 / np.sqrt(fan_in)
            b = rng.uniform(-bound, bound, size=fan_out)
        else:
            b = np.full(fan_out, float(bias))
        params[f"W{layer}"] = W
        params[f"b{layer}"] = b
    return params


def num_layers(params):
    """Number L of linear layers in ``params``, after checking the parameters fit together.

    Parameters
    ----------
    params : dict of str -> ndarray
        ``W1, b1, ..., WL, bL`` as made by :func:`init_mlp`.

    Returns
    -------
    int
        L, at least 1.

    Raises
    ------
    ValueError
        If a name is not ``W<l>`` / ``b<l>``, a layer is missing, or shapes do not chain.
    """
    if not isinstance(params, dict):
        raise TypeError(
            f"params must be a dict like {{'W1': ..., 'b1': ...}}, got {type(params).__name__}"
        )
    layers = set()
    for name in params:
        match = _PARAM_NAME.match(name) if isinstance(name, str) else None
        if match is None:
            raise ValueError(
                f"unexpected parameter name {name!r}; an MLP has W1, b1, W2, b2, ... only"
            )
        layers.add(int(match.group(2)))
    L = max(layers, default=0)
    expected = {f"{kind}{layer}" for layer in range(1, L + 1) for kind in "Wb"}
    missing = sorted(expected - set(params))
    if L == 0 or missing:
        raise ValueError(f"params is missing {missing or ['W1', 'b1']}")
    fan_out_before = None
    for layer in range(1, L + 1):
        W_shape = np.shape(params[f"W{layer}"])
        b_shape = np.shape(params[f"b{layer}"])
        if len(W_shape) != 2 or b_shape != (W_shape[1],):
            raise ValueError(
                f"layer {layer}: W{layer} must have shape (fan_in, fan_out) and b{layer} shape "
                f"(fan_out,), got {W_shape} and {b_shape}"
            )
        if fan_out_before is not None and W_shape[0] != fan_out_before:
            raise ValueError(
                f"W{layer} has {W_shape[0]} rows but layer {layer - 1} has {fan_out_before} outputs"
            )
        fan_out_before = W_shape[1]
    return L


def mlp_forward(params, X, *, activation="relu", record=False):
    """Forward pass of the network: scores for a batch of inputs.

    Parameters
    ----------
    params : dict of str -> ndarray
        ``W1, b1, ..., WL, bL``; ``W1`` has shape (D, H1) and ``WL`` shape (H_{L-1}, C).
    X : ndarray of shape (N, D)
    activation : str, default "relu"
        Applied after every hidden layer, not after the last one; a name in
        :data:`dltrain.layers.ACTIVATIONS`.
    record : bool, default False
        Also keep every hidden layer's values in the cache, for plots (see below).

    Returns
    -------
    scores : ndarray of shape (N, C)
        Output of the last linear layer (logits for classification).
    cache : dict
        For :func:`mlp_backward`. With ``record=True`` it also holds, with one entry per
        hidden layer l = 1 .. L-1 (index 0 is the first hidden layer):

        - ``cache["pre_activations"]``: list of arrays ``z_l`` of shape (N, H_l),
        - ``cache["activations"]``: list of arrays ``h_l = activation(z_l)`` of shape (N, H_l),

        and, once :func:`mlp_backward` has run on it, ``cache["grad_pre_activations"]`` and
        ``cache["grad_activations"]`` (gradients of the loss with respect to the same arrays).
        E.g. ``plt.hist(cache["activations"][0].ravel())`` shows the first hidden layer.

    Notes
    -----
    .. math:: h_0 = X,\\quad z_l = h_{l-1} W_l + b_l,\\quad h_l = \\phi(z_l)\\ (l < L),
              \\quad \\text{scores} = z_L
    """
    L = num_layers(params)
    _lookup_activation(activation)  # fail early on a bad name
    X = np.asarray(X)
    W1_shape = np.shape(params["W1"])
    if X.ndim != 2 or X.shape[1] != W1_shape[0]:
        raise ValueError(
            f"X must have shape (N, {W1_shape[0]}) to match W1 of shape {W1_shape}, got {X.shape}"
        )
    cache = {"activation": activation, "num_layers": L, "record": bool(record), "layers": []}
    if record:
        cache["pre_activations"] = []
        cache["activations"] = []

    h = X
    for layer in range(1, L):  # hidden layers: linear, then the activation
        z, linear_cache = linear_forward(h, params[f"W{layer}"], params[f"b{layer}"])
        h, activation_cache = activation_forward(activation, z)
        cache["layers"].append((linear_cache, activation_cache))
        if record:
            cache["pre_activations"].append(z)
            cache["activations"].append(h)
    scores, linear_cache = linear_forward(h, params[f"W{L}"], params[f"b{L}"])
    cache["layers"].append((linear_cache, None))
    return scores, cache


def mlp_backward(dscores, cache):
    """Backward pass of :func:`mlp_forward`: gradients of every parameter.

    Parameters
    ----------
    dscores : ndarray of shape (N, C)
        Gradient of the loss with respect to the scores.
    cache : dict
        From :func:`mlp_forward`.

    Returns
    -------
    grads : dict of str -> ndarray
        The same keys and shapes as ``params``: ``"W1"``, ``"b1"``, ...

    Notes
    -----
    If the forward pass was recorded (``record=True``), this also stores in the cache, one
    entry per hidden layer like ``cache["activations"]``, the lists
    ``cache["grad_activations"]`` (:math:`\\partial L/\\partial h_l`) and
    ``cache["grad_pre_activations"]`` (:math:`\\partial L/\\partial z_l`). That is the only
    change made to the cache; nothing else passed in is modified.

    Going backwards from :math:`\\delta_L = \\partial L/\\partial z_L`:
    :math:`\\partial L/\\partial W_l = h_{l-1}^\\top \\delta_l`,
    :math:`\\partial L/\\partial b_l = \\sum_n \\delta_{l,n}`,
    :math:`\\delta_{l-1} = (\\delta_l W_l^\\top) \\odot \\phi'(z_{l-1})`.
    """
    if not isinstance(cache, dict) or "layers" not in cache:
        raise TypeError("cache must be the cache returned by mlp_forward")
    L = cache["num_layers"]
    activation = cache["activation"]
    grads = {}
    grad_activations = [None] * (L - 1)
    grad_pre_activations = [None] * (L - 1)

    dz = np.asarray(dscores, dtype=np.float64)
    for layer in range(L, 0, -1):
        linear_cache, _ = cache["layers"][layer - 1]
        dh, grads[f"W{layer}"], grads[f"b{layer}"] = linear_backward(dz, linear_cache)
        if layer > 1:
            _, activation_cache = cache["layers"][layer - 2]
            grad_activations[layer - 2] = dh
            dz = activation_backward(activation, dh, activation_cache)
            grad_pre_activations[layer - 2] = dz

    if cache["record"]:
        cache["grad_activations"] = grad_activations
        cache["grad_pre_activations"] = grad_pre_activations
    # same key order as init_mlp makes, so printing grads reads like printing params
    return {name: grads[name] for layer in range(1, L + 1) for name in (f"W{layer}", f"b{layer}")}


def mlp_loss_and_grads(params, X, y, *, activation="relu", loss="cross_entropy", weight_decay=0.0):
    """Loss of the network on a batch and the gradients of all its parameters.

    The function :func:`dltrain.training.train` expects, once ``activation``, ``loss`` and
    ``weight_decay`` are fixed, e.g. with ``functools.partial``.

    Parameters
    ----------
    params : dict of str -> ndarray
    X : ndarray of shape (N, D)
    y : ndarray of shape (N,) of int labels, or targets of the shape of the scores
        Integer classes for "cross_entropy"; for "mse", targets of shape (N, C) (a (N,)
        target is accepted when C = 1).
    activation : str, default "relu"
    loss : "cross_entropy", "mse" or callable, default "cross_entropy"
        A callable is ``loss(scores, y) -> (loss, dscores)``.
    weight_decay : float, default 0.0
        L2 penalty strength lambda on the weights (not the biases).

    Returns
    -------
    loss : float
        Data loss plus the penalty.
    grads : dict of str -> ndarray
        Same keys and shapes as ``params``.

    Notes
    -----
    .. math:: J = L(\\text{scores}, y) + \\frac{\\lambda}{2}\\sum_l \\lVert W_l\\rVert_F^2,
              \\qquad \\frac{\\partial J}{\\partial W_l} = \\frac{\\partial L}{\\partial W_l}
              + \\lambda W_l

    The gradient term :math:`\\lambda W` is what PyTorch's ``weight_decay=lambda`` adds, here
    applied to weights only.
    """
    loss_fn = _lookup_loss(loss)
    weight_decay = _check_nonnegative(weight_decay, "weight_decay")
    scores, cache = mlp_forward(params, X, activation=activation)
    if loss == "mse":
        y = np.asarray(y)
        if y.ndim == 1 and scores.shape[1] == 1:
            y = y[:, None]
    data_loss, dscores = loss_fn(scores, y)
    grads = mlp_backward(dscores, cache)
    if weight_decay:
        penalty = 0.0
        for layer in range(1, cache["num_layers"] + 1):
            W = params[f"W{layer}"]
            penalty += 0.5 * weight_decay * float(np.sum(W * W))
            grads[f"W{layer}"] = grads[f"W{layer}"] + weight_decay * W
        data_loss += penalty
    return float(data_loss), grads


def _lookup_loss(loss):
    if callable(loss):
        return loss
    if isinstance(loss, str) and loss in LOSSES:
        return LOSSES[loss]
    raise ValueError(
        f"unknown loss {loss!r}; expected one of {sorted(LOSSES)} or a callable "
        "loss(scores, y) -> (loss, dscores)"
    )
