"""Tests of dltrain.losses: values by closed forms, gradient checks, stability, errors."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dltrain import losses
from dltrain.gradcheck import numerical_gradient, rel_error

batch_and_classes = st.tuples(st.integers(1, 8), st.integers(2, 6))


# ---------------------------------------------------------------------------------------------
# softmax
# ---------------------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, derandomize=True)
@given(shape=batch_and_classes, seed=st.integers(0, 1000), shift=st.floats(-1e3, 1e3))
def test_softmax_is_a_distribution_and_shift_invariant(shape, seed, shift):
    logits = 5 * np.random.default_rng(seed).normal(size=shape)
    p = losses.softmax(logits)
    assert p.shape == shape
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    # adding a constant per row does not change the result
    row_shift = shift * np.arange(1, shape[0] + 1)[:, None]
    np.testing.assert_allclose(losses.softmax(logits + row_shift), p, atol=1e-10)
    # order of the probabilities follows the order of the logits
    np.testing.assert_array_equal(p.argmax(axis=1), logits.argmax(axis=1))


def test_softmax_matches_naive_formula_for_moderate_logits():
    logits = np.random.default_rng(0).normal(size=(4, 3))
    naive = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(losses.softmax(logits), naive)


def test_softmax_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [1000.0, 1000.0, -1e300], [-1e300, -1e300, -1e300]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = losses.softmax(logits)
    np.testing.assert_allclose(p, [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]])


# ---------------------------------------------------------------------------------------------
# softmax cross-entropy
# ---------------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None, derandomize=True)
@given(shape=batch_and_classes, seed=st.integers(0, 1000))
def test_cross_entropy_gradient_matches_numerical(shape, seed):
    N, C = shape
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=shape)
    y = rng.integers(0, C, size=N)
    loss, dlogits = losses.softmax_cross_entropy(logits, y)
    assert isinstance(loss, float) and dlogits.shape == (N, C)
    numerical = numerical_gradient(lambda z: losses.softmax_cross_entropy(z, y)[0], logits)
    assert rel_error(dlogits, numerical) < 1e-6


def test_cross_entropy_closed_forms():
    C = 7
    loss, dlogits = losses.softmax_cross_entropy(np.zeros((3, C)), np.array([0, 3, 6]))
    assert loss == pytest.approx(np.log(C))  # uniform prediction
    np.testing.assert_allclose(dlogits.sum(axis=1), 0.0, atol=1e-15)
    # the correct class has (1/C - 1) / N, the others 1 / (C N)
    np.testing.assert_allclose(dlogits[0], np.r_[1 / C - 1, np.full(C - 1, 1 / C)] / 3)

    logits = np.array([[2.0, 0.0]])
    expected = -np.log(np.exp(2) / (np.exp(2) + 1))
    assert losses.softmax_cross_entropy(logits, np.array([0]))[0] == pytest.approx(expected)


def test_cross_entropy_is_the_mean_over_the_batch():
    rng = np.random.default_rng(1)
    logits, y = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    per_sample = [
        losses.softmax_cross_entropy(logits[i : i + 1], y[i : i + 1])[0] for i in range(6)
    ]
    loss, dlogits = losses.softmax_cross_entropy(logits, y)
    assert loss == pytest.approx(np.mean(per_sample))
    # gradients of a batch are the per-sample gradients divided by N
    _, d0 = losses.softmax_cross_entropy(logits[:1], y[:1])
    np.testing.assert_allclose(dlogits[0], d0[0] / 6)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0], [0.0, 1e4], [-1e300, 1e300]])
    y = np.array([0, 0, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dlogits = losses.softmax_cross_entropy(logits, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dlogits))
    # per sample: 0, 1e4, 2e300 (confidently wrong costs the margin)
    assert loss == pytest.approx((0.0 + 1e4 + 2e300) / 3)
    np.testing.assert_allclose(dlogits, [[0, 0], [-1 / 3, 1 / 3], [-1 / 3, 1 / 3]], atol=1e-15)


@pytest.mark.parametrize(
    "logits, y, error, match",
    [
        (np.zeros((3, 4)), np.array([0, 1, 4]), ValueError, "labels must be in 0 .. 3"),
        (np.zeros((3, 4)), np.array([0, -1, 2]), ValueError, "labels must be in"),
        (np.zeros((3, 4)), np.array([0, 1]), ValueError, "one label per row"),
        (np.zeros((3, 4)), np.array([[0], [1], [2]]), ValueError, "1-D"),
        (np.zeros((3, 4)), np.array([0.0, 1.0, 2.0]), TypeError, "integer class labels"),
        (np.zeros(4), np.array([0]), ValueError, r"shape \(N, C\)"),
    ],
)
def test_cross_entropy_rejects_bad_input(logits, y, error, match):
    with pytest.raises(error, match=match):
        losses.softmax_cross_entropy(logits, y)


def test_cross_entropy_leaves_inputs_unchanged():
    logits, y = np.random.default_rng(2).normal(size=(3, 4)), np.array([0, 1, 3])
    logits0, y0 = logits.copy(), y.copy()
    losses.softmax_cross_entropy(logits, y)
    np.testing.assert_array_equal(logits, logits0)
    np.testing.assert_array_equal(y, y0)


# ---------------------------------------------------------------------------------------------
# mean squared error
# ---------------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None, derandomize=True)
@given(shape=st.tuples(st.integers(1, 6), st.integers(1, 4)), seed=st.integers(0, 1000))
def test_mse_gradient_matches_numerical(shape, seed):
    rng = np.random.default_rng(seed)
    pred, target = rng.normal(size=shape), rng.normal(size=shape)
    loss, dpred = losses.mse_loss(pred, target)
    assert isinstance(loss, float) and dpred.shape == shape
    numerical = numerical_gradient(lambda p: losses.mse_loss(p, target)[0], pred)
    # entries can be tiny, so compare with an absolute floor rather than elementwise rel_error
    np.testing.assert_allclose(dpred, numerical, rtol=1e-6, atol=1e-10)


def test_mse_is_the_mean_over_all_elements_like_pytorch():
    N, D = 5, 3
    target = np.random.default_rng(3).normal(size=(N, D))
    loss, dpred = losses.mse_loss(target + 2.0, target)
    assert loss == pytest.approx(4.0)  # not 4 * D (sum over features) nor 2 (halved)
    np.testing.assert_allclose(dpred, 2 * 2.0 / (N * D))
    loss, dpred = losses.mse_loss(target, target)
    assert loss == 0.0
    np.testing.assert_array_equal(dpred, np.zeros((N, D)))


def test_mse_refuses_to_broadcast():
    with pytest.raises(ValueError, match="same shape"):
        losses.mse_loss(np.zeros((4, 1)), np.zeros(4))


# ---------------------------------------------------------------------------------------------
# accuracy
# ---------------------------------------------------------------------------------------------


@settings(max_examples=20, deadline=None, derandomize=True)
@given(labels=st.lists(st.integers(0, 4), min_size=1, max_size=30), seed=st.integers(0, 100))
def test_accuracy_counts_correct_argmax(labels, seed):
    y = np.array(labels)
    logits = np.eye(5)[y] + 0.1 * np.random.default_rng(seed).random((len(y), 5))
    assert losses.accuracy(logits, y) == 1.0
    wrong = (y + 1) % 5
    assert losses.accuracy(logits, wrong) == 0.0
    half = np.where(np.arange(len(y)) % 2 == 0, y, wrong)
    assert losses.accuracy(logits, half) == pytest.approx(np.mean(np.arange(len(y)) % 2 == 0))
