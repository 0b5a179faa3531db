"""Tests of dltrain.data: synthetic data sets, splits, one-hot labels, the digits."""

import importlib.resources
import socket
import urllib.request

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dltrain import data

# name -> (generator, keyword arguments, number of classes)
CLASSIFICATION = {
    "blobs": (data.make_blobs, {}, 3),
    "blobs_4_in_5d": (data.make_blobs, {"centers": 4, "dim": 5}, 4),
    "moons": (data.make_moons, {}, 2),
    "circles": (data.make_circles, {}, 2),
    "spirals": (data.make_spirals, {}, 3),
    "spirals_5": (data.make_spirals, {"classes": 5, "turns": 2.0}, 5),
}


# ---------------------------------------------------------------------------------------------
# synthetic classification data
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CLASSIFICATION))
@settings(max_examples=20, deadline=None, derandomize=True)
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32 - 1))
def test_classification_shapes_dtypes_labels_and_balance(name, n, seed):
    make, kwargs, classes = CLASSIFICATION[name]
    X, y = make(n, np.random.default_rng(seed), **kwargs)
    dim = kwargs.get("dim", 2)
    assert isinstance(X, np.ndarray) and X.shape == (n, dim) and X.dtype == np.float64
    assert isinstance(y, np.ndarray) and y.shape == (n,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))
    assert y.min() >= 0 and y.max() < classes
    counts = np.bincount(y, minlength=classes)
    assert counts.sum() == n
    assert counts.max() - counts.min() <= 1, f"classes not balanced: {counts}"


@pytest.mark.parametrize("name", sorted(CLASSIFICATION))
def test_classification_same_seed_same_data_other_seed_other_data(name):
    make, kwargs, _ = CLASSIFICATION[name]
    X1, y1 = make(50, np.random.default_rng(7), **kwargs)
    X2, y2 = make(50, np.random.default_rng(7), **kwargs)
    X3, _ = make(50, np.random.default_rng(8), **kwargs)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


@pytest.mark.parametrize("name", sorted(CLASSIFICATION))
def test_classification_does_not_touch_global_random_state(name):
    make, kwargs, _ = CLASSIFICATION[name]
    # reading the legacy global state is the point: it must stay as it was
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    make(20, np.random.default_rng(0), **kwargs)
    np.testing.assert_array_equal(np.random.get_state()[1], before)  # noqa: NPY002


@pytest.mark.parametrize("name", sorted(CLASSIFICATION))
def test_classification_shuffles_unless_told_not_to(name):
    make, kwargs, _ = CLASSIFICATION[name]
    _, y = make(200, np.random.default_rng(0), **kwargs)
    _, y_grouped = make(200, np.random.default_rng(0), shuffle=False, **kwargs)
    assert np.any(np.diff(y) < 0), "samples should be shuffled by default"
    assert np.all(np.diff(y_grouped) >= 0), "shuffle=False keeps the samples grouped by class"
    np.testing.assert_array_equal(np.sort(y), y_grouped)


@pytest.mark.parametrize("bad", [{"n": 0}, {"n": 2.5}, {"n": True}, {"rng": 42}, {"rng": None}])
@pytest.mark.parametrize("name", sorted(CLASSIFICATION))
def test_classification_rejects_bad_n_and_rng(name, bad):
    make, kwargs, _ = CLASSIFICATION[name]
    args = {"n": 10, "rng": np.random.default_rng(0), **bad}
    with pytest.raises((TypeError, ValueError), match="n must|rng must"):
        make(args["n"], args["rng"], **kwargs)


def test_blobs_centres_on_circle_with_given_radius_and_spread():
    radius, spread, centers = 4.0, 0.5, 5
    X, y = data.make_blobs(
        5000, np.random.default_rng(1), centers=centers, radius=radius, spread=spread
    )
    means = np.array([X[y == k].mean(axis=0) for k in range(centers)])
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), radius, atol=0.1)
    stds = np.array([X[y == k].std(axis=0) for k in range(centers)])
    np.testing.assert_allclose(stds, spread, rtol=0.1)
    # evenly spaced: neighbouring centres 2 r sin(pi / C) apart
    angles = np.sort(np.arctan2(means[:, 1], means[:, 0]))
    np.testing.assert_allclose(np.diff(angles), 2 * np.pi / centers, atol=0.05)


def test_blobs_in_one_and_many_dimensions_keep_centres_apart():
    X, y = data.make_blobs(3000, np.random.default_rng(2), centers=3, dim=1, spread=0.1)
    means = np.sort([X[y == k, 0].mean() for k in range(3)])
    np.testing.assert_allclose(means, [-5.0, 0.0, 5.0], atol=0.05)
    X, y = data.make_blobs(3000, np.random.default_rng(2), centers=3, dim=6, spread=0.1)
    assert X.shape == (3000, 6)
    means = np.array([X[y == k].mean(axis=0) for k in range(3)])
    gaps = np.linalg.norm(means[:, None] - means[None], axis=-1)[np.triu_indices(3, 1)]
    assert gaps.min() > 5.0


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = data.make_moons(101, np.random.default_rng(0), noise=0.0)
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.linalg.norm(upper, axis=1), 1.0)
    assert np.all(upper[:, 1] >= -1e-12)
    np.testing.assert_allclose(np.linalg.norm(lower - [1.0, 0.5], axis=1), 1.0)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)


