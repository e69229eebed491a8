"""Load profiles against their closed forms, and arrivals against the rate."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.scenario import FlashCrowd, Spike, Traffic
from simulator.traffic import DAY, TrafficProfile


def profile(**kw):
    return TrafficProfile(Traffic(rate="100/s", **kw), start_weekday=0)


def test_daily_cycle_peaks_at_three_in_the_afternoon():
    p = profile(daily_cycle=0.4)
    assert p.rate(np.array([15 * 3600.0, 3 * 3600.0])).tolist() == pytest.approx([140.0, 60.0])


def test_growth_compounds_per_year():
    p = profile(growth=0.5)
    assert p.rate(np.array([0.0, 365 * DAY, 730 * DAY])).tolist() == pytest.approx([100.0, 150.0, 225.0])


def test_spike_ramps_in_holds_and_ramps_out():
    p = profile(spikes=[Spike(at="1d", multiplier=5, duration="1h", ramp="30m")])
    t = DAY + np.array([-1800.0, -900.0, 0.0, 1800.0, 3600.0, 4500.0, 5400.0])
    assert p.rate(t).tolist() == pytest.approx([100, 300, 500, 500, 500, 300, 100])


def test_flash_crowd_jumps_and_its_excess_halves_every_half_life():
    p = profile(flash_crowds=[FlashCrowd(at="2d", multiplier=9, half_life="1h")])
    t = 2 * DAY + np.array([-1.0, 0.0, 3600.0, 7200.0])
    assert p.rate(t).tolist() == pytest.approx([100, 900, 500, 300])


def test_daily_arrivals_follow_the_rate_within_poisson_error():
    import simulator
    from conftest import FRAUD
    from simulator.domains.fraud import FraudDomain
    from simulator.drift import DriftSchedule
    from simulator.store import TrafficStore

    sc = simulator.load_scenario(FRAUD)
    d = FraudDomain(sc.domain.params)
    store = TrafficStore(sc, d, DriftSchedule(d.params, sc.drift))
    day = store.day(10)
    ticks = 10 * DAY + sc.tick * (np.arange(store.ticks_per_day) + 0.5)
    expected = (store.profile.rate(ticks) * sc.tick).sum()
    assert abs(day.arrivals.sum() - expected) < 4 * np.sqrt(expected)
