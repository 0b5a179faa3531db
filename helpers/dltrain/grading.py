"""The notebook side of the autograder's hidden tests.

Instructors write hidden tests (between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` in
a test cell of ``solutions/``) as calls to :func:`hidden_test`::

    from dltrain.grading import hidden_test

    def cases(rng):
        for n, d in [(7, 1), (40, 5)]:
            yield {"X": rng.normal(3.0, 2.0, size=(n, d))}

    hidden_test(fit_standardizer, cases, seed=101, name="fit_standardizer on fresh data")

A conceptual question is an answer cell that assigns a variable (``q_steps = 2390``) and a test
cell whose hidden region calls :func:`hidden_answer` (``hidden_answer(q_steps, "q_steps")``).

What runs in the kernel only *collects*: it returns raw outputs (arrays, numbers), never summaries
or verdicts. Every statistic and property a check needs is computed by the grader from those raw
outputs, so code that replaces this module's functions can forge nothing it could not also have
computed honestly.

Seeds are salted: the generator of a hidden test is ``default_rng([salt, seed])``, where the
salt is read once from the environment variable ``DLTRAIN_GRADING_SALT`` (0 when unset, as in a
student's own kernel). The grader draws a fresh salt per submission and grading run, so the inputs
of a hidden test shown in one feedback page are worthless in the next grading run, while the same
salt and submission always give the same grade.

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
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

MIME_TYPE = "application/vnd.dltrain.hidden-test+json"
PROTOCOL = 1
MAX_RECORD_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 8

SALT_VARIABLE = "DLTRAIN_GRADING_SALT"

# The grader's trusted side installs a session object here while it re-runs the hidden tests with
# the reference solution outside the kernel. In a notebook kernel it is always None.
_SESSION = None


def salt_from_text(text: str) -> int:
    """The salt (a 64-bit integer) that a salt string stands for."""
    return int.from_bytes(hashlib.sha256(str(text).encode()).digest()[:8], "little")


def _salt_from_environment() -> int:
    text = os.environ.get(SALT_VARIABLE, "")
    return salt_from_text(text) if text else 0


# Read once, when the kernel imports this module (before any student code runs).
_KERNEL_SALT = _salt_from_environment()

MODE_VARIABLE = "DLTRAIN_HIDDEN_TESTS"
"""``collect`` in the kernels of the course's grader, which judges outside the kernel. Anywhere
else (plain ``nbgrader autograde``, an instructor running a solution notebook) hidden tests are
judged in the kernel against the instructor's solutions (:func:`_judge_here`)."""


def _judge_here(functions, cases, seed, name, run, check, rtol, atol, salt) -> None:
    """Judge a hidden test in this kernel, with the instructor's grader (plain nbgrader).

    The grader and the solutions live only in the instructor's repository: it is found above
    the notebook's folder (or at ``DLTRAIN_COURSE_ROOT``). Without them the test fails loudly,
    never silently passes.
    """
    import importlib
    import sys
    from pathlib import Path

    configured = os.environ.get("DLTRAIN_COURSE_ROOT")
    here = Path.cwd().resolve()
    roots = ([Path(configured)] if configured else []) + [here, *here.parents]
    root = next((r for r in roots if (r / "grader" / "native.py").is_file()
                 and (r / "solutions").is_dir()), None)
    if root is None:
        raise HiddenTestError("these hidden tests are judged against the instructor's "
                              "solutions, which are not available here: grade with `python -m "
                              "grader grade`, or run nbgrader from the course's instructor "
                              "repository")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    judge = importlib.import_module("grader.native").judge_in_kernel
    judge(functions, cases, seed, name, run, check, rtol, atol, salt)


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
        Seed of the generator given to ``cases`` (salted, see the module docstring); the grader
        uses the same to rebuild them.
    name : str, optional
        Shown in the feedback; defaults to the first function's name.
    run : callable, optional
        ``run(*functions, **case)`` (or with positional arguments) returns what is compared; use it
        to call several functions or to run a function many times (an optimizer for 50 steps).
        It runs in the student's kernel, so it returns raw outputs only (the arrays each call
        returned, copies of inputs taken before and after a call); summaries and properties are
        computed by ``check``, in the grader. Defaults to calling the first function with the
        case.
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
    return _collect(functions, cases, seed, name, run, check, rtol, atol)


def hidden_answer(answer: Any, variable: str, *, name: str | None = None,
                  check: str | Callable = "allclose", rtol: float = 1e-6,
                  atol: float = 1e-9) -> None:
    """Publish the answer to a conceptual question; the grader compares it with the instructor's.

    Parameters
    ----------
    answer : object
        The value of the answer variable (a number, a string such as ``"b"``, a tuple).
    variable : str
        The answer variable's name (``"q_steps"``); the grader reads the instructor's value, and
        the catalogue's known-wrong answers, by this name.
    name : str, optional
        Shown in the feedback; defaults to ``variable``.
    check, rtol, atol
        As for :func:`hidden_test`; a numeric prediction usually allows a relative tolerance.
    """
    if _SESSION is not None:
        return _SESSION.hidden_answer(answer, variable, name=name, check=check, rtol=rtol,
                                      atol=atol)
    return _collect(_Answer(answer, variable), _ONE_CASE, 0, name or variable, None, check,
                    rtol, atol)


class _Answer:
    """A question's answer seen as a function of no arguments, named after its variable."""

    def __init__(self, value: Any, variable: str):
        self.value, self.__name__ = value, variable

    def __call__(self) -> Any:
        return self.value


def _ONE_CASE(rng: np.random.Generator) -> list:
    return [()]


