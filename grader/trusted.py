"""The trusted side of the hidden tests: judge what a student's kernel sent back.

For each graded test cell, the grader executes the cell's hidden region (from ``solutions/``, never
from the submission) in the grader's own process with :data:`dltrain.grading._SESSION` set to a
:class:`TrustedSession`. Each ``hidden_test(...)`` call then regenerates its cases from the same
seed, runs the reference implementation, and compares with the k-th record the kernel published.
The student's values arrive as plain JSON decoded here strictly, so no object of the student's
survives the trip: patched numpy, lying ``__eq__`` or ``__array__`` and hidden tracebacks have
nothing to act on.

When a hidden test fails, the outputs of the catalogue's known-wrong implementations are computed
on the same cases; one that matches the student's on every case names the mistake.

Neither the reference's outputs nor the variants' depend on the student: only on the assignment,
the salt and the hidden test. Inside ``with REFERENCES.active():`` (a grading batch) they are
computed once per assignment and salt and reused for every submission (:class:`ReferenceCache`);
the verdicts are the same with and without it.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import math
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import dltrain.grading as protocol
from dltrain.compare import array_problem, describe_kind

from .notebooks import hidden_region


class Garbled(ValueError):
    """A record that does not follow the wire format."""


@dataclass
class Outcome:
    """The verdict of one ``hidden_test`` call."""

    name: str
    passed: bool
    message: str = ""
    diagnosis: str = ""
    missing: bool = False
    """No record came back for this test."""
    garbled: bool = False
    """A record came back that does not follow the wire format (tampering or a broken kernel)."""


@dataclass
class Variant:
    """A known-wrong implementation used to name mistakes: its description and namespace."""

    description: str
    namespace: dict


@dataclass
class TrustedSession:
    """Installed as ``dltrain.grading._SESSION`` while a test cell's hidden region runs."""

    records: Sequence[Any]
    variants: Sequence[Variant] = ()
    salt: int = 0
    """The salt the kernel's hidden tests ran with (see :mod:`dltrain.grading`)."""
    outcomes: list[Outcome] = field(default_factory=list)
    tests: list = field(default_factory=list)
    """The hidden tests judged so far, with their cases and the student's results."""
    memo: _CellMemo | None = None
    """Where this cell's reference and variant outputs are kept across submissions (or None)."""
    collect_garbage = False
    """The grader's process needs no collection after a hidden region (a kernel does)."""

    def hidden_answer(self, answer, variable, *, name=None, check="allclose", rtol=1e-6,
                      atol=1e-9):
        """Judge a conceptual question: ``answer`` is the instructor's value here."""
        self.hidden_test(protocol._Answer(answer, variable), protocol._ONE_CASE, seed=0,
                         name=name or variable, check=check, rtol=rtol, atol=atol)

    def hidden_test(self, functions, cases, *, seed, name=None, run=None, check="allclose",
                    rtol=1e-6, atol=1e-9):
        fns = protocol.as_function_tuple(functions)
        label = name or getattr(fns[0], "__name__", "hidden test")
        index = len(self.outcomes)
        record = self.records[index] if index < len(self.records) else None
        memo = self.memo.test(index, seed, label) if self.memo is not None else _TestMemo()
        if memo.cases is None:
            memo.cases = protocol.make_cases(cases, seed, self.salt)
        case_list = memo.cases
        outcome, results = judge_record(
            label, record, fns, case_list, run, check, rtol, atol,
            reference=lambda k, case: memo.reference(k, lambda: protocol.call_case(run, fns,
                                                                                   case)))
        if results is not None:
            exact = check == "equal"
            self.tests.append(_JudgedTest(fns, run, case_list, results, 0.0 if exact else rtol,
                                          0.0 if exact else atol, exact, outcome, memo))
        self.outcomes.append(outcome)

    def diagnose(self) -> None:
        """Name the known mistake the student's results show, on the failed hidden tests.

        The rule (one of the grading rules, see :mod:`grader.rules`): a known mistake is named
        only when the student's results match its code on **every** hidden test of the cell where
        its code differs from the reference — not on one coincidental input. Where several
        qualify, the one shown to differ on the most tests (the most evidence) is named, and
        among equals the first in the catalogue. A case where the student's code raised matches
        a mistake that raises there too.
        """
        failed = [t for t in self.tests if not t.outcome.passed]
        if not failed or all(not r["ok"] for t in failed for r in t.results):
            return
        best, evidence = None, 0
        for number, variant in enumerate(self.variants):
            distinguishing = 0
            for test in self.tests:
                verdict = test.against(variant, number)
                if verdict is None:      # the variant does not have these functions
                    distinguishing = -1
                    break
                differs, matches = verdict
                if differs and not matches:
                    distinguishing = -1
                    break
                distinguishing += differs
            if distinguishing > evidence:
                best, evidence = variant, distinguishing
        if best is not None:
            for test in failed:
                test.outcome.diagnosis = best.description


