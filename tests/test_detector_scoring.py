"""Scoring detectors against the drift log: hand-made alert lists with known answers, and a calendar's theory."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from simulator.detector_scoring import (alert_days, drift_windows, periodic_baseline, score_alerts,
                                        scoreboard)

DAY = 86400.0
TWO = [{"start_day": 50.0, "end_day": 60.0}, {"start_day": 200.0, "end_day": 200.0}]


def test_each_drift_is_detected_by_the_first_alert_before_the_next_one_starts():
    score = score_alerts([10.0, 52.0, 55.0, 64.0, 80.0, 150.0, 203.0, 300.0], TWO, duration_days=365)
    assert score.detections == (52.0, 203.0)
    assert score.delays == (2.0, 3.0) and score.missed == 0 and score.mean_delay == 2.5
    # 55 is inside the first window, 64 within its grace (end 60 + 7); 10, 80, 150 and 300 are false.
    assert score.false_alarms == 4 and score.false_alarms_per_year == 4.0
    assert score.alerts == 8


def test_a_drift_with_no_alert_before_the_next_drift_is_missed():
    score = score_alerts([30.0, 210.0], TWO, duration_days=365)
    # The alert at 210 comes after the second drift started: it is that drift's, not a late find of the first.
    assert score.detections == (None, 210.0) and score.delays == (None, 10.0)
    assert score.missed == 1 and score.detected == 1 and score.false_alarms == 1


def test_a_late_detection_is_not_also_a_false_alarm():
    score = score_alerts([120.0], TWO, duration_days=365)
    assert score.delays == (70.0, None) and score.false_alarms == 0


def test_grace_and_the_rate_per_year():
    score = score_alerts([55.0, 66.0, 68.0], [TWO[0]], duration_days=730, grace_days=7)
    assert score.false_alarms == 1  # 55 detects; 66 is within the grace; 68 > 60 + 7
    assert score.false_alarms_per_year == pytest.approx(0.5)
    # The stable time is the run less the window [50, 67].
    assert score.stable_days == pytest.approx(730 - 17)
    assert score.false_alarms_per_stable_year == pytest.approx(365 / 713)
    assert score_alerts([55.0, 66.0, 68.0], [TWO[0]], 730, grace_days=0).false_alarms == 2


def test_no_drift_and_no_alert():
    quiet = score_alerts([], TWO, 365)
    assert quiet.missed == 2 and quiet.false_alarms == 0 and np.isnan(quiet.mean_delay)
    stable = score_alerts([1.0, 2.0, 3.0], [], 365)
    assert stable.starts == () and stable.false_alarms == 3 and stable.stable_days == 365


def test_the_truth_in_seconds_in_days_or_as_a_frame_scores_the_same():
    seconds = [{"start": s["start_day"] * DAY, "end": s["end_day"] * DAY} for s in TWO]
    frame = pd.DataFrame(TWO[::-1])  # any order
    alerts = [10.0, 52.0, 210.0]
    assert drift_windows(seconds) == drift_windows(frame) == [(50.0, 60.0), (200.0, 200.0)]
    assert score_alerts(alerts, seconds, 365) == score_alerts(alerts, frame, 365) == score_alerts(alerts, TWO, 365)


def test_recurring_episodes_are_drifts_of_their_own():
    """A recurring drift's truth has one record per episode; each episode needs its own detection."""
    from simulator.drift import DriftSchedule
    from simulator.scenario import DriftEvent

    schedule = DriftSchedule({"a": 0.0}, [DriftEvent(at="30d", kind="recurring", width="5d", period="100d",
                                                     set={"a": 1.0})])
    truth = schedule.truth({"a": ("covariate", ("x",))}, 365 * DAY)
    assert drift_windows(truth) == [(30.0, 35.0), (130.0, 135.0), (230.0, 235.0), (330.0, 335.0)]
    score = score_alerts([31.0, 33.0, 140.0, 232.0], truth, 365)
    assert score.delays == (1.0, 10.0, 2.0, None) and score.missed == 1 and score.false_alarms == 0


def test_fraud_covids_truth_and_the_must_hold_window():
    from simulator.domains import FraudDomain
    from simulator.drift import DriftSchedule
    from simulator.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "fraud_covid.yaml")
    domain = FraudDomain(sc.domain.params)
    truth = DriftSchedule(domain.params, sc.drift).truth(domain.param_targets, sc.duration)
    score = score_alerts([80.0, 81.0, 90.0], truth, 365)
    assert score.delays == (5.0,) and score.false_alarms == 0


def test_a_calendars_delay_is_half_its_period_on_average():
    """Drifts starting at every phase of a calendar of period T wait T/2 on average (uniform phase)."""
    every = 30.0
    alerts = periodic_baseline(every, 10_000)
    starts = np.arange(100.0, 9000.0, 7.3)  # phases spread evenly over the period
    delays = [score_alerts(alerts, [{"start_day": s, "end_day": s}], 10_000).delays[0] for s in starts]
    assert np.mean(delays) == pytest.approx(every / 2, rel=0.02)
    assert max(delays) <= every
    # On stable traffic it raises about 365 / T false alarms a year.
    assert score_alerts(periodic_baseline(every, 365), [], 365).false_alarms == 12


def test_periodic_baseline_offsets_and_guards():
    assert periodic_baseline(7, 30).tolist() == [7.0, 14.0, 21.0, 28.0]
    assert periodic_baseline(7, 30, offset_days=0).tolist() == [0.0, 7.0, 14.0, 21.0, 28.0]
    with pytest.raises(ValueError):
        periodic_baseline(0, 30)


def test_alert_days_read_a_runs_events_and_the_board_ranks_detectors():
    events = pd.DataFrame({"day": [80.0, 20.0, 81.0, 90.0], "level": [3, 3, 3, 2],
                           "kind": ["alert", "alert", "retrained", "alert"]})
    assert alert_days(events, level=3).tolist() == [20.0, 80.0]
    assert alert_days(events, level=3, kinds=("retrained",)).tolist() == [81.0]
    board = scoreboard({"level 3": alert_days(events, level=3), "weekly": periodic_baseline(7, 365)},
                       [{"start_day": 75.0, "end_day": 96.0}], 365)
    assert list(board.index) == ["level 3", "weekly"]
    assert board.loc["level 3", "mean_delay_days"] == 5.0 and board.loc["level 3", "false_alarms"] == 1
    assert board.loc["weekly", "mean_delay_days"] == 2.0 and board.loc["weekly", "false_alarms"] == 52 - 4
