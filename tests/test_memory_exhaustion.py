"""Replicas that run out of memory when their queue outgrows ``serving.concurrency_budget``.

Without shedding, a full queue holds what the timeout lets wait: about
timeout / mean service requests per replica (50 at 1 s and 20 ms), plus the
one in service. A budget below that is overrun in an overload and the pool
crashes; a budget above it never can be.
"""
from __future__ import annotations

import pytest

import simulator
from conftest import ROOT
from simulator.scenario import load_scenario

SERVING = {"replicas": 3, "service_time": {"dist": "lognormal", "mean": "20ms", "p99": "80ms"},
           "timeout": "1s", "failures": "none"}
TRAFFIC = {"rate": "100/s", "spikes": [{"at": "1h", "multiplier": 5, "duration": "1h", "ramp": "10m"}]}
DAYS = 3 / 24


def _run(budget, levels=(0,), **replace):
    sc = load_scenario(ROOT / "scenarios" / "load_spike.yaml", levels=list(levels), traffic=TRAFFIC,
                       serving={**SERVING, "concurrency_budget": budget}, **replace)
    return simulator.run(sc, days=DAYS)


@pytest.fixture(scope="module")
def runs():
    return {budget: _run(budget) for budget in (None, 20, 60)}


def _oom_crashes(run, level=0):
    ev = run.events
    return ev[(ev.level == level) & (ev.kind == "replica_crash") & ev.detail.str.contains("out of memory")]


def test_a_budget_under_the_full_queue_crashes_the_pool(runs):
    crashes = _oom_crashes(runs[20])
    assert len(crashes) >= 1
    assert crashes.day.min() * 24 >= 50 / 60  # not before the rush ramps in (1 h, less its 10 min ramp)
    # A crash takes the whole pool down for its restart: worse than queueing alone
    # (the overload's minutes count as downtime either way, so compare failures).
    assert runs[20].summary["levels"]["0"]["failed_requests"] > runs[None].summary["levels"]["0"]["failed_requests"]


def test_a_budget_over_the_full_queue_is_never_overrun(runs):
    assert _oom_crashes(runs[60]).empty
    assert runs[60].summary["levels"]["0"] == runs[None].summary["levels"]["0"]


def test_shedding_keeps_the_queue_inside_the_budget():
    # Shedding after 100 ms of waiting holds about 100 ms / 20 ms = 5 requests per replica in its
    # queue, far inside a budget of 20; shedding after 500 ms lets 25 wait, past it.
    early = _run(20, levels=(3,), overrides={3: {"shedding": {"enabled": True, "after": "100ms"}}})
    assert _oom_crashes(early, level=3).empty
    late = _run(20, levels=(3,), overrides={3: {"shedding": {"enabled": True, "after": "500ms"}}})
    assert len(_oom_crashes(late, level=3)) >= 1
