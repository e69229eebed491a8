"""Request mode against Erlang C and against a plain SimPy reference."""
from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

import simulator
from conftest import FRAUD
from simulator.serving.request import FcfsServers


def erlang_c_textbook(c: int, a: float) -> float:
    """P(wait) in M/M/c from the textbook sum (offered load a = λ/μ)."""
    top = a**c / math.factorial(c) / (1 - a / c)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize("c,rho,n", [(1, 0.5, 1_000_000), (4, 0.8, 2_000_000), (8, 0.9, 2_000_000),
                                     (16, 0.95, 8_000_000), (32, 0.8, 1_000_000), (2, 0.95, 3_000_000)])
def test_mmc_waits_match_erlang_c(c, rho, n):
    rng = np.random.default_rng(1000 * c + round(100 * rho))
    lam = rho * c  # μ = 1
    arrivals = np.cumsum(rng.exponential(1 / lam, n))
    waits, abandoned = FcfsServers(c).serve(arrivals, rng.exponential(1.0, n), timeout=math.inf)
    # The queue starts empty: drop a warm-up. Near saturation the estimate converges slowly
    # (batch means give a 1.8% standard error at 8M requests for 16 replicas at 0.95).
    waits = waits[n // 10:]
    p_wait = erlang_c_textbook(c, lam)
    assert not abandoned.any()
    assert waits.mean() == pytest.approx(p_wait / (c - lam), rel=0.03)
    assert abs((waits > 0).mean() - p_wait) < 0.02


def simpy_waits(arrivals, services, c):
    """The idiomatic reference: one SimPy process per request on a simpy.Resource."""
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    waits = np.zeros(len(arrivals))

    def request(i):
        yield env.timeout(arrivals[i] - env.now)

    def customer(i):
        arrived = env.now
        with servers.request() as req:
            yield req
            waits[i] = env.now - arrived
            yield env.timeout(services[i])

    def source():
        for i, t in enumerate(arrivals):
            yield env.timeout(t - env.now)
            env.process(customer(i))

    env.process(source())
    env.run()
    return waits


@pytest.mark.parametrize("c", [1, 3, 8])
def test_heap_and_simpy_resource_give_the_same_waits(c):
    rng = np.random.default_rng(c)
    n = 5000
    arrivals = np.cumsum(rng.exponential(1 / (0.9 * c), n))
    services = rng.lognormal(0.0, 0.8, n) / np.exp(0.32)
    waits, _ = FcfsServers(c).serve(arrivals, services, timeout=math.inf)
    assert np.allclose(waits, simpy_waits(arrivals, services, c), rtol=0, atol=1e-9)


def test_a_request_that_would_wait_past_the_timeout_gives_up_and_takes_no_server():
    servers = FcfsServers(1)
    waits, abandoned = servers.serve(np.array([0.0, 0.1, 0.2]), np.array([5.0, 1.0, 1.0]), timeout=2.0)
    assert abandoned.tolist() == [False, True, True] and waits.tolist() == [0.0, 2.0, 2.0]
    assert servers.free == [5.0]


def test_resizing_adds_idle_replicas_and_removes_the_soonest_free():
    servers = FcfsServers(2)
    servers.serve(np.array([0.0, 0.0]), np.array([3.0, 1.0]), timeout=10.0)
    servers.resize(3, now=0.5)
    assert sorted(servers.free) == [0.5, 1.0, 3.0]
    servers.resize(1, now=0.5)
    assert servers.free == [3.0]


def test_a_scenario_runs_in_request_mode_and_levels_share_the_requests():
    run = simulator.simulate(simulator.prepare(FRAUD, days=0.05, levels=[0, 3]).model_copy(
        update={"fidelity": "request"}))
    s0, s3 = run.summary["levels"]["0"], run.summary["levels"]["3"]
    assert s0["requests"] == s3["requests"] > 100_000
    assert s0["latency_ms"]["p50"] == pytest.approx(16, rel=0.1)  # the lognormal's median: 20 ms · e^(−σ²/2)


def test_tick_mode_matches_request_mode_through_a_spike_that_overloads(tmp_path):
    import yaml

    data = yaml.safe_load(FRAUD.read_text())
    data.update(duration="1d", drift=[], levels=[0])
    data["traffic"]["spikes"] = [{"at": "12h", "multiplier": 5, "duration": "2h", "ramp": "30m"}]
    path = tmp_path / "spike.yaml"
    path.write_text(yaml.safe_dump(data))
    runs = {f: simulator.simulate(simulator.load_scenario(path, fidelity=f), workers=1).summary["levels"]["0"]
            for f in ("tick", "request")}
    tick, exact = runs["tick"], runs["request"]
    assert exact["failed_requests"] > 0.2 * exact["requests"] / 12  # the spike does overload
    assert tick["queue_wait_ms"]["mean"] == pytest.approx(exact["queue_wait_ms"]["mean"], rel=0.10)
    for q in ("p95", "p99"):
        assert tick["latency_ms"][q] == pytest.approx(exact["latency_ms"][q], rel=0.10)
    assert tick["failed_requests"] == pytest.approx(exact["failed_requests"], rel=0.10)


@pytest.mark.parametrize("c", [1, 3, 17])
def test_compiled_and_plain_python_queues_give_identical_results(c):
    # The compiled loop is what runs; the plain-Python one is the fallback where numba has no wheel.
    from simulator.serving import kernel

    rng = np.random.default_rng(c)
    times = np.sort(rng.random(20_000)) * 100.0
    services = rng.lognormal(np.log(0.9 * c / 200.0), 1.0, 20_000)  # around saturation, with a long tail
    free_a, free_b = np.sort(rng.random(c)), None
    free_b = free_a.copy()
    waits_a, gave_up_a = kernel.serve_fcfs(free_a, times, services, 0.5)
    waits_b, gave_up_b = kernel.serve_python(free_b, times, services, 0.5)
    assert kernel.COMPILED
    assert gave_up_a.any() and (waits_a > 0).any()  # the case exercises waiting and giving up
    np.testing.assert_array_equal(waits_a, waits_b)
    np.testing.assert_array_equal(gave_up_a, gave_up_b)
    np.testing.assert_array_equal(np.sort(free_a), np.sort(free_b))


@pytest.mark.parametrize("shedding", [False, True])
def test_compiled_and_plain_python_tallies_are_identical(shedding):
    from simulator.serving import kernel
    from simulator.serving.latency import EDGES

    rng = np.random.default_rng(11)
    times = np.sort(rng.random(30_000)) * 60.0
    services = rng.lognormal(np.log(0.02), 0.7, 30_000)  # 3 replicas at about 3.3 times their capacity
    free = np.zeros(3)
    limit, timeout = (0.2, 1.0) if shedding else (1.0, 1.0)
    got = kernel.serve_and_tally(free.copy(), times, services, limit, timeout, shedding, 30.0, EDGES)
    want = kernel.tally_python(free.copy(), times, services, limit, timeout, shedding, 30.0, EDGES)
    assert got[4] > 0 and (got[3] > 0) == shedding and (got[2] > 0) != shedding  # queue at the end, shed or failed
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
