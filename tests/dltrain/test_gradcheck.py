"""Tests of dltrain.gradcheck: numerical gradients by closed forms, and that checks catch bugs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dltrain import gradcheck
from dltrain.layers import linear_forward

small_arrays = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=st.floats(-3, 3)
)


# ---------------------------------------------------------------------------------------------
# numerical gradients
# ---------------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, derandomize=True)
@given(x=small_arrays)
def test_numerical_gradient_of_sum_of_cubes_is_three_x_squared(x):
    x0 = x.copy()
    grad = gradcheck.numerical_gradient(lambda v: np.sum(v**3), x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, 3 * x0**2, rtol=1e-7, atol=1e-6)
    np.testing.assert_array_equal(x, x0)  # the caller's array is untouched


def test_numerical_gradient_of_a_quadratic_form():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    x = rng.normal(size=4)
    grad = gradcheck.numerical_gradient(lambda v: v @ A @ v, x)
    np.testing.assert_allclose(grad, (A + A.T) @ x, rtol=1e-8)


def test_numerical_gradient_restores_each_entry_before_the_next():
    seen = []

    def f(v):
        seen.append(v.copy())
        return float(np.sum(v))

    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    gradcheck.numerical_gradient(f, x, h=0.5)
    for evaluation in seen:  # exactly one entry perturbed, by +-h, in every call
        changed = evaluation != x
        assert changed.sum() == 1
        np.testing.assert_allclose(np.abs(evaluation - x)[changed], 0.5)


def test_numerical_gradient_never_perturbs_the_callers_array_even_during_the_call():
    x = np.array([1.0, -2.0, 0.5])
    x0 = x.copy()

    def f(v):
        np.testing.assert_array_equal(x, x0)  # only the private copy v is perturbed
        return float(np.sum(v**2))

    np.testing.assert_allclose(gradcheck.numerical_gradient(f, x), 2 * x0, rtol=1e-8)
    # so a function that ignores its argument has gradient zero, as documented
    np.testing.assert_array_equal(gradcheck.numerical_gradient(lambda v: np.sum(x**2), x), 0.0)


def test_numerical_gradient_accepts_integer_arrays_and_rejects_non_scalar_functions():
    grad = gradcheck.numerical_gradient(lambda v: np.sum(v**2), np.array([1, 2, 3]))
    np.testing.assert_allclose(grad, [2.0, 4.0, 6.0])
    with pytest.raises(ValueError, match="scalar"):
        gradcheck.numerical_gradient(lambda v: v * 2, np.ones(3))
    with pytest.raises(ValueError, match="h must"):
        gradcheck.numerical_gradient(np.sum, np.ones(3), h=0.0)


def test_numerical_gradient_array_matches_the_backward_of_a_matrix_product():
    rng = np.random.default_rng(1)
    x, W, dout = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    grad = gradcheck.numerical_gradient_array(lambda v: v @ W, x, dout)
    np.testing.assert_allclose(grad, dout @ W.T, rtol=1e-8)
    dsquare = rng.normal(size=x.shape)
    grad = gradcheck.numerical_gradient_array(lambda v: v**2, x, dsquare)
    np.testing.assert_allclose(grad, 2 * x * dsquare, rtol=1e-7)
    with pytest.raises(ValueError, match="dout has shape"):
        gradcheck.numerical_gradient_array(lambda v: v @ W, x, np.ones((2, 3)))


# ---------------------------------------------------------------------------------------------
# relative error
# ---------------------------------------------------------------------------------------------


def test_rel_error_formula_on_small_cases():
    assert gradcheck.rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert gradcheck.rel_error(np.array([1.0]), np.array([0.0])) == 1.0
    assert gradcheck.rel_error(np.array([0.0]), np.array([0.0])) == 0.0
    # the floor 1e-8 in the denominator
    assert gradcheck.rel_error(np.array([1e-9]), np.array([0.0])) == pytest.approx(0.1)
    # the maximum over entries, each relative to its own size
    a, b = np.array([100.0, 1.0]), np.array([101.0, 1.5])
    assert gradcheck.rel_error(a, b) == pytest.approx(0.5 / 2.5)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(a=small_arrays, seed=st.integers(0, 1000))
def test_rel_error_is_symmetric_and_between_zero_and_one(a, seed):
    b = a + np.random.default_rng(seed).normal(size=a.shape)
    error = gradcheck.rel_error(a, b)
    assert error == gradcheck.rel_error(b, a)
    assert 0.0 <= error <= 1.0
    assert gradcheck.rel_error(a, a) == 0.0


def test_rel_error_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        gradcheck.rel_error(np.ones((2, 3)), np.ones((3, 2)))


# ---------------------------------------------------------------------------------------------
# check_layer_gradients
# ---------------------------------------------------------------------------------------------


def linear_inputs(rng):
    return {"x": rng.normal(size=(4, 3)), "W": rng.normal(size=(3, 5)), "b": rng.normal(size=5)}


def correct_linear_backward(dout, cache):
    x, W, _ = cache
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def test_check_passes_a_correct_layer_and_reports_every_input():
    rng = np.random.default_rng(2)
    errors = gradcheck.check_layer_gradients(
        linear_forward, correct_linear_backward, linear_inputs(rng), rng
    )
    assert set(errors) == {"x", "W", "b"}
    assert all(error < 1e-7 for error in errors.values())


def test_check_names_the_wrong_gradient_with_its_error_and_worst_index():
    def wrong_bias_backward(dout, cache):
        dx, dW, db = correct_linear_backward(dout, cache)
        return dx, dW, dout.mean(axis=0)

    rng = np.random.default_rng(3)
    with pytest.raises(AssertionError) as caught:
        gradcheck.check_layer_gradients(
            linear_forward, wrong_bias_backward, linear_inputs(rng), rng
        )
    message = str(caught.value)
    assert "'b'" in message and "'x'" not in message and "'W'" not in message
    assert "relative error" in message and "worst at index (" in message


def test_check_uses_a_non_uniform_upstream_gradient():
    # reversing the rows; forgetting to reverse dout back is only visible when dout varies
    def reverse_forward(x):
        return x[::-1].copy(), None

    def forgetful_backward(dout, cache):
        return dout.copy()

    rng = np.random.default_rng(4)
    with pytest.raises(AssertionError, match="'x'"):
        gradcheck.check_layer_gradients(
            reverse_forward, forgetful_backward, {"x": rng.normal(size=(5, 3))}, rng
        )


def test_check_without_raising_returns_the_errors():
    def zero_backward(dout, cache):
        x, W, b = cache
        return np.zeros_like(x), np.zeros_like(W), np.zeros_like(b)

    rng = np.random.default_rng(5)
    errors = gradcheck.check_layer_gradients(
        linear_forward, zero_backward, linear_inputs(rng), rng, raise_on_failure=False
    )
    assert all(error == pytest.approx(1.0) for error in errors.values())


def test_check_catches_layers_that_modify_their_input_in_place():
    def squaring_in_place(x):
        np.square(x, out=x)
        return x.copy(), x

    rng = np.random.default_rng(6)
    with pytest.raises(AssertionError, match="in place"):
        gradcheck.check_layer_gradients(
            squaring_in_place, lambda dout, x: 2 * dout, {"x": rng.normal(size=4)}, rng
        )


def test_check_leaves_the_callers_inputs_unchanged_and_is_reproducible():
    inputs = linear_inputs(np.random.default_rng(7))
    before = {k: v.copy() for k, v in inputs.items()}
    first = gradcheck.check_layer_gradients(
        linear_forward, correct_linear_backward, inputs, np.random.default_rng(8)
    )
    second = gradcheck.check_layer_gradients(
        linear_forward, correct_linear_backward, inputs, np.random.default_rng(8)
    )
    assert first == second
    for key in inputs:
        np.testing.assert_array_equal(inputs[key], before[key])


def test_check_complains_about_the_wrong_number_or_shape_of_gradients():
    rng = np.random.default_rng(9)
    with pytest.raises(AssertionError, match="3 gradient"):
        gradcheck.check_layer_gradients(
            linear_forward, lambda d, c: (d, d), linear_inputs(rng), rng
        )
    with pytest.raises(AssertionError, match="shape"):
        gradcheck.check_layer_gradients(
            linear_forward, lambda d, c: (d, c[1], c[2]), linear_inputs(rng), rng
        )
    with pytest.raises(TypeError, match="rng"):
        gradcheck.check_layer_gradients(
            linear_forward, correct_linear_backward, linear_inputs(rng), 0
        )
