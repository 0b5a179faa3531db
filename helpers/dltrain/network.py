"""Networks composed of layers given to it, with parameters, state and a train/eval mode.

A network is a plain list of :class:`Layer` objects, each a forward/backward pair::

    layers = [network.linear(64, 100), network.activation("relu"), my_layer,
              network.linear(100, 10)]
    params, state = network.init(layers, rng)
    scores, state, tape = network.forward(layers, params, state, X, train=True, rng=rng)
    grads = network.backward(layers, dscores, tape)

This module only composes: it calls each layer's functions in order and gathers what they
return. Linear layers and activations come from :mod:`dltrain.layers`; any other layer (the
ones a notebook builds from its exercises) is a :class:`Layer` made from the notebook's own
functions, directly or with :func:`dropout` and :func:`batchnorm`, which wrap a notebook's
forward/backward pair of that kind.

``params`` and ``state`` are flat dicts named like PyTorch's ``state_dict`` of an
``nn.Sequential``: ``"0.W"``, ``"0.b"``, ``"2.gamma"``, ``"2.running_mean"``, ... (the number is
the layer's position in the list). Parameters are what the optimizer steps along the gradient;
state is what a layer carries from one call to the next without a gradient (running
averages). Nothing is modified in place: every function returns new dicts, and the training
loop :func:`train` threads the state from one step to the next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dltrain import training
from dltrain._checks import _check_int, _check_rng
from dltrain.layers import _lookup_activation, linear_backward, linear_forward
from dltrain.losses import accuracy, softmax_cross_entropy
from dltrain.mlp import default_init
from dltrain.optim import sgd_step

__all__ = [
    "Layer",
    "activation",
    "backward",
    "batchnorm",
    "describe",
    "dropout",
    "evaluate",
    "forward",
    "init",
    "linear",
    "loss_and_grads",
    "mlp_layers",
    "predict",
    "residual",
    "train",
]


def _no_parameters(rng):
    return {}, {}


@dataclass(frozen=True)
class Layer:
    """One stage of a network: a forward/backward pair and how to initialise it.

    Attributes
    ----------
    forward : callable
        ``forward(x, params, state, *, train, rng) -> (out, new_state, cache)``. ``params``
        and ``state`` are this layer's own dicts (keys without the ``"3."`` prefix), ``train``
        is True in training mode and False in evaluation mode, ``rng`` is a
        ``np.random.Generator`` (or None when the caller gave none). ``new_state`` has the
        keys of ``state``; a layer without state returns the ``state`` it was given.
    backward : callable
        ``backward(dout, cache) -> (dx, grads)`` with ``grads`` a dict with the keys of
        ``params`` (empty for a layer without parameters).
    init : callable
        ``init(rng) -> (params, state)``, two dicts of arrays. Default: no parameters, no
        state.
    name : str
        Shown in messages and in :func:`describe`.
    """

    forward: Callable
    backward: Callable
    init: Callable = _no_parameters
    name: str = "layer"


def linear(d_in, d_out, *, init=None, bias=True):
    """A fully connected layer ``x @ W + b`` (from :mod:`dltrain.layers`).

    Parameters
    ----------
    d_in, d_out : int
        Input and output features.
    init : callable, optional
        ``init(fan_in, fan_out, rng) -> W`` of shape (d_in, d_out); default
        :func:`dltrain.mlp.default_init` (PyTorch's ``nn.Linear`` default).
    bias : bool, default True
        With a bias ``b`` (initialised to 0); ``False`` makes a layer ``x @ W`` with the single
        parameter ``W``, e.g. in front of a normalization layer, which would cancel a bias.

    Returns
    -------
    Layer
        Parameters ``W`` of shape (d_in, d_out) and, if ``bias``, ``b`` of shape (d_out,).
    """
    d_in = _check_int(d_in, "d_in")
    d_out = _check_int(d_out, "d_out")
    init_weights = default_init if init is None else init
    if not callable(init_weights):
        raise TypeError(f"init must be a callable init(fan_in, fan_out, rng), got {init!r}")

    def init_fn(rng):
        W = np.array(init_weights(d_in, d_out, rng), dtype=np.float64)
        if W.shape != (d_in, d_out):
            raise ValueError(f"init({d_in}, {d_out}, rng) returned shape {W.shape}")
        params = {"W": W}
        if bias:
            params["b"] = np.zeros(d_out)
        return params, {}

    def forward_fn(x, params, state, *, train, rng):
        b = params["b"] if bias else np.zeros(d_out)
        out, cache = linear_forward(x, params["W"], b)
        return out, state, cache

    def backward_fn(dout, cache):
        dx, dW, db = linear_backward(dout, cache)
        return dx, ({"W": dW, "b": db} if bias else {"W": dW})

    return Layer(forward_fn, backward_fn, init_fn, f"linear({d_in}, {d_out}"
                 + ("" if bias else ", bias=False") + ")")


def activation(name):
    """An activation layer: ``"relu"``, ``"tanh"``, ``"sigmoid"`` or ``"linear"``.

    Parameters
    ----------
    name : str
        A key of :data:`dltrain.layers.ACTIVATIONS`.

    Returns
    -------
    Layer
        No parameters, no state, the same in both modes.
    """
    act_forward, act_backward = _lookup_activation(name)

    def forward_fn(x, params, state, *, train, rng):
        out, cache = act_forward(x)
        return out, state, cache

    def backward_fn(dout, cache):
        return act_backward(dout, cache), {}

    return Layer(forward_fn, backward_fn, name=name)


def dropout(p, forward, backward):
    """A dropout layer made of a forward/backward pair given to it (notebook 06's functions).

    Parameters
    ----------
    p : float in [0, 1]
        The drop probability, passed to ``forward``.
    forward : callable
        ``forward(x, p, *, train, rng) -> (out, cache)``, e.g. notebook 06's
        ``dropout_forward``.
    backward : callable
        ``backward(dout, cache) -> dx``, e.g. notebook 06's ``dropout_backward``.

    Returns
    -------
    Layer
        Named ``"dropout(p)"``; no parameters, no state. The network's ``train`` flag and
        ``rng`` go to ``forward`` unchanged.
    """
    if not callable(forward) or not callable(backward):
        raise TypeError("forward and backward must be functions")

    def forward_fn(x, params, state, *, train, rng):
        out, cache = forward(x, p, train=train, rng=rng)
        return out, state, cache

    def backward_fn(dout, cache):
        return backward(dout, cache), {}

    return Layer(forward_fn, backward_fn, name=f"dropout({p:g})")


def batchnorm(width, forward, backward, *, momentum=0.1):
    """A batch normalization layer made of a forward/backward pair given to it (notebook 07's).

    Parameters
    ----------
    width : int
        Number of features D it normalizes.
    forward : callable
        ``forward(x, gamma, beta, state, *, train, momentum) -> (out, new_state, cache)`` with
        ``state = {"running_mean": (D,), "running_var": (D,)}``, e.g. notebook 07's
        ``batchnorm_forward``.
    backward : callable
        ``backward(dout, cache) -> (dx, dgamma, dbeta)``, e.g. notebook 07's
        ``batchnorm_backward``.
    momentum : float, default 0.1
        Passed to ``forward`` (PyTorch's convention: the weight of the new batch).

    Returns
    -------
    Layer
        Named ``"batchnorm(width)"``. Parameters ``gamma`` (ones) and ``beta`` (zeros), state
        ``running_mean`` (zeros) and ``running_var`` (ones), all of shape (width,): PyTorch's
        ``nn.BatchNorm1d(width)`` at initialisation.
    """
    width = _check_int(width, "width")
    if not callable(forward) or not callable(backward):
        raise TypeError("forward and backward must be functions")

    def init_fn(rng):
        return ({"gamma": np.ones(width), "beta": np.zeros(width)},
                {"running_mean": np.zeros(width), "running_var": np.ones(width)})

    def forward_fn(x, params, state, *, train, rng):
        return forward(x, params["gamma"], params["beta"], state, train=train,
                       momentum=momentum)

    def backward_fn(dout, cache):
        dx, dgamma, dbeta = backward(dout, cache)
        return dx, {"gamma": dgamma, "beta": dbeta}

    return Layer(forward_fn, backward_fn, init_fn, f"batchnorm({width})")


def mlp_layers(sizes, *, activation_name="relu", before_activation=None,
               after_activation=None, init=None, bias=True):
    """The layers of a multilayer perceptron, with optional layers around each activation.

    Parameters
    ----------
    sizes : sequence of int
        ``[D, H1, ..., C]``, as for :func:`dltrain.mlp.init_mlp`.
    activation_name : str, default "relu"
    before_activation, after_activation : callable, optional
        ``f(width, index) -> list of Layer`` inserted in hidden layer ``index`` (0 for the
        first) between the linear layer and the activation, or after the activation; ``width``
        is that hidden layer's number of units.
    init : callable, optional
        Weight initialisation of every linear layer, see :func:`linear`.
    bias : bool or callable, default True
        Whether the linear layers have a bias; a callable ``bias(index) -> bool`` decides per
        linear layer (index 0 is the first, ``len(sizes) - 2`` the output layer).

    Returns
    -------
    list of Layer
        For each hidden layer: linear, ``before_activation``, activation,
        ``after_activation``; then the output linear layer (no activation: scores).
    """
    sizes = [_check_int(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
    _lookup_activation(activation_name)
    has_bias = bias if callable(bias) else (lambda index: bool(bias))
    layers = []
    for index, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(linear(d_in, d_out, init=init, bias=has_bias(index)))
        if index == len(sizes) - 2:
            break
        layers.extend(_layer_list(before_activation, d_out, index, "before_activation"))
        layers.append(activation(activation_name))
        layers.extend(_layer_list(after_activation, d_out, index, "after_activation"))
    return layers


def residual(inner, *, name=None):
    r"""A residual block: ``out = x + f(x)``, with ``f`` the inner layers (He et al., 2016).

    Parameters
    ----------
    inner : list of Layer
        The block's branch ``f``; its output must have the shape of its input.
    name : str, optional
        Shown by :func:`describe`; default ``"residual(<inner names>)"``.

    Returns
    -------
    Layer
        Its parameters and state are the inner layers', named by their position inside the
        block: in a network whose layer 3 is a residual block, ``"3.0.W"`` is the weight of the
        block's first inner layer.

    Notes
    -----
    .. math:: h_l = h_{l-1} + f(h_{l-1}), \qquad
              \frac{\partial\mathcal L}{\partial h_{l-1}} =
              \frac{\partial\mathcal L}{\partial h_l} + \Big(\frac{\partial f}{\partial
              h_{l-1}}\Big)^{\!\top} \frac{\partial\mathcal L}{\partial h_l}

    The skip connection passes the gradient down unchanged, beside the branch's contribution:
    a stack of blocks multiplies the backward signal by :math:`I + J_f` per block instead of
    :math:`J_f`.
    """
    inner = _check_layers(inner)
    label = name if name is not None else \
        "residual(" + ", ".join(layer.name for layer in inner) + ")"

    def init_fn(rng):
        return init(inner, rng)

    def forward_fn(x, params, state, *, train, rng):
        out, new_state, tape = forward(inner, params, state, x, train=train, rng=rng)
        if np.shape(out) != np.shape(x):
            raise ValueError(f"{label}: the branch maps shape {np.shape(x)} to "
                             f"{np.shape(out)}; a residual block needs the same shape")
        return x + out, new_state, tape

    def backward_fn(dout, tape):
        grads = backward(inner, dout, tape)
        return dout + tape[0]["grad_input"], grads

    return Layer(forward_fn, backward_fn, init_fn, label)


def _layer_list(factory, width, index, what):
    if factory is None:
        return []
    made = factory(width, index)
    made = [made] if isinstance(made, Layer) else list(made)
    if not all(isinstance(layer, Layer) for layer in made):
        raise TypeError(f"{what}(width, index) must return a Layer or a list of Layers")
    return made


def describe(layers):
    """One line per layer, ``"0 linear(64, 100)"``, for printing a network."""
    return "\n".join(f"{i} {layer.name}" for i, layer in enumerate(_check_layers(layers)))


def _check_layers(layers):
    layers = list(layers)
    if not layers or not all(isinstance(layer, Layer) for layer in layers):
        raise TypeError("layers must be a non-empty list of network.Layer")
    return layers


def init(layers, rng):
    """Initial parameters and state of every layer.

    Parameters
    ----------
    layers : list of Layer
    rng : np.random.Generator
        Passed to each layer's ``init``, from the first layer to the last.

    Returns
    -------
    params : dict of str -> ndarray
        ``"<index>.<name>"`` -> array, e.g. ``"0.W"``.
    state : dict of str -> ndarray
        The same naming, e.g. ``"2.running_mean"``.
    """
    layers = _check_layers(layers)
    rng = _check_rng(rng)
    params, state = {}, {}
    for i, layer in enumerate(layers):
        result = layer.init(rng)
        if not (isinstance(result, tuple) and len(result) == 2
                and all(isinstance(d, dict) for d in result)):
            raise TypeError(f"layer {i} ({layer.name}): init(rng) must return two dicts "
                            "(params, state)")
        layer_params, layer_state = result
        params.update({f"{i}.{k}": np.array(v, dtype=np.float64) for k, v in layer_params.items()})
        state.update({f"{i}.{k}": np.array(v, dtype=np.float64) for k, v in layer_state.items()})
    return params, state


def _own(values, i):
    prefix = f"{i}."
    return {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}


def forward(layers, params, state, X, *, train, rng=None):
    """Run the layers in order.

    Parameters
    ----------
    layers : list of Layer
    params, state : dict of str -> ndarray
        As made by :func:`init` (and returned by :func:`train`); not modified.
    X : ndarray of shape (N, D)
    train : bool
        Training mode (True) or evaluation mode (False), passed to every layer.
    rng : np.random.Generator, optional
        Passed to every layer; needed by layers that draw random numbers in training mode.

    Returns
    -------
    out : ndarray
        The last layer's output, e.g. scores of shape (N, C).
    new_state : dict of str -> ndarray
        A new dict: ``state`` with each layer's entries replaced by what it returned.
    tape : list of dict
        One entry per layer with ``"input"``, ``"output"`` and ``"cache"``, for
        :func:`backward` and for plots (e.g. ``tape[1]["input"]`` is what layer 1 received).
    """
    layers = _check_layers(layers)
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"train must be True or False, got {train!r}")
    if rng is not None:
        rng = _check_rng(rng)
    new_state = dict(state)
    tape = []
    h = X
    for i, layer in enumerate(layers):
        layer_state = _own(state, i)
        result = layer.forward(h, _own(params, i), layer_state, train=bool(train), rng=rng)
        if not (isinstance(result, tuple) and len(result) == 3):
            raise TypeError(f"layer {i} ({layer.name}): forward must return "
                            "(out, new_state, cache)")
        out, layer_new_state, cache = result
        if not isinstance(layer_new_state, dict) or set(layer_new_state) != set(layer_state):
            raise ValueError(f"layer {i} ({layer.name}): forward must return a new state with "
                             f"the keys {sorted(layer_state)}, got {layer_new_state!r:.200}")
        new_state.update({f"{i}.{k}": v for k, v in layer_new_state.items()})
        tape.append({"input": h, "output": out, "cache": cache})
        h = out
    return h, new_state, tape


def backward(layers, dout, tape):
    """Backpropagate through the layers, from the last to the first.

    Parameters
    ----------
    layers : list of Layer
        The layers given to :func:`forward`.
    dout : ndarray
        Gradient of the loss with respect to the network's output.
    tape : list of dict
        From :func:`forward`. Each entry gets a ``"grad_output"`` (the gradient with respect to
        that layer's output) and a ``"grad_input"``; nothing else is modified.

    Returns
    -------
    grads : dict of str -> ndarray
        The gradient of every parameter, named like ``params``.
    """
    layers = _check_layers(layers)
    if len(tape) != len(layers):
        raise ValueError(f"tape has {len(tape)} entries for {len(layers)} layers")
    grads = {}
    for i in range(len(layers) - 1, -1, -1):
        result = layers[i].backward(dout, tape[i]["cache"])
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
            raise TypeError(f"layer {i} ({layers[i].name}): backward must return (dx, grads)")
        tape[i]["grad_output"] = dout
        dout, layer_grads = result
        tape[i]["grad_input"] = dout
        grads.update({f"{i}.{k}": v for k, v in layer_grads.items()})
    return grads


def loss_and_grads(layers, params, state, X, y, *, rng=None, train=True):
    """Softmax cross-entropy of a batch, the gradients of every parameter, and the new state.

    Parameters
    ----------
    layers : list of Layer
    params, state : dict of str -> ndarray
    X : ndarray of shape (N, D)
    y : ndarray of shape (N,), int
    rng : np.random.Generator, optional
    train : bool, default True

    Returns
    -------
    loss : float
    grads : dict of str -> ndarray
        Same keys as ``params``.
    new_state : dict of str -> ndarray
    """
    scores, new_state, tape = forward(layers, params, state, X, train=train, rng=rng)
    loss, dscores = softmax_cross_entropy(scores, y)
    grads = backward(layers, dscores, tape)
    missing = set(params) - set(grads)
    if missing:
        raise ValueError(f"backward returned no gradient for {sorted(missing)}")
    return float(loss), {name: grads[name] for name in params}, new_state


def predict(layers, params, state, X, *, chunk_size=64):
    """Scores in evaluation mode (``train=False``); the state is left as it is.

    Parameters
    ----------
    layers : list of Layer
    params, state : dict of str -> ndarray
    X : ndarray of shape (N, D)
    chunk_size : int, default 64
        The samples go through the network this many at a time. In evaluation mode every
        layer treats each sample on its own, so the result does not depend on it; small
        chunks bound the memory and keep numpy's matrix products single-threaded, which is
        faster on a small, busy machine.

    Returns
    -------
    scores : ndarray of shape (N, C)
    """
    chunk_size = _check_int(chunk_size, "chunk_size")
    X = np.asarray(X)
    if len(X) <= chunk_size:
        return forward(layers, params, state, X, train=False)[0]
    return np.concatenate([forward(layers, params, state, X[start:start + chunk_size],
                                   train=False)[0] for start in range(0, len(X), chunk_size)])


def evaluate(layers, params, state, X, y):
    """Mean cross-entropy and accuracy in evaluation mode.

    Parameters
    ----------
    layers : list of Layer
    params, state : dict of str -> ndarray
    X : ndarray of shape (N, D)
    y : ndarray of shape (N,), int

    Returns
    -------
    loss : float
    acc : float
    """
    scores = predict(layers, params, state, X)
    loss, _ = softmax_cross_entropy(scores, y)
    return float(loss), float(accuracy(scores, y))


def train(layers, params, state, X, y, *, epochs, batch_size, lr, rng, step=sgd_step,
          hyper=None, X_val=None, y_val=None, drop_last=False, on_diverge="stop",
          callback=None, evaluate_every=1):
    """Mini-batch training that threads the layers' state from one step to the next.

    The loop is :func:`dltrain.training.train`'s (the same batching, schedules, gradient norm,
    divergence handling and history); this function adds the network's state: each step
    computes the batch's loss in training mode from the state the steps before it left, and
    the new state is kept only when the step is taken.

    Parameters
    ----------
    layers : list of Layer
    params, state : dict of str -> ndarray
        Initial values; not modified.
    X : ndarray of shape (N, D)
    y : ndarray of shape (N,), int
    epochs : int
    batch_size : int
    lr : float or callable
        Learning rate, passed to ``step`` as ``lr``; or a schedule ``lr(step_index) -> float``
        called before every step with its index (0, 1, ... over the whole run), as
        :func:`dltrain.training.train` accepts.
    rng : np.random.Generator
        Shuffles the samples at the start of every epoch and is passed to the layers (for
        their random draws in training mode).
    step : callable, default :func:`dltrain.optim.sgd_step`
        ``step(w, grad, state, **hyper) -> (new_w, new_state)``, applied to every parameter.
    hyper : dict, optional
        More keyword arguments for ``step`` (e.g. ``{"mu": 0.9}``).
    X_val, y_val : ndarray, optional
        Validation set, evaluated with the training set (see ``evaluate_every``).
    drop_last : bool, default False
        Skip the last batch of an epoch when it is smaller than ``batch_size`` (as PyTorch's
        ``DataLoader(drop_last=True)``; a batch of one sample cannot be batch-normalized).
    on_diverge : {"stop", "raise"}, default "stop"
        When the loss, a gradient or a parameter becomes NaN or infinite: stop and return the
        values from before the failing step (or, when the end-of-epoch evaluation is not
        finite, from the end of that epoch) with ``history.diverged = True``, or raise
        :class:`dltrain.training.TrainingDiverged` (as :func:`dltrain.training.train`).
    callback : callable, optional
        ``callback(step_index, params, state)`` after every step, e.g. to record the running
        averages as training goes.
    evaluate_every : int or None, default 1
        Evaluate the training (and validation) set at the end of every ``evaluate_every``-th
        epoch and of the last one; ``None`` evaluates once, after the last epoch, which saves
        the time of the evaluations when only the final numbers count.

    Returns
    -------
    params, state : dict of str -> ndarray
        The trained parameters and the final state (new dicts).
    history : dltrain.training.History
        Per step: ``loss`` (of the batch, in training mode), ``grad_norm``, ``lr``,
        ``step_index``. Per evaluated epoch (every epoch by default), in evaluation mode:
        ``train_loss``, ``train_acc`` and, with a validation set, ``val_loss``, ``val_acc``.

    Notes
    -----
    Numpy's overflow and invalid-value warnings are silenced inside the loop; a diverging run
    is reported once, by ``history.diverged`` and ``history.divergence_message``.
    """
    layers = _check_layers(layers)
    rng = _check_rng(rng)
    if callback is not None and not callable(callback):
        raise TypeError("callback must be a function callback(step_index, params, state)")
    carried = {"state": {k: np.array(v, copy=True) for k, v in state.items()}, "next": None}

    def batch_loss_and_grads(params, Xb, yb):
        loss, grads, carried["next"] = loss_and_grads(layers, params, carried["state"], Xb, yb,
                                                      rng=rng)
        return loss, grads

    def step_taken(step_index, params):
        carried["state"] = carried["next"]
        if callback is not None:
            callback(step_index, params, carried["state"])

    def evaluate_here(params, X_set, y_set):
        return evaluate(layers, params, carried["state"], X_set, y_set)

    params, history = training.train(
        params, batch_loss_and_grads, X, y, step=step, epochs=epochs, batch_size=batch_size,
        rng=rng, lr=lr, hyper=hyper, X_val=X_val, y_val=y_val, evaluate=evaluate_here,
        on_diverge=on_diverge, evaluate_every=evaluate_every, drop_last=drop_last,
        callback=step_taken)
    return params, carried["state"], history
