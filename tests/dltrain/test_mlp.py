"""Tests of dltrain.mlp: initialisation, forward by composition, gradient checks, records."""

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dltrain import mlp
from dltrain.gradcheck import check_layer_gradients, numerical_gradient, rel_error
from dltrain.layers import ACTIVATIONS

ACTIVATION_NAMES = ["relu", "tanh", "sigmoid", "linear"]
PHI = {
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "linear": lambda z: z,
}


def small_problem(seed, sizes=(4, 5, 6, 3), N=7):
    rng = np.random.default_rng(seed)
    params = mlp.init_mlp(list(sizes), rng, bias="default")
    X = rng.normal(size=(N, sizes[0]))
    y = rng.integers(0, sizes[-1], size=N)
    return params, X, y, rng


def deep_copy(params):
    return {k: v.copy() for k, v in params.items()}


# ---------------------------------------------------------------------------------------------
# initialisation
# ---------------------------------------------------------------------------------------------


def test_default_init_is_pytorch_uniform_with_variance_one_third_over_fan_in():
    fan_in, fan_out = 50, 2000
    W = mlp.default_init(fan_in, fan_out, np.random.default_rng(0))
    assert W.shape == (fan_in, fan_out) and W.dtype == np.float64
    bound = 1 / np.sqrt(fan_in)
    assert np.all(np.abs(W) <= bound)
    assert np.abs(W).max() > 0.99 * bound, "the whole interval should be used"
    assert W.var() == pytest.approx(1 / (3 * fan_in), rel=0.03)
    assert abs(W.mean()) < 0.01 * bound


def test_default_init_is_reproducible():
    a = mlp.default_init(3, 4, np.random.default_rng(5))
    b = mlp.default_init(3, 4, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="rng"):
        mlp.default_init(3, 4, 5)


@settings(max_examples=20, deadline=None, derandomize=True)
@given(sizes=st.lists(st.integers(1, 8), min_size=2, max_size=5), seed=st.integers(0, 100))
def test_init_mlp_keys_shapes_and_zero_biases(sizes, seed):
    params = mlp.init_mlp(sizes, np.random.default_rng(seed))
    L = len(sizes) - 1
    assert list(params) == [f"{kind}{layer}" for layer in range(1, L + 1) for kind in "Wb"]
    for layer in range(1, L + 1):
        assert params[f"W{layer}"].shape == (sizes[layer - 1], sizes[layer])
        assert params[f"b{layer}"].shape == (sizes[layer],)
        np.testing.assert_array_equal(params[f"b{layer}"], 0.0)
    assert mlp.num_layers(params) == L


def test_init_mlp_bias_options():
    sizes = [100, 300, 2]
    params = mlp.init_mlp(sizes, np.random.default_rng(0), bias="default")
    assert np.all(np.abs(params["b1"]) <= 1 / np.sqrt(100))
    assert np.all(np.abs(params["b2"]) <= 1 / np.sqrt(300))
    assert params["b1"].std() > 0.03, "default biases are drawn, not constant"
    params = mlp.init_mlp(sizes, np.random.default_rng(0), bias=0.25)
    np.testing.assert_array_equal(params["b2"], 0.25)
    with pytest.raises(ValueError, match="bias"):
        mlp.init_mlp(sizes, np.random.default_rng(0), bias="kaiming")


def test_init_mlp_uses_the_given_init_in_layer_order():
    calls = []

    def counting_init(fan_in, fan_out, rng):
        calls.append((fan_in, fan_out))
        assert isinstance(rng, np.random.Generator)
        return np.full((fan_in, fan_out), float(len(calls)))

    params = mlp.init_mlp([3, 4, 5, 2], np.random.default_rng(0), init=counting_init)
    assert calls == [(3, 4), (4, 5), (5, 2)]
    for layer in (1, 2, 3):
        np.testing.assert_array_equal(params[f"W{layer}"], float(layer))


def test_init_mlp_checks_its_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="shape"):
        mlp.init_mlp([3, 4], rng, init=lambda fan_in, fan_out, rng: np.zeros((fan_out, fan_in)))
    with pytest.raises(ValueError, match="at least"):
        mlp.init_mlp([3], rng)
    with pytest.raises((TypeError, ValueError), match="sizes"):
        mlp.init_mlp([3, 0, 2], rng)
    with pytest.raises(TypeError, match="rng"):
        mlp.init_mlp([3, 2], None)


def test_init_mlp_is_reproducible():
    a = mlp.init_mlp([4, 6, 3], np.random.default_rng(11), bias="default")
    b = mlp.init_mlp([4, 6, 3], np.random.default_rng(11), bias="default")
    c = mlp.init_mlp([4, 6, 3], np.random.default_rng(12), bias="default")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["W1"], c["W1"])


def test_num_layers_rejects_inconsistent_params():
    params = mlp.init_mlp([3, 4, 2], np.random.default_rng(0))
    with pytest.raises(ValueError, match="unexpected parameter name 'w3'"):
        mlp.num_layers({**params, "w3": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="missing"):
        mlp.num_layers({k: v for k, v in params.items() if k != "b1"})
    with pytest.raises(ValueError, match="W2 has 5 rows"):
        mlp.num_layers({**params, "W2": np.zeros((5, 2))})


# ---------------------------------------------------------------------------------------------
# forward
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_forward_is_the_composition_of_layers(activation):
    params, X, _, _ = small_problem(0)
    phi = PHI[activation]
    h1 = phi(X @ params["W1"] + params["b1"])
    h2 = phi(h1 @ params["W2"] + params["b2"])
    expected = h2 @ params["W3"] + params["b3"]  # no activation after the last layer
    scores, _ = mlp.mlp_forward(params, X, activation=activation)
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)


