"""The tick-mode queueing model against queueing theory, computed independently here."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from simulator.scenario import ServiceTime
from simulator.serving.latency import CENTRES, LatencyHistogram
from simulator.serving.queueing import RHO_GRID, ServiceModel, TickQueue, erlang_c


def erlang_c_textbook(c: int, a: float) -> float:
    """P(wait) in M/M/c from the textbook sum (offered load a = λ/μ)."""
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize("c", [1, 2, 4, 8, 16, 32])
@pytest.mark.parametrize("rho", [0.3, 0.5, 0.8, 0.9, 0.95])
def test_erlang_c_matches_the_textbook_sum(c, rho):
    assert erlang_c(c, np.array([rho * c]))[0] == pytest.approx(erlang_c_textbook(c, rho * c), rel=1e-9)


def test_erlang_c_is_one_at_or_past_saturation():
    assert list(erlang_c(4, np.array([4.0, 6.0]))) == [1.0, 1.0]


def _mmc_queue(c: int, timeout: float = 1e9) -> TickQueue:
    # The closed form itself: no tick served request by request.
    return TickQueue(ServiceModel(ServiceTime(dist="exponential", mean="1s")), 3600.0, timeout, exact_above=None)


@pytest.mark.parametrize("c,rho", [(1, 0.5), (4, 0.8), (8, 0.9), (32, 0.95)])
def test_stable_tick_mean_wait_is_erlang_c(c, rho):
    # M/M/c with μ = 1: mean wait = C(c, a) / (cμ − λ).
    lam = rho * c
    stats = _mmc_queue(c).serve(np.array([lam * 3600.0]), c, 0.0)
    expected = erlang_c_textbook(c, lam) / (c - lam)
    assert stats.wait[0] / (lam * 3600.0) == pytest.approx(expected, rel=1e-9)
    assert stats.failed[0] == pytest.approx(0.0, abs=1e-9)


def _mmc_response_sf(c: int, lam: float, t: float) -> float:
    """P(R > t) for M/M/c with μ = 1, integrating the waiting-time density directly."""
    pw = erlang_c_textbook(c, lam)
    theta = c - lam
    # R = W + S; W = 0 w.p. 1 − pw, else Exp(θ); S ~ Exp(1).
    # P(W + S > t | waiting) = ∫₀ᵗ θe^{−θw}·e^{−(t−w)} dw + P(W > t)
    tail_waiting = integrate.quad(lambda w: theta * math.exp(-theta * w) * math.exp(-(t - w)), 0, t, limit=200)[0]
    tail_waiting += math.exp(-theta * t)
    return (1 - pw) * math.exp(-t) + pw * tail_waiting


@pytest.mark.parametrize("c,rho", [(2, 0.5), (4, 0.8), (16, 0.9)])
@pytest.mark.parametrize("q", [0.5, 0.95, 0.99])
def test_latency_percentiles_match_the_mmc_response_time(c, rho, q):
    # ρ on the table's grid, so only the histogram's bins (6% wide) limit the precision.
    rho = RHO_GRID[np.argmin(abs(RHO_GRID - rho))]
    lam = rho * c
    hist = np.zeros(len(CENTRES))
    _mmc_queue(c).serve(np.array([lam * 3600.0]), c, 0.0, hist=hist)
    h = LatencyHistogram()
    h.add_counts(hist, 0.0)
    got = h.quantile(q)
    assert _mmc_response_sf(c, lam, got * 1.07) < 1 - q < _mmc_response_sf(c, lam, got / 1.07)


def test_timeouts_fail_the_tail_of_the_response_time():
    c, lam, timeout = 4, 3.2, 5.0
    stats = _mmc_queue(c, timeout).serve(np.array([lam * 3600.0]), c, 0.0)
    expected = _mmc_response_sf(c, lam, timeout)
    # The table is interpolated between grid points around ρ.
    assert stats.failed[0] / (lam * 3600.0) == pytest.approx(expected, rel=0.05)


@pytest.mark.parametrize("dist", ["exponential", "lognormal"])
@pytest.mark.parametrize("load,timeout", [(1.05, 1.0), (1.2, 2.0), (1.5, 0.5), (2.0, 2.0)])
def test_sustained_overload_matches_request_mode(dist, load, timeout):
    # The fluid model of large pools (here forced on a small one by turning exact serving off).
    # No load shedding: the queue fills to the timeout, and requests fail by giving up
    # or by being answered too late. Request mode simulates the same ticks exactly.
    from simulator.serving.request import RequestQueue

    c, tick = 4, 60.0
    spec = ServiceTime(dist=dist, mean="100ms", p99="400ms" if dist == "lognormal" else None)
    service = ServiceModel(spec)
    arrivals = np.full(120, load * c / 0.1 * tick)
    tick_mode = TickQueue(service, tick, timeout, exact_above=None).serve(arrivals, c, 0.0)
    exact = RequestQueue(service, tick, timeout, seed=1, replicas=c).serve(arrivals, c, 0.0)
    settled = slice(20, None)
    for field in ("failed", "wait"):
        got = getattr(tick_mode, field)[settled].sum()
        want = getattr(exact, field)[settled].sum()
        assert got == pytest.approx(want, rel=0.10), field
    assert exact.failed[settled].sum() / arrivals[settled].sum() >= 1 - 1 / load - 0.01  # at least the overflow


def test_backlog_drains_after_the_overload():
    c, tick = 4, 60.0
    arrivals = np.r_[np.full(5, 1.5 * c / 0.1 * tick), np.full(10, 0.5 * c / 0.1 * tick)]
    for exact_above in (None, 0.7):
        q = TickQueue(ServiceModel(ServiceTime(dist="exponential", mean="100ms")), tick, 10.0, exact_above=exact_above)
        stats = q.serve(arrivals, c, 0.0)
        assert stats.backlog == 0.0 and q.backlog == 0.0
        assert stats.wait[-1] / arrivals[-1] < 0.01  # back to a short Erlang C wait


def test_lognormal_service_matches_its_mean_and_p99():
    s = ServiceModel(ServiceTime(dist="lognormal", mean="20ms", p99="80ms"))
    assert float(s.quantile(np.array([0.99]))[0]) == pytest.approx(0.080, rel=1e-9)
    assert math.exp(s.mu + s.sigma**2 / 2) == pytest.approx(0.020, rel=1e-9)


@pytest.mark.parametrize("load", [1.2, 2.0])
def test_shedding_turns_away_the_excess_instead_of_failing_it(load):
    # With shedding, requests that would wait past 0.5 s go to the fallback at once:
    # the replicas serve what they can in time, and almost nothing fails.
    from simulator.serving.request import RequestQueue

    c, tick, timeout, shed_after = 4, 60.0, 2.0, 0.5
    service = ServiceModel(ServiceTime(dist="exponential", mean="100ms"))
    arrivals = np.full(120, load * c / 0.1 * tick)
    tick_mode = TickQueue(service, tick, timeout, shed_after, exact_above=None).serve(arrivals, c, 0.0)
    exact = RequestQueue(service, tick, timeout, seed=1, replicas=c, shed_after=shed_after).serve(arrivals, c, 0.0)
    settled = slice(20, None)
    total = arrivals[settled].sum()
    for stats in (tick_mode, exact):
        assert stats.shed[settled].sum() / total == pytest.approx(1 - 1 / load, abs=0.02)  # the excess
        assert stats.failed[settled].sum() / total < 0.01
    assert tick_mode.wait[settled].sum() == pytest.approx(exact.wait[settled].sum(), rel=0.10)
