"""Graders of lesson 3: model decay and retraining.

>>> import pandas as pd
>>> round(schedule_cost(30, retrain_cost=1000.0, staleness_rate=2.0))
22452
>>> check_schedule(lambda retrain_cost, staleness_rate: 30)
Traceback (most recent call last):
...
AssertionError: lesson3.schedule: when a retrain costs $100 and staleness adds $2.00 a day for each day of the model's age, retraining every 30 days costs $11,652 over 364 days, no less than retraining every 7 days ($7,284)
>>> check_quarterly_decay(lambda daily, metric, higher: [0.0] * (len(daily) // 91 - 1))
Traceback (most recent call last):
...
AssertionError: lesson3.quarterly_decay: on a metric that falls 10% a quarter you returned [0.0, 0.0, 0.0]; expected about [0.1, 0.1, 0.1]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

import math

from .grading import call, close, passed, verify

QUARTER = 91
YEAR = 364


def _reference_decay(values: np.ndarray, higher_is_better: bool) -> list[float]:
    """Each full quarter's mean against the previous quarter's, as a relative loss (positive = worse)."""
    quarters = [values[i * QUARTER:(i + 1) * QUARTER].mean() for i in range(len(values) // QUARTER)]
    if higher_is_better:
        return [1.0 - b / a for a, b in zip(quarters, quarters[1:])]
    return [b / a - 1.0 for a, b in zip(quarters, quarters[1:])]


def _frame(values: np.ndarray, metric: str) -> pd.DataFrame:
    return pd.DataFrame({"day": np.arange(len(values)), "level": 0, metric: values})


def check_quarterly_decay(fn) -> None:
    """Hidden cases: steady decay of a higher-is-better metric, a lower-is-better one, and a flat one."""
    name = "lesson3.quarterly_decay"
    days = 4 * QUARTER
    t = np.arange(days)
    cases = [
        (0.8 * 0.9 ** (t // QUARTER), "hit_rate", True, "a metric that falls 10% a quarter"),
        (0.2 * 1.15 ** (t // QUARTER), "wape", False, "an error that grows 15% a quarter"),
        (np.full(days, 0.7) + 0.01 * np.sin(t / 7.0), "f1", True, "a flat, wavy metric"),
        (np.r_[0.8 * 0.95 ** (t // QUARTER), [0.1] * 30], "auc", True, "a run that ends in a partial quarter"),
    ]
    for values, metric, higher, story in cases:
        got = call(name, fn, _frame(values, metric), metric, higher)
        want = _reference_decay(values, higher)
        verify(name, len(got) == len(want),
               f"on {story} over {len(values)} days you returned {len(got)} values; expected {len(want)} "
               f"(one per full quarter after the first; a partial quarter at the end is left out)")
        verify(name, all(close(g, w, rel=1e-6, abs_=1e-9) for g, w in zip(got, want)),
               f"on {story} you returned {[round(float(g), 3) for g in got]}; expected about "
               f"{[round(float(w), 3) for w in want]}")
    passed(name, len(cases))


def schedule_cost(every: float, retrain_cost: float, staleness_rate: float, horizon: int = YEAR) -> float:
    """Cost of retraining every ``every`` days over ``horizon`` days, in a simple model of decay.

    The first model is trained before day 0 and each retrain, on days ``every``, ``2 * every``, ...,
    costs ``retrain_cost``. On each day the model's errors cost ``staleness_rate`` dollars more for each
    day since it was trained (its age), so staleness costs ``staleness_rate * sum of ages``. An ``every``
    of ``horizon`` days or more (or ``math.inf``) means never retraining.
    """
    every = float(every)
    if every >= horizon:
        return staleness_rate * horizon * (horizon - 1) / 2
    step = max(1, int(round(every)))
    ages = [day % step for day in range(horizon)]
    retrains = (horizon - 1) // step
    return retrains * retrain_cost + staleness_rate * sum(ages)


#: (retrain cost $, staleness $ a day per day of age, the story) for the hidden cases
_SCHEDULE_CASES = [
    (100.0, 2.0, "a cheap pipeline run on a model that decays fast"),
    (3000.0, 8.0, "a reviewed retrain of a model that decays fast"),
    (3000.0, 1.5, "a reviewed retrain of a model that decays slowly"),
    (12000.0, 10.0, "a hand-run retrain of a model that decays fast"),
    (20.0, 0.01, "compute only, on a model that barely decays"),
    (5000.0, 0.0, "a model that does not decay at all"),
]


def check_schedule(fn) -> None:
    """Hidden economics: the student's interval must cost less than retraining weekly and than quarterly.

    ``fn(retrain_cost, staleness_rate)`` returns the number of days between retrains (``math.inf``
    for never). Each hidden case is scored with :func:`schedule_cost` over a year; the answer must
    be cheaper than both "every 7 days" and "every 91 days" (or as cheap as the cheaper of them, in a
    case where it is the best there is).
    """
    name = "lesson3.schedule"
    for retrain_cost, rate, story in _SCHEDULE_CASES:
        every = call(name, fn, retrain_cost, rate)
        verify(name, isinstance(every, (int, float)) and not isinstance(every, bool) and not math.isnan(every)
               and every >= 1,
               f"return a number of days of at least 1 (math.inf for never), not {every!r}")
        mine = schedule_cost(every, retrain_cost, rate)
        for other in (7, 91):
            theirs = schedule_cost(other, retrain_cost, rate)
            best = min(schedule_cost(d, retrain_cost, rate) for d in [*range(1, YEAR), math.inf])
            strict = theirs > best * (1 + 1e-9)
            verify(name, mine < theirs if strict else mine <= theirs * (1 + 1e-9),
                   f"when a retrain costs ${retrain_cost:,.0f} and staleness adds ${rate:.2f} a day for each day "
                   f"of the model's age, {_plan(every)} costs ${mine:,.0f} over {YEAR} days, "
                   f"no less than retraining every {other} days (${theirs:,.0f})")
    passed(name, len(_SCHEDULE_CASES))


def _plan(every: float) -> str:
    return "never retraining" if every >= YEAR else f"retraining every {every:g} days"
