"""Figures of a comparison: model metric over time and cumulative cost, one line per level."""
from __future__ import annotations

from typing import TYPE_CHECKING

import os
import sys

import matplotlib

# No screen needed for the files a run writes; but a notebook (or anyone) that has
# already chosen a backend keeps it.
if "matplotlib.pyplot" not in sys.modules and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .traffic import DAY  # noqa: E402

if TYPE_CHECKING:
    from .results import Comparison

_COLOURS = {0: "#d62728", 1: "#ff7f0e", 2: "#2ca02c", 3: "#1f77b4"}


def _shade_drift(ax, comparison: "Comparison") -> None:
    for i, event in enumerate(comparison.scenario.drift):
        start = event.at / DAY
        end = (event.at + (event.width if event.kind == "gradual" else 0.0)) / DAY
        label = "drift" if i == 0 else None
        if end > start:
            ax.axvspan(start, end, color="grey", alpha=0.2, label=label)
        else:
            ax.axvline(start, color="grey", linestyle="--", label=label)


def plot_metric(comparison: "Comparison") -> Figure:
    """Daily primary metric per level, drift shaded, smoothed over a week."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    daily = comparison.daily
    metric = next(iter(comparison.summary["levels"].values()))["model"]["metric"]
    for level in comparison.levels:
        d = daily[daily["level"] == level]
        name = comparison.summary["levels"][str(level)]["name"]
        ax.plot(d["day"], d[metric].rolling(7, min_periods=1).mean(), color=_COLOURS.get(level),
                label=f"level {level}: {name}")
    _shade_drift(ax, comparison)
    ax.set_xlabel("simulated day")
    ax.set_ylabel(f"{metric} (daily, 7-day mean)")
    ax.set_title(f"{comparison.scenario.name}: model quality by maturity level")
    ax.legend(loc="lower left", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_cost(comparison: "Comparison") -> Figure:
    """Cumulative cost per level, in dollars."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ts = comparison.timeseries
    for level in comparison.levels:
        d = ts[ts["level"] == level]
        ax.plot(d["day"], d["cost_cumulative"], color=_COLOURS.get(level), label=f"level {level}")
    _shade_drift(ax, comparison)
    ax.set_xlabel("simulated day")
    ax.set_ylabel("cumulative cost ($)")
    ax.set_title(f"{comparison.scenario.name}: what each level costs")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
