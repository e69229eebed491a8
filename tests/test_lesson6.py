"""Lesson 6's graders: the reference answers pass, unfinished and plausible wrong ones fail with a hint."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from labs import lesson6
from simulator.policies import Alert, MonitoringPolicy

DETECTED = ("incident_detected", "deploy_failed")
RESOLVED = ("incident_resolved", "rollback")


def incident_timeline(events):
    rows = []
    for level, log in events.groupby("level", sort=True):
        log = log.sort_values("day", kind="stable")
        for start in log.loc[log["kind"] == "incident", "day"]:
            after = log[log["day"] >= start]
            resolved = after.loc[after["kind"].isin(RESOLVED), "day"]
            end = resolved.iloc[0] if len(resolved) else math.nan
            detected = after.loc[after["kind"].isin(DETECTED) & ~(after["day"] > end), "day"]
            seen = detected.iloc[0] if len(detected) else math.nan
            rows.append({"level": level, "start_day": start, "detect_hours": (seen - start) * 24,
                         "repair_hours": (end - seen) * 24, "open_hours": (end - start) * 24})
    return pd.DataFrame(rows, columns=["level", "start_day", "detect_hours", "repair_hours", "open_hours"])


class ServiceHealthMonitor(MonitoringPolicy):
    def __init__(self, max_failed_share=0.01, max_p99_ms=250.0):
        self.max_failed_share = max_failed_share
        self.max_p99_ms = max_p99_ms

    def alerts(self, view, day):
        end = (day.day + 1) * 86400.0
        out = []
        if day.failed_share > self.max_failed_share:
            out.append(Alert(end, "errors", day.failed_share, f"{day.failed_share:.1%} of requests failed"))
        if day.latency_p99 * 1000 > self.max_p99_ms:
            out.append(Alert(end, "latency", day.latency_p99 * 1000, f"p99 {day.latency_p99 * 1000:.0f} ms"))
        return out


class SecondsMonitor(ServiceHealthMonitor):
    """Compares the p99 in seconds with a threshold in milliseconds: never fires on latency."""

    def alerts(self, view, day):
        end = (day.day + 1) * 86400.0
        out = []
        if day.failed_share > self.max_failed_share:
            out.append(Alert(end, "errors", day.failed_share))
        if day.latency_p99 > self.max_p99_ms:
            out.append(Alert(end, "latency", day.latency_p99 * 1000))
        return out


class Unfinished(ServiceHealthMonitor):
    def alerts(self, view, day):
        raise NotImplementedError


def test_reference_answers_pass(capsys):
    lesson6.check_incident_timeline(incident_timeline)
    lesson6.check_monitor(ServiceHealthMonitor)
    out = capsys.readouterr().out.splitlines()
    assert out == ["✔ lesson6.incident_timeline: passed 7 hidden checks", "✔ lesson6.monitor: passed 9 hidden checks"]


def test_unfinished_work_is_not_done_yet():
    with pytest.raises(AssertionError, match="not done yet"):
        lesson6.check_incident_timeline(lambda *a: (_ for _ in ()).throw(NotImplementedError()))
    with pytest.raises(AssertionError, match="not done yet"):
        lesson6.check_monitor(Unfinished)


def test_days_instead_of_hours():
    def in_days(events):
        table = incident_timeline(events)
        for col in ("detect_hours", "repair_hours", "open_hours"):
            table[col] /= 24
        return table

    with pytest.raises(AssertionError, match="hours, not days"):
        lesson6.check_incident_timeline(in_days)


def test_an_incident_nobody_noticed_has_no_detection():
    def next_detection_anywhere(events):
        rows = []
        for level, log in events.groupby("level"):
            for start in log.loc[log["kind"] == "incident", "day"]:
                after = log[log["day"] >= start]
                seen = after.loc[after["kind"].isin(DETECTED), "day"].min()
                end = after.loc[after["kind"].isin(RESOLVED), "day"].min()
                rows.append({"level": level, "start_day": start, "detect_hours": (seen - start) * 24,
                             "repair_hours": (end - seen) * 24, "open_hours": (end - start) * 24})
        return pd.DataFrame(rows)

    with pytest.raises(AssertionError, match="never noticed"):
        lesson6.check_incident_timeline(next_detection_anywhere)


def test_latency_in_the_wrong_unit():
    with pytest.raises(AssertionError, match="latency_p99 is in seconds"):
        lesson6.check_monitor(SecondsMonitor)


def test_an_instance_is_not_the_class():
    with pytest.raises(AssertionError, match="pass the class itself"):
        lesson6.check_monitor(ServiceHealthMonitor())
