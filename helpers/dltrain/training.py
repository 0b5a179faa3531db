"""A training loop that takes any optimizer step and records what happened.

::

    params, history = train(params, loss_and_grads, X, y, step=sgd_step, epochs=20, lr=0.1,
                            batch_size=32, rng=np.random.default_rng(0))

The loop knows nothing about networks: ``loss_and_grads(params, Xb, yb) -> (loss, grads)``
computes the loss of a batch and the gradient of every parameter, and ``step`` (see
:mod:`dltrain.optim`) updates one array at a time. The caller's parameters are never modified;
the trained ones are returned. It is the course's one training loop: :func:`dltrain.network.train`
runs a network of layers (with its running state) through it.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field

import numpy as np

from dltrain._checks import _check_int, _check_rng, check_scalar
from dltrain.losses import accuracy, softmax_cross_entropy
from dltrain.mlp import mlp_forward
from dltrain.optim import apply_step

__all__ = ["History", "TrainingDiverged", "evaluate_classifier", "train"]


class TrainingDiverged(RuntimeError):
    """The loss, a gradient or a parameter became NaN or infinite during training.

    Attributes
    ----------
    epoch : int or None
        Epoch (counted from 1) in which it happened.
    step : int or None
        Index of the step (counted from 0 over the whole run) whose loss or gradient was not
        finite, or, when the end-of-epoch evaluation found it, of the last step taken.
    loss : float or None
        The last loss computed.
    lr : float or None
        The learning rate of that step.
    """

    def __init__(self, message, *, epoch=None, step=None, loss=None, lr=None):
        super().__init__(message)
        self.epoch = epoch
        self.step = step
        self.loss = loss
        self.lr = lr


@dataclass
class History:
    """What :func:`train` recorded.

    Per step (every ``record_every``-th step; ``step_index`` says which):

    - ``loss``: the loss of the batch, before the step was taken,
    - ``grad_norm``: the global L2 norm of all gradients, :math:`\\sqrt{\\sum_p \\lVert g_p
      \\rVert^2}`,
    - ``lr``: the learning rate used,
    - ``step_index``: the step (0, 1, ...) each entry belongs to.

    Per evaluated epoch (every epoch by default, see ``evaluate_every``), on the whole set with
    the parameters at the end of the epoch:

    - ``train_loss`` and ``val_loss``,
    - ``train_acc`` and ``val_acc`` when the ``evaluate`` function returns an accuracy.

    Counters and outcome: ``steps`` and ``epochs`` completed, ``diverged`` and, if so,
    ``divergence_message``.
    """

    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    step_index: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    steps: int = 0
    epochs: int = 0
    diverged: bool = False
    divergence_message: str = ""

    def as_dict(self):
        """All fields as a dict of plain Python values (lists are copies)."""
        return dataclasses.asdict(self)


def evaluate_classifier(params, X, y, activation="relu"):
    """Mean cross-entropy and accuracy of an MLP classifier on a whole data set.

    Parameters
    ----------
    params : dict of str -> ndarray
        MLP parameters, see :mod:`dltrain.mlp`.
    X : ndarray of shape (N, D)
    y : ndarray of shape (N,), integers
    activation : str, default "relu"

    Returns
    -------
    loss : float
    acc : float
        In ``[0, 1]``.

    Notes
    -----
    Pass it as ``train(..., evaluate=evaluate_classifier)`` (or with
    ``functools.partial(evaluate_classifier, activation="tanh")``) to record accuracies.
    """
    scores, _ = mlp_forward(params, X, activation=activation)
    loss, _ = softmax_cross_entropy(scores, y)
    return loss, accuracy(scores, y)


def train(
    params,
    loss_and_grads,
    X,
    y,
    *,
    step,
    epochs,
    batch_size=None,
    rng=None,
    lr=0.1,
    hyper=None,
    batches=None,
    X_val=None,
    y_val=None,
    evaluate=None,
    on_diverge="stop",
    record_every=1,
    evaluate_every=1,
    drop_last=False,
    callback=None,
):
    """Train by repeated optimizer steps over the data, for a number of epochs.

    Parameters
    ----------
    params : dict of str -> ndarray
        Initial parameters; copied, never modified.
    loss_and_grads : callable
        ``loss_and_grads(params, Xb, yb) -> (loss, grads)``, grads a dict with the keys of
        ``params``. E.g. ``functools.partial(mlp_loss_and_grads, activation="tanh")``.
    X : ndarray of shape (N, ...)
    y : ndarray of shape (N, ...)
    step : callable
        Per-array optimizer step ``step(w, grad, state, **hyper) -> (new_w, new_state)``, e.g.
        :func:`dltrain.optim.sgd_step`.
    epochs : int
        Number of passes over the data.
    batch_size : int, optional
        Mini-batch size. ``None`` (default) is full-batch gradient descent: one step per epoch
        on all N samples. Otherwise the samples are shuffled with ``rng`` at the start of every
        epoch and cut into batches of ``batch_size``; the last, smaller batch is kept, so an
        epoch has ``ceil(N / batch_size)`` steps.
    rng : np.random.Generator, optional
        Needed for mini-batches.
    lr : float or callable, default 0.1
        Learning rate, or a schedule ``lr(step_index) -> float`` called with the index of the
        step about to be taken (0, 1, 2, ... over the whole run). Passed to ``step`` as ``lr``.
    hyper : dict, optional
        Further hyperparameters passed to ``step`` as keywords, e.g. ``{"mu": 0.9}``.
    batches : callable, optional
        ``batches(X, y, epoch) -> iterable of (Xb, yb)`` replacing the built-in batching
        (``epoch`` counts from 0). Give either this or ``batch_size``, not both.
    X_val, y_val : ndarray, optional
        Validation set, evaluated at the end of every epoch.
    evaluate : callable, optional
        ``evaluate(params, X, y) -> loss`` or ``-> (loss, accuracy)``, used for the per-epoch
        metrics; e.g. :func:`evaluate_classifier`. Default: the loss of ``loss_and_grads`` on
        the whole set (no accuracy).
    on_diverge : {"stop", "raise"}, default "stop"
        When a loss, gradient or parameter becomes NaN or infinite: stop and return the
        parameters from before the failing step (or, when the end-of-epoch evaluation is not
        finite, from the end of that epoch) with ``history.diverged = True`` and the reason in
        ``history.divergence_message``; or raise :class:`TrainingDiverged`. A diverging run is
        an outcome this course studies (too large a learning rate), hence the default.
    record_every : int, default 1
        Record the per-step values every this many steps.
    evaluate_every : int or None, default 1
        Evaluate the training (and validation) set at the end of every ``evaluate_every``-th
        epoch and of the last one; ``None`` evaluates once, after the last epoch, which saves
        the evaluations' time when only the final numbers count.
    drop_last : bool, default False
        With ``batch_size``: skip the last batch of an epoch when it is smaller than
        ``batch_size`` (PyTorch's ``DataLoader(drop_last=True)``).
    callback : callable, optional
        ``callback(step_index, params)`` after every step taken, with the new parameters.

    Returns
    -------
    params : dict of str -> ndarray
        The trained parameters (new arrays).
    history : History

    Notes
    -----
    Numpy floating-point warnings (overflow, invalid value) are silenced inside the loop:
    a diverging run is reported once, by :class:`TrainingDiverged` or ``history.diverged``,
    not by a screenful of ``RuntimeWarning``.
    """
    epochs = _check_int(epochs, "epochs", minimum=0)
    record_every = _check_int(record_every, "record_every")
    if evaluate_every is not None:
        evaluate_every = _check_int(evaluate_every, "evaluate_every")
    hyper = _check_hyper(hyper)
    _check_train_arguments(params, loss_and_grads, step, lr, on_diverge, evaluate)
    if callback is not None and not callable(callback):
        raise TypeError("callback must be a function callback(step_index, params)")
    _check_samples(X, y, "X", "y")
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    if X_val is not None:
        _check_samples(X_val, y_val, "X_val", "y_val")
    batching = _make_batching(batch_size, rng, batches, drop_last)

    params = {name: np.array(value, copy=True) for name, value in params.items()}
    states = None
    history = History()
    lr_now = None  # the learning rate of the latest step, for messages

    def stop(problem, where, epoch, step_index, loss):
        message = _divergence_message(problem, epoch, epochs, where, lr_now)
        if on_diverge == "raise":
            raise TrainingDiverged(message, epoch=epoch + 1, step=step_index, loss=loss, lr=lr_now)
        history.diverged = True
        history.divergence_message = message
        return params, history

    for epoch in range(epochs):
        for Xb, yb in batching(X, y, epoch):
            lr_now = _learning_rate(lr, history.steps)
            loss, grad_norm, new_params, new_states, problem = _try_step(
                loss_and_grads, step, params, states, Xb, yb, lr_now, hyper
            )
            if problem is not None:
                return stop(problem, f"at step {history.steps}", epoch, history.steps, loss)
            if history.steps % record_every == 0:
                history.loss.append(loss)
                history.grad_norm.append(grad_norm)
                history.lr.append(lr_now)
                history.step_index.append(history.steps)
            params, states = new_params, new_states
            if callback is not None:
                callback(history.steps, params)
            history.steps += 1

        if epoch + 1 < epochs and (evaluate_every is None or (epoch + 1) % evaluate_every):
            history.epochs += 1
            continue
        train_loss = _record_epoch_metrics(
            history, evaluate, loss_and_grads, params, (X, y), (X_val, y_val)
        )
        history.epochs += 1
        if not np.isfinite(train_loss):
            problem = f"the training loss at the end of the epoch is {train_loss}"
            last = history.steps - 1
            return stop(problem, f"after step {last}", epoch, last, train_loss)
    return params, history


# ---------------------------------------------------------------------------------------------
# private pieces of the loop
# ---------------------------------------------------------------------------------------------


def _check_train_arguments(params, loss_and_grads, step, lr, on_diverge, evaluate):
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict of arrays, got {type(params).__name__}")
    if not callable(loss_and_grads):
        raise TypeError("loss_and_grads must be a function loss_and_grads(params, Xb, yb)")
    if not callable(step):
        raise TypeError("step must be a function step(w, grad, state, **hyper), e.g. sgd_step")
    if not (callable(lr) or isinstance(lr, numbers.Real) and not isinstance(lr, bool)):
        raise TypeError(f"lr must be a number or a schedule lr(step_index), got {lr!r}")
    if on_diverge not in ("raise", "stop"):
        raise ValueError(f'on_diverge must be "raise" or "stop", got {on_diverge!r}')
    if evaluate is not None and not callable(evaluate):
        raise TypeError("evaluate must be a function evaluate(params, X, y)")


def _check_samples(X, y, X_name, y_name):
    if len(X) != len(y):
        raise ValueError(
            f"{X_name} and {y_name} must have the same number of samples, got {len(X)} and {len(y)}"
        )


def _try_step(loss_and_grads, step, params, states, Xb, yb, lr, hyper):
    """One optimizer step, or the reason it produced a non-finite value.

    Returns ``(loss, grad_norm, new_params, new_states, problem)``; ``problem`` is None when
    the loss, the gradients and the new parameters are all finite.
    """
    # a diverging run overflows; it is reported once, by the caller, not by numpy warnings
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss, grads = _loss_and_grads(loss_and_grads, params, Xb, yb)
        grad_norm = _global_norm(grads)
        problem = _non_finite(loss, grads)
        if problem is not None:
            return loss, grad_norm, None, None, problem
        new_params, new_states = apply_step(step, params, grads, states, lr=lr, **hyper)
        return loss, grad_norm, new_params, new_states, _non_finite_params(new_params, loss)


def _record_epoch_metrics(history, evaluate, loss_and_grads, params, train_set, val_set):
    """Evaluate on the training (and validation) set, append to history, return train loss."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        train_loss, train_acc = _evaluate(evaluate, loss_and_grads, params, *train_set)
        _append_metrics(history.train_loss, history.train_acc, train_loss, train_acc)
        if val_set[0] is not None:
            val_loss, val_acc = _evaluate(evaluate, loss_and_grads, params, *val_set)
            _append_metrics(history.val_loss, history.val_acc, val_loss, val_acc)
    return train_loss


def _check_hyper(hyper):
    if hyper is None:
        return {}
    if not isinstance(hyper, dict):
        raise TypeError(f"hyper must be a dict of hyperparameters, got {type(hyper).__name__}")
    if "lr" in hyper:
        raise ValueError("give the learning rate as train(..., lr=...), not inside hyper")
    return dict(hyper)


def _make_batching(batch_size, rng, batches, drop_last=False):
    """Return ``batching(X, y, epoch) -> iterable of (Xb, yb)`` for the chosen options."""
    if drop_last and batch_size is None:
        raise ValueError("drop_last needs batch_size")
    if batches is not None:
        if batch_size is not None:
            raise ValueError("give either batch_size or batches, not both")
        if not callable(batches):
            raise TypeError("batches must be a function batches(X, y, epoch) -> (Xb, yb) pairs")
        return lambda X, y, epoch: _checked_pairs(batches(X, y, epoch))
    if batch_size is None:
        return lambda X, y, epoch: [(X, y)]
    batch_size = _check_int(batch_size, "batch_size")
    if rng is None:
        raise ValueError(
            "mini-batches are shuffled with rng: pass rng=np.random.default_rng(seed), "
            "or batch_size=None for full-batch training"
        )
    rng = _check_rng(rng)

    def shuffled_batches(X, y, epoch):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start : start + batch_size]
            if drop_last and len(batch) < batch_size:
                continue
            yield X[batch], y[batch]

    return shuffled_batches


