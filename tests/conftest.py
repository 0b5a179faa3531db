"""Shared set-up of the course's test suite."""

import os

# Kernels started by the tests (nbval, the grader) inherit this: nobody renders widgets in CI.
os.environ["DLTRAIN_STATIC_WIDGETS"] = "1"
