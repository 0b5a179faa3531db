"""Shared set-up of the course's test suite."""

import os

# Kernels started by the tests (nbval, the grader) inherit this: nobody renders widgets in CI.
os.environ["DLTRAIN_STATIC_WIDGETS"] = "1"

# Small matrices everywhere: BLAS threads only compete with the test workers for the cores.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
