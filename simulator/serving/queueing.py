"""Tick-mode queueing: quiet ticks in closed form, busy ticks request by request.

A tick of length τ whose expected arrival count is Λ, on c replicas of mean
service time s, has utilisation ρ = Λ·s / (c·τ). Three regimes:

- **Quiet** (ρ below ``exact_above``, 0.7 by default, and no queue left from
  the tick before): the tick is in steady state. An arrival waits with the
  Erlang C probability, and the conditional wait is exponential with mean
  k·s / (c·(1 − ρ)), where k = (1 + cv²)/2 is the Allen–Cunneen correction for
  non-exponential service (k = 1, exact, for exponential service). ρ is the
  *expected* load, not the tick's realised count: the stationary formula
  already averages over the Poisson noise of arrivals, so feeding it noisy
  counts would count that noise twice (Jensen's inequality). Latency tables
  are kept on a grid of ρ and interpolated between grid points.
- **Busy** (ρ at or above ``exact_above``, pools of up to
  :data:`EXACT_MAX_REPLICAS` replicas): every request of the tick is served
  exactly (:func:`~simulator.serving.fcfs.serve_tick`, the same requests
  request mode draws), and so is every tick after it until the replicas are
  idle at a tick's end. Near and past saturation no closed form is exact:
  queues build and drain over minutes, and short bursts are transient.
- **Large pools** (more than :data:`EXACT_MAX_REPLICAS` replicas, or ticks of
  more than :data:`EXACT_MAX_REQUESTS` requests) past the grid's top or
  holding a backlog: the queue is followed as a fluid (the
  backlog grows by A − c·τ/s over the tick, waits rise with it, a request
  whose wait plus service passes the timeout fails) with a diffusion for the
  spread of waits once it is full. A pool that large is nearly deterministic,
  and the exact queue would cost time in proportion to its traffic.

>>> round(float(erlang_c(2, np.array([1.0]))[0]), 4)  # M/M/2 at ρ = 0.5
0.3333
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.special import gammaln, ndtr, ndtri, pdtr

from ..scenario import ServiceTime
from .fcfs import FcfsServers, TickOutcome, serve_tick
from .latency import CENTRES, EDGES, bin_of

# Utilisation grid of the precomputed latency tables: fine near saturation.
RHO_GRID = np.r_[np.linspace(0.0, 0.9, 91), 1.0 - np.geomspace(0.1, 1e-3, 41)[1:]]
_FLUID_POINTS = 16

#: Ticks loaded to this utilisation or more are served request by request unless a scenario says otherwise.
EXACT_ABOVE = 0.7
#: Pools larger than this are never served request by request: their queue is a fluid (see the module's notes).
EXACT_MAX_REPLICAS = 256
#: Nor is a tick with more requests than this (memory and time per tick stay bounded).
EXACT_MAX_REQUESTS = 2_000_000

# Latency tables by (service time, points, replicas, timeout, shedding limit), least recently used first:
# about 250 kB each, computed a row at a time as utilisations are met.
_TABLES: OrderedDict[tuple, tuple[np.ndarray, ...]] = OrderedDict()
_TABLES_KEPT = 256


def erlang_c(c: int, offered: np.ndarray) -> np.ndarray:
    """Probability that an arrival waits in M/M/c with offered load a = λ·s (Erlangs).

    Erlang B is the Poisson(a) probability of c over that of at most c, taken
    from scipy's Poisson distribution (stable and O(1) however large c is);
    Erlang C follows from it. 1.0 where a ≥ c (no steady state).
    """
    a = np.asarray(offered, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pmf = c * np.log(a) - a - gammaln(c + 1.0)
        b = np.where(a > 0, np.exp(log_pmf) / pdtr(c, a), 0.0)
        rho = a / c
        pw = b / (1.0 - rho * (1.0 - b))
    return np.where(rho >= 1.0, 1.0, pw)


class ServiceModel:
    """A replica's service time: its mean, squared coefficient of variation and quantiles."""

    def __init__(self, spec: ServiceTime, points: int = 256) -> None:
        self.spec = spec
        self.mean = spec.mean
        if spec.dist == "exponential":
            self.cv2 = 1.0
        else:
            # Lognormal from its mean and p99: ln(p99/mean) = 2.326σ − σ²/2, smaller root.
            z = float(ndtri(0.99))
            gap = np.log(spec.p99 / spec.mean)
            if gap >= z * z / 2:
                raise ValueError("p99 is too far above the mean for a lognormal service time")
            self.sigma = z - np.sqrt(z * z - 2 * gap)
            self.mu = np.log(spec.mean) - self.sigma**2 / 2
            self.cv2 = float(np.exp(self.sigma**2) - 1)
        mid = (np.arange(points) + 0.5) / points
        self.points = self.quantile(mid)

    def scaled(self, factor: float) -> "ServiceModel":
        """The same distribution ``factor`` times slower (every quantile multiplied by it)."""
        if factor == 1.0:
            return self
        spec = self.spec.model_copy(update={
            "mean": self.spec.mean * factor, "p99": self.spec.p99 * factor if self.spec.p99 is not None else None})
        return ServiceModel(spec, len(self.points))

    def quantile(self, q: np.ndarray) -> np.ndarray:
        """Service-time quantiles in seconds."""
        if self.spec.dist == "exponential":
            return -self.mean * np.log1p(-q)
        return np.exp(self.mu + self.sigma * ndtri(q))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` service times in seconds."""
        if self.spec.dist == "exponential":
            return rng.exponential(self.mean, n)
        return np.exp(self.mu + self.sigma * rng.standard_normal(n))

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(S ≤ x)."""
        x = np.maximum(np.asarray(x, dtype=np.float64), 1e-300)
        if self.spec.dist == "exponential":
            return 1.0 - np.exp(-x / self.mean)
        return ndtr((np.log(x) - self.mu) / self.sigma)


@dataclass
class TickStats:
    """What a run of ticks produced, per tick."""

    failed: np.ndarray       # failed (timed-out) requests
    wait: np.ndarray         # total queue wait of the tick's requests, seconds
    latency: np.ndarray      # total latency (wait + service, capped at the timeout), seconds
    backlog: float           # requests still queued at the end
    shed: np.ndarray | None = None    # requests turned away to the fallback (when shedding)
    queued: np.ndarray | None = None  # requests waiting for a replica at each tick's end (mean, when stable)

    @classmethod
    def empty(cls, n: int) -> "TickStats":
        """Zeros for ``n`` ticks."""
        return cls(np.zeros(n), np.zeros(n), np.zeros(n), 0.0, np.zeros(n), np.zeros(n))

    def record(self, i: int, outcome: TickOutcome) -> None:
        """Tick ``i``'s figures from one exactly served tick."""
        self.failed[i], self.shed[i], self.wait[i] = outcome.failed, outcome.shed, outcome.wait
        self.latency[i], self.queued[i] = outcome.latency, outcome.queued_at_end


def histogram_rows(hist: np.ndarray | None, group: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    """What :meth:`ServingQueue.serve` adds latency counts to: a matrix of rows, and each of ``n`` ticks' row.

    ``hist`` is a vector of bins (one row), a matrix (one row per ``group``
    value), or ``None`` (a scratch vector); ``group`` defaults to row 0.
    """
    hist = np.zeros(len(CENTRES)) if hist is None else hist
    return (hist if hist.ndim == 2 else hist[None, :]), (np.zeros(n, dtype=np.int64) if group is None else group)


class ServingQueue(Protocol):
    """What a data plane serves its ticks with: tick mode (:class:`TickQueue`) or request mode.

    A queue owns its state between calls (the backlog, or the replicas'
    free times), so the caller only says what arrives and how many replicas
    serve it.
    """

    service: ServiceModel       # the service time now (slowed down, perhaps)
    base_service: ServiceModel  # the scenario's service time

    @property
    def backlog(self) -> float:
        """Requests still queued at the end of the last tick served (0 when idle)."""

    def slow_down(self, factor: float) -> None:
        """Serve from now on with every service time ``factor`` times its scenario value."""

    def drop_backlog(self, now: float) -> None:
        """Forget the queue: the replicas holding it crashed at ``now``."""

    def serve(self, arrivals: np.ndarray, replicas: int, start: float, *, expected: np.ndarray | None = None,
              day_index: int = 0, first_tick: int = 0, hist: np.ndarray | None = None,
              group: np.ndarray | None = None) -> TickStats:
        """Serve consecutive ticks from ``start``; see :meth:`TickQueue.serve`."""


class TickQueue:
    """Queueing for a pool of replicas, one tick at a time, with backlog carried.

    A tick loaded to ``exact_above`` or more is served request by request
    (:func:`~simulator.serving.fcfs.serve_tick`), and so is every tick after
    it until the replicas are idle again; the quiet ticks in between stay in
    closed form. ``exact_above=None`` serves every tick in closed form (fluid
    and diffusion approximations when busy), which costs the same however
    much traffic there is but is far from exact near saturation.

    >>> from simulator.scenario import ServiceTime
    >>> q = TickQueue(ServiceModel(ServiceTime(dist="exponential", mean="20ms")), tick=60.0, timeout=1.0)
    >>> stats = q.serve(np.array([6000.0, 9000.0]), replicas=4, start=0.0)  # 50% load, then 75%: served exactly
    >>> stats.failed.tolist()
    [0.0, 0.0]
    """

    def __init__(self, service: ServiceModel, tick: float, timeout: float, shed_after: float | None = None,
                 exact_above: float | None = EXACT_ABOVE, seed: int = 0,
                 exact_max_replicas: int = EXACT_MAX_REPLICAS) -> None:
        self.base_service = self.service = service
        self.tick = tick
        self.timeout = timeout
        self.exact_above = exact_above
        self.exact_max_replicas = exact_max_replicas
        self.seed = seed
        self._factor = 1.0
        self._backlog = 0.0
        self._servers: FcfsServers | None = None  # the exact queue, while busy ticks are served exactly
        # Requests that would wait longer than this are turned away: shed to the
        # fallback when shedding is on, else they give up at the timeout (fail).
        self.shed_after = shed_after
        self.limit = min(timeout, shed_after) if shed_after is not None else timeout
        self._timeout_bin = bin_of(timeout)

    @property
    def backlog(self) -> float:
        """Requests still queued at the end of the last tick served (0 when idle)."""
        return self._backlog

    def slow_down(self, factor: float) -> None:
        """Serve from now on with every service time ``factor`` times the scenario's (a slow release)."""
        if factor != self._factor:
            self._factor = factor
            self.service = self.base_service.scaled(factor)

    def drop_backlog(self, now: float) -> None:
        """Forget the queue (the replicas holding it crashed); ``now`` is unused in tick mode."""
        self._servers = None
        self._backlog = 0.0

    @property
    def _k(self) -> float:
        return (1.0 + self.service.cv2) / 2.0

    def table(self, c: int, needed: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        """For each utilisation on ``RHO_GRID``, for ``c`` replicas: latency-bin shares, timeout share, shed
        share and the mean latency past the timeout (which capping at the timeout takes off the mean).

        Rows are computed when first ``needed`` (indices into the grid; all
        when ``None``) and kept, so a pool that the autoscaler resizes often
        pays only for the utilisations it meets.
        """
        # Levels with the same service, pool and limits share their tables (the levels of a run do).
        key = (self.service.spec, len(self.service.points), c, self.timeout, self.shed_after)
        if key not in _TABLES:
            g = len(RHO_GRID)
            _TABLES[key] = (np.zeros((g, len(CENTRES))), np.zeros(g), np.zeros(g), np.zeros(g),
                            np.zeros(g, dtype=bool))
            while len(_TABLES) > _TABLES_KEPT:
                _TABLES.popitem(last=False)
        _TABLES.move_to_end(key)
        share, p_timeout, p_shed, excess, done = _TABLES[key]
        rows = np.arange(len(RHO_GRID)) if needed is None else np.unique(needed)
        missing = rows[~done[rows]]
        if len(missing):
            share[missing], p_timeout[missing], p_shed[missing], excess[missing] = self._rows(c, RHO_GRID[missing])
            done[missing] = True
        return share, p_timeout, p_shed, excess

    def _response_cdf(self, x: np.ndarray, pw: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """P(wait + service ≤ x) for each utilisation (rows) at each point of ``x`` (columns)."""
        s = self.service
        out = np.empty((len(pw), len(x)))
        for r0 in range(0, len(pw), 8):  # a few rows at a time: the (rows, x, points) array stays small
            r = slice(r0, r0 + 8)
            lag = x[None, :, None] - s.points[None, None, :]
            waited = np.mean((lag >= 0) * -np.expm1(-theta[r, None, None] * np.maximum(lag, 0.0)), axis=2)
            out[r] = (1.0 - pw[r])[:, None] * s.cdf(x)[None, :] + pw[r, None] * waited
        return out

    def _rows(self, c: int, rho: np.ndarray) -> tuple[np.ndarray, ...]:
        pw = erlang_c(c, rho * c)
        theta = c * (1.0 - rho) / (self.service.mean * self._k)  # rate of the conditional wait
        cdf = self._response_cdf(EDGES, pw, theta)
        cdf[:, -1] = 1.0
        share = np.diff(cdf, axis=1)
        p_timeout = 1.0 - self._response_cdf(np.array([self.timeout]), pw, theta)[:, 0]
        # Requests past the timeout are recorded at the timeout.
        share[:, self._timeout_bin + 1:] = 0.0
        share[:, self._timeout_bin] += p_timeout
        # E[(R − timeout)+] = ∫ P(R > t) dt past the timeout: what capping latencies at the timeout removes.
        beyond = np.r_[self.timeout, EDGES[EDGES > self.timeout]]
        excess = np.trapezoid(1.0 - self._response_cdf(beyond, pw, theta), beyond, axis=1) if len(beyond) > 1 \
            else np.zeros(len(rho))
        # With shedding, an arrival that would wait past shed_after goes to the fallback: P(W > x) = pw·e^(−θx).
        p_shed = pw * np.exp(-theta * self.shed_after) if self.shed_after is not None else np.zeros(len(rho))
        return (np.clip(share, 0.0, None), np.clip(p_timeout, 0.0, 1.0), np.clip(p_shed, 0.0, 1.0),
                np.maximum(excess, 0.0))

    def mean_wait(self, c: int, rho: np.ndarray) -> np.ndarray:
        """Steady-state mean queue wait (seconds) at utilisation ``rho`` < 1."""
        pw = erlang_c(c, rho * c)
        return pw * self._k * self.service.mean / (c * (1.0 - rho))

    def serve(self, arrivals: np.ndarray, replicas: int, start: float, *, expected: np.ndarray | None = None,
              day_index: int = 0, first_tick: int = 0, hist: np.ndarray | None = None,
              group: np.ndarray | None = None) -> TickStats:
        """Serve ``arrivals`` (one count per tick, from ``start`` seconds) on ``replicas`` replicas.

        ``expected`` is each tick's mean arrival count (the realised counts
        when not given): the regime of a tick and its closed form follow it.
        Latency counts are added to ``hist``: a vector of bins, or a matrix
        with one row per report interval, ``group`` giving each tick's row.
        ``day_index`` and ``first_tick`` place the ticks in the run, so exactly
        served ticks draw the same requests as request mode.
        """
        n = len(arrivals)
        c = replicas
        hist2d, group = histogram_rows(hist, group, n)
        expected = arrivals if expected is None else expected
        rho = expected * self.service.mean / (c * self.tick)
        stable = rho < RHO_GRID[-1]
        if self.exact_above is not None and c <= self.exact_max_replicas:
            busy = rho >= self.exact_above
        else:
            busy = np.zeros(n, dtype=bool)
        out = TickStats.empty(n)
        backlog = self._backlog
        busy &= arrivals <= EXACT_MAX_REQUESTS
        i = 0
        while i < n:
            if self._servers is not None and arrivals[i] > EXACT_MAX_REQUESTS:
                # Too many requests to serve one by one: the exact queue's work becomes a fluid backlog.
                backlog = self._servers.work_after(start + i * self.tick) / self.service.mean
                self._servers = None
            if self._servers is not None or busy[i]:
                backlog = self._exact(arrivals[i], c, backlog, hist2d, group[i], out, i,
                                      start + i * self.tick, day_index, first_tick + i)
                i += 1
            elif backlog <= 0 and stable[i]:
                # The longest run of quiet ticks from here is served in closed form at once.
                quiet = stable[i:] & ~busy[i:]
                j = i + int(np.argmin(quiet)) if not quiet.all() else n
                self._stable(arrivals[i:j], rho[i:j], c, hist2d, group[i:j], out, slice(i, j))
                i = j
            else:
                backlog = self._fluid(arrivals[i], c, backlog, hist2d, group[i], out, i)
                i += 1
        self._backlog = out.backlog = backlog
        return out

    def _stable(self, a, rho, c, hist2d, group, out: TickStats, where: slice) -> None:
        """Quiet ticks in closed form at their expected utilisation ``rho``, tables interpolated on the grid."""
        hi = np.clip(np.searchsorted(RHO_GRID, rho, side="right"), 1, len(RHO_GRID) - 1)
        lo = hi - 1
        frac = np.clip((rho - RHO_GRID[lo]) / (RHO_GRID[hi] - RHO_GRID[lo]), 0.0, 1.0)
        share, p_timeout, p_shed, excess = self.table(c, np.r_[lo, hi])
        rows, grid = hist2d.shape[0], len(RHO_GRID)
        weights = (np.bincount(group * grid + lo, weights=a * (1.0 - frac), minlength=rows * grid)
                   + np.bincount(group * grid + hi, weights=a * frac, minlength=rows * grid)).reshape(rows, grid)
        used = np.flatnonzero(weights.any(axis=0))  # the few grid rows these ticks touch
        hist2d += weights[:, used] @ share[used]
        between = lambda table: (1.0 - frac) * table[lo] + frac * table[hi]  # noqa: E731
        shed = between(p_shed)
        out.shed[where] = a * shed
        out.failed[where] = a * np.maximum(between(p_timeout) - shed, 0.0)
        out.wait[where] = a * self.mean_wait(c, rho)
        out.latency[where] = out.wait[where] + a * (self.service.mean - between(excess))
        # Little's law (mean queue = arrival rate x mean wait), within what the limit lets wait.
        out.queued[where] = np.minimum(out.wait[where] / self.tick, self.limit * c / self.service.mean)

    def _exact(self, a: float, c: int, backlog: float, hist2d, group: int, out: TickStats, i: int,
               t0: float, day_index: int, tick_index: int) -> float:
        """One tick served request by request; the fluid backlog, if any, becomes the replicas' pending work."""
        if self._servers is None:
            self._servers = FcfsServers(c, t0 + backlog * self.service.mean / c)
        self._servers.resize(c, t0)
        if a > 0:
            got = serve_tick(self._servers, int(a), self.service, self.seed, day_index, tick_index,
                             t0, self.tick, self.timeout, self.shed_after)
            out.record(i, got)
            hist2d[group] += got.bins
        end = t0 + self.tick
        if not self._servers.busy_after(end):
            self._servers = None  # idle again: back to closed form, nothing carried
            return 0.0
        # Work still queued at the tick's end, as requests, for the risk check and the fluid model.
        return self._servers.work_after(end) / self.service.mean

    def _fluid(self, a: float, c: int, backlog: float, hist2d, group: int, out: TickStats, i: int) -> float:
        """One overloaded tick (or one draining a backlog): the queue as a fluid, its full state as a diffusion.

        The semantics are request mode's: a request that would wait longer
        than the timeout gives up (the overflow of a full queue), and one
        served with wait + service past the timeout fails too — its answer
        comes too late but its replica time is spent.

        While the queue fills or drains, waits follow the fluid queue. Once it
        is full, waits spread below the timeout: the virtual waiting time is
        approximated by a Brownian motion with drift ρ − 1 and variance rate
        ρ(1 + cv²)s/c held in [0, timeout], whose stationary density grows as
        exp(κv) with κ = 2(ρ − 1)c / (ρ(1 + cv²)s).
        """
        s = self.service
        capacity = c * self.tick / s.mean
        q_max = self.limit * c / s.mean  # a request behind more than this is turned away
        overflow = max(backlog + a - capacity - q_max, 0.0)
        x = (np.arange(_FLUID_POINTS) + 0.5) / _FLUID_POINTS
        queue = np.clip(backlog + (a - capacity) * x, 0.0, q_max)
        wait = queue * s.mean / c
        full = queue >= q_max * (1 - 1e-9)
        if full.any():
            wait = np.where(full, 0.0, wait)
            waits = np.repeat(wait[:, None], _FLUID_POINTS, axis=1)
            waits[full] = self._full_queue_waits(a * s.mean / (c * self.tick), c)[None, :]
        else:
            waits = wait[:, None].repeat(1, axis=1)
        total = waits[:, :, None] + s.points[None, None, :]
        served = a - overflow
        late = float((total > self.timeout).mean())
        latency = np.minimum(total, self.timeout)
        bins = np.clip(np.searchsorted(EDGES, latency.ravel(), side="right") - 1, 0, len(CENTRES) - 1)
        hist2d[group] += np.bincount(bins, minlength=len(CENTRES)) * (served / latency.size)
        out.wait[i] = served * float(waits.mean())
        out.latency[i] = served * float(latency.mean())
        if self.shed_after is not None:  # turned away at once, answered by the fallback
            out.failed[i] = served * late
            out.shed[i] = overflow
        else:  # the overflow waits out the timeout and fails
            out.failed[i] = overflow + served * late
            out.wait[i] += overflow * self.timeout
            out.latency[i] += overflow * self.timeout
            hist2d[group, self._timeout_bin] += overflow
        queue_end = float(np.clip(backlog + a - capacity, 0.0, q_max))
        out.queued[i] = queue_end
        return queue_end

    def _full_queue_waits(self, rho: float, c: int) -> np.ndarray:
        """Quantiles of the wait of served requests while the queue is full (see :meth:`_fluid`)."""
        tau, s = self.limit, self.service
        kappa = 2.0 * (rho - 1.0) * c / (max(rho, 1e-9) * (1.0 + s.cv2) * s.mean)
        u = (np.arange(_FLUID_POINTS) + 0.5) / _FLUID_POINTS
        if abs(kappa * tau) < 1e-9:
            return u * tau
        if kappa > 0:  # mass piles up under the timeout
            return tau + np.log(u + (1.0 - u) * np.exp(-kappa * tau)) / kappa
        return np.log1p(u * np.expm1(kappa * tau)) / kappa