def _checked_pairs(pairs):
    for item in pairs:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise TypeError(f"batches must yield pairs (Xb, yb), got {type(item).__name__}")
        yield item


def _learning_rate(lr, step_index):
    value = lr(step_index) if callable(lr) else lr
    try:
        return check_scalar(value, f"lr({step_index})" if callable(lr) else "lr", minimum=0)
    except (TypeError, ValueError):
        where = f"lr({step_index}) returned" if callable(lr) else "lr is"
        raise ValueError(f"{where} {value!r}; a learning rate must be a finite number >= 0"
                         ) from None


def _loss_and_grads(loss_and_grads, params, Xb, yb):
    result = loss_and_grads(params, Xb, yb)
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
        raise TypeError("loss_and_grads must return a pair (loss, grads) with grads a dict")
    loss, grads = result
    if np.ndim(loss) != 0:
        raise TypeError(f"loss_and_grads must return a scalar loss, got shape {np.shape(loss)}")
    return float(loss), grads


def _non_finite(loss, grads):
    """Describe the first non-finite value among the loss and the gradients, or None."""
    if not np.isfinite(loss):
        return f"the loss is {loss}"
    for name, grad in grads.items():
        if not np.all(np.isfinite(grad)):
            return f"the gradient of {name!r} contains NaN or inf (the loss was {loss:.3g})"
    return None


