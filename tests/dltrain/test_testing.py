"""dltrain.testing: checks pass on right values and fail with messages that help."""

import numpy as np
import pytest

from dltrain.testing import (
    CheckFailed,
    check_choice,
    check_close,
    check_equal,
    check_finite,
    check_number,
    check_shape,
    check_true,
    check_type,
    check_unchanged,
    describe_difference,
    passed,
)


def test_check_close_passes_within_tolerance():
    check_close(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]), "x")
    check_close(3.0, 3.0, "scalar")
    check_close(np.float32(0.5), 0.5, "numpy scalar")


def test_check_close_reports_worst_element_and_counts():
    with pytest.raises(CheckFailed) as info:
        check_close(np.array([[1.0, 2.0], [3.0, 9.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]), "W")
    text = str(info.value)
    assert "W is not what was expected" in text
    assert "index (1, 1)" in text and "expected 4, got 9" in text and "1 of 4" in text


def test_check_close_names_a_matching_mistake():
    x = np.array([1.0, 2.0, 4.0])
    with pytest.raises(CheckFailed, match="code that squared it"):
        check_close(x**2, x, "y", mistakes={"halved it": x / 2, "squared it": x**2})
    with pytest.raises(CheckFailed, match="likely mistake: generic hint"):
        check_close(x + 1, x, "y", hint="generic hint", mistakes={"halved it": x / 2})


def test_shape_and_type_come_first():
    with pytest.raises(CheckFailed, match="should be a ndarray, but it is a list"):
        check_close([1.0, 2.0], np.array([1.0, 2.0]), "v")
    with pytest.raises(CheckFailed, match="transposed"):
        check_shape(np.zeros((3, 2)), (2, 3), "W")
    with pytest.raises(CheckFailed, match="keepdims"):
        check_shape(np.zeros((1, 3)), (3,), "mean")
    with pytest.raises(CheckFailed, match="should be a number"):
        check_close("1.0", 1.0, "s")
    with pytest.raises(CheckFailed, match="should be a tuple"):
        check_type([1], tuple, "result")


def test_nan_only_matches_nan():
    check_close(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), "v")
    with pytest.raises(CheckFailed, match="index \\(0,\\)"):
        check_close(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), "v")


def test_check_equal_and_true():
    check_equal(3, 3, "n")
    check_equal(np.array([1, 2]), np.array([1, 2]), "labels")
    with pytest.raises(CheckFailed, match="first difference at index \\(1,\\)"):
        check_equal(np.array([1, 5]), np.array([1, 2]), "labels")
    with pytest.raises(CheckFailed, match="should be 3"):
        check_equal(4, 3, "n")
    with pytest.raises(CheckFailed, match="the claim"):
        check_true(False, "the claim")
    check_true(True, "fine")


def test_check_finite_and_unchanged():
    check_finite(np.ones(3), "x")
    with pytest.raises(CheckFailed, match="2 non-finite"):
        check_finite(np.array([1.0, np.inf, np.nan]), "x")
    before = np.arange(3.0)
    after = before.copy()
    check_unchanged(before, after, "X")
    after[0] = 7
    with pytest.raises(CheckFailed, match="in place"):
        check_unchanged(before, after, "X")


def test_describe_difference_and_passed(capsys):
    assert "all elements agree" in describe_difference(np.ones(2), np.ones(2), 1e-9, 0)
    passed("f")
    assert "f: all visible tests passed" in capsys.readouterr().out


def test_check_choice_accepts_only_listed_strings():
    check_choice("b", "abcd", "q_kind")
    check_choice("relu", ("relu", "tanh"), "q_act")
    for bad, said in [("e", "should be one of"), ("B", "should be one of"), (2, "should be one of"),
                      (None, "has no answer yet"), (..., "has no answer yet")]:
        with pytest.raises(CheckFailed, match=said):
            check_choice(bad, "abcd", "q_kind")


def test_check_number_accepts_finite_numbers_and_whole_ones_when_asked():
    check_number(3, "q")
    check_number(np.float64(2.5), "q")
    check_number(4.0, "q", integer=True)
    for bad, said in [("3", "should be a number"), (True, "should be a number"),
                      (float("nan"), "finite"), (None, "has no answer yet")]:
        with pytest.raises(CheckFailed, match=said):
            check_number(bad, "q")
    with pytest.raises(CheckFailed, match="whole number"):
        check_number(2.5, "q", integer=True)


def test_describe_kind_names_the_kind_and_shows_scalars_only_when_asked():
    from dltrain.compare import describe_kind

    assert describe_kind(np.zeros((3, 2))) == "an array of shape (3, 2)"
    assert describe_kind([1, 2, 3, 4]) == "a list of 4 items"
    assert describe_kind(None) == "None"
    assert describe_kind(0.5) == "a float"
    assert describe_kind(0.5, show_scalar=True) == "a float (0.5)"
    assert describe_kind("b", show_scalar=True) == "a str ('b')"
