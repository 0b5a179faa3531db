"""Tests of dltrain.optim: plain SGD and applying a step to a dict of parameters."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dltrain import optim

finite = st.floats(-1e3, 1e3, allow_nan=False)
arrays = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5), elements=finite
)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(w=arrays, lr=st.floats(0.0, 10.0), seed=st.integers(0, 1000))
def test_sgd_step_is_w_minus_lr_grad_and_leaves_inputs_alone(w, lr, seed):
    grad = np.random.default_rng(seed).normal(size=w.shape)
    w0, grad0 = w.copy(), grad.copy()
    new_w, state = optim.sgd_step(w, grad, None, lr=lr)
    np.testing.assert_allclose(new_w, w0 - lr * grad0)
    assert state is None
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(grad, grad0)
    assert not np.shares_memory(new_w, w)


def test_sgd_step_passes_the_state_through_and_defaults_it_to_none():
    w, grad = np.ones(3), np.arange(3.0)
    marker = object()
    assert optim.sgd_step(w, grad, marker, lr=0.1)[1] is marker
    new_w, state = optim.sgd_step(w, grad, lr=0.5)
    assert state is None
    np.testing.assert_allclose(new_w, [1.0, 0.5, 0.0])


@pytest.mark.parametrize(
    "lr, error",
    [(-0.1, ValueError), (float("nan"), ValueError), ("0.1", TypeError), (None, TypeError)],
)
def test_sgd_step_rejects_bad_learning_rates(lr, error):
    with pytest.raises(error, match="lr"):
        optim.sgd_step(np.ones(2), np.ones(2), lr=lr)


def test_sgd_step_rejects_mismatched_gradient():
    with pytest.raises(ValueError, match="shape"):
        optim.sgd_step(np.ones((2, 3)), np.ones((3, 2)), lr=0.1)


# ---------------------------------------------------------------------------------------------
# apply_step
# ---------------------------------------------------------------------------------------------


def make_params(seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4), "W2": rng.normal(size=(4, 2))}


def snapshot(tree):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in tree.items()}


def assert_same(tree, before):
    assert list(tree) == list(before)
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(tree[key], value)
        else:
            assert tree[key] == value


def test_apply_step_updates_every_parameter_and_mutates_nothing():
    params = make_params(0)
    grads = make_params(1)
    p0, g0 = snapshot(params), snapshot(grads)
    new_params, new_states = optim.apply_step(optim.sgd_step, params, grads, None, lr=0.1)
    assert new_params is not params and list(new_params) == list(params)
    for key in params:
        np.testing.assert_allclose(new_params[key], p0[key] - 0.1 * g0[key])
        assert not np.shares_memory(new_params[key], params[key])
    assert new_states == dict.fromkeys(params)
    assert_same(params, p0)
    assert_same(grads, g0)


def counting_step(w, grad, state, *, lr, bonus=0):
    """A toy stateful step: state counts the calls; it is no optimizer of the course."""
    count = 0 if state is None else state
    return w - lr * grad + bonus, count + 1


def test_apply_step_threads_per_parameter_states_and_hyperparameters():
    params = make_params(2)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    states = None
    for _ in range(3):
        previous = states
        snapshot_before = None if previous is None else dict(previous)
        params, states = optim.apply_step(counting_step, params, grads, states, lr=1.0, bonus=2.0)
        if previous is not None:
            assert previous == snapshot_before, "the old states dict must not change"
            assert states is not previous
    assert states == {"W1": 3, "b1": 3, "W2": 3}
    np.testing.assert_allclose(params["b1"], make_params(2)["b1"] + 6.0)


def test_apply_step_gives_each_parameter_its_own_state():
    seen = {}

    def spying_step(w, grad, state, **hyper):
        seen[w.shape] = state
        return w, state

    params = make_params(3)
    states = {"W1": "s1", "b1": "s2", "W2": "s3"}
    optim.apply_step(spying_step, params, params, states)
    assert seen == {(3, 4): "s1", (4,): "s2", (4, 2): "s3"}


def test_apply_step_rejects_mismatched_dicts_and_bad_steps():
    params = make_params(4)
    with pytest.raises(ValueError, match="missing.*W2"):
        optim.apply_step(optim.sgd_step, params, {"W1": params["W1"], "b1": params["b1"]}, lr=0.1)
    with pytest.raises(ValueError, match=r"grads\['b1'\] has shape"):
        optim.apply_step(optim.sgd_step, params, {**params, "b1": np.zeros(5)}, lr=0.1)
    with pytest.raises(TypeError, match="pair"):
        optim.apply_step(lambda w, g, s, **h: w, params, params)
    with pytest.raises(ValueError, match="new_w of shape"):
        optim.apply_step(lambda w, g, s, **h: (w.ravel()[:1], s), params, params)


# ---------------------------------------------------------------------------------------------
# cs231n_momentum_step
# ---------------------------------------------------------------------------------------------


def test_cs231n_momentum_starts_from_zero_velocity_and_accumulates():
    w, g1, g2 = np.array([1.0, -2.0]), np.array([0.5, 1.0]), np.array([-1.0, 2.0])
    w1, v1 = optim.cs231n_momentum_step(w, g1, None, lr=0.1, momentum=0.9)
    np.testing.assert_allclose(v1, -0.1 * g1)
    np.testing.assert_allclose(w1, w - 0.1 * g1)
    w2, v2 = optim.cs231n_momentum_step(w1, g2, v1, lr=0.05, momentum=0.5)
    np.testing.assert_allclose(v2, 0.5 * v1 - 0.05 * g2)
    np.testing.assert_allclose(w2, w1 + v2)
    w_default, _ = optim.cs231n_momentum_step(w1, g2, v1, lr=0.05)
    np.testing.assert_allclose(w_default, w1 + 0.9 * v1 - 0.05 * g2)


def test_cs231n_momentum_equals_pytorch_form_at_constant_lr_not_under_a_schedule():
    rng = np.random.default_rng(3)
    grads = rng.normal(size=(6, 4))
    w0 = rng.normal(size=4)

    def pytorch_path(lrs):
        w, b, path = w0, None, []
        for g, lr in zip(grads, lrs):
            b = g.copy() if b is None else 0.9 * b + g
            w = w - lr * b
            path.append(w)
        return np.array(path)

    def velocity_path(lrs):
        w, v, path = w0, None, []
        for g, lr in zip(grads, lrs):
            w, v = optim.cs231n_momentum_step(w, g, v, lr=lr, momentum=0.9)
            path.append(w)
        return np.array(path)

    constant = [0.1] * 6
    np.testing.assert_allclose(velocity_path(constant), pytorch_path(constant), rtol=1e-12)
    schedule = [0.1, 0.1, 0.1, 0.01, 0.01, 0.01]
    assert np.abs(velocity_path(schedule) - pytorch_path(schedule)).max() > 1e-3


def test_cs231n_momentum_leaves_inputs_alone():
    w, g, v = np.ones(3), np.arange(3.0), np.full(3, 0.5)
    copies = w.copy(), g.copy(), v.copy()
    new_w, new_v = optim.cs231n_momentum_step(w, g, v, lr=0.1)
    for before, after in zip(copies, (w, g, v)):
        np.testing.assert_array_equal(before, after)
    assert not np.shares_memory(new_w, w) and not np.shares_memory(new_v, v)


@pytest.mark.parametrize(
    "kwargs, error",
    [({"lr": -0.1}, ValueError), ({"lr": "0.1"}, TypeError), ({"lr": 0.1, "momentum": 1.0},
                                                              ValueError),
     ({"lr": 0.1, "momentum": -0.5}, ValueError)],
)
def test_cs231n_momentum_rejects_bad_hyperparameters(kwargs, error):
    with pytest.raises(error, match="lr|momentum"):
        optim.cs231n_momentum_step(np.ones(2), np.ones(2), None, **kwargs)


def test_cs231n_momentum_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        optim.cs231n_momentum_step(np.ones(2), np.ones(3), None, lr=0.1)
    with pytest.raises(ValueError, match="state"):
        optim.cs231n_momentum_step(np.ones(2), np.ones(2), np.ones(3), lr=0.1)
