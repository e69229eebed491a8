"""Write a run's files into a folder atomically: a temporary folder, renamed into place."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

import pandas as pd

from .forking import Forked, can_fork
from .results import Comparison


def default_out_dir(scenario_name: str) -> Path:
    """``results/<scenario>/<UTC timestamp>``."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path("results") / scenario_name / stamp


def manifest(comparison: Comparison, scenario_text: str | None) -> dict:
    """What makes the run reproducible: scenario hash, seed, levels and versions."""
    versions = {}
    for pkg in ("mlops-failure-lab", "numpy", "pandas", "scikit-learn", "simpy", "scipy", "pydantic"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "scenario": comparison.scenario.name,
        "scenario_sha256": hashlib.sha256(scenario_text.encode()).hexdigest() if scenario_text else None,
        "seed": comparison.scenario.seed,
        "levels": comparison.levels,
        "duration_days": comparison.summary["duration_days"],
        "python": platform.python_version(),
        "versions": versions,
    }


def write_results(comparison: Comparison, out: Path, scenario_text: str | None = None, plots: bool = True) -> Path:
    """Write summary.json, timeseries.csv, events.csv, manifest.json and plots/ into ``out``.

    Everything goes to a temporary sibling folder first and is renamed into
    place at the end, so an interrupted run leaves nothing half-written.
    An existing ``out`` is replaced only once the new files are complete.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    drawing = None
    try:
        if plots:
            (tmp / "plots").mkdir()
            # The figures take longer than the files (matplotlib's import alone is half a
            # second): where the platform forks, another process draws them meanwhile.
            drawing = Forked(lambda: write_plots(comparison, tmp / "plots")) if can_fork() else None
        (tmp / "summary.json").write_text(json.dumps(comparison.summary, indent=2, sort_keys=False) + "\n")
        (tmp / "manifest.json").write_text(json.dumps(manifest(comparison, scenario_text), indent=2) + "\n")
        write_numeric_csv(comparison.timeseries, tmp / "timeseries.csv")
        comparison.events.to_csv(tmp / "events.csv", index=False, float_format="%.6g")
        if plots:
            if drawing is not None:
                drawing()
            else:
                write_plots(comparison, tmp / "plots")
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        if drawing is not None:
            drawing.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def write_plots(comparison: Comparison, folder: Path) -> None:
    """Draw the comparison's figures (``model_metric.png``, ``cost.png``) into ``folder``."""
    import matplotlib.pyplot as plt

    for name, make in (("model_metric.png", comparison.plot_metric), ("cost.png", comparison.plot_cost)):
        fig = make()
        fig.savefig(Path(folder) / name, dpi=110)
        plt.close(fig)


_NAN_FIELD = re.compile(r"(?<![^,\n])nan(?![^,\n])")


def write_numeric_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as ``frame.to_csv(path, index=False, float_format="%.6g")`` would, only faster.

    pandas formats each float through a Python call of its own, which costs
    about two seconds for the two years of hourly rows of four levels; one
    format string per row does the same work in a quarter of the time. Frames
    with columns other than numbers go to pandas unchanged.

    >>> f = pd.DataFrame({"day": [0.0, 1 / 3], "level": [0, 3], "cost": [float("nan"), 1.5e9]})
    >>> path = Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_numeric_csv(f, path)
    >>> print(path.read_text(), end="")
    day,level,cost
    0,0,
    0.333333,3,1.5e+09
    >>> path.read_text() == f.to_csv(index=False, float_format="%.6g")
    True
    """
    kinds = [frame[c].dtype.kind for c in frame.columns]
    if not kinds or not all(k in "fiu" for k in kinds) or any("," in str(c) or '"' in str(c) for c in frame.columns):
        frame.to_csv(path, index=False, float_format="%.6g")
        return
    row = ",".join("%.6g" if k == "f" else "%d" for k in kinds)
    lines = [",".join(map(str, frame.columns))]
    lines += [row % values for values in zip(*(frame[c].tolist() for c in frame.columns))]
    # pandas writes a missing number as an empty field; %-formatting writes "nan".
    text = _NAN_FIELD.sub("", "\n".join(lines) + "\n")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def write_atomically(path: Path, write) -> None:
    """Write one file through ``write(f)`` under a temporary name beside it, then rename it into place.

    An interrupted write leaves the old file (or none), never half a new one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
