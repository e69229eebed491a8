"""Shared traffic: each simulated day's arrivals and its bounded sample of labelled rows.

Every level of a run reads the same days, so level 0 and level 3 see the
same requests (common random numbers). A day is generated from its own
random stream, so day 200 is the same whether a run lasts 250 days or 365,
and whichever levels run.

A run's memory does not grow with its length: each day is written to a
temporary spill folder (:mod:`simulator.spill`) as soon as it is made, memory
holds only the days used last, and a day asked for again is read back from
the folder, the same to the bit. Processes forked from the one that made the
store share the days through the folder.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np

from .domains import Domain, Rows
from .drift import DriftSchedule
from .rng import stream
from .scenario import Scenario
from .spill import SpillFolder
from .traffic import DAY, TrafficProfile

_DAY_KEY_OFFSET = 1_000_000  # stream keys must be non-negative; days before the start are negative
# Days held in memory. What the levels read again and again is the day being served and the week
# of days a performance monitor scores once their labels are in; retraining windows are read from
# the folder straight through, without displacing them.
KEEP_DAYS = 64
_ROWS = "rows."  # prefix of a sampled column's name in a spilled day


@dataclass
class Day:
    """One simulated day of traffic.

    ``arrivals`` has one Poisson count per tick, drawn around ``expected``
    (the traffic profile's mean count for the tick). The sample has ``len(times)``
    rows sorted by time; row i stands for ``weights[i]`` real requests, and
    ``state[i]`` is the drift state it was drawn from (the ground truth).
    """

    index: int
    arrivals: np.ndarray
    expected: np.ndarray  # the mean arrival count of each tick (what the Poisson count is drawn around)
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
    """Generates the days of a run and hands them out, and the labelled rows retraining may use.

    Memory holds at most ``keep_days`` days (the ones used last); every day
    made is written to the store's spill folder and read back from it when
    asked for again. The folder is the store's: :meth:`close` removes it
    (the store is also a context manager), and only the process that made the
    store does so — processes forked from it share the folder, and the days
    in it, while it runs.
    """

    def __init__(self, scenario: Scenario, domain: Domain, schedule: DriftSchedule,
                 keep_days: int = KEEP_DAYS, spill_parent: str | os.PathLike | None = None) -> None:
        if keep_days < 1:
            raise ValueError("keep_days must be at least 1")
        self.scenario = scenario
        self.domain = domain
        self.schedule = schedule
        self.profile = TrafficProfile(scenario.traffic, scenario.start.weekday())
        self.ticks_per_day = int(round(DAY / scenario.tick))
        self.keep_days = keep_days
        self.spill = SpillFolder(spill_parent)
        self._days: OrderedDict[int, Day] = OrderedDict()  # least recently used first
        self._features: dict[int, np.ndarray] = {}

    def day(self, index: int) -> Day:
        """The day ``index`` (0 = the first simulated day; negative = history before it)."""
        day = self._days.get(index)
        if day is not None:
            self._days.move_to_end(index)
            return day
        day = self._days[index] = self._fetch(index)
        if len(self._days) > self.keep_days:
            self._days.popitem(last=False)
        return day

    @property
    def days_in_memory(self) -> int:
        """How many days the store holds in memory now (at most ``keep_days``)."""
        return len(self._days)

    def make(self, indices: Iterable[int]) -> None:
        """Make and spill the days ``indices`` not in the folder yet, without keeping them in memory.

        Processes forked from the store's may share the work: a day is the same whoever makes it.
        """
        for index in indices:
            if _name(index) not in self.spill:
                self.spill.write(_name(index), _pack(self._generate(index)))

    def close(self) -> None:
        """Forget the days and remove the spill folder (in the process that made the store)."""
        self._days.clear()
        self._features.clear()
        self.spill.close()

    def __enter__(self) -> "TrafficStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _fetch(self, index: int) -> Day:
        """The day ``index`` from memory, from the spill folder, or made now (and spilled), not kept."""
        day = self._days.get(index)
        if day is not None:
            return day
        arrays = self.spill.read(_name(index))
        if arrays is not None:
            return _unpack(index, arrays)
        day = self._generate(index)
        self.spill.write(_name(index), _pack(day))
        return day

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
            # A window of months is read straight through, leaving the days in memory as they are.
            day = self._fetch(d)
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
        return Day(index, arrivals, expected, cum, times, tick_of_row, weights, rows, state.astype(np.int16), route,
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


def _name(index: int) -> str:
    return f"day{index:+06d}"


def _pack(day: Day) -> dict[str, np.ndarray]:
    """A day's arrays by name, for the spill folder (fields that are ``None`` are left out)."""
    arrays = {f.name: getattr(day, f.name) for f in fields(Day) if f.name not in ("index", "rows")}
    arrays = {k: v for k, v in arrays.items() if v is not None}
    arrays.update({_ROWS + k: v for k, v in day.rows.items()})
    return arrays


def _unpack(index: int, arrays: dict[str, np.ndarray]) -> Day:
    """The day :func:`_pack` gave ``arrays`` for (columns in their original order)."""
    rows = {k[len(_ROWS):]: v for k, v in arrays.items() if k.startswith(_ROWS)}
    rest = {k: v for k, v in arrays.items() if not k.startswith(_ROWS)}
    return Day(index=index, rows=rows, **rest)


def _compact(dtype: np.dtype) -> np.dtype:
    """Store floats as float32 and small integers as int16: a year of samples stays small."""
    if np.issubdtype(dtype, np.floating):
        return np.dtype(np.float32)
    if np.issubdtype(dtype, np.integer):
        return np.dtype(np.int16)
    return dtype
