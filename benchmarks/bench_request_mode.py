"""Request mode's speed next to an idiomatic SimPy M/M/c model and next to Ciw, in one run.

M/M/4 at utilisation 0.8 (μ = 1, λ = 3.2). Reports requests per second, median
of ``--repeat`` runs, for:

- request mode: the heap of replica free times (:class:`FcfsServers`, its loop
  compiled), and the same over whole one-minute ticks as a run serves them
  (drawing each tick's requests, serving them, tallying latencies);
- SimPy: one process per request on a ``simpy.Resource``, on the same arrivals
  and service times (so it must give the very same waits);
- Ciw (https://ciw.readthedocs.io), written the way its documentation does it:
  exponential arrival and service distributions, ``number_of_servers``, run
  with ``simulate_until_max_time`` for the simulated time the other two cover,
  waits read from ``get_all_records``. Ciw draws its own random numbers, so its
  waits agree only in distribution.

Then it checks the mean waits against Erlang C (W_q = C(c, a) / (cμ − λ)) and
against each other, within sampling error (batch means, first 10% of requests
dropped as warm-up), and feeds Ciw the heap's own arrivals and service times
(``ciw.dists.Sequential``) on the first ``--exact`` requests to check that the
two give the same waits request by request.

Ciw is needed only here, not by the simulator: install it into the environment
you run this from with ``pip install ciw``. Without it the Ciw rows are skipped.

    python benchmarks/bench_request_mode.py                  # 1M requests, 3 repeats
    python benchmarks/bench_request_mode.py --requests 200000 --repeat 1
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from simulator.scenario import ServiceTime  # noqa: E402
from simulator.serving import kernel  # noqa: E402
from simulator.serving.queueing import ServiceModel, erlang_c  # noqa: E402
from simulator.serving.request import FcfsServers, RequestQueue  # noqa: E402

try:
    import ciw
except ImportError:  # only this benchmark uses it
    ciw = None


def simpy_mmc(arrivals: np.ndarray, services: np.ndarray, c: int) -> np.ndarray:
    """One SimPy process per request on a ``simpy.Resource`` (the textbook way)."""
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=c)
    waits = np.zeros(len(arrivals))

    def customer(i, arrived):
        with servers.request() as req:
            yield req
            waits[i] = env.now - arrived
            yield env.timeout(services[i])

    def source():
        for i, t in enumerate(arrivals.tolist()):
            yield env.timeout(t - env.now)
            env.process(customer(i, env.now))

    env.process(source())
    env.run()
    return waits


def ciw_mmc(lam: float, mu: float, c: int, until: float, seed: int) -> np.ndarray:
    """Ciw's M/M/c run for ``until`` time units: waits of the served requests, in order of arrival."""
    ciw.seed(seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=lam)],
        service_distributions=[ciw.dists.Exponential(rate=mu)],
        number_of_servers=[c],
    )
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(until)
    records = sorted(sim.get_all_records(only=["service"]), key=lambda r: r.arrival_date)
    return np.array([r.waiting_time for r in records])


def ciw_same_requests(gaps: np.ndarray, services: np.ndarray, c: int) -> np.ndarray:
    """Ciw fed these inter-arrival gaps and service times (FCFS serves them in arrival order)."""
    network = ciw.create_network(
        # One long gap after the last request so that no second lap of the sequence arrives.
        arrival_distributions=[ciw.dists.Sequential(gaps.tolist() + [1e18])],
        service_distributions=[ciw.dists.Sequential(services.tolist())],
        number_of_servers=[c],
    )
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(float(gaps.sum() + services.sum()) + 1.0)  # long enough to drain
    records = sorted(sim.get_all_records(only=["service"]), key=lambda r: r.id_number)
    return np.array([r.waiting_time for r in records])


