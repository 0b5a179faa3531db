"""dltrain._checks.check_scalar: the one validator of scalar arguments."""

import math

import numpy as np
import pytest

from dltrain._checks import check_scalar


def test_real_numbers_pass_as_floats():
    assert check_scalar(3, "lr") == 3.0 and isinstance(check_scalar(3, "lr"), float)
    assert check_scalar(np.float32(0.5), "lr") == 0.5


@pytest.mark.parametrize("bad", [True, "0.1", None, [0.1]])
def test_non_numbers_and_booleans_are_type_errors(bad):
    with pytest.raises(TypeError, match="lr must be a real number"):
        check_scalar(bad, "lr")


def test_integer_requires_an_integral_and_returns_an_int():
    assert check_scalar(np.int64(4), "epochs", integer=True) == 4
    with pytest.raises(TypeError, match="epochs must be an integer"):
        check_scalar(4.0, "epochs", integer=True)


def test_minimum_is_inclusive():
    assert check_scalar(0, "p", minimum=0) == 0.0
    with pytest.raises(ValueError, match="p must be >= 0"):
        check_scalar(-1e-9, "p", minimum=0)


def test_infinities_are_refused_unless_allowed():
    with pytest.raises(ValueError, match="finite"):
        check_scalar(math.inf, "clip")
    with pytest.raises(ValueError, match="finite"):
        check_scalar(math.nan, "clip")
    assert check_scalar(math.inf, "clip", finite=False) == math.inf
