"""Graders of lesson 4, scalability: Erlang C, a capacity plan, and an autoscaler for a launch rush.

Each grader checks the student's work on hidden cases and prints one line
when it passes (see :mod:`labs.grading`). The queueing answers are checked
against scipy's Poisson distribution (Erlang B is a ratio of Poisson
probabilities), not against numbers taken from a run; the autoscaler is
checked by replaying the rush in short simulations.

>>> round(reference_erlang_c(2, 1.0), 4)  # M/M/2 at utilisation 0.5
0.3333
>>> reference_replicas(500, 0.02, 0.05, 0.01)  # the launch rush, P(wait > 50 ms) <= 1%
12
"""
from __future__ import annotations

import math
import sys
import types
from collections.abc import Callable

import numpy as np
from scipy import stats

from .grading import Checks, call, close, passed, verify

#: The rush the autoscaler is graded on: its objective and its budget.
P99_OBJECTIVE_MS = 150.0
MAX_FAILED_SHARE = 1e-5
BUDGET_DOLLARS = 95.0
#: Hidden replays of the rush: (seed, simulated day the rush reaches 500 req/s).
_RUSHES = ((101, 0.5), (202, 0.5235))


# ----------------------------------------------------------------- references
def reference_erlang_c(c: int, a: float) -> float:
    """P(an arrival waits) in M/M/c with offered load ``a`` Erlangs, from scipy's Poisson distribution.

    Erlang B is P(N = c) / P(N <= c) for N ~ Poisson(a); Erlang C follows as
    B / (1 - rho (1 - B)). 1.0 when a >= c (the queue grows without end).
    """
    if a >= c:
        return 1.0
    if a <= 0:
        return 0.0
    b = stats.poisson.pmf(c, a) / stats.poisson.cdf(c, a)
    return float(b / (1.0 - (a / c) * (1.0 - b)))


def _p_wait_longer(c: int, a: float, service_mean: float, t: float) -> float:
    """P(wait > t) in M/M/c: C(c, a) exp(-(c - a) t / s)."""
    return reference_erlang_c(c, a) * math.exp(-(c - a) * t / service_mean)


def reference_replicas(rate: float, service_mean: float, max_wait: float, tail: float) -> int:
    """The smallest replica count with P(wait > max_wait) <= tail, by counting up from the first stable one."""
    a = rate * service_mean
    c = max(1, math.floor(a) + 1)
    while _p_wait_longer(c, a, service_mean, max_wait) > tail:
        c += 1
    return c


# ------------------------------------------------------------------- Erlang C
_ERLANG_CASES = ((1, 0.5), (2, 1.0), (3, 2.0), (11, 10.0), (16, 10.0), (50, 40.0), (3, 0.0), (5, 5.0), (4, 6.0),
                 (400, 380.0))


def check_erlang_c(erlang_c: Callable[[int, float], float]) -> None:
    """Grade ``erlang_c(c, a)``: the probability of waiting in M/M/c at offered load ``a``."""
    ex = "lesson4.erlang_c"
    checks = Checks(ex)
    for c, a in _ERLANG_CASES:
        with checks.case():
            try:
                got = call(ex, erlang_c, c, a)
            except AssertionError as exc:
                if c >= 100 and "not done yet" not in str(exc):
                    raise AssertionError(f"{exc} (with {c} replicas, a**c and c! overflow floating point: "
                                         "use the Erlang B recursion B = a*B / (k + a*B) for k = 1..c)") from None
                raise
            want = reference_erlang_c(c, a)
            verify(ex, isinstance(got, (int, float, np.floating, np.integer)) and not isinstance(got, bool),
                   f"erlang_c({c}, {a}) should return a number, not {type(got).__name__}")
            got = float(got)
            if a >= c:
                verify(ex, close(got, 1.0), f"erlang_c({c}, {a}) should be 1.0: the load reaches or passes the "
                                            f"{c} replicas, so every arrival waits (got {got:.4g})")
                continue
            verify(ex, close(got, want, rel=1e-6, abs_=1e-9),
                   f"erlang_c({c}, {a}) should be {want:.6f}, got {got:.6g}" + (
                       " (with c = 1 it is just the utilisation a)" if c == 1 else
                       " (no load, no waiting)" if a == 0 else
                       " (check the c/(c - a) factor on the last term, and the sum running over k = 0..c-1)"))
    checks.done()


