"""Drift schedules against their closed forms."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit

from simulator.drift import DriftSchedule
from simulator.scenario import DriftEvent

DAY = 86400.0


def gradual(at=10, width=20):
    return DriftSchedule({"a": 0}, [DriftEvent(at=f"{at}d", kind="gradual", width=f"{width}d", set={"a": 1})])


def closed_form(t_days, at, width):
    """The rescaled logistic: 0 at `at`, 1 at `at + width`, 1/2 half-way."""
    lo, hi = expit(-4.0), expit(4.0)
    x = (t_days - at) / width
    return np.clip((expit(8.0 * (x - 0.5)) - lo) / (hi - lo), 0.0, 1.0)


def test_gradual_share_starts_ends_and_crosses_half_where_it_says():
    s = gradual(10, 20)
    assert s.share(0, np.array([0.0, 10 * DAY, 20 * DAY, 30 * DAY, 99 * DAY])).tolist() == pytest.approx(
        [0.0, 0.0, 0.5, 1.0, 1.0])


@settings(max_examples=25, deadline=None)
@given(t=st.floats(0, 50), at=st.floats(0, 20), width=st.floats(1, 30))
def test_gradual_share_is_the_closed_form(t, at, width):
    s = gradual(at, width)
    assert s.share(0, np.array([t * DAY]))[0] == pytest.approx(closed_form(t, at, width), abs=1e-12)


@pytest.mark.parametrize("t", [12.0, 17.0, 20.0, 24.0, 28.0])
def test_share_of_new_state_rows_matches_the_closed_form_within_sampling_error(t):
    s = gradual(10, 20)
    n = 200_000
    rng = np.random.default_rng(int(t * 10))
    state = s.assign(np.full(n, t * DAY), rng.random(n))
    p = closed_form(t, 10, 20)
    sigma = np.sqrt(p * (1 - p) / n)
    assert abs(state.mean() - p) < 4 * sigma + 1e-12


def test_sudden_drift_switches_at_its_time():
    s = DriftSchedule({"a": 0}, [DriftEvent(at="5d", kind="sudden", set={"a": 1})])
    state = s.assign(np.array([4.99 * DAY, 5 * DAY, 6 * DAY]), np.array([0.0, 0.999, 0.5]))
    assert state.tolist() == [0, 1, 1]


def test_events_apply_in_order_and_states_accumulate():
    s = DriftSchedule({"a": 0, "b": 0}, [DriftEvent(at="1d", set={"a": 1}), DriftEvent(at="2d", set={"b": 2})])
    assert s.states == [{"a": 0, "b": 0}, {"a": 1, "b": 0}, {"a": 1, "b": 2}]
    assert s.assign(np.array([0.5, 1.5, 2.5]) * DAY, np.full(3, 0.5)).tolist() == [0, 1, 2]


# --- incremental and recurring ---------------------------------------------


def incremental(at=10, width=20, start=2.0, end=6.0):
    return DriftSchedule({"a": start}, [DriftEvent(at=f"{at}d", kind="incremental", width=f"{width}d",
                                                   set={"a": end})])


@pytest.mark.parametrize("t", [5.0, 10.0, 13.0, 20.0, 27.5, 30.0, 40.0])
def test_incremental_parameter_moves_linearly_within_sampling_error(t):
    """The mean parameter of the rows' states is the straight line from 2 at day 10 to 6 at day 30."""
    s = incremental()
    n = 100_000
    rng = np.random.default_rng(int(t * 10))
    state = s.assign(np.full(n, t * DAY), rng.random(n), rng.random(n))
    values = np.array([s.states[k]["a"] for k in state])
    line = 2.0 + 4.0 * np.clip((t - 10) / 20, 0, 1)
    step = 4.0 / 16  # rows sit on the two states around the line: their spread is under one step
    assert abs(values.mean() - line) < 4 * step / np.sqrt(n) + 1e-12
    assert values.min() >= line - step - 1e-9 and values.max() <= line + step + 1e-9
    assert s.expected_param(0, "a", np.array([t * DAY]))[0] == pytest.approx(line)


def test_incremental_drift_needs_a_second_uniform():
    with pytest.raises(ValueError, match="second uniform"):
        incremental().assign(np.array([15 * DAY]), np.array([0.5]))


def test_recurring_drift_holds_for_its_width_in_every_period():
    s = DriftSchedule({"a": 0}, [DriftEvent(at="10d", kind="recurring", width="5d", period="30d", set={"a": 1})])
    t = np.array([9.9, 10.0, 14.9, 15.0, 39.9, 40.0, 44.9, 45.0, 70.0]) * DAY
    assert s.share(0, t).tolist() == [0, 1, 1, 0, 0, 1, 1, 0, 1]
    n = 50_000
    rng = np.random.default_rng(0)
    days = rng.uniform(10, 100, n)
    state = s.assign(days * DAY, rng.random(n))
    # A uniform time after the start is in an episode with probability width / period.
    assert abs(state.mean() - 5 / 30) < 4 * np.sqrt(5 / 30 * 25 / 30 / n)


@pytest.mark.parametrize(("event", "message"), [
    (dict(at="1d", kind="incremental", set={"a": 1}), "width"),
    (dict(at="1d", kind="incremental", width="5d", set={"concept": "covid"}), "moves numbers"),
    (dict(at="1d", kind="recurring", width="5d", set={"a": 1}), "period"),
    (dict(at="1d", kind="recurring", width="5d", period="3d", set={"a": 1}), "period"),
    (dict(at="1d", kind="sudden", period="3d", set={"a": 1}), "recurring"),
])
def test_malformed_events_are_refused(event, message):
    with pytest.raises(ValueError, match=message):
        DriftEvent(**event)


def test_ground_truth_names_shape_span_distributions_and_features():
    targets = {"a": ("covariate", ("x", "y")), "b": ("concept", ())}
    s = DriftSchedule({"a": 0, "b": "old"}, [
        DriftEvent(at="10d", kind="gradual", width="20d", set={"a": 1, "b": "new"}),
        DriftEvent(at="40d", kind="recurring", width="5d", period="30d", set={"a": 2}),
    ])
    truth = s.truth(targets, until=100 * DAY)
    assert truth[0] == {"event": 0, "shape": "gradual", "start": 10 * DAY, "end": 30 * DAY, "params": ["a", "b"],
                        "distributions": ["concept", "covariate"], "features": ["x", "y"]}
    episodes = [r for r in truth if r["event"] == 1]
    assert [r["start"] / DAY for r in episodes] == [40, 70]
    assert all(r["end"] - r["start"] == 5 * DAY for r in episodes)
