"""A one-exercise lesson's grader, small enough to show how grading works (the tests grade with it).

``check_double(double)`` runs five hidden checks, each counting on its own,
so a half-right function earns part of the points:

>>> check_double(lambda x: 2 * x)
✔ demo.double: passed 5 hidden checks
>>> check_double(lambda x: x * x)
Traceback (most recent call last):
...
AssertionError: demo.double: double(1) should be 2, got 1 (passed 1 of 5 hidden checks)
"""
from __future__ import annotations

from .grading import Checks, call, verify

CASES = (1, 3, -3, 0, 10)


def check_double(double) -> None:
    """Grade ``double(x)`` → twice ``x``."""
    ex = "demo.double"
    checks = Checks(ex)
    for x in CASES:
        with checks.case():
            got = call(ex, double, x)
            verify(ex, got == 2 * x, f"double({x}) should be {2 * x}, got {got!r}")
    checks.done()
