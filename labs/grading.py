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
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def verify(exercise: str, condition: bool, hint: str) -> None:
    """Raise ``AssertionError("<exercise>: <hint>")`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(f"{exercise}: {hint}")


def close(a: float, b: float, rel: float = 1e-6, abs_: float = 1e-9) -> bool:
    """True if two numbers agree (both NaN counts as agreeing)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=abs_)


def call(exercise: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call the student's ``fn``; an exception becomes a hint naming it (NotImplementedError: not done yet)."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise AssertionError(f"{exercise}: not done yet — replace `raise NotImplementedError` "
                             "with your solution and run the cell again") from None
    except Exception as exc:
        raise AssertionError(f"{exercise}: your code raised {type(exc).__name__}: {exc}") from None


def passed(exercise: str, checks: int) -> None:
    """Print the one line a passing grader prints."""
    print(f"✔ {exercise}: passed {checks} hidden checks")