@dataclass
class _JudgedTest:
    """One hidden test of a cell, kept for the cell-level diagnosis."""

    fns: tuple
    run: Any
    cases: list
    results: list[dict]
    rtol: float
    atol: float
    exact: bool
    outcome: Outcome
    memo: _TestMemo = field(default_factory=lambda: _TestMemo())

    def against(self, variant: Variant, number: int = -1) -> tuple[bool, bool] | None:
        """(the variant differs from the reference here, the student matches the variant).

        ``number`` is the variant's place in the catalogue, under which its outputs are kept.
        """
        seen = self.memo.variants.get(number) if number >= 0 else None
        if seen is None:
            seen = self._variant_outputs(variant)
            if number >= 0:
                self.memo.keep_variant(number, seen)
        if seen == ():
            return None
        differs, variant_values = seen
        if not differs:      # the same as the reference here: whether the student matches it
            return False, True   # does not count (see TrustedSession.diagnose)
        matches = True
        for result, variant_value in zip(self.results, variant_values):
            student_value = (True, result["value"]) if result["ok"] else (False, None)
            matches = matches and _same(student_value, variant_value, self.rtol, self.atol,
                                        self.exact)
        return differs, matches

    def _variant_outputs(self, variant: Variant) -> tuple:
        """``()`` when the variant lacks the functions; else (differs, its outcomes or None)."""
        variant_fns = _variant_functions(variant, self.fns)
        if variant_fns is None:
            return ()
        if self.memo.reference_outcomes is None:
            self.memo.reference_outcomes = [_outcome_of(self.run, self.fns, case)
                                            for case in self.cases]
        values = [_outcome_of(self.run, variant_fns, case) for case in self.cases]
        differs = any(not _same(v, r, self.rtol, self.atol, self.exact)
                      for v, r in zip(values, self.memo.reference_outcomes))
        return (True, values) if differs else (False, None)


def _outcome_of(run, fns, case) -> tuple[bool, Any]:
    """(True, value as it would cross the wire) or (False, None) when the code raises."""
    try:
        return True, decode(protocol.encode(protocol.call_case(run, fns, case)))
    except Exception:
        return False, None


def _same(a: tuple[bool, Any], b: tuple[bool, Any], rtol, atol, exact) -> bool:
    if a[0] != b[0]:
        return False
    if not a[0]:
        return True   # both raised
    try:
        return compare_values(a[1], b[1], rtol=rtol, atol=atol, exact=exact) == ""
    except Exception:  # forms no comparison expects
        return False


def judge_record(label: str, record: Any, reference_fns: tuple, case_list: list, run,
                 check, rtol: float, atol: float, *,
                 reference: Callable[[int, Any], Any] | None = None
                 ) -> tuple[Outcome, list[dict] | None]:
    """Judge one hidden test's record against the reference functions, case by case.

    ``reference(k, case)``, when given, returns the reference's output on case ``k`` (kept from
    an earlier submission); otherwise the reference functions are called.

    Returns the outcome and the decoded case results (None when the record is missing or
    garbled).
    """
    compare_fn = _comparison(check, rtol, atol)
    try:
        results = _record_cases(record, len(case_list))
    except _Missing:
        return Outcome(label, False, "no results came back from this test: it did not run, "
                                     "because an earlier line of the cell failed or the cell "
                                     "never completed.", missing=True), None
    except Garbled as exc:
        return Outcome(label, False, f"the results that came back from the notebook are not "
                                     f"valid ({exc}).", garbled=True), None
    outcome = Outcome(label, True)
    for k, (case, result) in enumerate(zip(case_list, results)):
        expected = reference(k, case) if reference is not None else \
            protocol.call_case(run, reference_fns, case)
        if not result["ok"]:
            outcome.passed = False
            outcome.message = f"case {k + 1} of {len(case_list)}: your code raised " \
                              f"{result['error']}"
            break
        try:
            problem = compare_fn(result["value"], expected, copy.deepcopy(case))
        except Exception as exc:  # a value of a form no comparison expects
            problem = f"your result could not be compared ({type(exc).__name__})."
        if problem:
            outcome.passed = False
            outcome.message = f"case {k + 1} of {len(case_list)}: {problem}"
            break
    return outcome, results


