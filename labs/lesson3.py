"""Graders of lesson 3: model decay and retraining.

>>> import pandas as pd
>>> check_quarterly_decay(lambda daily, metric, higher: [0.0] * (len(daily) // 91 - 1))
Traceback (most recent call last):
...
AssertionError: lesson3.quarterly_decay: on a metric that falls 10% a quarter you returned [0.0, 0.0, 0.0]; expected about [0.1, 0.1, 0.1]
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .grading import call, close, passed, verify

QUARTER = 91


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


def check_cheapest(fn) -> None:
    """Hidden sweep tables: the setting with the lowest total cost for the asked level."""
    name = "lesson3.cheapest"
    rng = np.random.default_rng(3)
    checks = 0
    for level in (0, 2, 3):
        everys = ["7d", "14d", "30d", "91d", "182d"]
        costs = rng.uniform(1e5, 1e6, size=len(everys) * 2)
        frame = pd.DataFrame({"retraining.every": everys * 2, "level": [level] * 5 + [level + 1] * 5,
                              "cost_total": costs})
        best = everys[int(np.argmin(costs[:5]))]
        got = call(name, fn, frame.sample(frac=1.0, random_state=level), level)
        verify(name, got == best, f"for level {level} you chose {got!r}; the lowest cost_total among that "
                                  f"level's rows is at retraining.every = {best!r} (look only at the level asked for)")
        checks += 1
    passed(name, checks)
