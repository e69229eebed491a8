"""Parse durations (``500ms``, ``15m``, ``14d``) and rates (``50/s``) once, at the boundary.

Inside the engine every time is a float number of seconds and every rate a
float number per second.

>>> parse_duration("1.5h")
5400.0
>>> parse_rate("3000/m")
50.0
"""
from __future__ import annotations

import math
import re

from .errors import short_repr

#: Longest text parsed: nothing valid comes near it, and a long one must not reach the regular expressions.
MAX_TEXT = 64

#: Seconds in each duration unit.
DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}

_NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?"
_DURATION = re.compile(rf"^\s*({_NUMBER})\s*(ms|s|m|h|d|w)\s*$")
_RATE = re.compile(rf"^\s*(-?{_NUMBER})\s*/\s*(ms|s|m|h|d|w)\s*$")


def parse_duration(text: str | float | int) -> float:
    """Return a duration in seconds.

    Parameters
    ----------
    text
        A number with a unit: ``ms``, ``s``, ``m`` (minutes), ``h``, ``d``, ``w``.
        A bare ``0`` is allowed; any other bare number is ambiguous and refused.

    Examples
    --------
    >>> parse_duration("500ms"), parse_duration("30s"), parse_duration("2w")
    (0.5, 30.0, 1209600.0)
    >>> parse_duration("10 parsecs")
    Traceback (most recent call last):
    ...
    ValueError: '10 parsecs' is not a duration: use a number and one of ms, s, m, h, d, w (e.g. 14d)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if isinstance(text, float) and not math.isfinite(text):
            # "infs" or "nans" would be no better: say what a duration is.
            raise ValueError(f"{text} is not a duration: it must be a finite number with a unit, e.g. 14d")
        if text == 0:
            return 0.0
        number = short_repr(text, 40)
        raise ValueError(f"{number} has no unit: write it as e.g. {number}s or {number}d")
    if not isinstance(text, str):
        raise ValueError(f"{short_repr(text)} is not a duration: use e.g. 14d")
    match = _DURATION.match(text) if len(text) <= MAX_TEXT else None
    if match is None:
        if text.strip().startswith("-"):
            raise ValueError(f"{short_repr(text)} is negative: durations must be zero or more")
        raise ValueError(
            f"{short_repr(text)} is not a duration: use a number and one of ms, s, m, h, d, w (e.g. 14d)"
        )
    seconds = float(match.group(1)) * DURATION_UNITS[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError(f"{short_repr(text)} is too large")
    return seconds


def parse_rate(text: str | float | int) -> float:
    """Return a rate in events per second.

    Examples
    --------
    >>> parse_rate("50/s"), parse_rate("1.2e6/h")
    (50.0, 333.3333333333333)
    >>> parse_rate("-5/s")
    Traceback (most recent call last):
    ...
    ValueError: '-5/s' is negative: a rate must be zero or more
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if isinstance(text, float) and not math.isfinite(text):
            # "nan/s" would be no better: say what a rate is.
            raise ValueError(f"{text} is not a rate: it must be a finite number with a unit, e.g. 50/s")
        number = short_repr(text, 40)
        raise ValueError(f"{number} has no unit: write it as e.g. {number}/s")
    if not isinstance(text, str):
        raise ValueError(f"{short_repr(text)} is not a rate: use e.g. 50/s")
    match = _RATE.match(text) if len(text) <= MAX_TEXT else None
    if match is None:
        raise ValueError(f"{short_repr(text)} is not a rate: use a number per unit, e.g. 50/s, 3000/m, 1.2e6/h")
    value = float(match.group(1))
    if value < 0:
        raise ValueError(f"{short_repr(text)} is negative: a rate must be zero or more")
    if not math.isfinite(value):
        raise ValueError(f"{short_repr(text)} is too large")
    return value / DURATION_UNITS[match.group(2)]


def format_duration(seconds: float) -> str:
    """Render seconds in the largest unit that divides them, for messages.

    >>> format_duration(86400 * 15), format_duration(86400 * 14), format_duration(90)
    ('15d', '2w', '90s')
    """
    for unit in ("w", "d", "h", "m", "s"):
        size = DURATION_UNITS[unit]
        if seconds >= size and (seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds * 1000:.15g}ms"
