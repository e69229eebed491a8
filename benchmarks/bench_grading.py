"""Grading a class: 40 lesson-1 submissions, 2 of them runaway and 2 crashing, with the default limits.

    python benchmarks/bench_grading.py [--students 40] [--jobs N]

36 submissions are the solved reference; 2 loop forever in a graded
function (``first_day_below``); 2 crash their kernel (a segmentation fault)
in the cell after the imports. Times ``python -m labs grade`` end to end and
checks that every honest submission got full marks and every bad one lost
only its own.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labs import notebooks as nbs  # noqa: E402

LESSON = ROOT / "notebooks" / "01_production_gap.ipynb"


def runaway(nb: dict) -> dict:
    """The solved notebook with ``first_day_below`` looping forever before it returns."""
    for cell in nbs.code_cells(nb):
        text = nbs.source(cell)
        if text.lstrip().startswith("def first_day_below"):
            head, _, rest = text.partition("\n")
            nbs.set_source(cell, head + "\n    while True:\n        pass\n" + rest)
            return nb
    raise SystemExit("no first_day_below cell in lesson 1")


def crashing(nb: dict) -> dict:
    """The solved notebook with a cell that kills its kernel (a segmentation fault) after the imports."""
    cell = {"cell_type": "code", "id": "crash", "metadata": {}, "execution_count": None, "outputs": [], "source": []}
    nbs.set_source(cell, "import ctypes\nctypes.string_at(0)\n")
    code = [i for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "code"]
    nb["cells"].insert(code[0] + 1, cell)
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "submissions"
        kinds = {}
        for i in range(args.students):
            kind = "runaway" if i in (5, 25) else "crash" if i in (10, 30) else "solved"
            nb = nbs.read(LESSON)
            nb = runaway(nb) if kind == "runaway" else crashing(nb) if kind == "crash" else nb
            student = f"student{i:02d}"
            nbs.write(nb, subs / student / LESSON.name)
            kinds[student] = kind
        out = Path(tmp) / "grades"
        cmd = [sys.executable, "-m", "labs", "grade", str(subs), "--out", str(out), "--jobs", str(args.jobs)]
        print(" ".join(cmd[1:]))
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open(encoding="utf-8"))}
        for kind in ("solved", "runaway", "crash"):
            mine = [rows[s] for s, k in kinds.items() if k == kind]
            scores = sorted({f"{r['points']}/{r['maximum']}" for r in mine})
            reasons = sorted({r["reason"] for r in mine if r["reason"]})
            print(f"{kind:8s} {len(mine):3d} submissions: {', '.join(scores)}  {'; '.join(reasons)}")
        print(f"wall time: {wall:.0f} s for {args.students} submissions, {args.jobs} at a time "
              f"({done.stderr.strip().splitlines()[0] if 'warning' in done.stderr else 'confined'})")


if __name__ == "__main__":
    main()