def test_circles_without_noise_have_radius_one_and_factor():
    X, y = data.make_circles(100, np.random.default_rng(0), noise=0.0, factor=0.3)
    radii = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(radii[y == 0], 1.0)
    np.testing.assert_allclose(radii[y == 1], 0.3)


@pytest.mark.parametrize("factor", [0.0, 1.0, 1.5, -0.2])
def test_circles_factor_must_be_between_zero_and_one(factor):
    with pytest.raises(ValueError, match="factor"):
        data.make_circles(10, np.random.default_rng(0), factor=factor)


def test_spirals_without_noise_follow_the_arm_equation():
    classes, turns = 3, 1.5
    X, y = data.make_spirals(300, np.random.default_rng(0), classes=classes, noise=0.0, turns=turns)
    r = np.linalg.norm(X, axis=1)
    assert r.max() <= 1 + 1e-12
    keep = r > 1e-9  # the angle of the centre point is undefined
    # points are r (sin t, cos t) with t = 2 pi (turns r + k / C)
    t = np.arctan2(X[keep, 0], X[keep, 1])
    expected = 2 * np.pi * (turns * r[keep] + y[keep] / classes)
    wrapped = np.angle(np.exp(1j * (t - expected)))
    np.testing.assert_allclose(wrapped, 0.0, atol=1e-9)


# ---------------------------------------------------------------------------------------------
# teacher regression
# ---------------------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 100),
    d_in=st.integers(1, 6),
    hidden=st.integers(1, 10),
    d_out=st.integers(1, 3),
    seed=st.integers(0, 1000),
)
def test_teacher_regression_shapes(n, d_in, hidden, d_out, seed):
    X, y = data.make_teacher_regression(
        n, np.random.default_rng(seed), d_in=d_in, hidden=hidden, d_out=d_out
    )
    assert X.shape == (n, d_in) and X.dtype == np.float64
    assert y.shape == (n, d_out) and y.dtype == np.float64
    assert np.all(np.isfinite(X)) and np.all(np.isfinite(y))


def test_teacher_regression_is_deterministic_per_seed():
    a = data.make_teacher_regression(40, np.random.default_rng(3))
    b = data.make_teacher_regression(40, np.random.default_rng(3))
    c = data.make_teacher_regression(40, np.random.default_rng(4))
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.allclose(a[0], c[0])


def test_teacher_noise_is_additive_with_the_given_std():
    _, y_clean = data.make_teacher_regression(20000, np.random.default_rng(5), noise=0.0)
    _, y_noisy = data.make_teacher_regression(20000, np.random.default_rng(5), noise=0.3)
    residual = y_noisy - y_clean
    assert abs(residual.mean()) < 0.01
    assert residual.std() == pytest.approx(0.3, rel=0.03)
    assert y_clean.std() > 0.1, "the teacher should produce targets that vary"


def test_feature_scales_and_offsets_only_change_how_features_look():
    scales = np.array([1.0, 100.0, 0.01, 5.0, 1.0])
    offsets = np.array([0.0, 50.0, -3.0, 0.0, 10.0])
    X, y = data.make_teacher_regression(300, np.random.default_rng(9))
    Xs, ys = data.make_teacher_regression(
        300, np.random.default_rng(9), feature_scales=scales, feature_offsets=offsets
    )
    np.testing.assert_array_equal(y, ys)
    np.testing.assert_allclose(Xs, X * scales + offsets)
    np.testing.assert_allclose(Xs.std(axis=0) / X.std(axis=0), scales)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"feature_scales": [1.0, 2.0]},
        {"feature_offsets": np.zeros((5, 1))},
        {"feature_scales": [1, 2, np.nan, 4, 5]},
    ],
)
def test_feature_scales_are_validated(kwargs):
    with pytest.raises(ValueError, match="feature_"):
        data.make_teacher_regression(10, np.random.default_rng(0), **kwargs)