def test_forward_with_one_layer_is_linear():
    params, X, _, _ = small_problem(1, sizes=(4, 3))
    scores, _ = mlp.mlp_forward(params, X, activation="sigmoid")
    np.testing.assert_allclose(scores, X @ params["W1"] + params["b1"])


def test_forward_record_exposes_per_layer_values():
    params, X, _, _ = small_problem(2)
    _, cache = mlp.mlp_forward(params, X, activation="tanh", record=True)
    assert len(cache["pre_activations"]) == len(cache["activations"]) == 2  # hidden layers
    for z, h, width in zip(cache["pre_activations"], cache["activations"], (5, 6), strict=True):
        assert z.shape == h.shape == (len(X), width)
        np.testing.assert_allclose(h, np.tanh(z))
    np.testing.assert_allclose(cache["pre_activations"][0], X @ params["W1"] + params["b1"])
    _, plain = mlp.mlp_forward(params, X, activation="tanh")
    assert "activations" not in plain and "pre_activations" not in plain


def test_forward_rejects_bad_input():
    params, X, _, _ = small_problem(3)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 4\)"):
        mlp.mlp_forward(params, X[:, :3])
    with pytest.raises(ValueError, match="unknown activation"):
        mlp.mlp_forward(params, X, activation="gelu")


# ---------------------------------------------------------------------------------------------
# backward and gradients
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_backward_matches_numerical_gradient_with_random_upstream(activation):
    params, X, _, rng = small_problem(4)
    names = list(params)

    def forward(*arrays):
        return mlp.mlp_forward(dict(zip(names, arrays, strict=True)), X, activation=activation)

    def backward(dscores, cache):
        grads = mlp.mlp_backward(dscores, cache)
        return tuple(grads[name] for name in names)

    errors = check_layer_gradients(forward, backward, params, rng, tol=1e-6)
    assert set(errors) == set(names)


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_loss_and_grads_match_numerical_gradient(activation, loss):
    params, X, y, rng = small_problem(5)
    if loss == "mse":
        y = rng.normal(size=(len(X), 3))
    f = functools.partial(
        mlp.mlp_loss_and_grads, X=X, y=y, activation=activation, loss=loss, weight_decay=0.1
    )
    value, grads = f(params)
    assert isinstance(value, float)
    assert list(grads) == list(params)
    for name in params:
        numerical = numerical_gradient(lambda w, name=name: f({**params, name: w})[0], params[name])
        assert grads[name].shape == params[name].shape
        assert rel_error(grads[name], numerical) < 1e-6, (activation, loss, name)


def test_weight_decay_adds_half_lambda_squared_norm_of_weights_only():
    params, X, y, _ = small_problem(6)
    lam = 0.3
    loss0, grads0 = mlp.mlp_loss_and_grads(params, X, y)
    loss1, grads1 = mlp.mlp_loss_and_grads(params, X, y, weight_decay=lam)
    penalty = 0.5 * lam * sum(np.sum(params[f"W{layer}"] ** 2) for layer in (1, 2, 3))
    assert loss1 == pytest.approx(loss0 + penalty)
    for layer in (1, 2, 3):
        np.testing.assert_allclose(
            grads1[f"W{layer}"], grads0[f"W{layer}"] + lam * params[f"W{layer}"]
        )
        np.testing.assert_array_equal(grads1[f"b{layer}"], grads0[f"b{layer}"])


def test_mse_accepts_flat_targets_for_a_single_output():
    params, X, _, rng = small_problem(7, sizes=(4, 5, 1))
    y = rng.normal(size=len(X))
    flat = mlp.mlp_loss_and_grads(params, X, y, loss="mse")
    column = mlp.mlp_loss_and_grads(params, X, y[:, None], loss="mse")
    assert flat[0] == column[0]


def test_unknown_loss_is_a_clear_error():
    params, X, y, _ = small_problem(8)
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        mlp.mlp_loss_and_grads(params, X, y, loss="hinge")


def test_recorded_backward_gradients_are_consistent_with_the_layers():
    params, X, _, rng = small_problem(9)
    scores, cache = mlp.mlp_forward(params, X, activation="sigmoid", record=True)
    dscores = rng.normal(size=scores.shape)
    grads = mlp.mlp_backward(dscores, cache)
    assert list(grads) == list(params)
    dh, dz = cache["grad_activations"], cache["grad_pre_activations"]
    assert [a.shape for a in dh] == [a.shape for a in dz] == [(7, 5), (7, 6)]
    np.testing.assert_allclose(dh[-1], dscores @ params["W3"].T)
    h = cache["activations"]
    np.testing.assert_allclose(dz[-1], dh[-1] * h[-1] * (1 - h[-1]))
    np.testing.assert_allclose(grads["W1"], X.T @ dz[0])
    np.testing.assert_allclose(grads["W2"], h[0].T @ dz[1])


def test_forward_and_backward_leave_params_inputs_and_dscores_unchanged():
    params, X, y, rng = small_problem(10)
    before, X0 = deep_copy(params), X.copy()
    scores, cache = mlp.mlp_forward(params, X, record=True)
    dscores = rng.normal(size=scores.shape)
    d0 = dscores.copy()
    mlp.mlp_backward(dscores, cache)
    mlp.mlp_loss_and_grads(params, X, y, weight_decay=0.5)
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(dscores, d0)


def test_every_activation_of_layers_is_usable_by_the_mlp():
    params, X, _, _ = small_problem(11)
    for name in ACTIVATIONS:
        scores, _ = mlp.mlp_forward(params, X, activation=name)
        assert scores.shape == (7, 3)