# --------------------------------------------------------- replicas for a wait
_REPLICA_CASES = ((500.0, 0.02, 0.05, 0.01), (100.0, 0.02, 0.05, 0.01), (500.0, 0.02, 0.0, 0.2),
                  (2000.0, 0.05, 0.1, 0.001), (0.1, 0.02, 0.05, 0.01), (150.0, 0.02, 0.02, 0.05))


def check_replicas(replicas_needed: Callable[[float, float, float, float], int]) -> None:
    """Grade ``replicas_needed(rate, service_mean, max_wait, tail)``: the smallest c with P(wait > max_wait) <= tail."""
    ex = "lesson4.replicas"
    checks = Checks(ex)
    for rate, s, t, tail in _REPLICA_CASES:
        with checks.case():
            got = call(ex, replicas_needed, rate, s, t, tail)
            args = f"replicas_needed({rate:g}, {s:g}, {t:g}, {tail:g})"
            verify(ex, isinstance(got, (int, np.integer)) and not isinstance(got, bool),
                   f"{args} should return a whole number of replicas (an int), not {type(got).__name__} {got!r}")
            got, want, a = int(got), reference_replicas(rate, s, t, tail), rate * s
            if got < want:
                why = (f"{got} replicas cannot even keep up with {a:g} Erlangs of load" if got <= a else
                       f"with {got} replicas P(wait > {t:g} s) is {_p_wait_longer(got, a, s, t):.4f}, above {tail:g}")
                verify(ex, False, f"{args} should be {want}, got {got}: {why}")
            verify(ex, got == want,
                   f"{args} should be {want}, got {got}: {want} replicas already give P(wait > {t:g} s) = "
                   f"{_p_wait_longer(want, a, s, t):.4f} <= {tail:g}; the smallest such count is wanted")
    checks.done()


# ------------------------------------------------------------------ autoscaler
def policy_spec(policy_class: type) -> str:
    """``"module:Class"`` naming ``policy_class`` for a scenario.

    A class the simulator cannot import by its own name (defined inside a
    function, say) is published in a small module made for it.
    """
    module = sys.modules.get(policy_class.__module__)
    if module is not None and getattr(module, policy_class.__qualname__, None) is policy_class:
        return f"{policy_class.__module__}:{policy_class.__qualname__}"
    name = "labs_submitted_policies"
    holder = sys.modules.setdefault(name, types.ModuleType(name))
    setattr(holder, policy_class.__name__, policy_class)
    return f"{name}:{policy_class.__name__}"


def rush_scenario(policy: str | None = None, params: dict | None = None, at: float = 0.5, seed: int = 7,
                  shedding: bool = False, levels: tuple[int, ...] = (3,)):
    """load_spike with its 500 req/s rush at day ``at`` (a day's run) and level 3's autoscaler replaced.

    No replica crashes, no release failures and a two-week training history,
    so a day's run takes about a second and shows nothing but the rush.
    """
    import labs
    from simulator.scenario import load_scenario

    overrides = {3: {"shedding": {"enabled": shedding}, "retraining": {"trigger": "never"}}}
    if policy is not None:
        overrides[3]["autoscaling"] = {"policy": policy, "params": params or {}}
    return load_scenario(
        labs.scenario_path("load_spike"), levels=list(levels), seed=seed, overrides=overrides, duration="1d",
        traffic={"rate": "100/s", "daily_cycle": 0.0,
                 "spikes": [{"at": f"{at}d", "multiplier": 5, "duration": "6h", "ramp": "30m"}]},
        domain={"kind": "fraud", "params": {"fraud_rate": 0.005}, "label_delay": "45d", "train_window": "14d"},
        serving={"replicas": 3, "service_time": {"dist": "lognormal", "mean": "20ms", "p99": "80ms"},
                 "timeout": "1s", "cost_per_replica_hour": 0.5, "failures": "none"})


def rush_hours(timeseries, at: float):
    """The hourly rows from the start of the ramp (30 minutes before ``at``) to the end of the ramp down."""
    day = timeseries["day"]
    return timeseries[(day >= at - 1 / 24 - 1e-9) & (day < at + 0.25 + 1 / 24 - 1e-9)]