def _variant_functions(variant: Variant, fns: tuple) -> tuple | None:
    """The variant's versions of the functions (or question answers) under test, if it has them."""
    found = []
    for fn in fns:
        name = getattr(fn, "__name__", None)
        if name not in variant.namespace:
            return None
        if isinstance(fn, protocol._Answer):
            found.append(protocol._Answer(variant.namespace[name], name))
        else:
            found.append(variant.namespace[name])
    return tuple(found)


class _Missing(Exception):
    pass


def _record_cases(record: Any, expected_cases: int) -> list[dict]:
    """Validate a record's shape and decode its values."""
    if record is None:
        raise _Missing()
    if not isinstance(record, dict) or record.get("protocol") != protocol.PROTOCOL:
        raise Garbled("unknown record format")
    cases = record.get("cases")
    if not isinstance(cases, list) or len(cases) != expected_cases:
        raise Garbled(f"expected {expected_cases} case results")
    decoded = []
    for case in cases:
        if not isinstance(case, dict) or not isinstance(case.get("ok"), bool):
            raise Garbled("malformed case result")
        if case["ok"]:
            try:
                decoded.append({"ok": True, "value": decode(case.get("value"))})
            except Garbled:
                raise
            except Exception as exc:  # whatever a crafted value provokes stays with this test
                raise Garbled(f"undecodable value ({type(exc).__name__})") from None
        else:
            error = case.get("error", "an exception")
            decoded.append({"ok": False, "error": (error if isinstance(error, str)
                                                   else "an exception")[:500]})
    return decoded


def decode(encoded: Any, depth: int = 0) -> Any:
    """Decode one value of the wire format, strictly (see :mod:`dltrain.grading`).

    Raises
    ------
    Garbled
        On anything that does not follow the format.
    """
    if depth > protocol.MAX_DEPTH + 1 or not isinstance(encoded, dict):
        raise Garbled("malformed value")
    kind = encoded.get("t")
    value = encoded.get("v")
    if kind == "none":
        return None
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if value in ("nan", "inf", "-inf"):
            return float(value)
    if kind == "str" and isinstance(value, str):
        return value
    if kind in ("list", "tuple") and isinstance(value, list):
        items = [decode(v, depth + 1) for v in value]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict" and isinstance(value, list):
        out = {}
        for pair in value:
            if not isinstance(pair, list) or len(pair) != 2:
                raise Garbled("malformed dict")
            key = decode(pair[0], depth + 1)
            if not isinstance(key, (str, int, float, bool, type(None), tuple)):
                raise Garbled("unhashable dict key")
            out[key] = decode(pair[1], depth + 1)
        return out
    if kind == "nd":
        return _decode_array(encoded)
    raise Garbled(f"unknown value type {kind!r}")


MAX_ARRAY_DIMENSIONS = 32
MAX_ARRAY_ELEMENTS = 50_000_000


def _decode_array(encoded: dict) -> np.ndarray:
    """Decode an array strictly: plain Python arithmetic on the shape, bounded size and rank."""
    try:
        dtype = np.dtype(str(encoded["dtype"]))
        shape = encoded["shape"]
        if not isinstance(shape, list) or len(shape) > MAX_ARRAY_DIMENSIONS or not all(
                isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape):
            raise Garbled("malformed array shape")
        elements = math.prod(shape)   # Python ints: no overflow
        if elements > MAX_ARRAY_ELEMENTS:
            raise Garbled("array too large")
        raw = base64.b64decode(str(encoded["b64"]), validate=True)
    except Garbled:
        raise
    except Exception:
        raise Garbled("malformed array") from None
    if dtype.kind not in "biufc" or dtype.itemsize > 16 or dtype.hasobject:
        raise Garbled("unsupported array")
    if elements * dtype.itemsize != len(raw):
        raise Garbled("array size does not match its shape")
    try:
        return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    except Exception:
        raise Garbled("malformed array") from None


def _kind(value: Any) -> str:
    return describe_kind(value, show_scalar=True)


