"""Tick mode against request mode (the ground truth) and queueing theory, over a grid of cells.

A cell is a pool of c replicas, a utilisation ρ, a service-time distribution
and mean, a tick length and a load pattern: sustained (every tick at ρ) or a
burst (one to three ticks at ρ among quiet ticks at 30%). Both modes serve
the same Poisson arrival counts, and request mode simulates every request.

The bounds: mean queue wait, p95 and p99 latency within 5% relative, or
within three standard errors of request mode's figure where its sampling
noise is larger (standard errors from batch means over ticks); a mean wait
under a thousandth of the mean service time counts as no wait. Failed
requests within 5% relative or 0.05% of all requests, whichever is larger,
or within three standard errors where a cell's failures are too few to
measure that finely. Stationary exponential cells are also checked against Erlang C (mean
wait) and the M/M/c response-time distribution (p95, p99), which request
mode must meet within its own sampling error.

The full grid (c × ρ × service distribution × mean × tick × pattern) is
1,620 cells; each c, ρ and distribution is run, with the service mean, tick
and pattern rotated through their values, so every value of every axis is
met in many combinations, in a few seconds. A 15-minute tick that would hold
more than 300,000 requests is run at one minute instead (the same queue,
fewer requests to simulate). ``python tests/test_fidelity_grid.py``
prints the table.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate

from simulator.scenario import ServiceTime
from simulator.serving.latency import CENTRES, row_quantiles
from simulator.serving.queueing import ServiceModel, TickQueue, erlang_c
from simulator.serving.request import RequestQueue

REPLICAS = [1, 2, 3, 8, 32]
LOADS = [0.3, 0.6, 0.8, 0.9, 0.95, 0.98, 1.2, 1.5, 3.0]
DISTS = ["exponential", "lognormal"]
MEANS = [0.010, 0.2, 2.0]
TICKS = [60.0, 900.0]
PATTERNS = ["sustained", "burst1", "burst3"]
TIMEOUT = {0.010: 1.0, 0.2: 5.0, 2.0: 30.0}  # long enough that a near-saturated queue mostly answers
QUIET = 0.3
BATCHES = 20


def _service(dist: str, mean: float) -> ServiceModel:
    p99 = 4 * mean if dist == "lognormal" else None
    return ServiceModel(ServiceTime(dist=dist, mean=f"{mean}s", p99=f"{p99}s" if p99 else None))


def _cells():
    for k, (c, rho, dist) in enumerate(itertools.product(REPLICAS, LOADS, DISTS)):
        mean, tick = MEANS[k % 3], TICKS[(k // 3) % 2]
        if rho * c * tick / mean > 300_000:
            tick = TICKS[0]
        yield c, rho, dist, mean, tick, PATTERNS[(k // 6) % 3]


def _load(pattern: str, rho: float, ticks: int) -> np.ndarray:
    """Each tick's utilisation: ``rho`` throughout, or a burst of 1 or 3 ticks amid quiet ones."""
    if pattern == "sustained":
        return np.full(ticks, rho)
    width = int(pattern[-1])
    load = np.full(ticks, QUIET)
    for start in range(4, ticks - width, width + 8):  # bursts with quiet ticks to drain between them
        load[start:start + width] = rho
    return load


def _ticks(c: int, rho: float, mean: float, tick: float, pattern: str) -> int:
    """Enough ticks for about 200,000 requests, within [20, 2000] (sustained) or [24, 240] (bursts)."""
    per_tick = max(rho, QUIET) * c * tick / mean
    low, high = (20, 2000) if pattern == "sustained" else (24, 240)
    return int(np.clip(200_000 / per_tick, low, high))


