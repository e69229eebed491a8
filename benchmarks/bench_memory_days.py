"""A run's peak memory against its simulated length: it should not grow with the days.

Each length runs ``python -m simulator run SCENARIO --quiet --days N --out TMP``
as a child process (a fresh --out folder each time, removed afterwards) and
reports three figures:

- ``maxrss``: the peak resident memory of the largest single process of the
  run's tree, from ``wait4`` (Linux folds the peaks of the children a process
  has reaped into its own, so the processes the run forks are counted, but as
  the largest one, not as a sum);
- ``tree RSS``: the peak of the summed resident memory of the whole tree,
  sampled from /proc every 0.1 s (pages a forked child shares copy-on-write
  with its parent count twice here);
- ``tree PSS``: the same with proportional set sizes, where a shared page is
  split among the processes sharing it: the best single figure for what the
  run takes from the machine.

    python benchmarks/bench_memory_days.py                       # fraud_covid at 365 and 3650 days
    python benchmarks/bench_memory_days.py --days 365 1825 --scenario scenarios/recsys_decay.yaml
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tree(root: int) -> list[int]:
    """``root`` and every process descended from it, from each thread's /proc ``children`` list."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:  # gone meanwhile
            continue
    return found


def _memory_kb(pid: int) -> tuple[int, int]:
    """Resident and proportional set size of ``pid``, kB (0, 0 once it is gone)."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


class _Sampler(threading.Thread):
    """Polls the summed RSS and PSS of a process tree until told to stop; keeps the peaks."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_rss = self.peak_pss = self.peak_processes = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            sizes = [_memory_kb(p) for p in _tree(self.pid)]
            self.peak_rss = max(self.peak_rss, sum(s[0] for s in sizes))
            self.peak_pss = max(self.peak_pss, sum(s[1] for s in sizes))
            self.peak_processes = max(self.peak_processes, sum(1 for s in sizes if s[0]))
            self.done.wait(self.every)


def measure(scenario: str, days: int) -> dict:
    """Run ``scenario`` for ``days`` days in a child process; its wall time and peak memory (MB)."""
    out = tempfile.mkdtemp(prefix="bench-memory-days-")
    try:
        cmd = [sys.executable, "-m", "simulator", "run", scenario, "--quiet", "--days", str(days),
               "--out", os.path.join(out, "run")]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        sampler = _Sampler(proc.pid)
        sampler.start()
        # wait4, not Popen.wait: its rusage covers the child and the children it reaped.
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        sampler.done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode != 0:
            sys.exit(f"the {days}-day run failed (exit {proc.returncode}):\n{stderr}")
        return {"days": days, "seconds": seconds, "maxrss": usage.ru_maxrss / 1024,
                "tree_rss": sampler.peak_rss / 1024, "tree_pss": sampler.peak_pss / 1024,
                "processes": sampler.peak_processes}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="scenarios/fraud_covid.yaml")
    parser.add_argument("--days", type=int, nargs="+", default=[365, 3650])
    args = parser.parse_args()
    import numpy as np

    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; {args.scenario}, a fresh process per length")
    print(f"{'days':>6} {'wall s':>7} {'maxrss':>9} {'tree RSS':>9} {'tree PSS':>9} {'processes':>9}")
    for days in args.days:
        r = measure(args.scenario, days)
        print(f"{r['days']:>6} {r['seconds']:>7.1f} {r['maxrss']:>6.0f} MB {r['tree_rss']:>6.0f} MB "
              f"{r['tree_pss']:>6.0f} MB {r['processes']:>9}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