def compare_values(student: Any, reference: Any, *, rtol: float, atol: float,
                   exact: bool = False, path: str = "the result") -> str:
    """Compare a decoded student value with the reference; empty string when they agree.

    Tuples and lists are interchangeable; numbers and arrays are compared with
    ``np.isclose(student, reference, rtol, atol)`` (or exactly), shapes first.
    """
    if reference is None:
        return "" if student is None else f"{path} should be None, but it is {_kind(student)}."
    if isinstance(reference, (tuple, list)):
        if not isinstance(student, (tuple, list)):
            return f"{path} should be {_kind(reference)}, but it is {_kind(student)}."
        if len(student) != len(reference):
            return f"{path} should have {len(reference)} items, but it has {len(student)}."
        for i, (s, r) in enumerate(zip(student, reference)):
            problem = compare_values(s, r, rtol=rtol, atol=atol, exact=exact,
                                     path=f"item {i} of {path}" if path == "the result"
                                     else f"{path}[{i}]")
            if problem:
                return problem
        return ""
    if isinstance(reference, dict):
        if not isinstance(student, dict):
            return f"{path} should be a dict with keys {sorted(map(str, reference))}, but it " \
                   f"is {_kind(student)}."
        if set(student) != set(reference):
            return f"{path} should have the keys {sorted(map(str, reference))}, but it has " \
                   f"{sorted(map(str, student))}."
        for key in reference:
            problem = compare_values(student[key], reference[key], rtol=rtol, atol=atol,
                                     exact=exact, path=f"{path}[{key!r}]")
            if problem:
                return problem
        return ""
    if isinstance(reference, str):
        return "" if student == reference else f"{path} should be {reference!r}, but it is " \
                                               f"{_kind(student)}."
    return _compare_numbers(student, reference, rtol=rtol, atol=atol, exact=exact, path=path)


def _compare_numbers(student, reference, *, rtol, atol, exact, path) -> str:
    problem = array_problem(student, reference, rtol=rtol, atol=atol, exact=exact)
    return "" if problem is None else f"{path} {problem}"


def _comparison(check: str | Callable, rtol: float, atol: float) -> Callable[[Any, Any, Any], str]:
    if check == "allclose":
        return lambda s, r, case: compare_values(s, r, rtol=rtol, atol=atol)
    if check == "equal":
        return lambda s, r, case: compare_values(s, r, rtol=0.0, atol=0.0, exact=True)
    if callable(check):
        def custom(s, r, case):
            try:
                check(s, r, case)
            except AssertionError as exc:
                return str(exc) or "the property check failed."
            except Exception as exc:  # the student's value did not have the expected form
                return f"your result could not be checked ({type(exc).__name__}: {exc}); " \
                       "check its type and shape against the docstring."
            return ""
        return custom
    raise ValueError(f"unknown check {check!r}; use 'allclose', 'equal' or a function")


def judge_test_cell(test_source: str, records: Sequence[Any], namespace: dict,
                    variants: Sequence[Variant] = (), salt: int = 0) -> list[Outcome]:
    """Run a test cell's hidden region against the records its kernel run produced.

    Parameters
    ----------
    test_source : str
        The test cell's source from ``solutions/`` (with its hidden region).
    records : sequence
        The hidden-test records published by that cell in the student's kernel, in order.
    namespace : dict
        The reference namespace (see :mod:`grader.reference`); copied, never modified.
    variants : sequence of Variant
        Known-wrong implementations to name mistakes with.
    salt : int
        The salt of the kernel's hidden tests (see :mod:`dltrain.grading`).
    """
    region = hidden_region(test_source)
    if not region.strip():
        return []
    session = TrustedSession(records=list(records), variants=variants, salt=salt,
                             memo=REFERENCES.cell(namespace, variants, salt, test_source))
    scope = dict(namespace)
    previous, protocol._SESSION = protocol._SESSION, session
    try:
        # known-wrong variants overflow and divide by zero on the hidden cases, by design: their
        # numpy warnings are not news for the instructor's console
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            exec(compile(region, "<hidden tests>", "exec"), scope)  # noqa: S102
            session.diagnose()
    finally:
        protocol._SESSION = previous
    if len(records) > len(session.outcomes):
        session.outcomes.append(Outcome("unexpected results", False,
                                        f"{len(records)} results came back for "
                                        f"{len(session.outcomes)} hidden tests.", garbled=True))
    return session.outcomes


# ------------------------------------------------------------------ what is the same for everyone

