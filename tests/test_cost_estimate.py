"""The model-error estimate: unbiased, with an honest standard error, and a breakdown that adds up.

Each day a bounded sample of requests is scored and weighted up to the real
volume. Each row is costed in expectation over its label given its inputs
(``Domain.expected_error_costs``), and fraud's risky payments are costed on
four times as many candidates as the sample holds (``Domain.cost_stratum``,
``simulator.store.Day``), so a few rare frauds, each standing for hundreds of
payments, no longer decide what a level pays.
"""
from __future__ import annotations

import numpy as np
import pytest

import simulator
from conftest import ROOT
from simulator.dataplane import DataPlane, Release
from simulator.domains.fraud import FraudDomain
from simulator.drift import DriftSchedule
from simulator.ledger import BREAKDOWN, PART_OF
from simulator.rng import stream
from simulator.serving import queue_for
from simulator.serving.queueing import ServiceModel
from simulator.store import TrafficStore
from simulator.traffic import DAY
from simulator.world import train_model

BAD_DEPLOY = ROOT / "scenarios" / "bad_deploy.yaml"
COSTS = {"false_positive": 5.0}
TICKS = 1440


def test_expected_costs_are_unbiased_for_the_full_volume_cost():
    # A "day" small enough to cost whole: 200,000 payments with their realised labels.
    domain = FraudDomain()
    rng = np.random.default_rng(3)
    day = domain.sample(rng.uniform(0, 24, 200_000), {}, rng)
    flagged = domain.fallback_flags(day)  # any fixed decisions will do
    realised = domain.error_costs(day, flagged, COSTS)
    expected = domain.expected_error_costs(day, flagged, COSTS)
    # E[realised | inputs] = expected: the full-volume cost lies within the labels' own noise of it.
    p = day["fraud_probability"].astype(np.float64)
    label_sd = np.sqrt(np.sum(p * (1 - p) * (np.where(flagged, COSTS["false_positive"], day["amount"])) ** 2))
    assert abs(realised.sum() - expected.sum()) < 4 * label_sd
    # Samples of 8,000 weighted up: their mean is the full-volume figure, and they vary far less
    # than the same samples costed on their labels.
    n, k = 8_000, 300
    draws = rng.integers(0, len(p), (k, n))
    with_expectation = expected[draws].sum(axis=1) * len(p) / n
    with_labels = realised[draws].sum(axis=1) * len(p) / n
    assert abs(with_expectation.mean() - expected.sum()) < 3 * with_expectation.std() / np.sqrt(k)
    assert with_expectation.std() < 0.5 * with_labels.std()


@pytest.fixture(scope="module")
def small_day():
    """A flat day of card payments at 5/s, a fixed model, and its full-volume cost per request by tick."""
    sc = simulator.load_scenario(
        BAD_DEPLOY, duration="1d", releases=[],
        domain={"kind": "fraud", "params": {"fraud_rate": 0.005}, "label_delay": "45d", "train_window": "5d"},
        traffic={"rate": "5/s", "daily_cycle": 0.0, "sample_per_day": 4000})
    domain = FraudDomain(sc.domain.params)
    schedule = DriftSchedule(domain.params, sc.drift)
    with TrafficStore(sc, domain, schedule) as store:
        model = train_model(store, domain, 0.0, 5 * DAY, 0.0, 1, stream(0, "test-model"))
    # The full volume, in expectation: two million payments, costed whole, by the tick they come in.
    rng = np.random.default_rng(0)
    tick = rng.integers(0, TICKS, 2_000_000)
    rows = domain.sample((tick + rng.random(len(tick))) / 60.0, schedule.states[0], rng)
    X = domain.features(rows)
    costs = sc.costs.model_dump()
    served = domain.expected_error_costs(rows, domain.decide(model.scorer.score(X), model.scorer.threshold), costs)
    unscored = domain.expected_error_costs(rows, domain.unscored_decisions(rows), costs)
    count = np.bincount(tick, minlength=TICKS)
    per_tick = {name: np.bincount(tick, values, TICKS) / count
                for name, values in (("served", served), ("unscored", unscored))}
    return sc, domain, schedule, model, per_tick


def _cost_a_day(sc, domain, schedule, model, down_from: float | None = None):
    """One day served and costed by a data plane; the service is down from ``down_from`` on."""
    with TrafficStore(sc, domain, schedule) as store:
        plane = DataPlane(sc, 1, domain, store, queue_for(sc, ServiceModel(sc.serving.service_time), None),
                          Release(model, model.scorer))
        if down_from is not None:
            plane.serve_until(down_from)
            plane.down = True
        plane.serve_until(DAY)
        plane.close_day({}, 0.0)
        return plane, store.day(0)


