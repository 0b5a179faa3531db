"""Tests of dltrain.training: the loop against closed forms, batching, divergence, history."""

import functools
import inspect
import math
import warnings

import numpy as np
import pytest

from dltrain import data, losses, mlp, network, optim, training

C = np.array([1.0, -2.0, 3.0])
W0 = np.array([4.0, 0.0, -1.0])


def quadratic(params, Xb, yb):
    """L(w) = 0.5 |w - c|^2, whatever the batch: gradient descent on it has a closed form."""
    diff = params["w"] - C
    return 0.5 * float(diff @ diff), {"w": diff}


def row_spy(calls):
    """A loss_and_grads that records which rows (ids in column 0) each batch holds."""

    def loss_and_grads(params, Xb, yb):
        calls.append(Xb[:, 0].astype(int).tolist())
        np.testing.assert_array_equal(yb, 10 * Xb[:, 0])  # X and y stay aligned
        return 0.0, {"w": np.zeros_like(params["w"])}

    return loss_and_grads


def ids(n):
    return np.arange(n, dtype=float)[:, None], 10 * np.arange(n)


def blobs_problem(seed=0):
    rng = np.random.default_rng(seed)
    X, y = data.make_blobs(300, rng, spread=1.0)
    splits = data.train_val_test_split(X, y, rng)
    params = mlp.init_mlp([2, 16, 3], rng)
    return splits, params, rng


# ---------------------------------------------------------------------------------------------
# the loop against closed forms
# ---------------------------------------------------------------------------------------------


def test_full_batch_gradient_descent_follows_the_closed_form():
    lr, epochs = 0.3, 12
    X, y = ids(5)
    params, history = training.train(
        {"w": W0}, quadratic, X, y, step=optim.sgd_step, epochs=epochs, lr=lr
    )
    # w_t = c + (1 - lr)^t (w_0 - c)
    t = np.arange(epochs)
    distance0 = np.linalg.norm(W0 - C)
    np.testing.assert_allclose(params["w"], C + (1 - lr) ** epochs * (W0 - C))
    np.testing.assert_allclose(history.loss, 0.5 * (1 - lr) ** (2 * t) * distance0**2)
    np.testing.assert_allclose(history.grad_norm, (1 - lr) ** t * distance0)
    np.testing.assert_allclose(history.train_loss, 0.5 * (1 - lr) ** (2 * (t + 1)) * distance0**2)
    assert history.lr == [lr] * epochs and history.step_index == list(range(epochs))
    assert history.steps == history.epochs == epochs
    assert history.val_loss == [] and history.train_acc == [] and not history.diverged


def test_learning_rate_schedule_is_called_with_the_step_index():
    calls = []

    def schedule(step_index):
        calls.append(step_index)
        return 0.5 / (1 + step_index)

    X, y = ids(4)  # two mini-batches per epoch: the step index is not the epoch index
    params, history = training.train(
        {"w": W0},
        quadratic,
        X,
        y,
        step=optim.sgd_step,
        epochs=3,
        lr=schedule,
        batch_size=2,
        rng=np.random.default_rng(0),
    )
    assert calls == list(range(6))
    rates = [0.5 / (1 + t) for t in range(6)]
    assert history.lr == pytest.approx(rates)
    np.testing.assert_allclose(params["w"], C + np.prod([1 - r for r in rates]) * (W0 - C))


def test_grad_norm_is_the_global_norm_over_all_parameters():
    def two_params(params, Xb, yb):
        return 1.0, {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}

    X, y = ids(2)
    _, history = training.train(
        {"a": np.zeros(2), "b": np.zeros((1, 1))},
        two_params,
        X,
        y,
        step=optim.sgd_step,
        epochs=2,
        lr=0.0,
    )
    assert history.grad_norm == pytest.approx([5.0, 5.0])


def test_hyperparameters_reach_the_step_and_lr_is_not_allowed_in_them():
    seen = []

    def recording_step(w, grad, state, **hyper):
        seen.append(hyper)
        return w - hyper["lr"] * grad, state

    X, y = ids(3)
    training.train(
        {"w": W0},
        quadratic,
        X,
        y,
        step=recording_step,
        epochs=2,
        lr=0.1,
        hyper={"mu": 0.9, "nesterov": False},
    )
    assert seen == [{"lr": 0.1, "mu": 0.9, "nesterov": False}] * 2
    with pytest.raises(ValueError, match="lr"):
        training.train({"w": W0}, quadratic, X, y, step=recording_step, epochs=1, hyper={"lr": 0.1})


def test_step_states_are_threaded_from_step_to_step():
    states_seen = []

    def stateful_step(w, grad, state, *, lr):
        states_seen.append(state)
        return w - lr * grad, (0 if state is None else state) + 1

    X, y = ids(3)
    training.train({"w": W0}, quadratic, X, y, step=stateful_step, epochs=4, lr=0.1)
    assert states_seen == [None, 1, 2, 3]


