"""Request mode's memory against the number of requests served: it should stay flat.

Each size runs in a fresh child process, which builds a :class:`RequestQueue`
(the serving defaults: lognormal service time with mean 20 ms and p99 80 ms,
1 s timeout), then serves one-minute ticks of Poisson traffic at 1,000
requests/s on 25 replicas (utilisation 0.8), an hour of ticks per call as the
simulator does, keeping only running totals. The child reports its peak
resident memory (``getrusage`` maxrss) just before serving and at the end; the
increase is what serving cost. If per-request state were kept, the increase
would grow with the count (one float per request is 8 bytes: 80 MB at 1e7).

    python benchmarks/bench_request_memory.py                          # 1e5, 1e6, 1e7, 1e8 requests
    python benchmarks/bench_request_memory.py --sizes 1e5 1e6
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RATE, REPLICAS, TICK, TICKS_PER_CALL = 1000.0, 25, 60.0, 60


def maxrss_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(requests: int) -> dict:
    """Serve about ``requests`` requests in request mode; return counts, time and peak memory."""
    from simulator.scenario import ServiceTime
    from simulator.serving.latency import CENTRES
    from simulator.serving.queueing import ServiceModel
    from simulator.serving.request import RequestQueue

    service = ServiceModel(ServiceTime(dist="lognormal", mean="20ms", p99="80ms"))
    queue = RequestQueue(service, tick=TICK, timeout=1.0, seed=0, replicas=REPLICAS)
    ticks = math.ceil(requests / (RATE * TICK))
    counts = np.random.default_rng(1).poisson(RATE * TICK, ticks).astype(float)
    hist = np.zeros((1, len(CENTRES)))
    group = np.zeros(TICKS_PER_CALL, dtype=int)
    before = maxrss_mb()
    served = failed = wait = 0.0
    start = time.perf_counter()
    for first in range(0, ticks, TICKS_PER_CALL):
        chunk = counts[first:first + TICKS_PER_CALL]
        out = queue.run(chunk, REPLICAS, first * TICK, hist, group[:len(chunk)], 0, first)
        served += float(chunk.sum())
        failed += float(out.failed.sum())
        wait += float(out.wait.sum())
    seconds = time.perf_counter() - start
    assert hist.sum() == served  # no shedding: every request is answered (in time or not)
    return {"requests": served, "ticks": ticks, "seconds": seconds, "before_mb": before,
            "peak_mb": maxrss_mb(), "failed": failed, "mean_wait_ms": 1000 * wait / served}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6, 1e7, 1e8])
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(int(args.child))))
        return
    print(f"python {platform.python_version()}, numpy {np.__version__}; request mode at {RATE:,.0f} requests/s "
          f"on {REPLICAS} replicas, {TICK:.0f} s ticks; a fresh process per size; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'requests':>13} {'ticks':>6} {'wall s':>7} {'req/s':>7} {'RSS before':>11} {'peak RSS':>9} "
          f"{'increase':>9} {'8 B/request':>12} {'mean wait':>10}")
    for size in args.sizes:
        got = subprocess.run([sys.executable, __file__, "--child", str(int(size))],
                             capture_output=True, text=True)
        if got.returncode != 0:
            sys.exit(f"the child serving {size:,.0f} requests failed:\n{got.stderr}")
        r = json.loads(got.stdout.strip().splitlines()[-1])
        speed = r["requests"] / r["seconds"] / 1e6
        print(f"{r['requests']:>13,.0f} {r['ticks']:>6} {r['seconds']:>7.1f} {speed:>6.2f}M "
              f"{r['before_mb']:>8.0f} MB {r['peak_mb']:>6.0f} MB {r['peak_mb'] - r['before_mb']:>6.1f} MB "
              f"{8 * r['requests'] / 1e6:>9.1f} MB {r['mean_wait_ms']:>7.2f} ms", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