def measure(c, rho, dist, mean, tick, pattern, seed=7):
    """Both modes on one cell: their mean wait, p95, p99, failed share, and request mode's standard errors."""
    service = _service(dist, mean)
    n = _ticks(c, rho, mean, tick, pattern)
    expected = _load(pattern, rho, n) * c * tick / mean
    arrivals = np.random.default_rng(seed).poisson(expected).astype(np.float64)
    batch = np.arange(n) * BATCHES // n
    timeout = TIMEOUT[mean]
    out = {}
    for name, queue in (("tick", TickQueue(service, tick, timeout, seed=seed)),
                        ("request", RequestQueue(service, tick, timeout, seed=seed, replicas=c))):
        hist = np.zeros((BATCHES, len(CENTRES)))
        stats = queue.serve(arrivals, c, 0.0, expected=expected, hist=hist, group=batch)
        total = arrivals.sum()
        out[name] = dict(wait=stats.wait.sum() / total, failed=stats.failed.sum() / total,
                         p95=float(row_quantiles(hist.sum(axis=0), 0.95)[0]),
                         p99=float(row_quantiles(hist.sum(axis=0), 0.99)[0]))
        if name == "request":
            per = np.bincount(batch, weights=arrivals, minlength=BATCHES)
            share = lambda x: np.bincount(batch, weights=x, minlength=BATCHES) / per  # noqa: E731
            se = lambda x: float(np.std(x, ddof=1) / math.sqrt(BATCHES))  # noqa: E731
            out["se"] = dict(wait=se(share(stats.wait)), failed=se(share(stats.failed)),
                             p95=se(row_quantiles(hist, 0.95)), p99=se(row_quantiles(hist, 0.99)))
    out["requests"] = float(arrivals.sum())
    return out


CELLS = list(_cells())


def _close(got: float, want: float, se: float, floor: float = 0.0) -> bool:
    return abs(got - want) <= max(0.05 * abs(want), 3 * se, floor)


@pytest.mark.parametrize("c,rho,dist,mean,tick,pattern", CELLS, ids=lambda v: str(v))
def test_tick_mode_agrees_with_request_mode(c, rho, dist, mean, tick, pattern):
    m = measure(c, rho, dist, mean, tick, pattern)
    t, r, se = m["tick"], m["request"], m["se"]
    assert _close(t["wait"], r["wait"], se["wait"], floor=1e-3 * mean), ("wait", t["wait"], r["wait"], se["wait"])
    for key in ("p95", "p99"):
        assert _close(t[key], r[key], se[key]), (key, t[key], r[key], se[key])
    assert _close(t["failed"], r["failed"], se["failed"], floor=0.0005), (t["failed"], r["failed"], se["failed"])


def _mmc_response_sf(c: int, lam: float, mu: float, t: float) -> float:
    """P(R > t) in M/M/c (service rate ``mu``), integrating the waiting-time density."""
    pw = float(erlang_c(c, np.array([lam / mu]))[0])
    theta = c * mu - lam
    tail = integrate.quad(lambda w: theta * math.exp(-theta * w) * math.exp(-mu * (t - w)), 0, t, limit=200)[0]
    return (1 - pw) * math.exp(-mu * t) + pw * (tail + math.exp(-theta * t))


def _timeouts_rare(c: int, rho: float, mean: float) -> bool:
    """Erlang C knows no timeout: compare only where fewer than 1 in 10,000 would wait past it."""
    theta = c * (1 - rho) / mean
    return float(erlang_c(c, np.array([rho * c]))[0]) * math.exp(-theta * TIMEOUT[mean]) < 1e-4


STATIONARY = [cell for cell in CELLS if cell[2] == "exponential" and cell[5] == "sustained" and cell[1] < 1
              and _timeouts_rare(cell[0], cell[1], cell[3])]


@pytest.mark.parametrize("c,rho,dist,mean,tick,pattern", STATIONARY, ids=lambda v: str(v))
def test_stationary_cells_meet_erlang_c(c, rho, dist, mean, tick, pattern):
    m = measure(c, rho, dist, mean, tick, pattern)
    theory_wait = float(erlang_c(c, np.array([rho * c]))[0]) * mean / (c * (1 - rho))
    for name in ("tick", "request"):
        # Request mode's figure has its sampling error; a bin of the histogram is 6% wide.
        assert _close(m[name]["wait"], theory_wait, m["se"]["wait"], floor=1e-3 * mean), name
        for q in (0.95, 0.99):
            got = m[name][f"p{round(q * 100)}"]
            slack = 1.07 + 4 * m["se"][f"p{round(q * 100)}"] / got
            lam, mu = rho * c / mean, 1 / mean
            assert _mmc_response_sf(c, lam, mu, got * slack) < 1 - q < _mmc_response_sf(c, lam, mu, got / slack), \
                (name, q)


if __name__ == "__main__":  # the table
    print(f"{'cell':44} {'wait tick/req':>22} {'p99 tick/req':>18} {'failed tick/req':>20}")
    for cell in CELLS:
        m = measure(*cell)
        t, r = m["tick"], m["request"]
        print(f"{str(cell):44} {t['wait']:10.4g} {r['wait']:10.4g} {t['p99']:8.4g} {r['p99']:8.4g} "
              f"{t['failed']:9.3%} {r['failed']:9.3%}")
