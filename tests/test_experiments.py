"""Every experiment of every notebook runs to the end with the reference and with every
alternative-correct implementation of the catalogue: each claim a notebook asserts holds for every
correct implementation we know, not only for the instructor's."""

import pytest

from grader import assignment_ids
from grader.check import alternative_rounds, check_experiments, check_reference

AIDS = assignment_ids()
ROUNDS = [(aid, k, entries) for aid in AIDS for k, entries in enumerate(alternative_rounds(aid))]


@pytest.mark.parametrize("aid", AIDS)
def test_reference_full_marks_and_every_experiment_runs(aid):
    check = check_reference(aid, experiments=True)
    assert not check.problems


@pytest.mark.parametrize("aid,k,entries", ROUNDS, ids=[f"{a}-round{k}" for a, k, _ in ROUNDS])
def test_experiments_hold_for_every_alternative(aid, k, entries):
    check = check_experiments(aid, entries)
    assert not check.problems, check.problems