@dataclass
class _TestMemo:
    """What one hidden test (the k-th call of a cell's hidden region) computes regardless of the
    student: its cases, the reference's outputs, each variant's outputs."""

    key: tuple = ()
    cases: list | None = None
    references: dict[int, Any] = field(default_factory=dict)
    reference_outcomes: list | None = None
    variants: dict[int, tuple] = field(default_factory=dict)
    """variant number -> () (it lacks the functions) or (differs, outcomes or None)."""
    cache: ReferenceCache | None = None

    def reference(self, k: int, compute: Callable[[], Any]) -> Any:
        """The reference's output on case ``k`` (a copy: a check may modify what it is given)."""
        if self.cache is None:
            return compute()
        if k not in self.references:
            self.references[k] = compute()
            self.cache.count(self.references[k])
        else:
            self.cache.hits += 1
        return copy.deepcopy(self.references[k])

    def keep_variant(self, number: int, outputs: tuple) -> None:
        if self.cache is not None:
            self.variants[number] = outputs
            self.cache.count(outputs)


@dataclass
class _CellMemo:
    tests: dict[int, _TestMemo] = field(default_factory=dict)
    cache: ReferenceCache | None = None

    def test(self, index: int, seed: int, label: str) -> _TestMemo:
        memo = self.tests.get(index)
        key = (seed, label)
        if memo is None or memo.key != key:   # a region is deterministic; this is a safeguard
            memo = self.tests[index] = _TestMemo(key=key, cache=self.cache)
        return memo


@dataclass
class _Group:
    """One assignment's reference and variants, under one salt."""

    namespace: dict
    variants: Sequence[Variant]
    cells: dict[str, _CellMemo] = field(default_factory=dict)
    bytes: int = 0


class ReferenceCache:
    """The reference's and the catalogue variants' outputs on the hidden cases, per assignment
    and salt, computed once and reused for every submission (see the module docstring).

    It is consulted only inside :meth:`active`, where the namespaces and variants given to
    :func:`judge_test_cell` are an :class:`~grader.course.Assignment`'s, built once and never
    modified; elsewhere (tests, the nbgrader path) every call computes afresh. Groups are keyed
    by the identity of those objects, which the cache holds on to, and the least recently used
    are dropped beyond ``max_groups`` or ``max_bytes``.
    """

    def __init__(self, max_groups: int = 8, max_bytes: int = 256_000_000):
        self.max_groups, self.max_bytes = max_groups, max_bytes
        self._groups: OrderedDict[tuple, _Group] = OrderedDict()
        self._local = threading.local()
        self.hits = self.misses = 0

    @contextlib.contextmanager
    def active(self, enabled: bool = True):
        """Use (and fill) the cache while judging in this block and this thread."""
        previous = getattr(self._local, "on", False)
        self._local.on = enabled
        try:
            yield self
        finally:
            self._local.on = previous

    def cell(self, namespace: dict, variants: Sequence[Variant], salt: int,
             test_source: str) -> _CellMemo | None:
        """The memo of one test cell, or None when the cache is not active."""
        if not getattr(self._local, "on", False):
            return None
        key = (id(namespace), id(variants), int(salt))
        group = self._groups.get(key)
        if group is None or group.namespace is not namespace or group.variants is not variants:
            group = self._groups[key] = _Group(namespace, variants)
        self._groups.move_to_end(key)
        while len(self._groups) > self.max_groups:
            self._groups.popitem(last=False)
        self._current = group
        cell_key = hashlib.sha256(test_source.encode()).hexdigest()
        memo = group.cells.get(cell_key)
        if memo is None:
            memo = group.cells[cell_key] = _CellMemo(cache=self)
        return memo

    def count(self, value: Any) -> None:
        """Account for a newly kept value; drop old groups when the cache grows too large."""
        self.misses += 1
        group = getattr(self, "_current", None)
        if group is None:
            return
        group.bytes += _size_of(value)
        while sum(g.bytes for g in self._groups.values()) > self.max_bytes and \
                len(self._groups) > 1:
            oldest = next(iter(self._groups))
            if self._groups[oldest] is group:
                break
            self._groups.popitem(last=False)

    def clear(self) -> None:
        self._groups.clear()
        self._current = None
        self.hits = self.misses = 0


def _size_of(value: Any, depth: int = 0) -> int:
    """Roughly the bytes a kept value holds (arrays by their buffers)."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 100
    if depth > 10:
        return 100
    if isinstance(value, (list, tuple)):
        return 60 + sum(_size_of(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return 100 + sum(_size_of(k, depth + 1) + _size_of(v, depth + 1)
                         for k, v in value.items())
    if isinstance(value, str):
        return 50 + len(value)
    return 50


REFERENCES = ReferenceCache()
"""This process's cache of reference and variant outputs (see :class:`ReferenceCache`)."""
