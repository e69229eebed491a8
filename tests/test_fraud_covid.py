"""fraud_covid, as shipped, against the figures its issue gives.

The full run (365 days, four levels) is computed once per session.
"""
from __future__ import annotations

import pytest

from conftest import FRAUD


def level(run, n):
    return run.summary["levels"][str(n)]


def test_level_0_loses_at_least_0_08_of_auc_after_the_drift(fraud_full):
    m = level(fraud_full, 0)["model"]
    assert m["pre_drift"] - m["post_drift"] >= 0.08


def test_level_3_post_drift_is_at_least_0_05_above_level_0(fraud_full):
    assert level(fraud_full, 3)["model"]["post_drift"] - level(fraud_full, 0)["model"]["post_drift"] >= 0.05


def test_total_cost_falls_strictly_with_maturity_and_level_3_costs_at_most_70_percent(fraud_full):
    totals = [level(fraud_full, n)["cost"]["total"] for n in range(4)]
    assert totals == sorted(totals, reverse=True) and len(set(totals)) == 4
    assert totals[3] <= 0.70 * totals[0]


def test_the_gap_comes_from_mechanisms_visible_in_events(fraud_full):
    ev = fraud_full.events
    drift_day = 75
    # Decay caught late: level 0's first retrain is on its calendar, months after the drift;
    # level 3's is triggered by the drift within two weeks of its start.
    first = {n: ev[(ev.level == n) & (ev.kind == "retrain_requested")].iloc[0] for n in (0, 3)}
    assert first[0]["detail"] == "schedule" and first[0]["day"] - drift_day > 90
    assert first[3]["detail"] == "drift" and 0 <= first[3]["day"] - drift_day <= 14
    # Failed deploys happen and are recorded; level 3's canary keeps bad releases from traffic.
    assert (ev.kind == "deploy_failed").sum() > 0
    # Slow incident response: the spike's outage lasts far longer at level 0 than at level 3,
    # whose autoscaler and load shedding keep requests from failing at all.
    assert level(fraud_full, 0)["downtime_minutes"] > 10 * max(level(fraud_full, 3)["downtime_minutes"], 1)
    for n in range(3):
        assert (ev[ev.level == n].kind == "incident").sum() >= 1
    assert level(fraud_full, 3)["shed_requests"] > 0


def test_levels_3_and_0_alone_reproduce_the_default_run_exactly(fraud_full):
    import simulator

    pair = simulator.run(FRAUD, levels=[3, 0])
    assert list(pair.summary["levels"]) == ["0", "3"]
    for n in ("0", "3"):
        assert pair.summary["levels"][n] == fraud_full.summary["levels"][n]


def test_summary_has_the_public_keys(fraud_full):
    s = fraud_full.summary
    assert {"scenario", "seed", "duration_days", "levels"} <= set(s)
    lv = s["levels"]["0"]
    for key in ("requests", "failed_requests", "availability", "latency_ms", "queue_wait_ms", "model", "retrains",
                "deploys", "failed_deploys", "rollbacks", "incidents", "downtime_minutes",
                "deploy_lead_time_hours", "cost"):
        assert key in lv
    assert set(lv["latency_ms"]) == {"mean", "p50", "p95", "p99"}
    assert {"metric", "higher_is_better", "pre_drift", "post_drift", "mean", "min"} <= set(lv["model"])
    assert set(lv["cost"]) == {"model_errors", "outage", "infrastructure", "people", "total"}
    assert lv["cost"]["total"] == pytest.approx(sum(v for k, v in lv["cost"].items() if k != "total"), rel=1e-5)
