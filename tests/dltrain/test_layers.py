"""Tests of dltrain.layers: forward values, gradient checks, stability, no in-place changes."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dltrain import layers
from dltrain.gradcheck import check_layer_gradients

ACTIVATION_PAIRS = {
    "relu": (layers.relu_forward, layers.relu_backward),
    "tanh": (layers.tanh_forward, layers.tanh_backward),
    "sigmoid": (layers.sigmoid_forward, layers.sigmoid_backward),
    "identity": (layers.identity_forward, layers.identity_backward),
}

# the functions each activation must compute, written the naive way for moderate inputs
REFERENCE = {
    "relu": lambda x: np.where(x > 0, x, 0.0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "identity": lambda x: x,
}

shapes = st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6))


# ---------------------------------------------------------------------------------------------
# linear
# ---------------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None, derandomize=True)
@given(shape=shapes, seed=st.integers(0, 1000))
def test_linear_forward_is_affine_map(shape, seed):
    N, D, H = shape
    rng = np.random.default_rng(seed)
    x, W, b = rng.normal(size=(N, D)), rng.normal(size=(D, H)), rng.normal(size=H)
    out, _ = layers.linear_forward(x, W, b)
    assert out.shape == (N, H)
    np.testing.assert_allclose(out, np.einsum("nd,dh->nh", x, W) + b[None, :])


@pytest.mark.parametrize("shape", [(1, 1, 1), (4, 3, 5), (7, 2, 3)])
def test_linear_backward_matches_numerical_gradient(shape):
    N, D, H = shape
    rng = np.random.default_rng(sum(shape))
    inputs = {"x": rng.normal(size=(N, D)), "W": rng.normal(size=(D, H)), "b": rng.normal(size=H)}
    errors = check_layer_gradients(
        layers.linear_forward, layers.linear_backward, inputs, rng, tol=1e-7
    )
    assert set(errors) == {"x", "W", "b"}


def test_linear_backward_shapes():
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=(4, 3)), rng.normal(size=(3, 5)), rng.normal(size=5)
    _, cache = layers.linear_forward(x, W, b)
    dx, dW, db = layers.linear_backward(rng.normal(size=(4, 5)), cache)
    assert dx.shape == (4, 3) and dW.shape == (3, 5) and db.shape == (5,)


@pytest.mark.parametrize(
    "x_shape, W_shape, b_shape, match",
    [
        ((4, 3), (2, 5), (5,), "W must have shape"),
        ((4, 3), (3, 5), (4,), "b must have shape"),
        ((4, 3, 2), (3, 5), (5,), "x must have shape"),
        ((4, 3), (3,), (5,), "W must have shape"),
    ],
)
def test_linear_forward_rejects_mismatched_shapes(x_shape, W_shape, b_shape, match):
    with pytest.raises(ValueError, match=match):
        layers.linear_forward(np.zeros(x_shape), np.zeros(W_shape), np.zeros(b_shape))


def test_linear_backward_rejects_wrong_dout_shape():
    _, cache = layers.linear_forward(np.zeros((4, 3)), np.zeros((3, 5)), np.zeros(5))
    with pytest.raises(ValueError, match="dout"):
        layers.linear_backward(np.zeros((5, 4)), cache)


def test_linear_leaves_inputs_unchanged():
    rng = np.random.default_rng(1)
    x, W, b, dout = (rng.normal(size=s) for s in [(4, 3), (3, 5), (5,), (4, 5)])
    copies = [a.copy() for a in (x, W, b, dout)]
    _, cache = layers.linear_forward(x, W, b)
    layers.linear_backward(dout, cache)
    for original, copy in zip((x, W, b, dout), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


# ---------------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ACTIVATION_PAIRS))
@settings(max_examples=15, deadline=None, derandomize=True)
@given(shape=st.tuples(st.integers(1, 5), st.integers(1, 5)), seed=st.integers(0, 1000))
def test_activation_forward_values_and_shape(name, shape, seed):
    forward, _ = ACTIVATION_PAIRS[name]
    x = 3 * np.random.default_rng(seed).normal(size=shape)
    out, _ = forward(x)
    assert out.shape == x.shape and out.dtype == np.float64
    np.testing.assert_allclose(out, REFERENCE[name](x), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(ACTIVATION_PAIRS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_activation_backward_matches_numerical_gradient(name, seed):
    forward, backward = ACTIVATION_PAIRS[name]
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(5, 4))
    if name == "relu":
        # centred differences straddling the kink at 0 would be wrong by design
        x = np.where(np.abs(x) < 1e-3, 0.5, x)
    errors = check_layer_gradients(forward, backward, {"x": x}, rng, tol=1e-7)
    assert errors["x"] <= 1e-7


def test_relu_gradient_at_zero_is_zero_like_pytorch():
    _, cache = layers.relu_forward(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(
        layers.relu_backward(np.array([3.0, 3.0, 3.0]), cache), [0.0, 0.0, 3.0]
    )


@pytest.mark.parametrize("name", sorted(ACTIVATION_PAIRS))
def test_activation_leaves_inputs_unchanged_and_returns_new_arrays(name):
    forward, backward = ACTIVATION_PAIRS[name]
    rng = np.random.default_rng(3)
    x, dout = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    x0, dout0 = x.copy(), dout.copy()
    out, cache = forward(x)
    dx = backward(dout, cache)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(dout, dout0)
    assert not np.shares_memory(out, x) and not np.shares_memory(dx, dout)


@pytest.mark.parametrize("name", sorted(ACTIVATION_PAIRS))
def test_activation_backward_rejects_wrong_dout_shape(name):
    forward, backward = ACTIVATION_PAIRS[name]
    _, cache = forward(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="dout"):
        backward(np.zeros((4, 3)), cache)


def test_sigmoid_is_stable_for_huge_inputs():
    x = np.array([-1e308, -1e4, -800.0, -50.0, 0.0, 50.0, 800.0, 1e4, 1e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = layers.sigmoid_forward(x)
        dx = layers.sigmoid_backward(np.ones_like(x), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    assert out[0] == 0.0 and out[-1] == 1.0 and out[4] == 0.5
    np.testing.assert_array_equal(dx[[0, 1, -2, -1]], 0.0)
    # symmetry sigma(-x) = 1 - sigma(x) everywhere, including the stable branch
    np.testing.assert_allclose(out + out[::-1], 1.0, atol=1e-15)


def test_tanh_is_stable_for_huge_inputs():
    x = np.array([-1e308, -1e4, 0.0, 1e4, 1e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out, cache = layers.tanh_forward(x)
        dx = layers.tanh_backward(np.ones_like(x), cache)
    np.testing.assert_array_equal(out, [-1.0, -1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(dx, [0.0, 0.0, 1.0, 0.0, 0.0])


def test_sigmoid_derivative_is_at_most_a_quarter():
    _, cache = layers.sigmoid_forward(np.linspace(-10, 10, 1001))
    dx = layers.sigmoid_backward(np.ones(1001), cache)
    assert dx.max() == pytest.approx(0.25) and np.all(dx <= 0.25)


def test_activations_accept_integer_input():
    out, _ = layers.relu_forward(np.array([-2, 3]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [0.0, 3.0])


# ---------------------------------------------------------------------------------------------
# dispatch by name
# ---------------------------------------------------------------------------------------------


def test_activations_dict_has_the_course_names():
    assert {"relu", "tanh", "sigmoid", "linear", "identity"} <= set(layers.ACTIVATIONS)
    for name, pair in layers.ACTIVATIONS.items():
        assert len(pair) == 2 and all(callable(f) for f in pair), name


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid", "linear", "identity"])
def test_activation_by_name_matches_the_function(name):
    rng = np.random.default_rng(4)
    x, dout = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    out, cache = layers.activation_forward(name, x)
    np.testing.assert_allclose(out, REFERENCE["identity" if name == "linear" else name](x))
    forward, backward = layers.ACTIVATIONS[name]
    _, direct_cache = forward(x)
    np.testing.assert_array_equal(
        layers.activation_backward(name, dout, cache), backward(dout, direct_cache)
    )


def test_unknown_activation_names_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown activation 'softplus'.*relu"):
        layers.activation_forward("softplus", np.zeros(3))
    with pytest.raises(ValueError, match="unknown activation"):
        layers.activation_backward("Relu", np.zeros(3), np.zeros(3))
    with pytest.raises(TypeError, match="activation must be a name"):
        layers.activation_forward(np.tanh, np.zeros(3))
