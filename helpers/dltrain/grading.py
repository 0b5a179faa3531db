"""The notebook side of the autograder's hidden tests.

Instructors write hidden tests (between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` in
a test cell of ``solutions/``) as calls to :func:`hidden_test`::

    from dltrain.grading import hidden_test

    def cases(rng):
        for n, d in [(7, 1), (40, 5)]:
            yield {"X": rng.normal(3.0, 2.0, size=(n, d))}

    hidden_test(fit_standardizer, cases, seed=101, name="fit_standardizer on fresh data")

Inside the notebook's kernel this only *runs* the student's functions on the cases and publishes
what they returned (a display output of MIME type :data:`MIME_TYPE`). It judges nothing: the grader
reads those outputs from outside the kernel, regenerates the same cases from the same seed, runs the
reference solution, and compares. Nothing the student's code does inside the kernel (patching
numpy, returning objects whose ``__eq__`` lies, hiding tracebacks) can make a hidden test pass;
only returning the right numbers can.

The wire format of one published record (JSON)::

    {"protocol": 1, "name": str, "cases": [{"ok": true, "value": <encoded>} |
                                           {"ok": false, "error": "TypeError: ..."}, ...]}

where ``<encoded>`` is ``{"t": "none"}``, ``{"t": "bool"|"int"|"float"|"complex"|"str", "v": ...}``
(non-finite floats as the strings ``"nan"``, ``"inf"``, ``"-inf"``),
``{"t": "nd", "dtype": "<f8", "shape": [..], "b64": "..."}`` for numeric and boolean arrays (raw
little-endian C-order bytes), ``{"t": "list"|"tuple", "v": [...]}`` and
``{"t": "dict", "v": [[key, value], ...]}`` with encoded keys.
"""

from __future__ import annotations

import base64
import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

MIME_TYPE = "application/vnd.dltrain.hidden-test+json"
PROTOCOL = 1
MAX_RECORD_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 8

# The grader's trusted side installs a session object here while it re-runs the hidden tests with
# the reference solution outside the kernel. In a notebook kernel it is always None.
_SESSION = None


class HiddenTestError(AssertionError):
    """The student's code raised an exception while a hidden test ran it."""


class EncodingError(TypeError):
    """A returned value cannot be sent to the grader (not numbers, strings or containers)."""


def hidden_test(functions: Callable | Iterable[Callable], cases: Callable[[np.random.Generator],
                Iterable[Any]], *, seed: int, name: str | None = None,
                run: Callable | None = None, check: str | Callable = "allclose",
                rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Run the functions under test on generated cases and publish their results to the grader.

    Parameters
    ----------
    functions : callable or sequence of callables
        The student's functions under test, by the names the notebook defines them with.
    cases : callable
        ``cases(rng)`` yields test cases from a ``np.random.Generator``; a case is a dict of
        keyword arguments or a tuple of positional arguments.
    seed : int
        Seed of the generator given to ``cases``; the grader uses the same to rebuild them.
    name : str, optional
        Shown in the feedback; defaults to the first function's name.
    run : callable, optional
        ``run(*functions, **case)`` (or with positional arguments) returns what is compared; use it
        to call several functions or to run a function many times (an optimizer for 50 steps).
        Defaults to calling the first function with the case.
    check : {"allclose", "equal"} or callable
        How the grader compares. A callable ``check(student, reference, case)`` raises
        ``AssertionError`` with a helpful message when ``student`` is wrong; it runs in the
        grader, never in the kernel.
    rtol, atol : float
        Tolerances of ``"allclose"``.
    """
    if _SESSION is not None:
        return _SESSION.hidden_test(functions, cases, seed=seed, name=name, run=run, check=check,
                                    rtol=rtol, atol=atol)
    fns = as_function_tuple(functions)
    label = name or getattr(fns[0], "__name__", "hidden test")
    results = []
    for case in make_cases(cases, seed):
        try:
            value = call_case(run, fns, case)
            results.append({"ok": True, "value": encode(value)})
        except Exception as exc:  # the student's code may raise anything; report it
            results.append({"ok": False, "error": describe_exception(exc)})
    record = {"protocol": PROTOCOL, "name": label, "cases": results}
    _publish(record)
    failures = [r["error"] for r in results if not r["ok"]]
    if failures:
        raise HiddenTestError(f"{label}: {len(failures)} of {len(results)} hidden cases raised "
                              f"an exception; the first: {failures[0]}")


def as_function_tuple(functions: Callable | Iterable[Callable]) -> tuple:
    """Normalise ``functions`` to a tuple of callables."""
    if callable(functions):
        return (functions,)
    fns = tuple(functions)
    if not fns:
        raise ValueError("hidden_test needs at least one function under test")
    return fns


def make_cases(cases: Callable, seed: int) -> list:
    """Build the list of cases from a fresh generator seeded with ``seed``."""
    return list(cases(np.random.default_rng(seed)))


def call_case(run: Callable | None, fns: tuple, case: Any) -> Any:
    """Call the code under test on one case (a deep copy, so nothing leaks between calls)."""
    case = copy.deepcopy(case)
    if run is None:
        target, prefix = fns[0], ()
    else:
        target, prefix = run, fns
    if isinstance(case, dict):
        return target(*prefix, **case)
    if isinstance(case, tuple):
        return target(*prefix, *case)
    return target(*prefix, case)


def describe_exception(exc: BaseException) -> str:
    """``"TypeError: message"``, shortened to keep feedback readable."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 500 else text[:497] + "..."


def encode(value: Any, _depth: int = 0) -> dict:
    """Encode a returned value in the wire format (see the module docstring).

    Raises
    ------
    EncodingError
        For values that are not numbers, strings, numeric arrays or containers of those.
    """
    if _depth > MAX_DEPTH:
        raise EncodingError("the returned value is nested too deeply")
    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"t": "int", "v": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"t": "float", "v": _encode_float(float(value))}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, (list, tuple)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"t": kind, "v": [encode(v, _depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[encode(k, _depth + 1), encode(v, _depth + 1)]
                                   for k, v in value.items()]}
    array = np.asarray(value)
    if array.dtype.kind not in "biufc":
        raise EncodingError(f"returned a {type(value).__name__}, which is not a numeric array")
    array = np.ascontiguousarray(array)
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    return {"t": "nd", "dtype": little.dtype.str, "shape": list(array.shape),
            "b64": base64.b64encode(little.tobytes()).decode("ascii")}


def _encode_float(x: float) -> float | str:
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _publish(record: dict) -> None:
    import json

    size = len(json.dumps(record))
    if size > MAX_RECORD_BYTES:
        record = {"protocol": PROTOCOL, "name": record["name"],
                  "cases": [{"ok": False, "error": f"the returned values are too large to grade "
                                                   f"({size} bytes)"}] * len(record["cases"])}
    text = f"hidden test {record['name']!r}: {len(record['cases'])} case(s) sent to the grader"
    try:
        from IPython.display import publish_display_data
    except ImportError:  # plain Python: nothing to publish to
        return
    publish_display_data({MIME_TYPE: record, "text/plain": text})
