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
