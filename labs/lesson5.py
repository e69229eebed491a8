"""Graders of lesson 5, deployment strategies: a rollback rule for a stepped canary.

The rule is checked on hidden canary observations (healthy builds must go
on, broken ones must be rolled back) and by two short simulated releases
through a stepped canary, one broken in a way the lesson does not show.

>>> from simulator.policies import CanaryCheck
>>> [expected for _, _, expected in CASES].count(True), len(CASES)
(6, 10)
"""
from __future__ import annotations

import math

from simulator.policies import CanaryCheck, DeploymentPolicy, WorldView

from .grading import call, passed, verify
from .lesson4 import policy_spec

NAN = float("nan")

#: (what it is, the canary's observation, should it be rolled back?)
CASES = (
    ("a healthy build at the first 5% step", CanaryCheck(0.05, 0, 0.0, 1.0, True), False),
    ("a healthy build at 25%, scores a little noisy (PSI 0.02), 10% slower", CanaryCheck(0.25, 1, 0.02, 1.1, True), False),
    ("a healthy build at 100%, PSI 0.04 and 25% slower", CanaryCheck(1.0, 2, 0.04, 1.25, True), False),
    ("a healthy shadow build, a little faster", CanaryCheck(0.0, 0, 0.01, 0.9, True), False),
    ("a build that never started (crashed on start)", CanaryCheck(0.05, 0, NAN, 1.0, False), True),
    ("a build whose scores moved far from its registry model's (PSI 1.86)", CanaryCheck(0.05, 0, 1.86, 1.0, True), True),
    ("a build at 25% whose scores moved (PSI 0.3)", CanaryCheck(0.25, 1, 0.3, 1.0, True), True),
    ("a build five times slower than the live one", CanaryCheck(0.05, 0, 0.0, 5.0, True), True),
    ("a shadow build 2.5 times slower", CanaryCheck(0.0, 0, 0.02, 2.5, True), True),
    ("a canary that scored no request (score PSI is NaN: no evidence)", CanaryCheck(0.05, 0, NAN, 1.0, True), True),
)

#: A level 3 world in the middle of a release, as the rule sees it.
VIEW = WorldView(now=0.45 * 86400, drift_score=0.03, decay=float("nan"), last_retrain=0.4 * 86400,
                 pipeline_busy=True, replicas=4, arrival_rate=50.0, service_mean=0.02, level=3, live_version=1)

STEPS = [0.05, 0.25, 1.0]


def release_scenario(policy: str | None, fault: str, at: float = 0.4, days: float = 1.5, level: int = 3,
                     deployment: dict | None = None):
    """bad_deploy, short: one release at day ``at`` broken by ``fault``, through ``level``'s deployment.

    With ``policy``, the level's rollback rule is that ``"module:Class"``;
    ``deployment`` replaces more deployment settings (a stepped canary by
    default). Two weeks of training history and no random failures keep a
    run near a second.
    """
    import labs
    from simulator.scenario import load_scenario

    dep = {"failure_rate": 0.0, "lead_time": "30m", "canary_steps": STEPS, **(deployment or {})}
    if policy is not None:
        dep["policy"] = policy
    return load_scenario(
        labs.scenario_path("bad_deploy"), levels=[level], duration=f"{days}d",
        releases=[{"at": f"{at}d", "fault": fault}],
        overrides={level: {"deployment": dep, "retraining": {"trigger": "never", "window": "14d"}}},
        domain={"kind": "fraud", "params": {"fraud_rate": 0.005}, "label_delay": "45d", "train_window": "14d"},
        serving={"replicas": 4, "failures": "none",
                 "service_time": {"dist": "lognormal", "mean": "20ms", "p99": "80ms"}})


def check_rollback_rule(rule_class: type) -> None:
    """Grade a ``DeploymentPolicy`` subclass: hidden canary observations, then two simulated releases."""
    import simulator

    ex = "lesson5.rollback"
    verify(ex, isinstance(rule_class, type) and issubclass(rule_class, DeploymentPolicy),
           "pass the class itself (e.g. MyRollbackRule, not MyRollbackRule()), a subclass of "
           "simulator.policies.DeploymentPolicy")
    rule = call(ex, rule_class)
    for what, check, expected in CASES:
        got = call(ex, rule.should_rollback, VIEW, check)
        verify(ex, got is True or got is False or type(got).__name__ == "bool_",
               f"should_rollback must return True or False, not {type(got).__name__} {got!r} (for {what})")
        if got != expected:
            fields = (f"share={check.share}, step={check.step}, score_psi={check.score_psi}, "
                      f"latency_ratio={check.latency_ratio}, started={check.started}")
            if expected:
                extra = (" — every comparison with NaN is False, so `psi > limit` lets it through; test "
                         "math.isnan(check.score_psi) first" if math.isnan(check.score_psi) and check.started else "")
                verify(ex, False, f"{what} ({fields}) must be rolled back; your rule let it go on{extra}")
            verify(ex, False, f"{what} ({fields}) must go on; your rule rolled it back — a rule that rolls back "
                              "healthy builds blocks every release (healthy parity PSI stays under 0.05, speed "
                              "within 30%)")
    checks = len(CASES)
    spec = policy_spec(rule_class)
    broken = call(ex, simulator.run, release_scenario(spec, "latency_regression", at=0.4))
    ev = broken.events
    rollback = ev[ev.kind == "rollback"]
    verify(ex, len(rollback) >= 1 and "canary step 1" in rollback.detail.iloc[0],
           "in a simulated release of a build five times slower (latency_regression), the stepped canary "
           "should stop it at its first step (5%); events: "
           + ("; ".join(f"{k} ({d})" for k, d in zip(ev.kind, ev.detail) if k not in ("drift_started", "drift_ended"))))
    healthy = call(ex, simulator.run, release_scenario(spec, "none", at=0.6))
    ev = healthy.events
    verify(ex, (ev.kind == "rollback").sum() == 0 and ((ev.kind == "deployed") & (ev.day > 0)).sum() == 1,
           "in a simulated healthy release, your rule should let the build through all three canary steps "
           "(5%, 25%, 100%), but " + ("it was rolled back: "
                                      + rollback_detail(ev) if (ev.kind == "rollback").any() else "it never went live"))
    passed(ex, checks + 2)


def rollback_detail(events) -> str:
    """The first rollback's reason, from a run's events (deploy_failed carries it)."""
    failed = events[events.kind == "deploy_failed"]
    return failed.detail.iloc[0] if len(failed) else events[events.kind == "rollback"].detail.iloc[0]
