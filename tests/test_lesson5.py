"""Lesson 5's grader passes a fail-closed rollback rule and explains what a wrong rule let through."""
from __future__ import annotations

import math

import pytest

from labs import lesson5
from simulator.policies import DeploymentPolicy, ParityRollback


class MyRollbackRule(DeploymentPolicy):
    """The lesson's reference: no start, no evidence, moved scores or a slow build mean roll back."""

    def should_rollback(self, view, check):
        if not check.started or math.isnan(check.score_psi):
            return True
        return check.score_psi > 0.1 or check.latency_ratio > 1.5


class Preset(ParityRollback):
    """The preset rule, which promotes a canary that scored nothing."""


class Paranoid(DeploymentPolicy):
    def should_rollback(self, view, check):
        return True


class ScoresOnly(DeploymentPolicy):
    def should_rollback(self, view, check):
        return not check.started or not check.score_psi <= 0.1


class Unfinished(DeploymentPolicy):
    def should_rollback(self, view, check):
        raise NotImplementedError


class SaysMaybe(DeploymentPolicy):
    def should_rollback(self, view, check):
        return "yes" if check.score_psi > 0.1 else ""


def test_the_reference_rule_passes(capsys):
    lesson5.check_rollback_rule(MyRollbackRule)
    assert capsys.readouterr().out == "✔ lesson5.rollback: passed 12 hidden checks\n"


def test_an_unfinished_rule_is_not_done_yet():
    with pytest.raises(AssertionError, match="not done yet"):
        lesson5.check_rollback_rule(Unfinished)


def test_the_nan_trap_is_explained():
    with pytest.raises(AssertionError, match="every comparison with NaN is False"):
        lesson5.check_rollback_rule(Preset)


def test_a_rule_that_rolls_back_everything_blocks_healthy_builds():
    with pytest.raises(AssertionError, match="a healthy build at the first 5% step .* must go on"):
        lesson5.check_rollback_rule(Paranoid)


def test_a_slow_build_must_be_caught_too():
    with pytest.raises(AssertionError, match="five times slower .* must be rolled back"):
        lesson5.check_rollback_rule(ScoresOnly)


def test_the_answer_must_be_a_bool():
    with pytest.raises(AssertionError, match="must return True or False"):
        lesson5.check_rollback_rule(SaysMaybe)


def test_the_cases_are_what_their_names_say():
    """Healthy cases: parity under 0.05 and speed within 30%; broken ones far outside."""
    for what, check, expected in lesson5.CASES:
        healthy = check.started and check.score_psi <= 0.05 and abs(check.latency_ratio - 1) <= 0.3
        assert healthy is (not expected), what
