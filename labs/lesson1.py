"""Graders of lesson 1, the production gap: when the model failed, and where the money went.

Each grader runs the student's function on hidden cases built here, whose
right answers are known by construction, and prints one line when all pass.

>>> def first_day_below(daily, level, bound, metric="auc"):
...     rows = daily[(daily["level"] == level) & (daily[metric] < bound)]
...     return None if rows.empty else int(rows["day"].min())
>>> check_first_day_below(first_day_below)
✔ lesson1.first_day_below: passed 8 hidden checks
"""
from __future__ import annotations

import copy
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .grading import call, close, passed, verify

CATEGORIES = ("model_errors", "outage", "infrastructure", "people")


# ----------------------------------------------------------------- first_day_below
def _daily_case(rng: np.random.Generator, levels: dict[int, int | None], days: int, bound: float,
                metric: str = "auc", other_below: int | None = None, nan_days: tuple[int, ...] = (),
                at_bound: int | None = None) -> pd.DataFrame:
    """A ``Comparison.daily``-like frame where level ``l`` first drops below ``bound`` on day ``levels[l]``.

    ``other_below`` makes the *other* metric column drop below the bound on
    that day (a function reading the wrong column finds it); ``nan_days``
    are days nothing was scored; ``at_bound`` a day whose value is exactly
    the bound (not below it).
    """
    other = "pr_auc" if metric == "auc" else "auc"
    frames = []
    for level, first in levels.items():
        day = np.arange(days)
        good = bound + 0.01 + 0.05 * rng.random(days)
        values = good.copy()
        if first is not None:
            after = day >= first
            values[after] = bound - 0.01 - 0.1 * rng.random(int(after.sum()))
            values[first + 3:first + 5] = bound + 0.02   # a brief recovery does not move the first day
        for d in nan_days:
            if first is None or d < first:
                values[d] = np.nan
        if at_bound is not None and (first is None or at_bound < first):
            values[at_bound] = bound
        others = bound + 0.01 + 0.05 * rng.random(days)
        if other_below is not None:
            others[other_below:] = bound - 0.05
        frames.append(pd.DataFrame({"day": day, "level": level, metric: values, other: others,
                                    "drift_score": rng.random(days), "model_version": 1}))
    return pd.concat(frames, ignore_index=True)


def _naive_answers(daily: pd.DataFrame, level: int, bound: float, metric: str) -> dict[str, object]:
    """Answers of common mistakes, to name the mistake in the hint."""
    def first(frame):
        return None if frame.empty else int(frame["day"].min())
    other = "pr_auc" if metric == "auc" else "auc"
    mine = daily[daily["level"] == level]
    return {
        "every level": first(daily[daily[metric] < bound]),
        "at or below": first(mine[mine[metric] <= bound]),
        "other metric": first(mine[mine[other] < bound]),
    }


def check_first_day_below(first_day_below) -> None:
    """Grade ``first_day_below(daily, level, bound, metric="auc")`` on hidden daily tables."""
    ex = "lesson1.first_day_below"
    rng = np.random.default_rng(2020)
    cases = [
        # (daily, level, bound, metric, expected)
        (_daily_case(rng, {0: 23, 3: None}, 60, 0.85, nan_days=(10,)), 0, 0.85, "auc", 23),
        (_daily_case(rng, {0: 23, 3: None}, 60, 0.85), 3, 0.85, "auc", None),
        (_daily_case(rng, {0: 4, 3: 31}, 50, 0.9), 3, 0.9, "auc", 31),
        (_daily_case(rng, {1: 17}, 40, 0.8, at_bound=6), 1, 0.8, "auc", 17),
        (_daily_case(rng, {0: 12}, 30, 0.3, metric="pr_auc", other_below=5), 0, 0.3, "pr_auc", 12),
        (_daily_case(rng, {2: 0, 3: None}, 20, 0.85), 2, 0.85, "auc", 0),
        (_daily_case(rng, {0: None, 3: None}, 20, 0.85, nan_days=(3, 4)), 0, 0.85, "auc", None),
    ]
    checks = 0
    for daily, level, bound, metric, expected in cases:
        before = daily.copy()
        kwargs = {} if metric == "auc" else {"metric": metric}
        got = call(ex, first_day_below, daily, level, bound, **kwargs)
        where = f"level {level}, bound {bound}, metric {metric!r}"
        if expected is None:
            hint = (f"for {where} the metric never drops below the bound (NaN days do not count): "
                    f"expected None, got {got!r}")
            if got is not None and got == _naive_answers(daily, level, bound, metric)["every level"]:
                hint += " — keep only the rows of the level asked for"
            verify(ex, got is None, hint)
        else:
            verify(ex, got is not None,
                   f"for {where} expected day {expected}, got None"
                   + (" — day 0 is a real answer: test `is None`, not truthiness" if expected == 0 else ""))
            ok = isinstance(got, (int, float, np.integer, np.floating)) and not isinstance(got, bool) \
                and math.isclose(float(got), expected)
            if not ok:
                naive = _naive_answers(daily, level, bound, metric)
                hint = f"for {where} expected day {expected}, got {got!r}"
                if got == naive["every level"] and got != expected:
                    hint += " — keep only the rows of the level asked for"
                elif got == naive["at or below"]:
                    hint += " — a day exactly at the bound is not below it"
                elif got == naive["other metric"]:
                    hint += f" — read the column named by `metric` ({metric!r})"
                verify(ex, False, hint)
        verify(ex, daily.equals(before), "your function changed the table it was given; work on a copy")
        checks += 1
    passed(ex, checks + 1)  # the answers, and the tables left as they were