def _bound_collector():
    """``_collect`` with this module's helpers bound when the module is imported.

    Student code that later replaces ``dltrain.grading.encode`` (or any other attribute of this
    module) does not change what a hidden test sends.
    """
    as_tuple, cases_of, call, encode_value, describe, publish = (
        as_function_tuple, make_cases, call_case, encode, describe_exception, _publish)
    kernel_salt, protocol_version, error = _KERNEL_SALT, PROTOCOL, HiddenTestError
    collect_only = os.environ.get(MODE_VARIABLE, "") == "collect"

    def record_of(functions, cases, seed, name, run, salt=kernel_salt):
        fns = as_tuple(functions)
        label = name or getattr(fns[0], "__name__", "hidden test")
        results = []
        for case in cases_of(cases, seed, salt):
            try:
                value = call(run, fns, case)
                results.append({"ok": True, "value": encode_value(value)})
            except Exception as exc:  # the student's code may raise anything; report it
                results.append({"ok": False, "error": describe(exc)})
        return {"protocol": protocol_version, "name": label, "cases": results}

    def raise_on_failures(record):
        failures = [r["error"] for r in record["cases"] if not r["ok"]]
        if failures:
            raise error(f"{record['name']}: {len(failures)} of {len(record['cases'])} hidden "
                        f"cases raised an exception; the first: {failures[0]}")

    def collect(functions, cases, seed, name, run, check, rtol, atol):
        if collect_only:
            record = record_of(functions, cases, seed, name, run)
            publish(record)
            raise_on_failures(record)
        else:
            _judge_here(functions, cases, seed, name, run, check, rtol, atol, kernel_salt)

    return record_of, raise_on_failures, collect


HIDDEN_FUNCTION = "__grader_hidden_tests__"


def run_hidden_tests(namespace: dict) -> None:
    """Run the hidden tests of one cell, then leave nothing of them in the kernel.

    The grader sends a test cell's hidden region as the body of a function named
    :data:`HIDDEN_FUNCTION` followed by ``run_hidden_tests(globals())``. The function is taken out
    of the namespace, run, and dropped; an error is *reported* to the grader (a record) instead
    of raised, because a raised exception keeps the cell's frames, and so the region's code and
    constants, alive in ``sys.last_traceback``.
    """
    function = namespace.pop(HIDDEN_FUNCTION, None)
    failure = ""
    try:
        if function is not None:
            function()
    except BaseException as exc:  # noqa: B036  (reported, not raised; see above)
        failure = describe_exception(exc)
    finally:
        del function
        # in the grader's own process (no kernel to protect) a full collection per hidden cell
        # only costs time: a recorder session says so
        forget_hidden_source(collect=getattr(_SESSION, "collect_garbage", True))
    if failure:
        _report_hidden_failure(failure)


def _report_hidden_failure(text: str, _publisher=None) -> None:
    if _SESSION is not None and hasattr(_SESSION, "hidden_cell_failed"):
        _SESSION.hidden_cell_failed(text)
        return
    publisher = _publisher or _PUBLISHER
    if publisher is not None:
        publisher({MIME_TYPE: {"protocol": PROTOCOL, "hidden_cell_error": text},
                   "text/plain": "hidden tests: an error was reported to the grader"})


def forget_hidden_source(collect: bool = True) -> None:
    """Drop the source of the hidden tests that just ran from the kernel's line caches.

    The grader calls this at the end of every hidden-test cell (whose code runs inside a function
    named ``__grader_hidden_tests__``). With ``collect`` (the default) a garbage collection then
    frees the region's functions, which refer to each other.
    """
    import gc
    import linecache

    for cache in (linecache.cache, getattr(linecache, "_ipython_cache", {})):
        for key, entry in list(cache.items()):
            lines = entry[2] if isinstance(entry, tuple) and len(entry) > 2 else ()
            if any(HIDDEN_FUNCTION in line for line in lines):
                cache.pop(key, None)
    if collect:
        gc.collect()


def as_function_tuple(functions: Callable | Iterable[Callable]) -> tuple:
    """Normalise ``functions`` to a tuple of callables."""
    if callable(functions):
        return (functions,)
    fns = tuple(functions)
    if not fns:
        raise ValueError("hidden_test needs at least one function under test")
    return fns


def make_cases(cases: Callable, seed: int, salt: int = 0) -> list:
    """Build the list of cases from a fresh generator seeded with ``[salt, seed]``."""
    return list(cases(np.random.default_rng([int(salt), int(seed)])))


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


def _display_publisher() -> Callable[[dict], None] | None:
    try:
        from IPython.display import publish_display_data
    except ImportError:  # plain Python: nothing to publish to
        return None
    return publish_display_data


# Bound at import, before any student code runs.
_PUBLISHER = _display_publisher()


def _publish(record: dict, _publisher=_PUBLISHER, _dumps=json.dumps) -> None:
    size = len(_dumps(record))
    if size > MAX_RECORD_BYTES:
        record = {"protocol": PROTOCOL, "name": record["name"],
                  "cases": [{"ok": False, "error": f"the returned values are too large to grade "
                                                   f"({size} bytes)"}] * len(record["cases"])}
    text = f"hidden test {record['name']!r}: {len(record['cases'])} case(s) sent to the grader"
    if _publisher is not None:
        _publisher({MIME_TYPE: record, "text/plain": text})


# ``collect_record`` builds a record without publishing it (the grader's in-process runs use it);
# ``raise_on_failures`` fails the cell as the kernel does when a case raised.
collect_record, raise_on_failures, _collect = _bound_collector()
