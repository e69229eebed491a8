"""Labels as a random process: random delays, and requests that are never labelled.

Retraining and the performance monitor may use only the labels in hand.
"""
from __future__ import annotations

import numpy as np
import pytest

import simulator
from conftest import ROOT
from simulator.domains import FraudDomain
from simulator.drift import DriftSchedule
from simulator.rng import stream
from simulator.scenario import load_scenario
from simulator.store import TrafficStore
from simulator.world import train_model

DAY = 86400.0
FRAUD = ROOT / "scenarios" / "fraud_covid.yaml"
CHARGEBACKS = {"kind": "fraud", "params": {"fraud_rate": 0.005}, "train_window": "90d",
               "label_delay": {"dist": "uniform", "low": "30d", "high": "90d"}, "label_share": 0.6}


def _store(domain_spec):
    sc = load_scenario(FRAUD, domain=domain_spec)
    d = FraudDomain(sc.domain.params)
    return sc, d, TrafficStore(sc, d, DriftSchedule(d.params, sc.drift))


def test_delays_and_shares_follow_their_distributions():
    _, _, store = _store(CHARGEBACKS)
    day = store.day(3)
    delays = (day.label_at - day.times) / DAY
    assert delays.min() >= 30 and delays.max() <= 90
    n = len(delays)
    # Uniform on [30, 90]: mean 60, sd 60/sqrt(12); a share of 0.6 labelled.
    assert abs(delays.mean() - 60) < 4 * (60 / np.sqrt(12)) / np.sqrt(n)
    assert abs(day.labelled.mean() - 0.6) < 4 * np.sqrt(0.24 / n)


def test_fraction_in_hand_after_t_is_the_delay_cdf():
    _, _, store = _store(CHARGEBACKS)
    rows_then = len(store.labelled(0, 10 * DAY)["label"])
    for after in (45, 60, 75):
        in_hand = len(store.labelled(0, 10 * DAY, known_at=10 * DAY + after * DAY)["label"])
        # Requests spread over 10 days: the share in hand is the delay's CDF averaged over them.
        ages = after + np.linspace(0, 10, 1001)
        expected = np.clip((ages - 30) / 60, 0, 1).mean()
        assert in_hand / rows_then == pytest.approx(expected, abs=0.02)


def test_retraining_uses_only_labels_in_hand():
    sc, d, store = _store(CHARGEBACKS)
    now = 150 * DAY
    first = train_model(store, d, now - 30 * DAY, 60 * DAY, now, 2, stream(1, "t"), known_at=now)
    # Flip every label that has not arrived by now, and every unlabelled one: nothing may change.
    for day_index in range(int((now - 91 * DAY) // DAY), 151):
        day = store.day(day_index)
        hidden = ~day.known(now)
        day.rows["label"][hidden] = 1 - day.rows["label"][hidden]
    second = train_model(store, d, now - 30 * DAY, 60 * DAY, now, 2, stream(1, "t"), known_at=now)
    assert np.array_equal(first.scorer.weights, second.scorer.weights)
    assert first.rows < 0.6 * len(store.day(100).times) * 60


def test_fixed_delay_and_full_labels_keep_the_old_behaviour():
    sc, _, store = _store({"kind": "fraud", "label_delay": "45d"})
    assert sc.domain.labels_complete and store.day(0).label_at is None and store.day(0).labelled is None


def test_a_run_with_random_labels_retrains_and_monitors_on_what_arrived():
    sc = load_scenario(FRAUD, domain={**CHARGEBACKS, "params": {"fraud_rate": 0.005, "concept": "baseline"}},
                       levels=[3])
    run = simulator.run(sc, days=160)
    ev = run.events
    retrained = ev[ev.kind == "retrained"]
    assert len(retrained) >= 1
    # No alarm before the drift at day 75 (the monitors see only arrived labels of stable traffic).
    requested = ev[ev.kind == "retrain_requested"]
    assert requested.day.min() >= 75
