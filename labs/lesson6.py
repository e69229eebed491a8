"""Graders of lesson 6, monitoring and debugging: incident timelines from the event log, and a health monitor.

The incident tables are built here from incidents whose start, detection and
resolution are chosen first, so the right answer is known by construction.
The monitor is asked about hand-made days, then run for real on the launch
rush of ``load_spike``, where it must fire on the day of the rush and no other.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .grading import call, close, passed, verify

#: Event kinds that mark an incident as noticed, and as over.
DETECTED = ("incident_detected", "deploy_failed")
RESOLVED = ("incident_resolved", "rollback")
COLUMNS = ["level", "start_day", "detect_hours", "repair_hours", "open_hours"]
DAY = 86400.0


# ------------------------------------------------------------- incident_timeline
class _Incident:
    """One incident as planted: when it started, was noticed and was over (days; None = never)."""

    def __init__(self, level, start, detected=None, resolved=None, kind="overload"):
        self.level, self.start, self.detected, self.resolved, self.kind = level, start, detected, resolved, kind

    def events(self) -> list[dict]:
        release = self.kind == "release"
        rows = [{"day": self.start, "level": self.level, "kind": "incident", "model_version": 2 if release else 1,
                 "detail": "release crashes on start: service down" if release else "requests failing"}]
        if self.detected is not None:
            rows.append({"day": self.detected, "level": self.level,
                         "kind": "deploy_failed" if release else "incident_detected",
                         "model_version": 2 if release else None,
                         "detail": "missing_dependency: scikit-learn left out of the requirements" if release else ""})
        if self.resolved is not None:
            rows.append({"day": self.resolved, "level": self.level,
                         "kind": "rollback" if release else "incident_resolved",
                         "model_version": 1 if release else None,
                         "detail": "by hand" if release else ("" if self.detected is not None
                                                             else "cleared before anyone noticed")})
        return rows

    def expected(self) -> dict:
        hours = lambda a, b: (b - a) * 24.0 if a is not None and b is not None else math.nan  # noqa: E731
        return {"level": self.level, "start_day": self.start, "detect_hours": hours(self.start, self.detected),
                "repair_hours": hours(self.detected, self.resolved), "open_hours": hours(self.start, self.resolved)}


def _noise(level: int, days: Sequence[float]) -> list[dict]:
    """Events that are not part of any incident: scaling, alerts, crashes, releases caught in time."""
    kinds = [("scale", "2 -> 3: autoscaler: scale out"), ("alert", "data drift: PSI 0.31 on hour"),
             ("replica_crash", "3 of 4 serving"), ("deploy_started", "attempt 1, cicd")]
    return [{"day": d, "level": level, "kind": kinds[i % len(kinds)][0], "model_version": 1,
             "detail": kinds[i % len(kinds)][1]} for i, d in enumerate(days)]


def _table(incidents: list[_Incident], noise: list[dict]) -> pd.DataFrame:
    """An events table laid out as ``Comparison.events``: sorted by level, then day."""
    rows = [r for inc in incidents for r in inc.events()] + noise
    frame = pd.DataFrame(rows, columns=["day", "level", "kind", "model_version", "detail"])
    frame = frame.sort_values(["level", "day"], kind="stable").reset_index(drop=True)
    frame["model_version"] = frame["model_version"].astype("Int64")
    return frame


def _random_case(rng: np.random.Generator) -> tuple[pd.DataFrame, list[_Incident]]:
    """Three levels, a few incidents each: some never noticed, some still open when the run ends."""
    incidents, noise = [], []
    for level in (0, 1, 3):
        t = rng.uniform(0.2, 2.0)
        for _ in range(int(rng.integers(1, 4))):
            kind = "release" if rng.random() < 0.3 else "overload"
            detect = t + rng.uniform(2, 240) / 1440 if rng.random() < 0.8 else None
            resolved = (detect if detect is not None else t) + rng.uniform(10, 600) / 1440
            if kind == "release" and detect is None:
                detect = t + rng.uniform(2, 240) / 1440
                resolved = detect + rng.uniform(10, 600) / 1440
            incidents.append(_Incident(level, round(t, 6), detect and round(detect, 6), round(resolved, 6), kind))
            t = resolved + rng.uniform(0.5, 3.0)
        noise += _noise(level, sorted(rng.uniform(0, t, 6).round(6)))
    incidents[-1].resolved = None   # the run ended with the last one open
    return _table(incidents, noise), incidents


def _cases() -> list[tuple[str, pd.DataFrame, list[_Incident]]]:
    spike = [_Incident(0, 2.780556, None, 2.947222), _Incident(0, 7.481944, 7.648611, 7.981944),
             _Incident(1, 7.481944, 7.485417, 7.527083)]
    bad = [_Incident(0, 15.4, 15.566667, 15.9, kind="release")]
    caught = [{"day": 11.65, "level": 1, "kind": "deploy_failed", "model_version": 2,
               "detail": "missing_dependency: scikit-learn left out of the requirements; caught by health check"},
              {"day": 10.504167, "level": 3, "kind": "deploy_failed", "model_version": 2,
               "detail": "missing_dependency: caught by health check"},
              {"day": 10.566667, "level": 3, "kind": "rollback", "model_version": 1, "detail": "canary"}]
    # Level 0's incident is still open when the run ends; level 1's events come after it in the table.
    open_end = [_Incident(0, 12.5, 12.6, None), _Incident(1, 3.0, 3.1, 3.2), _Incident(1, 13.0, 13.05, 13.5)]
    rng = np.random.default_rng(606)
    cases = [("a launch rush", _table(spike, _noise(0, [1.0, 7.49, 7.9]) + _noise(3, [7.47, 7.48, 8.0])), spike),
             ("a broken release", _table(bad, caught + _noise(0, [10.4, 15.4])), bad),
             ("a run that ended mid-incident", _table(open_end, _noise(1, [5.0])), open_end),
             ("no incident at all", _table([], caught), [])]
    for i in range(3):
        table, incidents = _random_case(rng)
        cases.append((f"random log {i + 1}", table, incidents))
    return cases


def check_incident_timeline(incident_timeline) -> None:
    """Grade ``incident_timeline(events)``: one row per incident, with its detection and repair times."""
    ex = "lesson6.incident_timeline"
    checks = 0
    for name, events, incidents in _cases():
        before = events.copy()
        got = call(ex, incident_timeline, events)
        verify(ex, isinstance(got, pd.DataFrame), f"return a pandas DataFrame, not a {type(got).__name__}")
        missing = [c for c in COLUMNS if c not in got.columns]
        verify(ex, not missing, f"the table needs the columns {COLUMNS}; {missing} missing")
        verify(ex, len(got) == len(incidents),
               f"{name}: expected {len(incidents)} rows (one per `incident` event), got {len(got)}")
        verify(ex, events.equals(before), "your function changed the events table; work on a copy")
        want = pd.DataFrame([i.expected() for i in incidents], columns=COLUMNS)
        mine = got[COLUMNS].astype(float).sort_values(["level", "start_day"], kind="stable").reset_index(drop=True)
        want = want.astype(float).sort_values(["level", "start_day"], kind="stable").reset_index(drop=True)
        for i in range(len(want)):
            w, g = want.iloc[i], mine.iloc[i]
            label = f"{name}: the level {int(w['level'])} incident of day {w['start_day']:g}"
            verify(ex, close(g["level"], w["level"]) and close(g["start_day"], w["start_day"]),
                   f"{label}: expected level {int(w['level'])}, start_day {w['start_day']:g}; "
                   f"got level {g['level']:g}, start_day {g['start_day']:g}")
            for col in COLUMNS[2:]:
                if close(g[col], w[col], rel=1e-6, abs_=1e-6):
                    continue
                hint = f"{label}: expected {col} = {w[col]:.4g}, got {g[col]:.4g}"
                if not math.isnan(w[col]) and not math.isnan(g[col]) and close(g[col] * 24, w[col], rel=1e-6):
                    hint += " — hours, not days: the `day` column is in days"
                elif math.isnan(w[col]) and col != "open_hours" and math.isnan(w["detect_hours"]):
                    hint += (" — this incident was never noticed (no detection event before it was resolved): "
                             "leave its detection and repair NaN")
                elif math.isnan(w[col]):
                    hint += " — it was still open when the run ended: leave it NaN"
                elif not math.isnan(g[col]) and g[col] < 0:
                    hint += " — a negative time: look only at events of the incident's own level, after its start"
                else:
                    hint += (f" — detection is the first of {list(DETECTED)}, resolution the first of "
                             f"{list(RESOLVED)}, after the incident at its own level")
                verify(ex, False, hint)
        checks += 1
    passed(ex, checks)


# -------------------------------------------------------------------- the monitor
def _day(day: int, failed_share: float, latency_p99: float):
    from simulator.policies import DayObservation, WorldView

    obs = DayObservation(day, {}, math.nan, math.nan, math.nan, failed_share, latency_p99)
    view = WorldView(now=(day + 1) * DAY, drift_score=math.nan, decay=math.nan, last_retrain=None,
                     pipeline_busy=False, replicas=3, arrival_rate=100.0, service_mean=0.02,
                     failed_share=failed_share, latency_p99=latency_p99)
    return view, obs


def _spec(cls) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def check_monitor(cls) -> None:
    """Grade a ``MonitoringPolicy`` subclass that alerts on the day's failed share and p99 latency.

    Expected: ``cls(max_failed_share=0.01, max_p99_ms=250.0)``; ``alerts(view, day)``
    returns an ``Alert`` of kind ``"errors"`` (value: the failed share) when
    ``day.failed_share`` is above ``max_failed_share``, and one of kind
    ``"latency"`` (value: the p99 in milliseconds) when ``day.latency_p99``
    (seconds) is above ``max_p99_ms``; each at the end of the observed day.
    """
    import simulator
    from simulator.policies import MonitoringPolicy

    from . import scenario_path

    ex = "lesson6.monitor"
    verify(ex, isinstance(cls, type) and issubclass(cls, MonitoringPolicy),
           "pass the class itself (not an instance), a subclass of simulator.policies.MonitoringPolicy")
    default = call(ex, cls)
    strict = call(ex, cls, max_failed_share=0.05, max_p99_ms=1000.0)
    cases = [  # (policy, day, failed share, p99 seconds, {kind: value})
        (default, 3, 0.0, 0.084, {}),
        (default, 7, 0.62, 1.058, {"errors": 0.62, "latency": 1058.0}),
        (default, 2, 0.0002, 0.8066, {"latency": 806.6}),
        (default, 5, 0.03, 0.09, {"errors": 0.03}),
        (default, 9, 0.01, 0.25, {}),
        (default, 0, 0.0, math.nan, {}),
        (strict, 4, 0.03, 0.9, {}),
        (strict, 12, 0.06, 1.2, {"errors": 0.06, "latency": 1200.0}),
    ]
    checks = 0
    for policy, d, failed, p99, want in cases:
        view, obs = _day(d, failed, p99)
        got = call(ex, policy.alerts, view, obs)
        where = (f"day {d} with failed_share {failed} and latency_p99 {p99} s "
                 f"(max_failed_share {getattr(policy, 'max_failed_share', '?')}, "
                 f"max_p99_ms {getattr(policy, 'max_p99_ms', '?')})")
        verify(ex, isinstance(got, (list, tuple)), f"alerts() should return a list of Alert, not {type(got).__name__}")
        verify(ex, all(hasattr(a, "kind") and hasattr(a, "value") and hasattr(a, "time") for a in got),
               "each alert should be a simulator.policies.Alert(time, kind, value, detail)")
        kinds = sorted(a.kind for a in got)
        if kinds != sorted(want):
            hint = f"{where}: expected alerts {sorted(want) or 'none'}, got {kinds or 'none'}"
            p99_ms = f"{p99 * 1000:g} ms"
            if ("latency" in want) and "latency" not in kinds:
                hint += (f" — the day's p99 ({p99_ms}) is above max_p99_ms: raise a \"latency\" alert "
                         "(latency_p99 is in seconds, max_p99_ms in milliseconds)")
            elif "latency" in kinds and "latency" not in want:
                hint += (f" — the day's p99 ({p99_ms}) is not above max_p99_ms (latency_p99 is in seconds, "
                         "max_p99_ms in milliseconds; NaN means nothing was served)")
            elif "errors" in want:
                hint += " — the day's failed_share is above max_failed_share: raise an \"errors\" alert"
            else:
                hint += " — alert on errors only when the day's failed_share is above max_failed_share (not equal)"
            verify(ex, False, hint)
        for a in got:
            verify(ex, close(float(a.time), (d + 1) * DAY),
                   f"{where}: alert time {a.time!r}; an alert is raised at the end of the observed day, "
                   f"(day.day + 1) * 86400 = {(d + 1) * DAY:g} seconds")
            value_hint = f"{where}: the {a.kind} alert's value should be {want[a.kind]:g}, got {a.value!r}"
            if a.kind == "latency":
                value_hint += " (the p99 in milliseconds)"
            verify(ex, close(float(a.value), want[a.kind], rel=1e-6), value_hint)
        checks += 1
    # Run for real: the launch rush of load_spike at level 0, whose queue overflows on day 7.
    sc = simulator.load_scenario(scenario_path("load_spike"), levels=[0], overrides={0: {"monitoring": {
        "policy": _spec(cls), "params": {"max_failed_share": 0.01, "max_p99_ms": 250.0}}}})
    try:
        run = simulator.run(sc, days=9)
    except Exception as exc:  # a policy that does not import, or raised while the world ran
        verify(ex, False, f"running load_spike with {_spec(cls)} failed: {exc} "
                          "(define the class at the top level of a notebook cell or a module)")
    alerts = run.events[run.events["kind"] == "alert"]
    days = sorted(set(alerts["day"].round(6)))
    verify(ex, days == [8.0] and len(alerts) == 2,
           f"on load_spike (level 0, 9 days) expected two alerts (errors and latency) at the end of day 7 "
           f"(day 8.0 in the event log), when the rush overflowed the queue; got {len(alerts)} alerts on days {days}")
    passed(ex, checks + 1)
