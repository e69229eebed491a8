"""Run results: per-level summaries, time series and events, as dicts and DataFrames."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .drift import DriftSchedule
from .scenario import Scenario
from .traffic import DAY

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .world import World


@dataclass
class LevelResult:
    """Everything one level produced: its summary dict and its records."""

    level: int
    summary: dict[str, Any]
    timeseries: pd.DataFrame
    daily: list[dict]
    events: list[dict]

    @classmethod
    def from_world(cls, world: "World", schedule: DriftSchedule) -> "LevelResult":
        """Summarise a finished world."""
        t = world.plane.totals
        h = world.plane.hist
        daily = pd.DataFrame(world.daily)
        metric = world.domain.metric
        model = {"metric": metric, "higher_is_better": world.domain.higher_is_better,
                 **_drift_means(daily, metric, schedule)}
        for extra in [c for c in daily.columns if c not in ("day", "level", "drift_score", "model_version", metric)]:
            model[f"{extra}_mean"] = _num(daily[extra].mean())
        ev = world.events
        summary = {
            "name": world.cfg.name,
            "requests": _num(t["requests"]),
            "failed_requests": _num(t["failed"]),
            "shed_requests": _num(t["shed"]),
            "availability": _num(1.0 - t["failed"] / t["requests"]) if t["requests"] > 0 else None,
            "latency_ms": {"mean": _num(h.mean * 1000), "p50": _num(h.quantile(0.5) * 1000),
                           "p95": _num(h.quantile(0.95) * 1000), "p99": _num(h.quantile(0.99) * 1000)},
            "queue_wait_ms": {"mean": _num(t["wait"] / max(t["requests"], 1) * 1000)},
            "model": model,
            "retrains": ev.count("retrained"),
            "deploys": sum(1 for r in ev.records if r["kind"] == "deployed" and r["day"] > 0),
            "failed_deploys": ev.count("deploy_failed"),
            "rollbacks": ev.count("rollback"),
            "incidents": ev.count("incident"),
            "downtime_minutes": _num(t["downtime_minutes"]),
            "deploy_lead_time_hours": _num(np.mean(world.lead_times) / 3600) if world.lead_times else None,
            "cost": {k: _num(v) for k, v in world.plane.ledger.as_dict().items()},
            # model_errors = model + fallback + unscored decisions; outage = failed requests + downtime.
            "cost_breakdown": {k: _num(v) for k, v in world.plane.breakdown.items()},
            "cost_standard_error": _standard_errors(world.plane.model_errors_variance, world.plane.daily_variances),
        }
        return cls(world.level, summary, pd.DataFrame(world.plane.report_columns()), world.daily,
                   world.events.records)


def _standard_errors(variance: float, daily: list[float]) -> dict[str, float | None]:
    """The sampling error of the model-error estimate: of the run's total, and of a day's (root mean square).

    Only model errors are estimated from a sample (see
    :meth:`simulator.dataplane.DataPlane._score`); outage, infrastructure
    and people are counted, so their error is nil and the total's is the
    model errors'.
    """
    per_day = float(np.sqrt(np.mean(daily))) if daily else float("nan")
    return {"model_errors": _num(np.sqrt(variance)), "model_errors_per_day": _num(per_day)}


def _drift_means(daily: pd.DataFrame, metric: str, schedule: DriftSchedule) -> dict[str, Any]:
    values = daily[metric] if len(daily) else pd.Series(dtype=float)
    days = daily["day"] if len(daily) else pd.Series(dtype=float)
    out = {"mean": _num(values.mean()), "min": _num(values.min())}
    window = schedule.first_drift
    if window is None:
        out.update(pre_drift=_num(values.mean()), post_drift=None)
    else:
        start, end = window
        out["pre_drift"] = _num(values[(days + 1) * DAY <= start + 1e-6].mean())
        out["post_drift"] = _num(values[days * DAY >= end - 1e-6].mean())
    return out


def _num(x: Any) -> float | None:
    """A JSON-safe float, rounded so summaries are stable and readable (None for NaN)."""
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return None
    return float(f"{x:.6g}")


class Comparison:
    """The levels of one run side by side.

    Attributes
    ----------
    summary : dict
        Exactly what ``summary.json`` holds.
    timeseries, events, daily : pandas.DataFrame
        One row per level per report interval / per control event / per day,
        each with a ``level`` column.
    """

    def __init__(self, scenario: Scenario, results: list[LevelResult]) -> None:
        self.scenario = scenario
        self.results = {r.level: r for r in results}
        self.summary = {
            "scenario": scenario.name, "seed": scenario.seed,
            "duration_days": _num(scenario.duration / DAY),
            "levels": {str(r.level): r.summary for r in results},
        }
        self.timeseries = pd.concat([r.timeseries for r in results], ignore_index=True) if results else pd.DataFrame()
        self.daily = pd.DataFrame([row for r in results for row in r.daily])
        events = [row for r in results for row in r.events]
        self.events = pd.DataFrame(events, columns=["day", "level", "kind", "model_version", "detail"])
        if len(self.events):
            self.events = self.events.sort_values(["level", "day"], kind="stable").reset_index(drop=True)
            self.events["model_version"] = self.events["model_version"].astype("Int64")

    @property
    def drifts(self) -> pd.DataFrame:
        """The ground truth of every drift: one row per event (per episode if recurring).

        Columns: ``event`` (its index under ``drift:``), ``shape``, ``start_day``,
        ``end_day``, ``distributions`` (covariate, prior, concept), ``features``
        (the row columns it moves) and ``params``; detectors are scored against it.
        """
        from .domains import make_domain

        domain = make_domain(self.scenario)
        truth = DriftSchedule(domain.params, self.scenario.drift).truth(domain.param_targets, self.scenario.duration)
        frame = pd.DataFrame(truth, columns=["event", "shape", "start", "end", "distributions", "features", "params"])
        frame["start"] = frame["start"] / DAY
        frame["end"] = frame["end"] / DAY
        return frame.rename(columns={"start": "start_day", "end": "end_day"})

    @property
    def levels(self) -> list[int]:
        """The levels in this comparison, ascending."""
        return sorted(self.results)

    def cost_table(self) -> pd.DataFrame:
        """Cost by category (rows) and level (columns), in dollars."""
        return pd.DataFrame({lvl: self.summary["levels"][str(lvl)]["cost"] for lvl in self.levels})

    def plot_metric(self) -> "Figure":
        """The model's daily metric per level, with the drift marked."""
        from .plots import plot_metric

        return plot_metric(self)

    def plot_cost(self) -> "Figure":
        """Cumulative cost per level."""
        from .plots import plot_cost

        return plot_cost(self)

    def __repr__(self) -> str:
        totals = ", ".join(f"L{lvl}=${self.summary['levels'][str(lvl)]['cost']['total']:,.0f}" for lvl in self.levels)
        return f"<Comparison {self.scenario.name}: {totals}>"
