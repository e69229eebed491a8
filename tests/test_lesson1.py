"""Lesson 1's graders and quiz: the reference answers pass, unfinished and plausible wrong ones fail with a hint."""
from __future__ import annotations

import pytest

from labs import lesson1, quiz


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


RIGHT = {1: "c", 2: "b", 3: "b", 4: "c", 5: "d"}


def test_quiz_passes_the_right_letters_in_any_case(capsys):
    for q in RIGHT:
        quiz.check({q: f" {RIGHT[q].upper()}"}, q)
    assert capsys.readouterr().out.count("passed 2 hidden checks") == 5


def test_quiz_hints_name_the_section_to_reread():
    for q, right in RIGHT.items():
        for letter in "abcd".replace(right, ""):
            with pytest.raises(AssertionError, match=f"lesson1.quiz{q}: not quite — reread \"{quiz.QUIZZES['lesson1'][1][q].section}\""):
                quiz.check({q: letter}, q)


def test_quiz_unanswered_and_invalid():
    with pytest.raises(AssertionError, match="no answer yet"):
        quiz.check({1: None, 2: None, 3: None, 4: None, 5: None}, 3)
    with pytest.raises(AssertionError, match="one letter"):
        quiz.check({4: "level 2"}, 4)


def test_quiz_keeps_no_answer_in_plain_text():
    from pathlib import Path

    text = Path(quiz.__file__).read_text(encoding="utf-8")
    for q, letter in RIGHT.items():
        assert f"{q}:{letter}" not in text and f'{q}: "{letter}"' not in text
