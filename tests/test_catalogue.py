"""The catalogue of every assignment, judged in process (no kernel): each entry keeps its promise.

A known-wrong entry loses points on the exercises it names and the feedback names its mistake; an
alternative-correct entry keeps full marks (``tests/test_experiments.py`` runs every experiment
with it). ``tests/test_grading.py`` grades a sample of the same entries in sandboxed kernels and
checks that both ways reach the same verdicts.
"""

import functools

import pytest

from grader import assignment_ids
from grader import catalogue as catalogue_mod
from grader.check import check_entry, mistake_list_problems, visible_catch_rate

AIDS = assignment_ids()


@pytest.fixture(scope="module", autouse=True)
def _reference_outputs_kept():
    """The reference's and the variants' outputs on the hidden cases are the same for every entry
    (one salt): kept across entries, as a grading batch keeps them across submissions
    (``tests/test_scale.py`` checks that kept and fresh outputs give the same verdicts)."""
    from grader.trusted import REFERENCES

    with REFERENCES.active():
        yield


ENTRIES = [(aid, k, entry) for aid in AIDS for k, entry in enumerate(catalogue_mod.load(aid))]


def _by_assignment(values, ids):
    """Parameters grouped by assignment (``--dist loadgroup`` keeps a group on one worker, where
    the entries' checks are cached for the assignment-wide tests)."""
    return [pytest.param(*v, id=i, marks=pytest.mark.xdist_group(v[0]))
            for v, i in zip(values, ids)]


ENTRY_PARAMS = _by_assignment(ENTRIES, [f"{a}-{e.cell}-{k}" for a, k, e in ENTRIES])
AID_PARAMS = _by_assignment([(aid,) for aid in AIDS], AIDS)


@functools.cache
def _checked(aid, k):
    return check_entry(aid, catalogue_mod.load(aid)[k])


@pytest.mark.parametrize("aid,k,entry", ENTRY_PARAMS)
def test_catalogue_entry_keeps_its_promise(aid, k, entry):
    check = _checked(aid, k)
    assert not check.problems, f"{entry.description}: {check.problems}"


@pytest.mark.parametrize("aid", AID_PARAMS)
def test_visible_tests_catch_95_percent_of_known_mistakes(aid):
    """A student sees most mistakes before submitting: some visible test fails on >= 95% of them."""
    checks = [_checked(aid, k) for k, e in enumerate(catalogue_mod.load(aid))
              if isinstance(e, catalogue_mod.Wrong) and not e.cell.startswith("q_")]
    caught, total = visible_catch_rate(checks)
    missed = [c.label for c in checks if not c.caught_visibly]
    print(f"{aid}: the visible tests catch {caught} of {total} known-wrong entries")
    assert total and caught >= 0.95 * total, f"missed by every visible test: {missed}"


@pytest.mark.parametrize("aid", AID_PARAMS)
def test_visible_mistakes_are_the_catalogues(aid):
    """The mistakes the visible tests name (``mistakes=``) are catalogue entries, each named by
    the visible tests when a student's code is that entry's: one list, not two that drift."""
    checks = [_checked(aid, k) for k in range(len(catalogue_mod.load(aid)))]
    assert not mistake_list_problems(aid, checks)