def _non_finite_params(params, loss):
    for name, value in params.items():
        if not np.all(np.isfinite(value)):
            return f"the update made {name!r} NaN or infinite (the loss before it was {loss:.3g})"
    return None


def _global_norm(grads):
    # scale by the largest entry first, so 1e200-sized gradients do not overflow when squared
    arrays = [np.asarray(g, dtype=np.float64).ravel() for g in grads.values()]
    if not arrays:
        return 0.0
    flat = np.concatenate(arrays)
    if flat.size == 0:
        return 0.0
    largest = np.max(np.abs(flat))
    if largest == 0 or not np.isfinite(largest):
        return float(largest)
    return float(largest * np.sqrt(np.sum((flat / largest) ** 2)))


def _evaluate(evaluate, loss_and_grads, params, X, y):
    """Return ``(loss, accuracy or None)`` on a whole set."""
    if evaluate is None:
        return _loss_and_grads(loss_and_grads, params, X, y)[0], None
    result = evaluate(params, X, y)
    if isinstance(result, tuple):
        if len(result) != 2:
            raise TypeError("evaluate must return a loss or a pair (loss, accuracy)")
        return float(result[0]), float(result[1])
    return float(result), None


def _append_metrics(losses, accuracies, loss, acc):
    losses.append(loss)
    if acc is not None:
        accuracies.append(acc)


def _divergence_message(problem, epoch, epochs, where, lr):
    lr_text = "no step taken yet" if lr is None else f"lr = {lr:g}"
    return (
        f"Training diverged in epoch {epoch + 1} of {epochs}, {where}: {problem} "
        f"({lr_text}). The learning rate is probably too large: try a smaller "
        "one, e.g. a tenth of it. If a small learning rate also diverges, check the "
        "initialisation and the gradients."
    )