# ---------------------------------------------------------------------------------------------
# batching
# ---------------------------------------------------------------------------------------------


def test_mini_batches_cover_every_sample_once_per_epoch_keeping_the_last_partial_batch():
    calls = []
    X, y = ids(10)
    _, history = training.train(
        {"w": W0},
        row_spy(calls),
        X,
        y,
        step=optim.sgd_step,
        epochs=3,
        batch_size=4,
        rng=np.random.default_rng(0),
    )
    training_calls = [c for c in calls if len(c) != 10]  # drop the end-of-epoch evaluations
    assert [len(c) for c in training_calls] == [4, 4, 2] * 3
    epochs = [sum(training_calls[3 * e : 3 * e + 3], []) for e in range(3)]
    for rows in epochs:
        assert sorted(rows) == list(range(10))
    assert epochs[0] != epochs[1] != epochs[2], "reshuffled every epoch"
    assert epochs[0] != list(range(10)), "shuffled, not in order"
    assert history.steps == 3 * math.ceil(10 / 4)


def test_mini_batches_are_reproducible_with_the_same_seed():
    runs = []
    for seed in (5, 5, 6):
        calls = []
        X, y = ids(12)
        training.train(
            {"w": W0},
            row_spy(calls),
            X,
            y,
            step=optim.sgd_step,
            epochs=2,
            batch_size=5,
            rng=np.random.default_rng(seed),
        )
        runs.append(calls)
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_full_batch_uses_all_samples_in_each_step():
    calls = []
    X, y = ids(7)
    training.train({"w": W0}, row_spy(calls), X, y, step=optim.sgd_step, epochs=2)
    assert all(sorted(c) == list(range(7)) for c in calls)


def test_mini_batches_need_an_rng():
    X, y = ids(4)
    with pytest.raises(ValueError, match="rng"):
        training.train({"w": W0}, quadratic, X, y, step=optim.sgd_step, epochs=1, batch_size=2)


def test_batches_callable_replaces_the_built_in_batching():
    calls, epochs_seen = [], []

    def backwards_in_pairs(X, y, epoch):
        epochs_seen.append(epoch)
        for start in range(len(X) - 2, -1, -2):
            yield X[start : start + 2], y[start : start + 2]

    X, y = ids(6)
    _, history = training.train(
        {"w": W0}, row_spy(calls), X, y, step=optim.sgd_step, epochs=2, batches=backwards_in_pairs
    )
    assert epochs_seen == [0, 1]
    training_calls = [c for c in calls if len(c) != 6]
    assert training_calls == [[4, 5], [2, 3], [0, 1]] * 2
    assert history.steps == 6
    with pytest.raises(ValueError, match="batch_size or batches"):
        training.train(
            {"w": W0},
            quadratic,
            X,
            y,
            step=optim.sgd_step,
            epochs=1,
            batch_size=2,
            batches=backwards_in_pairs,
        )


# ---------------------------------------------------------------------------------------------
# training a network
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 16])
def test_sgd_trains_an_mlp_on_blobs(batch_size):
    splits, params, rng = blobs_problem(0)
    loss_and_grads = functools.partial(mlp.mlp_loss_and_grads, activation="tanh")
    before = training.evaluate_classifier(params, splits.X_train, splits.y_train, "tanh")
    trained, history = training.train(
        params,
        loss_and_grads,
        splits.X_train,
        splits.y_train,
        step=optim.sgd_step,
        epochs=40 if batch_size is None else 10,
        lr=0.5 if batch_size is None else 0.1,
        batch_size=batch_size,
        rng=rng,
        X_val=splits.X_val,
        y_val=splits.y_val,
        evaluate=functools.partial(training.evaluate_classifier, activation="tanh"),
    )
    assert len(history.train_loss) == len(history.val_loss) == history.epochs
    assert len(history.train_acc) == len(history.val_acc) == history.epochs
    assert history.train_loss[-1] < 0.3 * before[0]
    assert history.loss[-1] < history.loss[0]
    assert history.val_acc[-1] > 0.9
    assert all(0 <= a <= 1 for a in history.train_acc + history.val_acc)


def test_training_never_mutates_the_callers_params():
    splits, params, rng = blobs_problem(1)
    before = {k: v.copy() for k, v in params.items()}
    trained, _ = training.train(
        params,
        mlp.mlp_loss_and_grads,
        splits.X_train,
        splits.y_train,
        step=optim.sgd_step,
        epochs=3,
        batch_size=8,
        rng=rng,
    )
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])
        assert not np.shares_memory(trained[key], params[key])
        assert not np.array_equal(trained[key], before[key])


