"""Wall time of every shipped scenario, all its levels, as a user runs it.

Each measurement is ``python -m simulator run SCENARIO --quiet`` in a child
process (interpreter start, imports, simulation, every file and plot), with
its peak resident memory (the command and the process it forks). Scenarios
are measured in turn, ``--repeat`` rounds over all of them, so a passing
disturbance of the machine touches every scenario alike; the median is
reported against the 20 s goal.

    python benchmarks/bench_scenarios.py                       # every scenario, 3 rounds
    python benchmarks/bench_scenarios.py --repeat 1 recsys_decay language_shift
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
from pathlib import Path

from bench_default_run import ROOT, measure

GOAL_SECONDS = 20.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="scenario names (default: every file in scenarios/)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    names = args.names or sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))
    paths = [ROOT / "scenarios" / f"{name}.yaml" for name in names]
    for path in paths:
        if not path.exists():
            raise SystemExit(f"{path}: no such scenario")
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the start")
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for _ in range(args.repeat):
        for name, path in zip(names, paths):
            runs[name].append(measure(path, None))
    for name in names:
        walls = [w for w, _ in runs[name]]
        median = statistics.median(walls)
        verdict = "meets" if median < GOAL_SECONDS else "misses"
        print(f"{name:16s} median wall {median:5.1f} s (runs: {', '.join(f'{w:.1f}' for w in walls)}), "
              f"peak RSS {max(m for _, m in runs[name]):.0f} MB: {verdict} the {GOAL_SECONDS:g} s goal")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
