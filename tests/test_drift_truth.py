"""The ground truth of drift in the results, and the monitors seeing what the truth says moved."""
from __future__ import annotations

import numpy as np
import pytest

import simulator
from conftest import ROOT
from simulator.domains import FraudDomain
from simulator.drift import DriftSchedule
from simulator.monitoring import Reference
from simulator.scenario import load_scenario
from simulator.store import TrafficStore

DAY = 86400.0


def test_events_and_api_carry_each_drifts_truth():
    run = simulator.run(ROOT / "scenarios" / "fraud_covid.yaml", levels=[0], days=100)
    truth = run.drifts
    assert len(truth) == 1
    row = truth.iloc[0]
    assert (row["shape"], row.start_day, row.end_day) == ("gradual", 75.0, 96.0)
    assert row.distributions == ["concept", "covariate", "prior"]
    assert {"card_present", "merchant_category", "velocity_24h"} <= set(row.features)
    ev = run.events
    started, ended = ev[ev.kind == "drift_started"], ev[ev.kind == "drift_ended"]
    assert started.day.tolist() == [75.0] and ended.day.tolist() == [96.0]
    assert "gradual" in started.detail.iloc[0] and "concept" in started.detail.iloc[0]


@pytest.mark.parametrize("change", [{"card_not_present_share": 0.9}, {"foreign_share": 0.3},
                                    {"velocity_mean": 4.0}, {"amount_median": 80.0}])
def test_psi_sees_the_drifted_features_and_not_the_others(change):
    """After a sudden covariate drift, PSI > 0.2 on the features the truth says moved, < 0.1 on the rest."""
    sc = load_scenario(ROOT / "scenarios" / "fraud_covid.yaml",
                       drift=[{"at": "10d", "kind": "sudden", "set": change}])
    domain = FraudDomain(sc.domain.params)
    schedule = DriftSchedule(domain.params, sc.drift)
    store = TrafficStore(sc, domain, schedule)
    reference = Reference.from_rows(store.labelled(0.0, 10 * DAY), domain.drift_columns)
    after = reference.psi(store.labelled(11 * DAY, 14 * DAY))
    before = reference.psi(store.labelled(-3 * DAY, 0.0))
    moved = set(schedule.truth(domain.param_targets, sc.duration)[0]["features"])
    assert moved
    for column, value in after.items():
        if column in moved:
            assert value > 0.2, (column, value)
        else:
            assert value < 0.1, (column, value)
    assert max(before.values()) < 0.1  # no false alarm on the same distribution