# ---------------------------------------------------------------------------------------------
# splits
# ---------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    n=st.integers(5, 200),
    val=st.floats(0.0, 0.4),
    test=st.floats(0.0, 0.4),
    seed=st.integers(0, 1000),
)
def test_split_is_disjoint_covering_and_aligned(n, val, test, seed):
    X = np.arange(n)[:, None] * np.ones((1, 3))  # row i holds i: identifies the sample
    y = 10 * np.arange(n)
    splits = data.train_val_test_split(X, y, np.random.default_rng(seed), val=val, test=test)
    assert isinstance(splits, data.Splits)
    ids = [splits.X_train[:, 0], splits.X_val[:, 0], splits.X_test[:, 0]]
    np.testing.assert_array_equal(np.sort(np.concatenate(ids)), np.arange(n))
    assert len(splits.X_val) == round(val * n) and len(splits.X_test) == round(test * n)
    for X_part, y_part in [
        (splits.X_train, splits.y_train),
        (splits.X_val, splits.y_val),
        (splits.X_test, splits.y_test),
    ]:
        assert X_part.shape[1:] == (3,)
        np.testing.assert_array_equal(y_part, 10 * X_part[:, 0])


def test_split_is_random_but_reproducible_and_copies():
    X = np.arange(100.0)[:, None]
    y = np.arange(100)
    a = data.train_val_test_split(X, y, np.random.default_rng(0))
    b = data.train_val_test_split(X, y, np.random.default_rng(0))
    c = data.train_val_test_split(X, y, np.random.default_rng(1))
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_train, c.y_train)
    assert not np.array_equal(a.y_train, np.sort(a.y_train)), "the split must be shuffled"
    assert not any(np.shares_memory(part, X) or np.shares_memory(part, y) for part in a)
    X_train, y_train, X_val, y_val, X_test, y_test = a  # unpacks like a tuple
    assert len(X_train) == 60 and len(X_val) == 20 and len(X_test) == 20


@pytest.mark.parametrize(
    "val, test", [(-0.1, 0.2), (1.0, 0.0), (0.5, 0.5), (0.7, 0.4), (float("nan"), 0.1)]
)
def test_split_rejects_bad_fractions(val, test):
    with pytest.raises(ValueError, match="val|test"):
        data.train_val_test_split(
            np.zeros((10, 2)), np.zeros(10), np.random.default_rng(0), val=val, test=test
        )


def test_split_rejects_misaligned_inputs():
    with pytest.raises(ValueError, match="same number of samples"):
        data.train_val_test_split(np.zeros((10, 2)), np.zeros(9), np.random.default_rng(0))


# ---------------------------------------------------------------------------------------------
# one-hot
# ---------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, derandomize=True)
@given(labels=st.lists(st.integers(0, 9), min_size=1, max_size=50), extra=st.integers(0, 3))
def test_one_hot_round_trips_through_argmax(labels, extra):
    y = np.array(labels)
    num_classes = max(labels) + 1 + extra
    Y = data.one_hot(y, num_classes)
    assert Y.shape == (len(y), num_classes) and Y.dtype == np.float64
    np.testing.assert_array_equal(Y.sum(axis=1), 1.0)
    np.testing.assert_array_equal(Y.argmax(axis=1), y)
    assert set(np.unique(Y)) <= {0.0, 1.0}
    assert data.one_hot(y).shape == (len(y), max(labels) + 1)


def test_one_hot_rejects_bad_labels():
    with pytest.raises(ValueError, match="labels must be in 0 .. 2"):
        data.one_hot([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="labels must be in"):
        data.one_hot([0, -1])
    with pytest.raises(TypeError, match="integer class labels"):
        data.one_hot(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="1-D"):
        data.one_hot(np.zeros((3, 1), dtype=int))


# ---------------------------------------------------------------------------------------------
# digits
# ---------------------------------------------------------------------------------------------


def test_digits_shape_range_and_classes():
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16
    np.testing.assert_array_equal(X, np.round(X))
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    assert np.bincount(y).min() > 150, "each digit appears about 180 times"


def test_digits_as_images_are_the_rows_reshaped():
    X, y = data.load_digits()
    images, y_images = data.load_digits(as_images=True)
    assert images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(images.reshape(1797, 64), X)
    np.testing.assert_array_equal(y_images, y)


def test_digits_cache_cannot_be_corrupted_by_callers():
    X, y = data.load_digits()
    X[:] = -1.0
    y[:] = 99
    X_again, y_again = data.load_digits()
    assert X_again.min() == 0 and y_again.max() == 9


def test_digits_load_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("load_digits tried to use the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    data._read_digits.cache_clear()  # force a real read from the package
    X, y = data.load_digits()
    assert X.shape == (1797, 64)


def test_digits_citation_and_licence_are_shipped():
    assert "10.24432/C50P49" in data.DIGITS_CITATION
    assert "Alpaydin" in data.DIGITS_CITATION and "CC BY 4.0" in data.DIGITS_CITATION
    licence = (
        importlib.resources.files("dltrain")
        .joinpath("datasets")
        .joinpath("DIGITS_LICENSE.txt")
        .read_text(encoding="utf-8")
    )
    assert "CC BY 4.0" in licence and "10.24432/C50P49" in licence
    assert "creativecommons.org/licenses/by/4.0" in licence