def test_a_days_cost_is_unbiased_and_its_standard_error_is_right(small_day):
    sc, domain, schedule, model, per_tick = small_day
    for down in (False, True):  # all answered; down for the second half (decisions left unmade)
        errors, ses = [], []
        for k in range(100):
            plane, day = _cost_a_day(sc.model_copy(update={"seed": 1000 + k}), domain, schedule, model,
                                     DAY / 2 if down else None)
            mu = np.where(np.arange(TICKS) >= TICKS // 2, per_tick["unscored"], per_tick["served"]) if down \
                else per_tick["served"]
            truth = day.arrivals @ mu  # the day's full-volume cost, in expectation over its requests
            assert day.cost_candidates == 4 * len(day.times)
            assert plane.ledger.amounts["model_errors"] == pytest.approx(sum(plane.breakdown[p] for p in (
                "model_decisions", "fallback_decisions", "unscored_decisions")), rel=1e-9)
            if down:
                assert plane.breakdown["unscored_decisions"] > plane.breakdown["model_decisions"] > 0
            errors.append(plane.ledger.amounts["model_errors"] - truth)
            ses.append(np.sqrt(plane.model_errors_variance))
        e, se = np.array(errors), np.array(ses)
        assert abs(e.mean()) < 3 * e.std() / np.sqrt(len(e))         # unbiased
        assert 0.8 < e.std() / np.sqrt(np.mean(se ** 2)) < 1.25       # the standard error is the spread's
        assert 0.85 <= np.mean(np.abs(e) < 1.96 * se) <= 0.99         # and covers about as a 95% interval should


def test_the_risky_payments_stratum_halves_the_standard_error(small_day, monkeypatch):
    sc, domain, schedule, model, _ = small_day
    with_stratum = [_cost_a_day(sc.model_copy(update={"seed": 50 + k}), domain, schedule, model)[0]
                    .model_errors_variance for k in range(20)]
    monkeypatch.setattr(FraudDomain, "cost_oversample", 0)
    sample_only = [_cost_a_day(sc.model_copy(update={"seed": 50 + k}), domain, schedule, model)[0]
                   .model_errors_variance for k in range(20)]
    assert np.mean(sample_only) > 3 * np.mean(with_stratum)


def test_the_same_seed_gives_the_same_costs():
    a, b = (simulator.run(BAD_DEPLOY, days=2, levels=[0, 3]) for _ in range(2))
    assert a.summary == b.summary
    assert a.timeseries.equals(b.timeseries)


@pytest.fixture(scope="module")
def bad_deploy():
    return simulator.run(BAD_DEPLOY)


def test_breakdown_adds_up_to_model_errors_and_outage(bad_deploy):
    ts = bad_deploy.timeseries
    for level, s in bad_deploy.summary["levels"].items():
        parts, cost = s["cost_breakdown"], s["cost"]
        assert list(parts) == list(BREAKDOWN)
        for category in ("model_errors", "outage"):
            mine = [p for p in BREAKDOWN if PART_OF[p] == category]
            assert sum(parts[p] for p in mine) == pytest.approx(cost[category], rel=1e-5, abs=1e-3)
            last = ts[ts.level == int(level)].iloc[-1]
            assert sum(last[f"cost_{p}"] for p in mine) == pytest.approx(last[f"cost_{category}"], rel=1e-9, abs=1e-9)
        # The timeseries' columns are cumulative like the others; its last standard error is the summary's.
        rows = ts[ts.level == int(level)]
        assert all((rows[f"cost_{p}"].diff().dropna() >= -1e-6).all() for p in BREAKDOWN)
        assert rows.cost_model_errors_se.iloc[-1] == pytest.approx(s["cost_standard_error"]["model_errors"], rel=1e-5)
        assert 0 < s["cost_standard_error"]["model_errors"] < 0.05 * cost["model_errors"]
    level0 = bad_deploy.summary["levels"]["0"]["cost_breakdown"]
    # The half-day outage's real price: the payments let through unscored, far beyond the downtime.
    assert level0["unscored_decisions"] > 10 * (level0["downtime"] + level0["failed_requests"]) > 0


def test_levels_with_the_same_model_pay_the_same(bad_deploy):
    # Before the release every level serves the first model on the same requests: levels 0-2 pay
    # the same, and level 3 differs only by the few requests it sheds to the fallback rule.
    ts = bad_deploy.timeseries
    hourly = {lvl: ts[ts.level == lvl].set_index("day").cost_model_errors.diff().loc[0.01:10.0] for lvl in range(4)}
    for lvl in (1, 2):
        assert (hourly[lvl] - hourly[0]).abs().max() < 1.0
    assert (hourly[3] - hourly[2]).abs().max() < 1_000


def test_every_level_trains_the_same_release_model(bad_deploy):
    # Every level retrains on the same window at the scripted release, so they train one model:
    # the training stream is keyed by the data, not by the level.
    ev = bad_deploy.events
    details = ev[ev.kind == "retrained"].groupby("level").detail.first()
    assert len(details) == 4 and details.nunique() == 1


def test_a_canary_makes_the_bad_release_cheapest(bad_deploy):
    # The scenario's point: behind a canary the broken release is a non-event, so level 3 pays least.
    total = {int(k): v["cost"]["total"] for k, v in bad_deploy.summary["levels"].items()}
    assert total[3] <= min(total[1], total[2]) < total[0]
    # Level 3 sheds nothing in normal diurnal traffic: its autoscaler keeps waits below the shed point.
    assert bad_deploy.summary["levels"]["3"]["cost_breakdown"]["fallback_decisions"] < 1.0
