"""The catalogue of every assignment, judged in process (no kernel): each entry keeps its promise.

A known-wrong entry loses points on the exercises it names and the feedback names its mistake; an
alternative-correct entry keeps full marks, and every experiment of its notebook still runs to the
end with it (so every claim a notebook asserts holds for every correct implementation we know).
``tests/test_grading.py`` grades a sample of the same entries in sandboxed kernels and checks that
both ways reach the same verdicts.
"""

import functools

import pytest

from grader import assignment_ids
from grader import catalogue as catalogue_mod
from grader.check import (
    alternative_rounds,
    check_entry,
    check_experiments,
    check_reference,
    mistake_list_problems,
    visible_catch_rate,
)

AIDS = assignment_ids()
ENTRIES = [(aid, k, entry) for aid in AIDS for k, entry in enumerate(catalogue_mod.load(aid))]
ROUNDS = [(aid, k, entries) for aid in AIDS for k, entries in enumerate(alternative_rounds(aid))]


@pytest.mark.parametrize("aid", AIDS)
def test_reference_full_marks_and_every_experiment_runs(aid):
    check = check_reference(aid, experiments=True)
    assert not check.problems


@functools.cache
def _checked(aid, k):
    return check_entry(aid, catalogue_mod.load(aid)[k])


@pytest.mark.parametrize("aid,k,entry", ENTRIES, ids=[f"{a}-{e.cell}-{k}" for a, k, e in ENTRIES])
def test_catalogue_entry_keeps_its_promise(aid, k, entry):
    check = _checked(aid, k)
    assert not check.problems, f"{entry.description}: {check.problems}"


@pytest.mark.parametrize("aid,k,entries", ROUNDS, ids=[f"{a}-round{k}" for a, k, _ in ROUNDS])
def test_experiments_hold_for_every_alternative(aid, k, entries):
    check = check_experiments(aid, entries)
    assert not check.problems, check.problems


@pytest.mark.parametrize("aid", AIDS)
def test_visible_tests_catch_95_percent_of_known_mistakes(aid):
    """A student sees most mistakes before submitting: some visible test fails on >= 95% of them."""
    checks = [_checked(aid, k) for k, e in enumerate(catalogue_mod.load(aid))
              if isinstance(e, catalogue_mod.Wrong) and not e.cell.startswith("q_")]
    caught, total = visible_catch_rate(checks)
    missed = [c.label for c in checks if not c.caught_visibly]
    print(f"{aid}: the visible tests catch {caught} of {total} known-wrong entries")
    assert total and caught >= 0.95 * total, f"missed by every visible test: {missed}"


@pytest.mark.parametrize("aid", AIDS)
def test_visible_mistakes_are_the_catalogues(aid):
    """The mistakes the visible tests name (``mistakes=``) are catalogue entries, each named by
    the visible tests when a student's code is that entry's: one list, not two that drift."""
    checks = [_checked(aid, k) for k in range(len(catalogue_mod.load(aid)))]
    assert not mistake_list_problems(aid, checks)
