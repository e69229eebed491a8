"""Lesson 3's graders: the right answers pass, unfinished and wrong ones fail with a hint."""
from __future__ import annotations

import pandas as pd
import pytest

from labs import lesson3


def quarterly_decay(daily, metric, higher_is_better):
    values = daily.sort_values("day")[metric].to_numpy()
    quarters = [values[i * 91:(i + 1) * 91].mean() for i in range(len(values) // 91)]
    if higher_is_better:
        return [1 - b / a for a, b in zip(quarters, quarters[1:])]
    return [b / a - 1 for a, b in zip(quarters, quarters[1:])]


def cheapest(frame, level):
    rows = frame[frame.level == level]
    return rows.loc[rows.cost_total.idxmin(), "retraining.every"]


def not_done(*args):
    raise NotImplementedError


def test_right_answers_pass(capsys):
    lesson3.check_quarterly_decay(quarterly_decay)
    lesson3.check_cheapest(cheapest)
    assert capsys.readouterr().out.count("✔") == 2


@pytest.mark.parametrize("check", [lesson3.check_quarterly_decay, lesson3.check_cheapest])
def test_unfinished_work_says_so(check):
    with pytest.raises(AssertionError, match="not done yet"):
        check(not_done)


def test_wrong_answers_fail_with_a_hint():
    # Gains instead of losses: the sign flipped.
    with pytest.raises(AssertionError, match="expected about"):
        lesson3.check_quarterly_decay(lambda d, m, h: [-x for x in quarterly_decay(d, m, h)])
    # Cheapest over every level instead of the one asked for.
    with pytest.raises(AssertionError, match="look only at the level"):
        lesson3.check_cheapest(lambda f, level: f.loc[f.cost_total.idxmin(), "retraining.every"])
