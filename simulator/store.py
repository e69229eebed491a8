"""Shared traffic: each simulated day's arrivals and its bounded sample of labelled rows.

Every level of a run reads the same days, so level 0 and level 3 see the
same requests (common random numbers). A day is generated from its own
random stream, so day 200 is the same whether a run lasts 250 days or 365,
and whichever levels run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .domains import Domain, Rows
from .drift import DriftSchedule
from .rng import stream
from .scenario import Scenario
from .traffic import DAY, TrafficProfile

_DAY_KEY_OFFSET = 1_000_000  # stream keys must be non-negative; days before the start are negative


@dataclass
class Day:
    """One simulated day of traffic.

    ``arrivals`` has one Poisson count per tick. The sample has ``len(times)``
    rows sorted by time; row i stands for ``weights[i]`` real requests, and
    ``state[i]`` is the drift state it was drawn from (the ground truth).
    """

    index: int
    arrivals: np.ndarray
    cum_arrivals: np.ndarray  # arrivals before each tick: cum_arrivals[i] = arrivals[:i].sum()
    times: np.ndarray
    tick_of_row: np.ndarray
    weights: np.ndarray
    rows: Rows
    state: np.ndarray
    route: np.ndarray  # uniform per row: which model serves it when traffic is split
    label_at: np.ndarray | None = None   # when each row's label arrives (None: after the fixed delay)
    labelled: np.ndarray | None = None   # whether each row ever gets a label (None: all do)

    def known(self, now: float | None) -> np.ndarray | None:
        """Which rows' labels are in hand at ``now`` (``None``: all of them, or no cut-off asked)."""
        mask = self.labelled
        if now is not None and self.label_at is not None:
            arrived = self.label_at <= now
            mask = arrived if mask is None else mask & arrived
        return mask


class TrafficStore:
    """Generates and keeps the days of a run, and the labelled rows retraining may use."""

    def __init__(self, scenario: Scenario, domain: Domain, schedule: DriftSchedule) -> None:
        self.scenario = scenario
        self.domain = domain
        self.schedule = schedule
        self.profile = TrafficProfile(scenario.traffic, scenario.start.weekday())
        self.ticks_per_day = int(round(DAY / scenario.tick))
        self._days: dict[int, Day] = {}
        self._features: dict[int, np.ndarray] = {}

    def day(self, index: int) -> Day:
        """The day ``index`` (0 = the first simulated day; negative = history before it)."""
        if index not in self._days:
            self._days[index] = self._generate(index)
        return self._days[index]

    def adopt(self, days: dict[int, Day]) -> None:
        """Keep ``days`` generated elsewhere (by another process, from the same streams)."""
        for index, day in days.items():
            self._days.setdefault(index, day)

    def features(self, index: int) -> np.ndarray:
        """The model input matrix of a day's rows (cached for the two latest days)."""
        if index not in self._features:
            self._features[index] = self.domain.features(self.day(index).rows)
            for old in [k for k in self._features if k < index - 1]:
                del self._features[old]
        return self._features[index]

    def labelled(self, start: float, end: float, known_at: float | None = None) -> Rows:
        """The sampled rows (labels included) of requests with ``start <= t < end``.

        Only rows that ever get a label are returned, and with ``known_at``
        only those whose label has arrived by then.
        """
        first, last = int(np.floor(start / DAY)), int(np.ceil(end / DAY)) - 1
        parts = []
        for d in range(first, last + 1):
            day = self.day(d)
            lo, hi = np.searchsorted(day.times, [start, end])
            part = {k: v[lo:hi] for k, v in day.rows.items()}
            keep = day.known(known_at)
            if keep is not None:
                part = {k: v[keep[lo:hi]] for k, v in part.items()}
            parts.append(part)
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def features_of(self, rows: Rows, idx: np.ndarray) -> np.ndarray:
        """The model input matrix of the rows ``idx`` of ``rows``."""
        return self.domain.features({k: v[idx] for k, v in rows.items()})

    def _generate(self, index: int) -> Day:
        sc = self.scenario
        rng = stream(sc.seed, "traffic", index + _DAY_KEY_OFFSET)
        tau = sc.tick
        starts = index * DAY + tau * np.arange(self.ticks_per_day)
        # Expected arrivals per tick: the rate at the middle of the tick.
        expected = self.profile.rate(starts + tau / 2) * tau
        arrivals = rng.poisson(expected).astype(np.float64)
        n = sc.traffic.sample_per_day
        share = expected / expected.sum() if expected.sum() > 0 else np.full(len(expected), 1 / len(expected))
        per_tick = rng.multinomial(n, share)
        tick_of_row = np.repeat(np.arange(self.ticks_per_day), per_tick)
        # Ticks do not overlap, so sorting the times keeps tick_of_row in step.
        times = np.sort(starts[tick_of_row] + tau * rng.random(n))
        # Each row stands for its tick's arrivals shared over the rows the tick would get.
        weights = arrivals[tick_of_row] / (n * share[tick_of_row])
        u = rng.random(n)
        # Incremental drifts need a second number per row; a stream of its own keeps other runs unchanged.
        v = stream(sc.seed, "drift-steps", index + _DAY_KEY_OFFSET).random(n) if self.schedule.needs_steps else None
        state = self.schedule.assign(times, u, v)
        hours = (times % DAY) / 3600.0
        parts: dict[int, Rows] = {}
        for k in np.unique(state):
            mask = state == k
            parts[int(k)] = self.domain.sample(hours[mask], self.schedule.states[int(k)], rng, times=times[mask])
        columns = next(iter(parts.values())).keys()
        rows: Rows = {}
        for col in columns:
            sample = next(iter(parts.values()))[col]
            out = np.empty(n, dtype=_compact(sample.dtype))
            for k, part in parts.items():
                out[state == k] = part[col]
            rows[col] = out
        route = rng.random(n)
        cum = np.r_[0.0, np.cumsum(arrivals)]
        label_at, labelled = self._label_process(index, times)
        return Day(index, arrivals, cum, times, tick_of_row, weights, rows, state.astype(np.int16), route,
                   label_at, labelled)

    def _label_process(self, index: int, times: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Each row's label arrival time and whether it is ever labelled, from a stream of their own."""
        spec = self.scenario.domain
        if spec.labels_complete:
            return None, None
        rng = stream(self.scenario.seed, "labels", index + _DAY_KEY_OFFSET)
        label_at = times + spec.label_delay.draw(rng, len(times))
        labelled = rng.random(len(times)) < spec.label_share if spec.label_share < 1.0 else None
        return label_at, labelled


def _compact(dtype: np.dtype) -> np.dtype:
    """Store floats as float32 and small integers as int16: a year of samples stays small."""
    if np.issubdtype(dtype, np.floating):
        return np.dtype(np.float32)
    if np.issubdtype(dtype, np.integer):
        return np.dtype(np.int16)
    return dtype
