"""Lesson 3's graders: the right answers pass, unfinished, trivial and wrong ones fail with a hint."""
from __future__ import annotations

import math

import pytest

from labs import lesson3


def quarterly_decay(daily, metric, higher_is_better):
    values = daily.sort_values("day")[metric].to_numpy()
    quarters = [values[i * 91:(i + 1) * 91].mean() for i in range(len(values) // 91)]
    if higher_is_better:
        return [1 - b / a for a, b in zip(quarters, quarters[1:])]
    return [b / a - 1 for a, b in zip(quarters, quarters[1:])]


def retrain_every(retrain_cost, staleness_rate):
    if staleness_rate <= 0:
        return math.inf
    return max(1, round(math.sqrt(2 * retrain_cost / staleness_rate)))


def not_done(*args):
    raise NotImplementedError


def test_right_answers_pass(capsys):
    lesson3.check_quarterly_decay(quarterly_decay)
    lesson3.check_schedule(retrain_every)
    assert capsys.readouterr().out.splitlines() == ["✔ lesson3.quarterly_decay: passed 4 hidden checks",
                                                    "✔ lesson3.schedule: passed 6 hidden checks"]


@pytest.mark.parametrize("check", [lesson3.check_quarterly_decay, lesson3.check_schedule])
def test_unfinished_work_says_so(check):
    with pytest.raises(AssertionError, match="not done yet"):
        check(not_done)


def test_wrong_decay_fails_with_a_hint():
    # Gains instead of losses: the sign flipped.
    with pytest.raises(AssertionError, match="expected about"):
        lesson3.check_quarterly_decay(lambda d, m, h: [-x for x in quarterly_decay(d, m, h)])


@pytest.mark.parametrize("every", [1, 7, 14, 30, 60, 91, 182, math.inf])
def test_a_constant_schedule_fails(every):
    with pytest.raises(AssertionError, match="no less than retraining every (7|91) days"):
        lesson3.check_schedule(lambda retrain_cost, staleness_rate: every)


@pytest.mark.parametrize("rule", [
    lambda c, r: max(1, round(math.sqrt(c / r))) if r > 0 else math.inf,       # the factor 2 forgotten
    lambda c, r: max(1, round(math.sqrt(2 * c / r))) if r > 0 else 7,          # retrains what does not decay
    lambda c, r: max(1, round(2 * c / r)) if r > 0 else math.inf,              # the ratio without the root
])
def test_plausible_wrong_rules_fail(rule):
    with pytest.raises(AssertionError, match="no less than retraining every"):
        lesson3.check_schedule(rule)


@pytest.mark.parametrize("bad", [0, -3, float("nan"), "30d", None, True])
def test_an_answer_that_is_not_a_number_of_days_says_so(bad):
    with pytest.raises(AssertionError, match="number of days of at least 1"):
        lesson3.check_schedule(lambda retrain_cost, staleness_rate: bad)


def test_schedule_cost_counts_retrains_and_ages():
    # Every 2 days over 4 days: retrains on day 2 only; ages 0, 1, 0, 1.
    assert lesson3.schedule_cost(2, retrain_cost=10.0, staleness_rate=1.0, horizon=4) == 12.0
    # Never: ages 0..3.
    assert lesson3.schedule_cost(math.inf, retrain_cost=10.0, staleness_rate=1.0, horizon=4) == 6.0


def test_the_hint_never_names_the_answer():
    with pytest.raises(AssertionError) as failure:
        lesson3.check_schedule(lambda retrain_cost, staleness_rate: 30)
    assert "sqrt" not in str(failure.value) and "square" not in str(failure.value)
