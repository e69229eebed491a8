"""Tick mode serving its busy ticks request by request (``serving.exact_above``).

The exact ticks draw the same requests as request mode, so where tick mode
goes exact the two must agree to the request; over a whole spike, with
quiet ticks in closed form, they agree far inside the issue's 10%.
"""
from __future__ import annotations

import numpy as np
import simulator
from conftest import ROOT
from simulator.scenario import ServiceTime, load_scenario
from simulator.serving.latency import CENTRES
from simulator.serving.queueing import ServiceModel, TickQueue
from simulator.serving.request import RequestQueue

SERVICE = ServiceModel(ServiceTime(dist="lognormal", mean="20ms", p99="80ms"))
TICK, TIMEOUT, C = 60.0, 1.0, 3


def _spike(n: int = 90) -> np.ndarray:
    """Arrivals per minute: 100/s, a rush to 500/s, back to 100/s."""
    rng = np.random.default_rng(3)
    rate = np.where((np.arange(n) >= 30) & (np.arange(n) < 60), 500.0, 100.0)
    return rng.poisson(rate * TICK).astype(np.float64)


def _run(queue, arrivals, request_mode: bool):
    hist = np.zeros(len(CENTRES))
    return queue.serve(arrivals, C, 0.0, hist=hist), hist


def test_every_tick_exact_is_request_mode_to_the_request():
    arrivals = _spike()
    tick, tick_hist = _run(TickQueue(SERVICE, TICK, TIMEOUT, exact_above=1e-9, seed=5), arrivals, False)
    exact, exact_hist = _run(RequestQueue(SERVICE, TICK, TIMEOUT, seed=5, replicas=C), arrivals, True)
    np.testing.assert_array_equal(tick.failed, exact.failed)
    np.testing.assert_array_equal(tick.wait, exact.wait)
    np.testing.assert_array_equal(tick_hist, exact_hist)


def test_busy_ticks_exact_quiet_ticks_closed_form():
    arrivals = _spike()
    adaptive, _ = _run(TickQueue(SERVICE, TICK, TIMEOUT, exact_above=0.9, seed=5), arrivals, False)
    exact, _ = _run(RequestQueue(SERVICE, TICK, TIMEOUT, seed=5, replicas=C), arrivals, True)
    rush = slice(30, 60)
    # The rush is overloaded (500/s on 150/s of capacity): served exactly, so identical
    # from its first tick on but for the closed form's empty queue at the start.
    np.testing.assert_allclose(adaptive.failed[rush].sum(), exact.failed[rush].sum(), rtol=1e-3)
    # At 100/s (67% load) the closed form is used: (next to) no failures either way, waits close.
    assert adaptive.failed[:30].sum() < 0.01 and exact.failed[:30].sum() == 0
    np.testing.assert_allclose(adaptive.wait[:30].sum(), exact.wait[:30].sum(), rtol=0.1)


def test_load_spike_adaptive_agrees_with_request_mode():
    """An hour's rush to 500 req/s at level 0: failed requests and mean wait within 2% of request mode."""
    serving = {"replicas": 3, "service_time": {"dist": "lognormal", "mean": "20ms", "p99": "80ms"},
               "timeout": "1s", "failures": "none"}
    traffic = {"rate": "100/s", "spikes": [{"at": "1h", "multiplier": 5, "duration": "1h", "ramp": "10m"}]}
    path = ROOT / "scenarios" / "load_spike.yaml"
    base = dict(levels=[0], traffic=traffic)
    adaptive = simulator.run(load_scenario(path, serving={**serving, "exact_above": 0.9}, **base), days=2.5 / 24)
    request = simulator.run(load_scenario(path, fidelity="request", serving=serving, **base), days=2.5 / 24)
    a, r = adaptive.summary["levels"]["0"], request.summary["levels"]["0"]
    assert r["failed_requests"] > 0.3 * r["requests"]  # the rush does overload level 0
    assert a["requests"] == r["requests"]
    np.testing.assert_allclose(a["failed_requests"], r["failed_requests"], rtol=0.02)
    np.testing.assert_allclose(a["queue_wait_ms"]["mean"], r["queue_wait_ms"]["mean"], rtol=0.02)