def test_evaluate_classifier_is_cross_entropy_and_accuracy_of_the_scores():
    splits, params, _ = blobs_problem(2)
    scores, _ = mlp.mlp_forward(params, splits.X_val, activation="sigmoid")
    loss, acc = training.evaluate_classifier(
        params, splits.X_val, splits.y_val, activation="sigmoid"
    )
    assert loss == pytest.approx(losses.softmax_cross_entropy(scores, splits.y_val)[0])
    assert acc == pytest.approx(losses.accuracy(scores, splits.y_val))


def test_default_evaluation_records_losses_but_no_accuracy():
    splits, params, rng = blobs_problem(3)
    _, history = training.train(
        params,
        mlp.mlp_loss_and_grads,
        splits.X_train,
        splits.y_train,
        step=optim.sgd_step,
        epochs=2,
        X_val=splits.X_val,
        y_val=splits.y_val,
    )
    assert len(history.val_loss) == 2 and history.val_acc == [] and history.train_acc == []
    with pytest.raises(ValueError, match="X_val and y_val"):
        training.train(
            params,
            mlp.mlp_loss_and_grads,
            splits.X_train,
            splits.y_train,
            step=optim.sgd_step,
            epochs=1,
            X_val=splits.X_val,
        )


# ---------------------------------------------------------------------------------------------
# divergence
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 10])
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_huge_learning_rate_raises_training_diverged_without_runtime_warnings(loss, batch_size):
    rng = np.random.default_rng(4)
    if loss == "mse":
        X, y = data.make_teacher_regression(100, rng)
        params = mlp.init_mlp([5, 16, 1], rng)
    else:
        X, y = data.make_blobs(100, rng)
        params = mlp.init_mlp([2, 16, 3], rng)
    loss_and_grads = functools.partial(mlp.mlp_loss_and_grads, loss=loss)
    before = {k: v.copy() for k, v in params.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(training.TrainingDiverged, match="smaller") as caught:
            training.train(
                params,
                loss_and_grads,
                X,
                y,
                step=optim.sgd_step,
                epochs=500,
                lr=1e6,
                batch_size=batch_size,
                rng=rng,
                on_diverge="raise",
            )
    error = caught.value
    assert isinstance(error, RuntimeError)
    assert "lr = 1e+06" in str(error) and f"epoch {error.epoch} of 500" in str(error)
    assert error.lr == 1e6 and error.step >= 0
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])


def nan_at_step(bad_step, grads_only=False):
    """Quadratic loss whose loss (or gradient) turns NaN at the given step."""
    counter = {"calls": 0}

    def loss_and_grads(params, Xb, yb):
        loss, grads = quadratic(params, Xb, yb)
        step_index = counter["calls"]
        counter["calls"] += 1
        if step_index == bad_step:
            if grads_only:
                return loss, {"w": np.full(3, np.inf)}
            return float("nan"), grads
        return loss, grads

    return loss_and_grads


def test_divergence_is_reported_at_the_step_where_it_happens():
    X, y = ids(4)
    with pytest.raises(training.TrainingDiverged) as caught:
        training.train(
            {"w": W0},
            nan_at_step(6),
            X,
            y,
            step=optim.sgd_step,
            epochs=10,
            batch_size=2,
            rng=np.random.default_rng(0),
            on_diverge="raise",
        )
    # calls: steps 0, 1, evaluation, steps 2, 3, evaluation, step 4 -> the 7th call is step 4
    assert caught.value.step == 4 and caught.value.epoch == 3
    assert "at step 4" in str(caught.value) and "nan" in str(caught.value)
    assert math.isnan(caught.value.loss)


def test_non_finite_gradient_names_the_parameter():
    X, y = ids(4)
    with pytest.raises(training.TrainingDiverged, match="gradient of 'w'"):
        training.train(
            {"w": W0}, nan_at_step(0, grads_only=True), X, y, step=optim.sgd_step, epochs=3,
            on_diverge="raise",
        )


def test_stop_on_divergence_returns_the_last_finite_params_and_marks_history():
    X, y = ids(4)
    lr = 0.25
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        params, history = training.train(
            {"w": W0},
            nan_at_step(4),
            X,
            y,
            step=optim.sgd_step,
            epochs=10,
            lr=lr,
            on_diverge="stop",
        )
    # full batch: calls alternate step, evaluation; the 5th call is step 2
    assert history.diverged and "diverged" in history.divergence_message
    assert history.steps == 2 and history.epochs == 2 and len(history.loss) == 2
    np.testing.assert_allclose(params["w"], C + (1 - lr) ** 2 * (W0 - C))


