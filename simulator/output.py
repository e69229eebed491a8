"""Write a run's files into a folder atomically: a temporary folder, renamed into place."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import re
import tempfile
from importlib import metadata
from pathlib import Path

import pandas as pd

from .destination import Destination, claim, umask
from .signals import deferred
from .forking import Forked, can_fork
from .results import Comparison


def default_out_dir(scenario_name: str, suffix: str = "") -> Path:
    """``results/<scenario>/<UTC timestamp><suffix>``: a folder that does not exist yet.

    Two runs in the same second get ``-2``, ``-3``... after the second one.
    """
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = Path("results") / scenario_name
    out, n = base / f"{stamp}{suffix}", 1
    while out.exists():
        n += 1
        out = base / f"{stamp}-{n}{suffix}"
    return out


def manifest(comparison: Comparison, scenario_text: str | None, command: list[str] | None = None) -> dict:
    """What makes the run reproducible: scenario hash, seed, levels, versions and the command line."""
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
        **({"command": command} if command is not None else {}),
    }


def write_results(comparison: Comparison, out: Path | Destination, scenario_text: str | None = None,
                  plots: bool = True, overwrite: bool = False, command: list[str] | None = None) -> Path:
    """Write summary.json, timeseries.csv, events.csv, manifest.json and plots/ into ``out``.

    ``out`` is a folder path (claimed here: see :mod:`simulator.destination`
    for what happens to an existing folder and ``overwrite``) or a
    :class:`~simulator.destination.Destination` claimed before the run.
    Everything goes to a temporary folder beside ``out`` first and is moved
    into place at the end, so an interrupted run leaves nothing half-written.
    """
    dest = out if isinstance(out, Destination) else claim(out, overwrite=overwrite)
    tmp = dest.staging
    drawing: list[Forked] = []
    with dest:
        try:
            files = ["summary.json", "timeseries.csv", "events.csv"]
            if plots:
                (tmp / "plots").mkdir()
                # The figures take longer than the files (matplotlib's import alone is over half a
                # second, and each figure about a second): where the platform forks, two other
                # processes draw one each meanwhile.
                if can_fork():
                    drawing = [Forked(lambda name=name: write_plots(comparison, tmp / "plots", [name]))
                               for name in _FIGURES]
            (tmp / "summary.json").write_text(json.dumps(comparison.summary, indent=2, sort_keys=False) + "\n")
            write_numeric_csv(comparison.timeseries, tmp / "timeseries.csv")
            comparison.events.to_csv(tmp / "events.csv", index=False, float_format="%.6g")
            if plots:
                if drawing:
                    for job in drawing:
                        job()
                else:
                    write_plots(comparison, tmp / "plots")
                files += [f"plots/{p.name}" for p in sorted((tmp / "plots").iterdir())]
            return dest.commit(files, manifest(comparison, scenario_text, command))
        finally:
            for job in drawing:
                job.stop()


_FIGURES = {"model_metric.png": "plot_metric", "cost.png": "plot_cost"}


def write_plots(comparison: Comparison, folder: Path, names: list[str] | None = None) -> None:
    """Draw the comparison's figures (``model_metric.png``, ``cost.png``, or those ``names``) into ``folder``."""
    import matplotlib.pyplot as plt

    for name in names if names is not None else list(_FIGURES):
        fig = getattr(comparison, _FIGURES[name])()
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
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(map(str, frame.columns)) + "\n")
        # A block of rows at a time: memory stays the same however many years the frame holds.
        for start in range(0, len(frame), _CSV_BLOCK):
            block = frame.iloc[start:start + _CSV_BLOCK]
            lines = [row % values for values in zip(*(block[c].tolist() for c in block.columns))]
            # pandas writes a missing number as an empty field; %-formatting writes "nan".
            f.write(_NAN_FIELD.sub("", "\n".join(lines) + "\n"))


_CSV_BLOCK = 20_000


def write_atomically(path: Path, write) -> None:
    """Write one file through ``write(f)`` under a temporary name beside it, then rename it into place.

    An interrupted write leaves the old file (or none), never half a new one;
    the file is on disk before it takes the old one's name.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~umask())  # as open() would make it, not mkstemp's 0600
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        with deferred():
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
