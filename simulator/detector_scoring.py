"""Detectors scored against the ground truth of drift: detection delay, missed drifts, false alarms.

The truth is the drift log of a run (``Comparison.drifts``, days) or
``DriftSchedule.truth`` (records in seconds): one entry per drift, or per
episode of a recurring one. Given a detector's alert times in days:

- a drift is *detected* by the first alert at or after its start and before
  the next drift's start; its *delay* is that alert's time minus the start;
  a drift with no such alert is *missed*;
- an alert is a *false alarm* when it falls outside every drift's window
  ``[start, end + grace]`` and detects no drift, counted per simulated year
  of the run (and per year of the time outside the windows).

:func:`periodic_baseline` is a calendar that fires every so many days whatever
the data say: a detector worth its alerts has shorter delays for the same
false alarms, or fewer false alarms for the same delays.

>>> truth = [{"start_day": 75.0, "end_day": 96.0}]
>>> score = score_alerts([20.0, 80.0, 81.0, 200.0], truth, duration_days=365)
>>> score.delays, score.missed, score.false_alarms
((5.0,), 0, 2)
>>> periodic_baseline(30, 100).tolist()
[30.0, 60.0, 90.0]
>>> score_alerts(periodic_baseline(30, 365), truth, 365).delays
(15.0,)
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

DAY = 86400.0
YEAR_DAYS = 365.0


class DetectionScore(NamedTuple):
    """How a detector's alerts fared against the drifts of one run."""

    starts: tuple[float, ...]             # each drift's start (days)
    detections: tuple[float | None, ...]  # the alert that detected it (days), or None if missed
    delays: tuple[float | None, ...]      # detection minus start (days), or None if missed
    missed: int
    false_alarms: int
    false_alarms_per_year: float          # over the run's whole duration
    false_alarms_per_stable_year: float   # over the time outside every drift's window
    alerts: int
    duration_days: float
    stable_days: float

    @property
    def detected(self) -> int:
        """Number of drifts detected."""
        return len(self.starts) - self.missed

    @property
    def mean_delay(self) -> float:
        """Mean delay over the detected drifts (NaN if none was)."""
        found = [d for d in self.delays if d is not None]
        return float(np.mean(found)) if found else float("nan")

    def as_dict(self) -> dict[str, Any]:
        """The headline figures, for a table row."""
        return {"drifts": len(self.starts), "detected": self.detected, "missed": self.missed,
                "mean_delay_days": self.mean_delay,
                "max_delay_days": max((d for d in self.delays if d is not None), default=float("nan")),
                "false_alarms": self.false_alarms, "false_alarms_per_year": self.false_alarms_per_year,
                "alerts": self.alerts}


def drift_windows(drifts: Any) -> list[tuple[float, float]]:
    """(start, end) in days of each drift, sorted by start.

    Accepts ``Comparison.drifts`` (columns ``start_day``, ``end_day``),
    ``DriftSchedule.truth`` records (``start``, ``end`` in seconds), or
    any iterable of mappings with either pair of keys.

    >>> drift_windows([{"start": 86400.0 * 10, "end": 86400.0 * 12}])
    [(10.0, 12.0)]
    """
    records: Iterable[Mapping[str, Any]]
    records = drifts.to_dict("records") if isinstance(drifts, pd.DataFrame) else drifts
    out = []
    for r in records:
        if "start_day" in r:
            out.append((float(r["start_day"]), float(r["end_day"])))
        else:
            out.append((float(r["start"]) / DAY, float(r["end"]) / DAY))
    return sorted(out)


