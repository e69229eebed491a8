"""Wall time and peak memory of the default run, and how they change with the traffic rate.

Runs ``python -m simulator run SCENARIO --quiet`` in a child process per
measurement (so imports and writing the results count, as for a user), at the
scenario's own rate and at that rate times ``--scale``; reports the median of
``--repeat`` runs and the largest peak resident memory of the run's process
tree (the command and the process it forks for half of the levels), sampled
from /proc every 20 ms.

    python benchmarks/bench_default_run.py                 # fraud_covid, x1 and x1000
    python benchmarks/bench_default_run.py --repeat 1 --days 60
"""
from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def tree_rss_mb(pid: int) -> float:
    """Resident memory (MB) of ``pid`` and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        kb = [line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")]
        rss[int(entry.name)] = int(kb[0]) if kb else 0
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(p, 0) for p in tree) / 1024.0


def measure(scenario: Path, days: float | None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, whole process tree) of one run."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "simulator", "run", str(scenario), "--quiet", "--out", f"{tmp}/out"]
        if days is not None:
            cmd += ["--days", str(days)]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, tree_rss_mb(proc.pid))
            time.sleep(0.02)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"run failed with exit status {proc.returncode}")
    return wall, peak


def scaled(scenario: Path, factor: float, folder: Path) -> Path:
    """A copy of the scenario with its traffic rate multiplied by ``factor``."""
    data = yaml.safe_load(scenario.read_text())
    number, unit = str(data["traffic"]["rate"]).split("/")
    data["traffic"]["rate"] = f"{float(number) * factor!r}/{unit}"
    # The same system, scaled: fixed replicas and the autoscaler's bounds grow with the rate.
    data.setdefault("serving", {})["replicas"] = int(data.get("serving", {}).get("replicas", 4) * factor)
    data["overrides"] = {3: {"autoscaling": {"min_replicas": int(2 * factor), "max_replicas": int(64 * factor)}}}
    # Bigger pools of equally reliable capacity: the pool's crash rate stays as it was,
    # so the control events (a flush each) do not grow with the rate.
    mtbf = data["serving"].get("replica_mtbf", "30d")
    data["serving"]["replica_mtbf"] = f"{float(mtbf[:-1]) * factor!r}{mtbf[-1]}"
    out = folder / f"{scenario.stem}_x{factor:g}.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "fraud_covid.yaml")
    parser.add_argument("--scale", type=float, default=1000.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--days", type=float)
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'cpu'}")
    with tempfile.TemporaryDirectory() as tmp:
        for factor in (1.0, args.scale):
            path = args.scenario if factor == 1.0 else scaled(args.scenario, factor, Path(tmp))
            runs = [measure(path, args.days) for _ in range(args.repeat)]
            walls = [w for w, _ in runs]
            print(f"rate x{factor:g}: median wall {statistics.median(walls):.1f} s "
                  f"(runs: {', '.join(f'{w:.1f}' for w in walls)}), peak RSS {max(m for _, m in runs):.0f} MB")


if __name__ == "__main__":
    main()
