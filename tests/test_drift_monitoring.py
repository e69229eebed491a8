"""Level 3's drift monitor against the ground truth: quick on a real drift, quiet on stable traffic."""
from __future__ import annotations

import pytest

import simulator
from conftest import ROOT
from simulator.detector_scoring import alert_days, score_alerts
from simulator.scenario import load_scenario

FRAUD = ROOT / "scenarios" / "fraud_covid.yaml"


@pytest.fixture(scope="module")
def drifting():
    return simulator.run(FRAUD, levels=[3], days=100)


@pytest.fixture(scope="module")
def stable():
    """fraud_covid's year with no drift: Black Friday's rush is the only change."""
    return simulator.run(load_scenario(FRAUD, levels=[3], drift=[]))


def test_a_drift_triggered_retrain_fires_within_a_week_of_the_drift(drifting):
    start = drifting.drifts.start_day.iloc[0]
    ev = drifting.events
    drift_retrains = ev[(ev.kind == "retrain_requested") & ev.detail.str.contains("drift")]
    assert len(drift_retrains)
    first = drift_retrains.day.min()
    assert start <= first <= start + 7
    # None in the 60 days before the drift, and no alert either.
    before = ev[(ev.day >= start - 60) & (ev.day < start)]
    assert not before.kind.isin(["retrain_requested", "alert"]).any()


def test_scored_against_the_truth(drifting):
    score = score_alerts(alert_days(drifting.events, level=3), drifting.drifts, 100)
    assert score.missed == 0 and score.delays[0] <= 7


def test_false_alarms_on_a_stable_year_stay_rare(stable):
    """At alpha = 0.001 a day, a stable year expects about 0.4 false alarms; Black Friday may add one."""
    ev = stable.events
    alerts = ev[(ev.kind == "alert") & ev.detail.str.contains("drift")]
    assert len(alerts) <= 3
    assert (ev[ev.kind == "retrain_requested"].detail.str.contains("drift")).sum() <= 3
