"""Lesson 1's graders: the reference answers pass, unfinished and plausible wrong ones fail with a hint.

The quiz has its own tests, in test_quiz.py.
"""
from __future__ import annotations

import pytest

from labs import lesson1


def first_day_below(daily, level, bound, metric="auc"):
    rows = daily[(daily["level"] == level) & (daily[metric] < bound)]
    return None if rows.empty else int(rows["day"].min())


def cost_shares(summary):
    return {lvl: {k: v / s["cost"]["total"] for k, v in s["cost"].items() if k != "total"}
            for lvl, s in summary["levels"].items()}


def not_done(*args, **kwargs):
    raise NotImplementedError


def test_reference_answers_pass(capsys):
    lesson1.check_first_day_below(first_day_below)
    lesson1.check_cost_shares(cost_shares)
    out = capsys.readouterr().out.splitlines()
    assert out == ["✔ lesson1.first_day_below: passed 8 hidden checks", "✔ lesson1.cost_shares: passed 7 hidden checks"]


@pytest.mark.parametrize("grader", [lesson1.check_first_day_below, lesson1.check_cost_shares])
def test_unfinished_work_is_not_done_yet(grader):
    with pytest.raises(AssertionError, match="not done yet"):
        grader(not_done)


def test_a_day_exactly_at_the_bound_is_not_below_it():
    def at_or_below(daily, level, bound, metric="auc"):
        rows = daily[(daily["level"] == level) & (daily[metric] <= bound)]
        return None if rows.empty else int(rows["day"].min())

    with pytest.raises(AssertionError, match="exactly at the bound is not below it"):
        lesson1.check_first_day_below(at_or_below)


def test_day_zero_is_an_answer():
    def truthy(daily, level, bound, metric="auc"):
        return first_day_below(daily, level, bound, metric) or None

    with pytest.raises(AssertionError, match="day 0 is a real answer"):
        lesson1.check_first_day_below(truthy)


def test_percentages_are_not_shares():
    def percent(summary):
        return {lvl: {k: 100 * v for k, v in shares.items()} for lvl, shares in cost_shares(summary).items()}

    with pytest.raises(AssertionError, match="not percentages"):
        lesson1.check_cost_shares(percent)


def test_shares_of_all_levels_together_are_wrong():
    def grand(summary):
        total = sum(s["cost"]["total"] for s in summary["levels"].values())
        return {lvl: {k: v / total for k, v in s["cost"].items() if k != "total"}
                for lvl, s in summary["levels"].items()}

    with pytest.raises(AssertionError, match="this level's own total"):
        lesson1.check_cost_shares(grand)

