"""What every grader does: check a student's work on hidden cases, print one line or raise a hint.

A grader passes with exactly one deterministic line on standard output (so
nbval can compare it with the reference notebook's) and fails with an
``AssertionError`` whose message tells the student what to look at.

>>> passed("demo", 3)
✔ demo: passed 3 hidden checks
>>> verify("demo", 1 + 1 == 3, "one plus one is two")
Traceback (most recent call last):
...
AssertionError: demo: one plus one is two

A grader whose hidden checks each count gathers them in :class:`Checks`:
a full pass prints the same line, a partial one fails with the first hint
and the count of checks passed, which the class grader turns into partial
points (:data:`SCORES`).

>>> checks = Checks("demo")
>>> for x in (1, 2, 3):
...     with checks.case():
...         verify("demo", x != 2, f"{x} is not 2")
>>> checks.done()
Traceback (most recent call last):
...
AssertionError: demo: 2 is not 2 (passed 2 of 3 hidden checks)
>>> SCORES["demo"]
(2, 3)

A student's function must return plain data; an object that claims to equal
everything is refused:

>>> class Always:
...     def __eq__(self, other):
...         return True
>>> call("demo", lambda: Always())
Traceback (most recent call last):
...
AssertionError: demo: return plain data (numbers, strings, lists, dicts, numpy arrays, pandas frames), not Always
"""
from __future__ import annotations

import collections
import contextlib
import importlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

#: exercise -> (hidden checks passed, hidden checks run), as the last grader of that exercise reported them.
SCORES: dict[str, tuple[int, int]] = {}

#: Types a student's result may have, exactly (subclasses could redefine ``==``).
_ATOMS = frozenset({type(None), bool, int, float, complex, str, bytes, range, slice, type(Ellipsis),
                    *(t for t in np.sctypeDict.values() if isinstance(t, type)),
                    np.dtype, type(np.dtype("float64")), type(pd.NaT), type(pd.NA),
                    pd.Timestamp, pd.Timedelta, pd.Period, pd.Interval})
_CONTAINERS = frozenset({list, tuple, set, frozenset})
_MAPPINGS = frozenset({dict, collections.OrderedDict, collections.defaultdict})
_PANDAS = frozenset({pd.DataFrame, pd.Series, pd.Categorical, pd.Index, pd.RangeIndex, pd.MultiIndex,
                     pd.DatetimeIndex, pd.TimedeltaIndex, pd.CategoricalIndex, pd.IntervalIndex, pd.PeriodIndex})


def verify(exercise: str, condition: bool, hint: str) -> None:
    """Raise ``AssertionError("<exercise>: <hint>")`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(f"{exercise}: {hint}")


def close(a: float, b: float, rel: float = 1e-6, abs_: float = 1e-9) -> bool:
    """True if two numbers agree (both NaN counts as agreeing)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=abs_)


def _lab_type(kind: type) -> bool:
    """True if ``kind`` is a class the lab itself defines (``simulator.*``), looked up by its real name."""
    module = getattr(kind, "__module__", "") or ""
    if not (module == "simulator" or module.startswith("simulator.")):
        return False
    try:
        found = importlib.import_module(module)
        for part in kind.__qualname__.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return False
    return found is kind


