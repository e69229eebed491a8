"""Request mode: every request simulated exactly, first come first served over the replicas.

The replicas are a heap of the times at which each becomes free. A request
arriving at t starts at max(t, earliest free time) on that replica — the
exact FCFS multi-server queue, in plain Python, far faster than a SimPy
process per request. A request that would wait longer than the timeout gives
up before it is served (it occupies no replica); one that is served but whose
wait plus service passes the timeout is answered too late and also fails.

Arrivals in a tick are the tick's Poisson count placed uniformly in it (the
Poisson process given its count), and service times are drawn per tick from
a stream keyed by the day and the tick, so every level sees the same requests.

>>> import numpy as np
>>> q = FcfsServers(replicas=1)
>>> q.serve(np.array([0.0, 0.5, 0.6]), np.array([1.0, 1.0, 1.0]), timeout=10.0)[0].tolist()
[0.0, 0.5, 1.4]
"""
from __future__ import annotations

import heapq

import numpy as np

from ..rng import stream
from .latency import CENTRES, EDGES
from .queueing import ServiceModel, TickStats


class FcfsServers:
    """The free times of ``replicas`` servers, and FCFS service of arrivals in time order."""

    def __init__(self, replicas: int, now: float = 0.0) -> None:
        self.free = [now] * replicas
        heapq.heapify(self.free)

    @property
    def replicas(self) -> int:
        """How many servers there are."""
        return len(self.free)

    def resize(self, replicas: int, now: float) -> None:
        """Add idle servers (free from ``now``) or remove those that free up soonest."""
        while len(self.free) < replicas:
            heapq.heappush(self.free, now)
        while len(self.free) > replicas:
            heapq.heappop(self.free)

    def busy_after(self, now: float) -> bool:
        """True if any server is still working on requests at ``now``."""
        return max(self.free, default=now) > now

    def serve(self, arrivals: np.ndarray, services: np.ndarray, timeout: float) -> tuple[np.ndarray, np.ndarray]:
        """Queue waits of requests arriving at sorted times ``arrivals``, and which gave up.

        A request gives up (``abandoned``) when its wait would exceed ``timeout``;
        it then takes no server time and its wait is recorded as ``timeout``.
        """
        free = self.free
        waits = [0.0] * len(arrivals)
        abandoned = [False] * len(arrivals)
        replace = heapq.heapreplace
        for i, (t, s) in enumerate(zip(arrivals.tolist(), services.tolist())):
            start = free[0]
            if start <= t:
                replace(free, t + s)
            elif start - t > timeout:
                waits[i] = timeout
                abandoned[i] = True
            else:
                waits[i] = start - t
                replace(free, start + s)
        return np.array(waits), np.array(abandoned, dtype=bool)


class RequestQueue:
    """Request-mode serving with the same interface as the tick-mode :class:`TickQueue`."""

    def __init__(self, service: ServiceModel, tick: float, timeout: float, seed: int, replicas: int,
                 shed_after: float | None = None) -> None:
        self.service = service
        self.tick = tick
        self.timeout = timeout
        self.shed_after = shed_after
        self.limit = min(timeout, shed_after) if shed_after is not None else timeout
        self.seed = seed
        self.servers = FcfsServers(replicas)

    def run(self, arrivals: np.ndarray, c: int, start: float, hist: np.ndarray, group: np.ndarray,
            day_index: int, first_tick: int) -> TickStats:
        """Serve the ticks starting at ``start`` (tick ``first_tick`` of day ``day_index``) on ``c`` replicas."""
        self.servers.resize(c, start)
        n = len(arrivals)
        out = TickStats.empty(n)
        for i in range(n):
            count = int(arrivals[i])
            if count == 0:
                continue
            rng = stream(self.seed, "requests", day_index + 1_000_000, first_tick + i)
            t0 = start + i * self.tick
            times = t0 + self.tick * np.sort(rng.random(count))
            services = self.service.sample(rng, count)
            waits, turned_away = self.servers.serve(times, services, self.limit)
            late = ~turned_away & (waits + services > self.timeout)
            if self.shed_after is not None:  # turned away at once, answered by the fallback
                waits[turned_away] = 0.0
                out.shed[i] = float(turned_away.sum())
                answered = ~turned_away
                failed = late
            else:  # the client waits out the timeout, then gives up
                answered = np.ones(count, dtype=bool)
                failed = turned_away | late
            latency = np.minimum(waits + np.where(turned_away, 0.0, services), self.timeout)[answered]
            out.failed[i] = float(failed.sum())
            out.wait[i] = float(waits.sum())
            out.latency[i] = float(latency.sum())
            bins = np.clip(np.searchsorted(EDGES, latency, side="right") - 1, 0, len(CENTRES) - 1)
            hist[group[i]] += np.bincount(bins, minlength=len(CENTRES))
        out.backlog = 1.0 if self.servers.busy_after(start + n * self.tick) else 0.0
        return out
