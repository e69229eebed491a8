"""Request mode's speed next to an idiomatic SimPy M/M/c model, on the same arrivals, in one run.

M/M/4 at utilisation 0.8 (μ = 1). Reports requests per second, median of
``--repeat`` runs, and checks that both give the same waits.

    python benchmarks/bench_request_mode.py                  # 1M requests, 3 repeats
    python benchmarks/bench_request_mode.py --requests 200000
"""
from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from simulator.serving.request import FcfsServers  # noqa: E402


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


def rate(fn, n: int, repeat: int) -> tuple[float, np.ndarray]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return n / statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    c, rho, n = 4, 0.8, args.requests
    rng = np.random.default_rng(0)
    arrivals = np.cumsum(rng.exponential(1 / (rho * c), n))
    services = rng.exponential(1.0, n)
    heap_rate, heap_waits = rate(lambda: FcfsServers(c).serve(arrivals, services, math.inf)[0], n, args.repeat)
    simpy_rate, simpy_waits = rate(lambda: simpy_mmc(arrivals, services, c), n, args.repeat)
    print(f"python {platform.python_version()}, simpy {simpy.__version__}, M/M/{c} at rho {rho}, {n:,} requests")
    print(f"request mode (heap of free times): {heap_rate / 1e6:.2f}M requests/s")
    print(f"SimPy, a process per request:      {simpy_rate / 1e6:.3f}M requests/s")
    print(f"ratio: {heap_rate / simpy_rate:.1f}x; same waits: {np.allclose(heap_waits, simpy_waits, atol=1e-9)}")


if __name__ == "__main__":
    main()
