"""Arrival rate over time: a base rate shaped by daily and weekly cycles and spikes.

>>> from simulator.scenario import Traffic, Spike
>>> t = Traffic(rate="100/s", spikes=[Spike(at="1d", multiplier=5, duration="1h", ramp="0s")])
>>> profile = TrafficProfile(t, start_weekday=0)
>>> float(profile.rate(np.array([3600.0]))[0]), float(profile.rate(np.array([86400.0 + 60]))[0])
(100.0, 500.0)
"""
from __future__ import annotations

import numpy as np

from .scenario import Traffic

DAY = 86400.0
WEEK = 7 * DAY


class TrafficProfile:
    """The expected arrival rate λ(t), requests per second, at simulated time t.

    The daily wave peaks at 15:00 and bottoms at 03:00; the weekly wave peaks
    on Saturday. ``growth`` compounds over each 365 days. A spike multiplies
    the rate by ``multiplier`` for ``duration``, ramping linearly in over
    ``ramp`` before it and out over ``ramp`` after it. A flash crowd jumps to
    ``multiplier`` times at ``at`` and its excess halves every ``half_life``.
    """

    def __init__(self, traffic: Traffic, start_weekday: int) -> None:
        self.traffic = traffic
        self.start_weekday = start_weekday

    def rate(self, t: np.ndarray) -> np.ndarray:
        """λ(t) for an array of times in seconds since the start."""
        tr = self.traffic
        hours = (t % DAY) / 3600.0
        days = (t / DAY + self.start_weekday) % 7.0  # 0 = Monday
        shape = (1.0 + tr.daily_cycle * np.cos(2 * np.pi * (hours - 15.0) / 24.0)) * (
            1.0 + tr.weekly_cycle * np.cos(2 * np.pi * (days - 5.5) / 7.0)
        )
        growth = (1.0 + tr.growth) ** (t / (365 * DAY))
        return tr.rate * shape * growth * self.spike_factor(t) * self.flash_factor(t)

    def flash_factor(self, t: np.ndarray) -> np.ndarray:
        """The product of all flash crowds' multipliers at times ``t`` (1 outside them)."""
        factor = np.ones_like(t, dtype=np.float64)
        for crowd in self.traffic.flash_crowds:
            since = t - crowd.at
            excess = (crowd.multiplier - 1.0) * np.exp2(-np.maximum(since, 0.0) / crowd.half_life)
            factor *= np.where(since >= 0, 1.0 + excess, 1.0)
        return factor

    def spike_factor(self, t: np.ndarray) -> np.ndarray:
        """The product of all spikes' multipliers at times ``t`` (1 outside spikes)."""
        factor = np.ones_like(t, dtype=np.float64)
        for spike in self.traffic.spikes:
            start, end = spike.at, spike.at + spike.duration
            if spike.ramp > 0:
                up = np.clip((t - (start - spike.ramp)) / spike.ramp, 0.0, 1.0)
                down = np.clip(((end + spike.ramp) - t) / spike.ramp, 0.0, 1.0)
                level = np.minimum(up, down)
            else:
                level = ((t >= start) & (t < end)).astype(np.float64)
            factor *= 1.0 + (spike.multiplier - 1.0) * level
        return factor
