"""Serving figures that stay true end to end: capacity changes, latency bounds, extreme settings.

- A replica that crashes for a few minutes: tick mode's failed requests and
  downtime within 10% of request mode's (the ground truth).
- Every latency figure is bounded by the timeout, and ``timeseries.csv``'s
  hourly means, weighted by the requests they are over (every request but
  those shed to the fallback), give ``summary.json``'s mean.
- Settings the queue can represent, however extreme (one replica at three
  times its capacity, a timeout of a millisecond), run in both modes and give
  figures inside their bounds.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import simulator
from conftest import ROOT
from simulator.scenario import load_scenario

SPIKE = ROOT / "scenarios" / "load_spike.yaml"
SERVING = {"replicas": 3, "service_time": {"dist": "lognormal", "mean": "20ms", "p99": "80ms"}, "timeout": "1s"}


def _run(fidelity: str, days: float, levels=(0,), **changes):
    sc = load_scenario(SPIKE, levels=list(levels), fidelity=fidelity, **changes)
    return simulator.run(sc, days=days)


def test_short_crashes_fail_as_many_requests_as_request_mode():
    # Three replicas at 100 req/s (67% load) crash every 2 h each on average and restart in
    # 2 minutes: with one down the other two run at 100% load until it is back.
    changes = dict(traffic={"rate": "100/s"},
                   serving={**SERVING, "replica_mtbf": "2h", "restart_time": "2m"})
    tick, request = _run("tick", 1.0, **changes), _run("request", 1.0, **changes)
    crashes = (tick.events.kind == "replica_crash").sum()
    assert crashes == (request.events.kind == "replica_crash").sum() > 20  # the same crashes in both
    t, r = tick.summary["levels"]["0"], request.summary["levels"]["0"]
    assert r["failed_requests"] > 0  # the crashes do cost requests
    assert t["failed_requests"] == pytest.approx(r["failed_requests"], rel=0.10)
    assert t["downtime_minutes"] == pytest.approx(r["downtime_minutes"], rel=0.10, abs=1e-9)


@pytest.mark.parametrize("fidelity", ["tick", "request"])
def test_latency_is_bounded_by_the_timeout_and_hourly_means_add_up(fidelity):
    # Level 0 overloaded (the rush fails requests at the timeout), level 3 shedding.
    changes = dict(traffic={"rate": "100/s", "spikes": [{"at": "2h", "multiplier": 5, "duration": "1h",
                                                           "ramp": "10m"}]},
                   serving={**SERVING, "failures": "none"})
    run = _run(fidelity, 5 / 24, levels=(0, 3), **changes)
    ts = run.timeseries
    for level in (0, 3):
        rows = ts[ts.level == level]
        s = run.summary["levels"][str(level)]
        assert (rows.latency_mean_ms <= 1000 + 1e-9).all() and (rows.latency_p99_ms <= 1000 * 1.07).all()
        assert s["latency_ms"]["mean"] <= 1000 and s["latency_ms"]["p99"] <= 1000 * 1.07  # one bin's width
        weights = rows.requests - rows.shed_requests
        hourly = float((rows.latency_mean_ms * weights).sum() / weights.sum())
        assert hourly == pytest.approx(s["latency_ms"]["mean"], rel=1e-6)
    assert run.summary["levels"]["0"]["failed_requests"] > 0.1 * run.summary["levels"]["0"]["requests"]


def _inside_bounds(summary: dict, timeout_ms: float) -> None:
    for level, s in summary["levels"].items():
        assert 0.0 <= s["availability"] <= 1.0, level
        for key in ("requests", "failed_requests", "shed_requests", "downtime_minutes"):
            assert s[key] >= 0 and math.isfinite(s[key]), (level, key)
        assert s["failed_requests"] + s["shed_requests"] <= s["requests"] * (1 + 1e-9), level
        for key, value in s["cost"].items():
            if isinstance(value, (int, float)):
                assert math.isfinite(value) and value >= 0, (level, key)
        for key in ("mean", "p99"):
            value = s["latency_ms"][key]
            assert value is None or value <= timeout_ms * 1.07, (level, key)


@pytest.mark.parametrize("fidelity", ["tick", "request"])
@pytest.mark.parametrize("case", ["three-times-capacity", "millisecond-timeout"])
def test_extreme_settings_run_and_stay_inside_their_bounds(fidelity, case):
    if case == "three-times-capacity":  # one replica of 50 req/s at 150 req/s, for an hour
        serving, rate, timeout_ms = {**SERVING, "replicas": 1, "failures": "none"}, "150/s", 1000.0
    else:  # every request takes longer than the timeout
        serving, rate, timeout_ms = {**SERVING, "timeout": "1ms", "failures": "none"}, "100/s", 1.0
    run = _run(fidelity, 1 / 24, levels=(0, 3), traffic={"rate": rate}, serving=serving)
    _inside_bounds(run.summary, timeout_ms)
    level0 = run.summary["levels"]["0"]
    assert level0["failed_requests"] > 0.5 * level0["requests"]  # the setting does break level 0
    assert np.isfinite(run.timeseries.select_dtypes("number").to_numpy()[:, 1:]).sum() > 0
