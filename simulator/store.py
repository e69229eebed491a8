"""Shared traffic: each simulated day's arrivals and its bounded sample of labelled rows.

Every level of a run reads the same days, so level 0 and level 3 see the
same requests (common random numbers). A day is generated from its own
random stream, so day 200 is the same whether a run lasts 250 days or 365,
and whichever levels run.

Each simulated day also carries the rows its costs are estimated on: the
ordinary sample, and, where the domain names a rare, costly stratum (fraud:
payments at least half as likely to be fraud as the average one), every row of
that stratum among a larger draw of candidates. See :class:`Day` for the
estimator; monitors and retraining never see the extra rows.

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
from dataclasses import dataclass, field, fields

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
_COST_ROWS = "cost_rows."  # prefix of an extra cost row's column


@dataclass
class Day:
    """One simulated day of traffic.

    ``arrivals`` has one Poisson count per tick, drawn around ``expected``
    (the traffic profile's mean count for the tick). The sample has ``len(times)``
    rows sorted by time; row i stands for ``weights[i]`` real requests, and
    ``state[i]`` is the drift state it was drawn from (the ground truth).
    Everything that reads requests (monitors, retraining, the daily metric)
    reads this sample and nothing else.

    **The cost sample.** Costs are estimated on the sample plus, where the
    domain names a cost stratum (:meth:`~simulator.domains.Domain.cost_stratum`),
    the ``cost_*`` rows. The n rows of the sample and M more candidates
    (``cost_candidates`` = N = n + M) are independent draws: a tick t with
    probability share_t (its share of the day's expected traffic), then a
    request of the tick's drift state. ``in_stratum`` says which sample rows
    fall in the stratum; ``cost_rows`` are the candidates beyond the sample
    that do (the others are dropped unscored), in tick order, with
    ``cost_tick_of_row`` and ``cost_route`` like the sample's. The day's cost

        T = Σ_{sample rows outside the stratum} A_t c_i / (n share_t)
          + Σ_{all N candidates in the stratum} A_t c_i / (N share_t)

    (A_t the tick's arrivals, c_i the row's cost) is unbiased for the day's
    full-volume cost: each sum is a mean of independent draws of
    A_t c · [in or out of the stratum] / share_t, whose expectation is that
    part of Σ_t A_t E[c | t]. The rare stratum is estimated on N draws
    instead of n, the rest on n. :meth:`sample_cost_weights` gives the
    sample rows' weights in T (``weights``, times n/N in the stratum);
    ``cost_weights`` those of the extra rows. With T_S, Q_S and T_R, Q_R the
    sums of x = weight x cost and of x² over the stratum and the rest,

        Var(T) ≈ (N Q_S − T_S²)/(N − 1) + (n Q_R − T_R²)/(n − 1) − 2 T_S T_R / N

    (the two sums' own variances, and their covariance through the n
    candidates both use), :func:`simulator.ledger.stratified_variance`.
    Without a stratum (``cost_candidates`` 0) T is the sample's plain
    weighted sum, and its variance the middle term over all its rows.
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
    # The cost stratum (see above): none on days before the start, or for a domain without one.
    cost_candidates: int = 0
    in_stratum: np.ndarray | None = None
    cost_tick_of_row: np.ndarray | None = None
    cost_weights: np.ndarray | None = None
    cost_route: np.ndarray | None = None
    cost_rows: Rows = field(default_factory=dict)

    def known(self, now: float | None) -> np.ndarray | None:
        """Which rows' labels are in hand at ``now`` (``None``: all of them, or no cut-off asked)."""
        mask = self.labelled
        if now is not None and self.label_at is not None:
            arrived = self.label_at <= now
            mask = arrived if mask is None else mask & arrived
        return mask

    def sample_cost_weights(self, lo: int = 0, hi: int | None = None) -> np.ndarray:
        """The weights in the cost estimate T of the sample rows ``lo:hi``: ``weights``, times n/N in the stratum."""
        w = self.weights[lo:hi]
        if not self.cost_candidates:
            return w
        return np.where(self.in_stratum[lo:hi], w * (len(self.times) / self.cost_candidates), w)


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
        self._cost_features: dict[int, np.ndarray] = {}

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
        self._cost_features.clear()
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

    def cost_features(self, index: int) -> np.ndarray:
        """The model input matrix of a day's extra cost rows (``Day.cost_rows``; cached like :meth:`features`)."""
        if index not in self._cost_features:
            day = self.day(index)
            self._cost_features[index] = (self.domain.features(day.cost_rows) if day.cost_candidates
                                          else np.zeros((0, 0)))
            for old in [k for k in self._cost_features if k < index - 1]:
                del self._cost_features[old]
        return self._cost_features[index]

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
        rows = self._draw_rows(times, state, rng)
        route = rng.random(n)
        cum = np.r_[0.0, np.cumsum(arrivals)]
        label_at, labelled = self._label_process(index, times)
        day = Day(index, arrivals, expected, cum, times, tick_of_row, weights, rows, state.astype(np.int16), route,
                  label_at, labelled)
        if index >= 0 and self.domain.cost_oversample > 0:  # days before the start are never costed
            self._add_cost_stratum(day, starts, share)
        return day

    def _draw_rows(self, times: np.ndarray, state: np.ndarray, rng: np.random.Generator) -> Rows:
        """The domain's rows for requests at ``times`` from drift states ``state``, in compact dtypes."""
        hours = (times % DAY) / 3600.0
        states = _states(state)
        if len(states) == 1:  # most days: one state, no masks
            part = self.domain.sample(hours, self.schedule.states[states[0]], rng, times=times)
            return {col: values.astype(_compact(values.dtype)) for col, values in part.items()}
        parts: dict[int, Rows] = {}
        for k in states:
            mask = state == k
            parts[k] = self.domain.sample(hours[mask], self.schedule.states[k], rng, times=times[mask])
        columns = next(iter(parts.values())).keys()
        rows: Rows = {}
        for col in columns:
            sample = next(iter(parts.values()))[col]
            out = np.empty(len(times), dtype=_compact(sample.dtype))
            for k, part in parts.items():
                out[state == k] = part[col]
            rows[col] = out
        return rows

    def _in_stratum(self, rows: Rows, state: np.ndarray) -> np.ndarray:
        """Which rows (as stored, in compact dtypes) fall in the domain's cost stratum of their drift state."""
        inside = np.zeros(len(state), dtype=bool)
        states = _states(state)
        for k in states:
            mask = None if len(states) == 1 else state == k
            part = rows if mask is None else {c: v[mask] for c, v in rows.items()}
            got = self.domain.cost_stratum(part, self.schedule.states[k])
            if got is not None:
                inside[slice(None) if mask is None else mask] = got
        return inside

    def _add_cost_stratum(self, day: Day, starts: np.ndarray, share: np.ndarray) -> None:
        """Draw M = ``cost_oversample`` x n more candidates and keep those in the cost stratum (see :class:`Day`).

        They come from a stream of their own, so the sample, and everything
        monitors and retraining see, is the same with or without them. The
        kept rows are in tick order (not sorted within a tick: the data plane
        serves whole ticks).
        """
        sc = self.scenario
        n = len(day.times)
        m = self.domain.cost_oversample * n
        rng = stream(sc.seed, "cost-stratum", day.index + _DAY_KEY_OFFSET)
        tick = np.repeat(np.arange(self.ticks_per_day), rng.multinomial(m, share))
        times = starts[tick] + sc.tick * rng.random(m)
        u = rng.random(m)
        v = rng.random(m) if self.schedule.needs_steps else None
        state = self.schedule.assign(times, u, v)
        rows = self._draw_rows(times, state, rng)
        keep = np.flatnonzero(self._in_stratum(rows, state))
        total = n + m
        day.cost_candidates = total
        day.in_stratum = self._in_stratum(day.rows, day.state)
        day.cost_tick_of_row = tick[keep]
        day.cost_weights = day.arrivals[tick[keep]] / (total * share[tick[keep]])
        day.cost_rows = {k: v[keep] for k, v in rows.items()}
        day.cost_route = rng.random(len(keep))

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
    arrays = {f.name: getattr(day, f.name) for f in fields(Day) if f.name not in ("index", "rows", "cost_rows")}
    arrays = {k: v for k, v in arrays.items() if v is not None}
    arrays["cost_candidates"] = np.array([day.cost_candidates], dtype=np.int64)  # one number, as a 1-array
    arrays.update({_ROWS + k: v for k, v in day.rows.items()})
    arrays.update({_COST_ROWS + k: v for k, v in day.cost_rows.items()})
    return arrays


def _unpack(index: int, arrays: dict[str, np.ndarray]) -> Day:
    """The day :func:`_pack` gave ``arrays`` for (columns in their original order)."""
    rows = {k[len(_ROWS):]: v for k, v in arrays.items() if k.startswith(_ROWS)}
    cost_rows = {k[len(_COST_ROWS):]: v for k, v in arrays.items() if k.startswith(_COST_ROWS)}
    rest = {k: v for k, v in arrays.items() if not k.startswith((_ROWS, _COST_ROWS))}
    rest["cost_candidates"] = int(rest["cost_candidates"][0]) if "cost_candidates" in rest else 0
    return Day(index=index, rows=rows, cost_rows=cost_rows, **rest)


def _states(state: np.ndarray) -> list[int]:
    """The drift states present in ``state``, ascending (as ``np.unique``, without its sort)."""
    return np.flatnonzero(np.bincount(state)).tolist()


def _compact(dtype: np.dtype) -> np.dtype:
    """Store floats as float32 and small integers as int16: a year of samples stays small."""
    if np.issubdtype(dtype, np.floating):
        return np.dtype(np.float32)
    if np.issubdtype(dtype, np.integer):
        return np.dtype(np.int16)
    return dtype
