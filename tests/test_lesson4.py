"""Lesson 4's graders pass a reference solution, say "not done yet" to a stub, and explain a wrong answer."""
from __future__ import annotations

import math

import pytest

from labs import lesson4
from simulator.policies import AutoscalingPolicy, TargetUtilisation


def erlang_c(c, a):
    """Erlang C through the Erlang B recursion (a reference solution, independent of the grader's scipy)."""
    if a >= c:
        return 1.0
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return c * b / (c - a * (1.0 - b))


def replicas_needed(rate, service_mean, max_wait, tail=0.01):
    a = rate * service_mean
    c = math.floor(a) + 1
    while erlang_c(c, a) * math.exp(-(c - a) * max_wait / service_mean) > tail:
        c += 1
    return c


class RushAutoscaler(AutoscalingPolicy):
    """The lesson's reference: Erlang C sizing for the rate ten minutes ahead, at least five replicas."""

    def __init__(self):
        self.previous = None

    def desired_replicas(self, view):
        rate = view.arrival_rate
        if self.previous is not None and view.now > self.previous[0]:
            rate += max((rate - self.previous[1]) / (view.now - self.previous[0]), 0.0) * 600.0
        self.previous = (view.now, view.arrival_rate)
        return max(5, min(64, replicas_needed(rate, view.service_mean, 0.05, 0.01)))


class PresetScaler(TargetUtilisation):
    """Level 3's preset: 60% utilisation, two replicas at least."""

    def __init__(self):
        super().__init__(target=0.6, min_replicas=2, max_replicas=64)


class AlwaysSixteen(AutoscalingPolicy):
    """Enough for the rush all day long."""

    def desired_replicas(self, view):
        return 16


class LowTarget(TargetUtilisation):
    """45% utilisation: holds the ramp by keeping headroom all day, and pays for it."""

    def __init__(self):
        super().__init__(target=0.45, min_replicas=2, max_replicas=64)


class Unfinished(AutoscalingPolicy):
    def __init__(self):
        raise NotImplementedError


def not_done(*args):
    raise NotImplementedError


def test_reference_answers_pass(capsys):
    lesson4.check_erlang_c(erlang_c)
    lesson4.check_replicas(replicas_needed)
    out = capsys.readouterr().out
    assert "✔ lesson4.erlang_c: passed 10 hidden checks" in out
    assert "✔ lesson4.replicas: passed 6 hidden checks" in out


def test_the_graders_agree_with_the_simulators_own_erlang_c():
    import numpy as np

    from simulator.serving.queueing import erlang_c as engine

    for c, a in [(1, 0.5), (3, 2.0), (11, 10.0), (400, 380.0)]:
        assert lesson4.reference_erlang_c(c, a) == pytest.approx(float(engine(c, np.array([a]))[0]), rel=1e-9)


@pytest.mark.parametrize("check", [lesson4.check_erlang_c, lesson4.check_replicas])
def test_a_stub_is_not_done_yet(check):
    with pytest.raises(AssertionError, match="not done yet"):
        check(not_done)


def test_a_wrong_erlang_c_gets_the_expected_value():
    with pytest.raises(AssertionError, match=r"erlang_c\(2, 1.0\) should be 0.333333, got 0.5"):
        lesson4.check_erlang_c(lambda c, a: 1.0 if a >= c else a / c)


def test_factorials_that_overflow_are_explained():
    def naive(c, a):
        if a >= c:
            return 1.0
        top = a**c / math.factorial(c) * c / (c - a)
        return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)

    with pytest.raises(AssertionError, match="Erlang B recursion"):
        lesson4.check_erlang_c(naive)


def test_just_keeping_up_is_not_a_capacity_plan():
    with pytest.raises(AssertionError, match="should be 12, got 10: 10 replicas cannot even keep up"):
        lesson4.check_replicas(lambda rate, s, t, tail: math.ceil(rate * s))
    with pytest.raises(AssertionError, match="the smallest such count is wanted"):
        lesson4.check_replicas(lambda rate, s, t, tail: replicas_needed(rate, s, t, tail) + 1)


def test_the_reference_autoscaler_holds_the_rush_within_budget(capsys):
    lesson4.check_autoscaler(RushAutoscaler)
    assert capsys.readouterr().out == "✔ lesson4.autoscaler: passed 12 hidden checks\n"


def test_the_preset_autoscaler_falls_behind_the_ramp():
    with pytest.raises(AssertionError, match="requests failed .* the ramp began at 11:30 and the first scale-out came at 11:38"):
        lesson4.check_autoscaler(PresetScaler)


def test_headroom_all_day_is_over_budget():
    with pytest.raises(AssertionError, match="at a steady 100 req/s your policy settles on 16 replicas"):
        lesson4.check_autoscaler(AlwaysSixteen)
    with pytest.raises(AssertionError, match=r"replicas cost \$1\d\d over the day \(budget \$95\)"):
        lesson4.check_autoscaler(LowTarget)


def test_an_unfinished_policy_is_not_done_yet():
    with pytest.raises(AssertionError, match="not done yet"):
        lesson4.check_autoscaler(Unfinished)
    with pytest.raises(AssertionError, match="pass the class itself"):
        lesson4.check_autoscaler(RushAutoscaler())


def test_a_class_defined_in_a_function_is_published_for_the_scenario():
    class Local(AutoscalingPolicy):
        def desired_replicas(self, view):
            return 3

    spec = lesson4.policy_spec(Local)
    module, _, name = spec.partition(":")
    import importlib

    assert getattr(importlib.import_module(module), name) is Local
    assert lesson4.policy_spec(RushAutoscaler) == f"{__name__}:RushAutoscaler"