# --------------------------------------------------------------------- cost_shares
def _summary(rng: np.random.Generator, levels: list[str], zero: tuple[str, ...] = ()) -> dict:
    """A summary.json-like dict whose cost categories add up to each level's total exactly."""
    out = {"scenario": "hidden", "seed": 0, "duration_days": 30.0, "levels": {}}
    for level in levels:
        cost = {}
        for k, scale in zip(CATEGORIES, (1e6, 1e4, 1e3, 1e3)):
            cost[k] = 0.0 if k in zero else float(np.round(scale * (0.2 + rng.random()), 2))
        cost["total"] = float(sum(cost.values()))
        out["levels"][level] = {"name": f"level {level}", "requests": 1e6, "cost": cost}
    return out


def check_cost_shares(cost_shares) -> None:
    """Grade ``cost_shares(summary)`` -> ``{level: {category: share of the level's total}}``."""
    ex = "lesson1.cost_shares"
    rng = np.random.default_rng(365)
    cases = [_summary(rng, ["0", "3"]), _summary(rng, ["2"], zero=("outage",)),
             _summary(rng, ["0", "1", "2", "3"], zero=("people", "outage"))]
    checks = 0
    for summary in cases:
        before = copy.deepcopy(summary)
        got = call(ex, cost_shares, summary)
        if isinstance(got, pd.DataFrame):  # levels as columns, categories as rows
            got = got.to_dict()
        levels = list(summary["levels"])
        verify(ex, isinstance(got, Mapping), f"return a dict keyed by level, not a {type(got).__name__}")
        keys = list(got)
        verify(ex, sorted(map(str, keys)) == sorted(levels),
               f"expected one entry per level of the summary, {levels}; got keys {keys}")
        verify(ex, all(isinstance(k, str) for k in keys),
               f"keep the summary's level keys as they are (strings such as {levels[0]!r}), not {keys}")
        grand = sum(summary["levels"][lvl]["cost"]["total"] for lvl in levels)
        for lvl in levels:
            cost = summary["levels"][lvl]["cost"]
            shares = got[lvl]
            verify(ex, isinstance(shares, Mapping),
                   f"level {lvl}: expected a dict {{category: share}}, got a {type(shares).__name__}")
            verify(ex, "total" not in shares,
                   f"level {lvl}: 'total' is not a category (it would always be 1.0); leave it out")
            verify(ex, sorted(shares) == sorted(CATEGORIES),
                   f"level {lvl}: expected the categories {list(CATEGORIES)}, got {sorted(shares)}")
            for k in CATEGORIES:
                want = cost[k] / cost["total"]
                value = shares[k]
                if not close(float(value), want, rel=1e-6):
                    hint = f"level {lvl}, {k}: expected a share of {want:.4f}, got {value!r}"
                    if close(float(value), 100 * want, rel=1e-6) and want > 0:
                        hint += " — shares are fractions that add up to 1, not percentages"
                    elif len(levels) > 1 and close(float(value), cost[k] / grand, rel=1e-6):
                        hint += " — divide by this level's own total, not all levels' together"
                    elif close(float(value), cost[k], rel=1e-6):
                        hint += " — divide each category by the level's total"
                    verify(ex, False, hint)
            checks += 1
        verify(ex, summary == before, "your function changed the summary it was given; work on a copy")
    passed(ex, checks)