def rate(fn, repeat: int) -> tuple[float, np.ndarray]:
    """Requests per second (median of ``repeat`` runs) of ``fn``, which returns one wait per request."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return len(out) / statistics.median(times), out


def whole_ticks(repeat: int) -> float:
    """Requests per second of :meth:`RequestQueue.serve` over a day of one-minute ticks, as a run serves them."""
    service = ServiceModel(ServiceTime(dist="lognormal", mean="20ms", p99="80ms"))
    arrivals = np.random.default_rng(1).poisson(np.full(1440, 100.0 * 60)).astype(np.float64)
    RequestQueue(service, 60.0, 1.0, seed=0, replicas=3).serve(arrivals[:2], 3, 0.0)  # compile first
    times = []
    for _ in range(repeat):
        queue = RequestQueue(service, 60.0, 1.0, seed=0, replicas=3)
        start = time.perf_counter()
        queue.serve(arrivals, 3, 0.0)
        times.append(time.perf_counter() - start)
    return float(arrivals.sum()) / statistics.median(times)


def mean_and_error(waits: np.ndarray, batches: int = 20) -> tuple[float, float]:
    """Mean wait after a 10% warm-up, and its standard error from batch means."""
    kept = waits[len(waits) // 10:]
    means = np.array([b.mean() for b in np.array_split(kept, batches)])
    return float(kept.mean()), float(means.std(ddof=1) / math.sqrt(batches))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--exact", type=int, default=50_000, help="requests for the same-requests Ciw check")
    args = parser.parse_args()
    c, rho, mu, n = 4, 0.8, 1.0, args.requests
    lam = rho * c * mu
    rng = np.random.default_rng(0)
    gaps = rng.exponential(1 / lam, n)
    arrivals = np.cumsum(gaps)
    services = rng.exponential(1 / mu, n)
    until = float(arrivals[-1])

    print(f"python {platform.python_version()}, simpy {simpy.__version__}, "
          f"ciw {ciw.__version__ if ciw else 'not installed'}; "
          f"M/M/{c} at rho {rho} (lambda {lam}, mu {mu}), {n:,} requests ({until:,.0f} time units), "
          f"median of {args.repeat}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    heap_rate, heap_waits = rate(lambda: FcfsServers(c).serve(arrivals, services, math.inf)[0], args.repeat)
    print(f"request mode (heap of free times):  {heap_rate / 1e6:.3f}M requests/s"
          f"{' (compiled)' if kernel.COMPILED else ' (plain Python: numba not installed)'}")
    day_rate = whole_ticks(args.repeat)
    print(f"request mode, whole one-minute ticks (draws, serving, tallies; 3 replicas, 20 ms lognormal, "
          f"100 req/s): {day_rate / 1e6:.3f}M requests/s")
    simpy_rate, simpy_waits = rate(lambda: simpy_mmc(arrivals, services, c), args.repeat)
    print(f"SimPy, a process per request:       {simpy_rate / 1e6:.3f}M requests/s")
    if ciw is not None:
        ciw_rate, ciw_waits = rate(lambda: ciw_mmc(lam, mu, c, until, seed=0), args.repeat)
        print(f"Ciw, exponential distributions:     {ciw_rate / 1e6:.3f}M requests/s "
              f"({len(ciw_waits):,} requests served in the same simulated time)")
    else:
        print("Ciw: not installed, skipped (`pip install ciw` into this environment to include it; "
              "the simulator itself does not need it)")
    print(f"request mode / SimPy: {heap_rate / simpy_rate:.1f}x"
          + (f"; request mode / Ciw: {heap_rate / ciw_rate:.1f}x" if ciw is not None else ""))

    print(f"load average at the end of the timings: {os.getloadavg()[0]:.2f}")

    # Do they agree on the waits?
    same = np.allclose(heap_waits, simpy_waits, rtol=0, atol=1e-9)
    print(f"heap and SimPy give the same waits, request by request (to 1e-9): {same}")
    theory = float(erlang_c(c, lam / mu)) / (c * mu - lam)
    print(f"mean wait, Erlang C: {theory:.4f}")
    h_mean, h_se = mean_and_error(heap_waits)
    h_ok = abs(h_mean - theory) < 3 * h_se
    print(f"mean wait, heap (= SimPy): {h_mean:.4f} ± {h_se:.4f} (batch-means s.e.); "
          f"within 3 s.e. of Erlang C: {h_ok}")
    if ciw is not None:
        c_mean, c_se = mean_and_error(ciw_waits)
        c_ok = abs(c_mean - theory) < 3 * c_se
        gap_se = math.hypot(h_se, c_se)
        both_ok = abs(c_mean - h_mean) < 3 * gap_se
        print(f"mean wait, Ciw: {c_mean:.4f} ± {c_se:.4f}; within 3 s.e. of Erlang C: {c_ok}; "
              f"heap − Ciw = {h_mean - c_mean:+.4f} ± {gap_se:.4f}, within 3 s.e.: {both_ok}")
        m = min(args.exact, n)
        ciw_exact = ciw_same_requests(gaps[:m], services[:m], c)
        exact = len(ciw_exact) == m and np.allclose(ciw_exact, heap_waits[:m], rtol=0, atol=1e-9)
        diff = float(np.max(np.abs(ciw_exact - heap_waits[:m]))) if len(ciw_exact) == m else float("nan")
        print(f"Ciw fed the same {m:,} requests gives the heap's waits (to 1e-9): {exact} "
              f"(largest difference {diff:.1e})")


if __name__ == "__main__":
    main()
