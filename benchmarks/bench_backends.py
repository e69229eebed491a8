"""Wall time of the same replications on each backend: serial, joblib and dask.

Runs ``simulator.experiments.replicate`` on one scenario (by default
fraud_covid, levels 0 and 3, 60 days, 6 replications) once per backend, in
this process, and checks that every backend gave the same summary. The dask
time includes starting and closing its local cluster; that start-up alone is
measured too. Serial runs each replication's levels in two forked processes
(the engine's default), the parallel backends one replication per process.

    python benchmarks/bench_backends.py
    python benchmarks/bench_backends.py --days 150 --replications 10 --backends joblib,dask
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "fraud_covid.yaml"))
    parser.add_argument("--levels", default="0,3")
    parser.add_argument("--days", type=float, default=60)
    parser.add_argument("--replications", type=int, default=6)
    parser.add_argument("--backends", default="serial,joblib,dask")
    args = parser.parse_args()

    from simulator.experiments import replicate

    levels = [int(x) for x in args.levels.split(",")]
    print(f"python {platform.python_version()}, {os.cpu_count()} cores; {Path(args.scenario).name}, "
          f"levels {levels}, {args.days:g} days, {args.replications} replications")
    if "dask" in args.backends:
        from distributed import LocalCluster

        t0 = time.perf_counter()
        with LocalCluster(n_workers=os.cpu_count(), threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=logging.ERROR):
            started = time.perf_counter() - t0
        print(f"dask local cluster start and close alone: {started:.1f} s")
    seen = {}
    for backend in args.backends.split(","):
        t0 = time.perf_counter()
        cmp = replicate(args.scenario, args.replications, levels=levels, days=args.days, backend=backend)
        took = time.perf_counter() - t0
        seen[backend] = json.dumps(cmp.summary, sort_keys=True)
        print(f"{backend:>7}: {took:6.1f} s")
    print("identical summaries:", len(set(seen.values())) == 1)


if __name__ == "__main__":
    main()