def _clock(day: float) -> str:
    """A simulated time as the clock on the wall, e.g. ``11:38``."""
    minutes = int(round(day % 1 * 1440))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _steady_answers(policy, rate: float, start_replicas: int, steps: int = 12) -> list:
    """What a policy asks for over an hour of steady traffic, its replicas following its answers."""
    from simulator.policies import WorldView

    replicas, answers = start_replicas, []
    for k in range(steps):
        view = WorldView(now=86400.0 + 300.0 * k, drift_score=float("nan"), decay=float("nan"),
                         last_retrain=None, pipeline_busy=False, replicas=replicas, arrival_rate=rate,
                         service_mean=0.02, level=3)
        want = policy.desired_replicas(view)
        answers.append(want)
        if isinstance(want, (int, np.integer)) and not isinstance(want, bool) and want >= 1:
            replicas = int(want)
    return answers


def check_autoscaler(policy_class: type) -> None:
    """Grade an ``AutoscalingPolicy`` subclass on steady traffic and on two replays of the launch rush."""
    import simulator
    from simulator.policies import AutoscalingPolicy

    ex = "lesson4.autoscaler"
    verify(ex, isinstance(policy_class, type) and issubclass(policy_class, AutoscalingPolicy),
           "pass the class itself (e.g. RushAutoscaler, not RushAutoscaler()), a subclass of "
           "simulator.policies.AutoscalingPolicy")
    checks = 0
    for rate, start, low, high in ((100.0, 3, 1, 8), (500.0, 16, 12, 64)):
        policy = call(ex, policy_class)
        answers = call(ex, _steady_answers, policy, rate, start)
        bad = [w for w in answers if not (isinstance(w, (int, np.integer)) and not isinstance(w, bool) and w >= 1)]
        verify(ex, not bad, f"desired_replicas must return a whole number of replicas >= 1 (an int); "
                            f"at a steady {rate:.0f} req/s it returned {bad[0]!r}" if bad else "")
        last = int(answers[-1])
        verify(ex, last >= low, f"at a steady {rate:.0f} req/s (20 ms each: {rate * 0.02:.0f} Erlangs) your policy "
                                f"settles on {last} replicas; at least {low} are needed to keep utilisation "
                                f"under {rate * 0.02 / low:.0%}")
        verify(ex, last <= high, f"at a steady {rate:.0f} req/s your policy settles on {last} replicas; more than "
                                 f"{high} is money spent on idle replicas")
        checks += 3
    spec = policy_spec(policy_class)
    for seed, at in _RUSHES:
        run = call(ex, simulator.run, rush_scenario(spec, at=at, seed=seed))
        ts = run.timeseries
        rush = rush_hours(ts, at)
        where = f"in the rush that reaches 500 req/s at {_clock(at)} (seed {seed})"
        failed = float(rush.failed_requests.sum() / rush.requests.sum())
        worst = rush.loc[rush.latency_p99_ms.idxmax()]
        scale = run.events[run.events.kind == "scale"]
        first_out = scale[scale.day >= at - 1 / 48 - 1e-9].head(1)
        late = (f"; the ramp began at {_clock(at - 1 / 48)} and the first scale-out came at "
                f"{_clock(first_out.day.iloc[0])}"
                if len(first_out) else "; there was no scale-out in the ramp")
        verify(ex, failed <= MAX_FAILED_SHARE,
               f"{where}, {failed:.3%} of requests failed (at most {MAX_FAILED_SHARE:.3%} allowed){late}, "
               f"with {int(ts.replicas[ts.day < at - 1 / 24].min())} replicas before it: the autoscaler looks "
               "every 5 minutes and new replicas take 3, so the pool must carry the ramp that long")
        verify(ex, worst.latency_p99_ms <= P99_OBJECTIVE_MS,
               f"{where}, the hour from {_clock(worst.day)} had a p99 latency of "
               f"{worst.latency_p99_ms:.0f} ms (objective {P99_OBJECTIVE_MS:.0f} ms){late}")
        cost = float(run.summary["levels"]["3"]["cost"]["infrastructure"])
        verify(ex, cost <= BUDGET_DOLLARS,
               f"{where}, replicas cost ${cost:.0f} over the day (budget ${BUDGET_DOLLARS:.0f}); peak "
               f"{int(ts.replicas.max())} replicas, {int(ts.replicas.iloc[-1])} at the end: size for the "
               "objective, not more, and scale back in once the rush is over")
        checks += 3
    passed(ex, checks)