def plain(value: Any, depth: int = 0) -> str | None:
    """None if ``value`` is plain data a grader may compare, else the name of the first type that is not.

    Plain: exact built-in scalars and containers, numpy scalars and arrays,
    pandas frames, series and indexes (their values checked when they hold
    objects), and the lab's own value types (``simulator.*``, e.g. ``Alert``),
    recursively. Exact types only: a subclass could answer ``==`` with True.

    >>> plain({"a": [1, 2.5, None], "b": (np.float64(1.0), "x")}) is None
    True
    >>> class Sneaky(float):
    ...     pass
    >>> plain([1, Sneaky(2.0)])
    'Sneaky'
    """
    kind = type(value)
    if depth > 50:
        return "a structure nested too deeply"
    if kind in _ATOMS:
        return None
    if kind in _CONTAINERS:
        return next((bad for v in value if (bad := plain(v, depth + 1))), None)
    if kind in _MAPPINGS:
        return next((bad for k, v in value.items() if (bad := plain(k, depth + 1) or plain(v, depth + 1))), None)
    if kind is np.ndarray:
        return next((bad for v in value.ravel() if (bad := plain(v, depth + 1))), None) \
            if value.dtype == object else None
    if kind in _PANDAS:
        if isinstance(value, pd.DataFrame):
            parts = [value.index, value.columns] + [value[c].to_numpy() for c in value.columns
                                                     if value[c].dtype == object]
        elif isinstance(value, pd.Series):
            parts = [value.index, value.to_numpy()] if value.dtype == object else [value.index]
        else:
            parts = [np.asarray(value, dtype=object)] if getattr(value, "dtype", None) == object else []
        return next((bad for p in parts if (bad := plain(p, depth + 1))), None)
    if _lab_type(kind):
        if isinstance(value, tuple):  # the lab's named tuples: their fields too
            return next((bad for v in value if (bad := plain(v, depth + 1))), None)
        return None
    return kind.__name__


def _is_own_instance(fn: Any, result: Any) -> bool:
    """True when ``fn`` is a student's policy class (a subclass of a lab class) and ``result`` an instance of it."""
    return isinstance(fn, type) and type(result) is fn and any(
        _lab_type(base) for base in fn.__mro__[1:] if base is not object)


def call(exercise: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call the student's ``fn``; an exception becomes a hint naming it (NotImplementedError: not done yet).

    The result must be plain data (:func:`plain`), or, when ``fn`` is a
    policy class (a subclass of one of the lab's), an instance of exactly it.
    """
    try:
        result = fn(*args, **kwargs)
    except NotImplementedError:
        raise AssertionError(f"{exercise}: not done yet — replace `raise NotImplementedError` "
                             "with your solution and run the cell again") from None
    except Exception as exc:
        raise AssertionError(f"{exercise}: your code raised {type(exc).__name__}: {exc}") from None
    if not _is_own_instance(fn, result):
        bad = plain(result)
        if bad is not None:
            raise AssertionError(f"{exercise}: return plain data (numbers, strings, lists, dicts, numpy arrays, "
                                 f"pandas frames), not {bad}")
    return result


def passed(exercise: str, checks: int, of: int | None = None, hint: str = "") -> None:
    """Report ``checks`` hidden checks passed out of ``of`` (all of them when ``of`` is None).

    A full pass prints the one line a passing grader prints; fewer raise
    ``AssertionError`` with ``hint`` and the count. Either way the count is
    kept in :data:`SCORES`, from which the class grader gives partial points.
    """
    total = checks if of is None else of
    SCORES[exercise] = (checks, total)
    if checks < total:
        prefix = hint if hint.startswith(f"{exercise}: ") else f"{exercise}: {hint}".rstrip()
        raise AssertionError(f"{prefix} (passed {checks} of {total} hidden checks)")
    print(f"✔ {exercise}: passed {checks} hidden checks")


class Checks:
    """Hidden checks that each count: a failed one is remembered, not raised, until :meth:`done`."""

    def __init__(self, exercise: str) -> None:
        self.exercise = exercise
        self.total = 0
        self.failures: list[str] = []

    @contextlib.contextmanager
    def case(self) -> Iterator[None]:
        """One hidden check: an ``AssertionError`` inside it fails this check only."""
        self.total += 1
        try:
            yield
        except AssertionError as exc:
            self.failures.append(str(exc))

    def done(self) -> None:
        """Report the checks (:func:`passed`): the passing line, or the first failure's hint and the count."""
        passed(self.exercise, self.total - len(self.failures), of=self.total,
               hint=self.failures[0] if self.failures else "")
