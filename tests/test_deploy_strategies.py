"""Deployment strategies against a bad release: stepped canary, shadow and blue-green."""
from __future__ import annotations

import pytest

import simulator
from conftest import ROOT
from simulator.scenario import load_scenario

BAD_DEPLOY = ROOT / "scenarios" / "bad_deploy.yaml"
SILENT = "python_version_mismatch"  # runs, answers, reads its inputs in the wrong order


def _run(level: int, deployment: dict, fault: str | None = SILENT, days: float = 4, **extra_overrides):
    base = {"deployment": {"failure_rate": 0.0, **deployment}, "retraining": {"trigger": "never"},
            **extra_overrides}
    releases = [{"at": "2d", "fault": fault}] if fault else []
    sc = load_scenario(BAD_DEPLOY, levels=[level], overrides={level: base}, releases=releases,
                       serving={"replicas": 4, "failures": "none",
                                "service_time": {"dist": "lognormal", "mean": "20ms", "p99": "80ms"}})
    return simulator.run(sc, days=days)


def _events(run, kind):
    ev = run.events
    return ev[ev.kind == kind]


def test_a_stepped_canary_stops_a_bad_release_at_its_first_step():
    run = _run(3, {"canary_steps": [0.05, 0.25, 1.0]})
    rollback = _events(run, "rollback")
    assert len(rollback) == 1 and "canary step 1 at 5%" in rollback.detail.iloc[0]
    failed = _events(run, "deploy_failed")
    assert "PSI" in failed.detail.iloc[0]
    # The broken build never went live; the retry (healthy) did.
    deployed = _events(run, "deployed")
    assert len(deployed) == 2 and run.summary["levels"]["3"]["rollbacks"] == 1


def test_a_trusting_rollback_rule_lets_the_bad_release_through_every_step():
    run = _run(3, {"canary_steps": [0.05, 0.25, 1.0], "policy": "student_policies:TrustEveryCanary"})
    assert _events(run, "rollback").empty or "by hand" in _events(run, "rollback").detail.iloc[0]
    # It went live, broken, until the silent-failure monitor noticed.
    failed = _events(run, "deploy_failed")
    assert len(failed) == 1 and SILENT in failed.detail.iloc[0]


@pytest.fixture(autouse=True)
def _plugins(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "plugins"))


def test_a_shadow_release_is_judged_without_serving_anyone():
    shadow = _run(3, {"strategy": "shadow"})
    rollback = _events(shadow, "rollback")
    assert len(rollback) >= 1 and "shadow" in rollback.detail.iloc[0]
    baseline = simulator.run(load_scenario(BAD_DEPLOY, levels=[3], releases=[],
                                           overrides={3: {"deployment": {"failure_rate": 0.0},
                                                          "retraining": {"trigger": "never"}}},
                                           serving={"replicas": 4, "failures": "none",
                                                    "service_time": {"dist": "lognormal", "mean": "20ms",
                                                                     "p99": "80ms"}}), days=4)
    # Until the shadow was judged, decisions (and so model-error costs) are those of a run with no release.
    cut = rollback.day.iloc[0]
    ts, base = shadow.timeseries, baseline.timeseries
    upto = ts[ts.day + 1 / 24 <= cut].cost_model_errors.iloc[-1]
    assert upto == base[base.day + 1 / 24 <= cut].cost_model_errors.iloc[-1]
    # The shadow pool is paid for.
    assert shadow.summary["levels"]["3"]["cost"]["infrastructure"] > baseline.summary["levels"]["3"]["cost"]["infrastructure"]


def test_blue_green_switches_back_without_a_repair():
    run = _run(2, {"strategy": "blue_green", "canary_duration": "2d"})
    rollback = _events(run, "rollback")
    assert len(rollback) == 1 and "blue-green switch back" in rollback.detail.iloc[0]
    # Level 2 notices a silent failure after a day; blue-green rolls back at once, not after a repair.
    deployed_at = _events(run, "deployed").day.iloc[-1] if len(_events(run, "deployed")) > 1 else None
    started = _events(run, "deploy_started").day.iloc[0]
    assert rollback.day.iloc[0] - started == pytest.approx(1.0, abs=1e-6)
    assert deployed_at is None or deployed_at > rollback.day.iloc[0]


def test_an_ab_test_keeps_a_broken_challenger_out_and_promotes_a_better_one():
    """After the fraud drift, a model retrained on the new fraud costs less than the stale one;
    before it, a broken build costs more than the healthy champion.

    Labels arrive after 10 days here, so the release at day 100 learns the new fraud of days 60-90.
    (After the drift even a broken build can beat the stale model: the test is about cost, not health.)
    """
    def ab(fault, at, days):
        sc = load_scenario(ROOT / "scenarios" / "fraud_covid.yaml", levels=[2], releases=[{"at": at, "fault": fault}],
                           domain={"kind": "fraud", "params": {"fraud_rate": 0.005, "card_not_present_share": 0.3},
                                   "label_delay": "10d", "train_window": "90d"},
                           overrides={2: {"retraining": {"trigger": "never", "window": "30d"},
                                          "deployment": {"strategy": "ab_test", "canary_share": 0.5,
                                                         "canary_duration": "7d", "failure_rate": 0.0}}})
        return simulator.run(sc, days=days)

    better, broken = ab("none", "100d", 120), ab(SILENT, "20d", 40)
    good = _events(better, "ab_test").detail.iloc[0]
    bad = _events(broken, "ab_test").detail.iloc[0]
    assert "challenger wins" in good, good
    assert "champion stays" in bad, bad
    assert len(_events(broken, "deployed")) == 1  # only the initial model ever went live
