"""Shared set-up of the course's test suite."""

import os

import pytest

# Kernels started by the tests (nbval, the grader) inherit this: nobody renders widgets in CI.
os.environ["DLTRAIN_STATIC_WIDGETS"] = "1"

# Small matrices everywhere: BLAS threads only compete with the test workers for the cores.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


# ------------------------------------------------------------------ tiers
# `make test-fast` runs what needs no kernel, no browser, no nbgrader run and no whole notebook's
# experiments (-m "not kernel"), in about a minute on 2 cores.
# These files start kernels, a browser or nbgrader throughout, or run every experiment of every
# notebook; nbval items run notebooks.
KERNEL_FILES = {"test_grading.py", "test_hostile.py", "test_nbgrader.py", "test_browser.py",
                "test_dist.py", "test_release.py", "test_validate.py", "test_experiments.py"}
# Single tests that start kernels or worker processes in otherwise fast files, or judge a whole
# catalogue several times over (the reference cache's equivalence).
KERNEL_TESTS = {"test_a_class_of_30_with_a_roster_has_one_row_per_student_and_assignment",
                "test_each_lms_fixture_is_graded_with_every_file_and_student_accounted_for",
                "test_cli_validate_exit_status", "test_without_bubblewrap_grading_warns_loudly",
                "test_cli_grade_runs_even_when_nothing_is_gradable",
                "test_a_broken_worker_costs_only_its_own_submission",
                "test_a_broken_grading_machine_is_not_a_class_of_zeros",
                "test_kept_reference_and_variant_outputs_give_the_same_verdicts"}


@pytest.hookimpl(tryfirst=True)   # before xdist reads the groups into the test ids
def pytest_collection_modifyitems(config, items):

    for item in items:
        name = item.name.split("[")[0]
        if item.path.name in KERNEL_FILES or item.path.suffix == ".ipynb" or \
                name in KERNEL_TESTS:
            item.add_marker(pytest.mark.kernel)
        # make test-fast's `--dist loadgroup` keeps a file on one worker (its module fixtures run
        # once), except where a file groups its own tests (the catalogue, by assignment); make
        # test keeps `--dist loadfile`, which nbval's notebooks need
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.path.name))