def test_a_diverging_run_stops_by_default_as_in_the_network_loop():
    """One default for both loops: a diverging run is an outcome, reported in the history."""
    X, y = ids(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        params, history = training.train({"w": W0}, nan_at_step(4), X, y,
                                         step=optim.sgd_step, epochs=10, lr=0.25)
    assert history.diverged and history.steps == 2
    assert "Training diverged in epoch 3 of 10" in history.divergence_message
    assert np.all(np.isfinite(params["w"]))
    default = inspect.signature(training.train).parameters["on_diverge"].default
    assert default == inspect.signature(network.train).parameters["on_diverge"].default


def test_evaluate_every_drop_last_and_callback():
    X, y = ids(10)
    seen = []
    _, history = training.train({"w": W0}, quadratic, X, y, step=optim.sgd_step, epochs=5,
                                batch_size=4, rng=np.random.default_rng(0), drop_last=True,
                                evaluate_every=2, callback=lambda i, p: seen.append(i))
    assert history.steps == 10 and seen == list(range(10)), "2 full batches of 4 per epoch"
    assert len(history.train_loss) == 3, "after epochs 2, 4 and the last"
    _, once = training.train({"w": W0}, quadratic, X, y, step=optim.sgd_step, epochs=5,
                             evaluate_every=None)
    assert len(once.train_loss) == 1 and once.epochs == 5
    with pytest.raises(ValueError, match="drop_last needs batch_size"):
        training.train({"w": W0}, quadratic, X, y, step=optim.sgd_step, epochs=1,
                       drop_last=True)


def test_an_update_that_overflows_is_caught_before_it_is_kept():
    def overflowing_step(w, grad, state, *, lr):
        count = 0 if state is None else state
        return (w * 1e300 * 1e300 if count == 2 else w - lr * grad), count + 1

    X, y = ids(4)
    with pytest.raises(training.TrainingDiverged, match="the update made 'w' NaN or infinite"):
        training.train({"w": W0}, quadratic, X, y, step=overflowing_step, epochs=5, lr=0.1,
                       on_diverge="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        params, history = training.train(
            {"w": W0}, quadratic, X, y, step=overflowing_step, epochs=5, lr=0.1, on_diverge="stop"
        )
    assert history.diverged and history.steps == 2
    np.testing.assert_allclose(params["w"], C + (1 - 0.1) ** 2 * (W0 - C))


def test_training_diverged_can_be_pickled():
    import pickle

    error = training.TrainingDiverged("boom", epoch=1, step=2, loss=float("inf"), lr=3.0)
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, training.TrainingDiverged) and str(again) == "boom"


# ---------------------------------------------------------------------------------------------
# history and arguments
# ---------------------------------------------------------------------------------------------


def test_record_every_thins_the_per_step_records():
    X, y = ids(10)
    _, history = training.train(
        {"w": W0},
        quadratic,
        X,
        y,
        step=optim.sgd_step,
        epochs=5,
        batch_size=2,
        rng=np.random.default_rng(0),
        record_every=4,
        lr=0.01,
    )
    assert history.steps == 25
    assert history.step_index == list(range(0, 25, 4))
    assert len(history.loss) == len(history.grad_norm) == len(history.lr) == 7


def test_history_as_dict_is_a_copy_with_every_field():
    X, y = ids(3)
    _, history = training.train({"w": W0}, quadratic, X, y, step=optim.sgd_step, epochs=2)
    record = history.as_dict()
    expected = {
        "loss",
        "grad_norm",
        "lr",
        "step_index",
        "train_loss",
        "val_loss",
        "train_acc",
        "val_acc",
        "steps",
        "epochs",
        "diverged",
        "divergence_message",
    }
    assert set(record) == expected
    record["loss"].append(123.0)
    assert 123.0 not in history.loss


def test_zero_epochs_returns_a_copy_of_the_params():
    X, y = ids(3)
    params = {"w": W0.copy()}
    trained, history = training.train(params, quadratic, X, y, step=optim.sgd_step, epochs=0)
    np.testing.assert_array_equal(trained["w"], W0)
    assert trained["w"] is not params["w"] and history.steps == 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"epochs": -1}, ValueError, "epochs"),
        ({"epochs": 2.5}, TypeError, "epochs"),
        ({"on_diverge": "ignore"}, ValueError, "on_diverge"),
        ({"lr": "fast"}, TypeError, "lr"),
        ({"lr": lambda t: -1.0}, ValueError, r"lr\(0\) returned -1.0"),
        ({"batch_size": 0, "rng": np.random.default_rng(0)}, ValueError, "batch_size"),
        ({"rng": 3, "batch_size": 2}, TypeError, "rng"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, error, match):
    X, y = ids(4)
    arguments = {"step": optim.sgd_step, "epochs": 1, **kwargs}
    with pytest.raises(error, match=match):
        training.train({"w": W0}, quadratic, X, y, **arguments)