def score_alerts(alerts: Sequence[float], drifts: Any, duration_days: float,
                 grace_days: float = 7.0) -> DetectionScore:
    """Score alert times (days since the start) against the drifts of a run lasting ``duration_days``.

    ``grace_days`` after a drift's end, alerts are still about it (a gradual
    drift keeps moving the data until its end, and a monitor may lag); an
    alert that detects a drift is never a false alarm, however late.
    """
    times = np.sort(np.asarray(alerts, dtype=np.float64))
    windows = drift_windows(drifts)
    starts = [s for s, _ in windows]
    detections: list[float | None] = []
    for i, start in enumerate(starts):
        later = [s for s in starts[i + 1:] if s > start]
        until = later[0] if later else np.inf
        hit = times[(times >= start) & (times < until)]
        detections.append(float(hit[0]) if len(hit) else None)
    inside = np.zeros(len(times), dtype=bool)
    for start, end in windows:
        inside |= (times >= start) & (times <= end + grace_days)
    used = np.isin(times, [d for d in detections if d is not None])
    false_alarms = int(np.sum(~inside & ~used))
    stable = duration_days - _covered(windows, grace_days, duration_days)
    return DetectionScore(
        starts=tuple(starts), detections=tuple(detections),
        delays=tuple(None if d is None else d - s for d, s in zip(detections, starts)),
        missed=sum(d is None for d in detections), false_alarms=false_alarms,
        false_alarms_per_year=false_alarms * YEAR_DAYS / duration_days if duration_days > 0 else float("nan"),
        false_alarms_per_stable_year=false_alarms * YEAR_DAYS / stable if stable > 0 else float("nan"),
        alerts=len(times), duration_days=float(duration_days), stable_days=float(stable))


def _covered(windows: list[tuple[float, float]], grace: float, duration: float) -> float:
    """Days of ``[0, duration]`` inside the union of the windows ``[start, end + grace]``."""
    total, reach = 0.0, 0.0
    for start, end in sorted((max(s, 0.0), min(e + grace, duration)) for s, e in windows):
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total


def periodic_baseline(every_days: float, duration_days: float, offset_days: float | None = None) -> np.ndarray:
    """Alert times of a calendar that fires every ``every_days``, from ``offset_days`` (default: one period in).

    On a drift whose start falls at a random phase the expected delay is
    half a period; it raises about ``365 / every_days`` alerts a year, almost
    all false on stable traffic.
    """
    if every_days <= 0:
        raise ValueError("every_days must be above 0")
    first = every_days if offset_days is None else offset_days
    return np.arange(first, duration_days, every_days, dtype=np.float64)


def alert_days(events: pd.DataFrame, level: int | None = None, kinds: Sequence[str] = ("alert",)) -> np.ndarray:
    """The days of a run's events of the given kinds (``Comparison.events``), at one level or all.

    >>> ev = pd.DataFrame({"day": [3.0, 5.0, 5.0], "level": [3, 3, 2], "kind": ["alert", "retrained", "alert"]})
    >>> alert_days(ev, level=3).tolist(), alert_days(ev, kinds=("alert", "retrained")).tolist()
    ([3.0], [3.0, 5.0, 5.0])
    """
    mask = events["kind"].isin(list(kinds))
    if level is not None:
        mask &= events["level"] == level
    return np.sort(events.loc[mask, "day"].to_numpy(dtype=np.float64))


def scoreboard(detectors: Mapping[str, Sequence[float]], drifts: Any, duration_days: float,
               grace_days: float = 7.0) -> pd.DataFrame:
    """One row per detector (name → alert days): drifts, detected, missed, delays, false alarms.

    >>> truth = [{"start_day": 75.0, "end_day": 96.0}]
    >>> board = scoreboard({"monthly": periodic_baseline(30, 365), "quiet": []}, truth, 365)
    >>> print(board[["detected", "mean_delay_days", "false_alarms"]].to_string())
             detected  mean_delay_days  false_alarms
    monthly         1             15.0            11
    quiet           0              NaN             0
    """
    rows = {name: score_alerts(times, drifts, duration_days, grace_days).as_dict()
            for name, times in detectors.items()}
    return pd.DataFrame.from_dict(rows, orient="index")
