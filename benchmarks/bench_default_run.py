"""Wall time and peak memory of the default run, and how they change with the traffic rate.

Runs ``python -m simulator run SCENARIO --quiet`` in a child process per
measurement (so imports and writing the results count, as for a user), at the
scenario's own rate and at that rate times ``--scale``; reports the median of
``--repeat`` runs and the largest peak resident memory.

    python benchmarks/bench_default_run.py                 # fraud_covid, x1 and x1000
    python benchmarks/bench_default_run.py --repeat 1 --days 60
"""
from __future__ import annotations

import argparse
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def measure(scenario: Path, days: float | None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run in a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "simulator", "run", str(scenario), "--quiet", "--out", f"{tmp}/out"]
        if days is not None:
            cmd += ["--days", str(days)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024.0


def scaled(scenario: Path, factor: float, folder: Path) -> Path:
    """A copy of the scenario with its traffic rate multiplied by ``factor``."""
    data = yaml.safe_load(scenario.read_text())
    number, unit = str(data["traffic"]["rate"]).split("/")
    data["traffic"]["rate"] = f"{float(number) * factor!r}/{unit}"
    # Keep the service able to carry the load: replicas scale with the rate.
    data.setdefault("serving", {})["replicas"] = int(data.get("serving", {}).get("replicas", 4) * factor)
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
