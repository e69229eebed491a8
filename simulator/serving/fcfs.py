"""Exact FCFS service over a heap of replica free times, one tick of requests at a time.

The replicas are a heap of the times at which each becomes free. A request
arriving at t starts at max(t, earliest free time) on that replica — the
exact FCFS multi-server queue, its loop compiled (:mod:`.kernel`), far faster
than a SimPy process per request. A request that would wait longer than its limit gives
up before it is served (it occupies no replica); one that is served but whose
wait plus service passes the timeout is answered too late and also fails.

Request mode serves every tick this way; tick mode serves its busy ticks
(loaded to ``serving.exact_above`` or more) this way. Both draw a tick's requests from
the same stream, keyed by the day and the tick, so they see the same requests.

>>> import numpy as np
>>> q = FcfsServers(replicas=1)
>>> q.serve(np.array([0.0, 0.5, 0.6]), np.array([1.0, 1.0, 1.0]), timeout=10.0)[0].tolist()
[0.0, 0.5, 1.4]
"""
from __future__ import annotations

import heapq
from typing import NamedTuple

import numpy as np

from ..rng import stream
from .kernel import serve_and_tally, serve_fcfs
from .latency import EDGES


class FcfsServers:
    """The free times of ``replicas`` servers (a min-heap), and FCFS service of arrivals in time order."""

    def __init__(self, replicas: int, now: float = 0.0) -> None:
        self.free = np.full(replicas, float(now))

    @property
    def replicas(self) -> int:
        """How many servers there are."""
        return len(self.free)

    def resize(self, replicas: int, now: float) -> None:
        """Add idle servers (free from ``now``) or remove those that free up soonest."""
        if replicas == len(self.free):
            return
        heap = self.free.tolist()
        while len(heap) < replicas:
            heapq.heappush(heap, now)
        while len(heap) > replicas:
            heapq.heappop(heap)
        self.free = np.array(heap, dtype=np.float64)

    def busy_after(self, now: float) -> bool:
        """True if any server is still working on requests at ``now``."""
        return bool(len(self.free)) and float(self.free.max()) > now

    def work_after(self, now: float) -> float:
        """Seconds of work the servers still hold at ``now``, summed over servers."""
        return float(np.maximum(self.free - now, 0.0).sum())

    def serve(self, arrivals: np.ndarray, services: np.ndarray, timeout: float) -> tuple[np.ndarray, np.ndarray]:
        """Queue waits of requests arriving at sorted times ``arrivals``, and which gave up.

        A request gives up (``abandoned``) when its wait would exceed ``timeout``;
        it then takes no server time and its wait is recorded as ``timeout``.
        """
        return serve_fcfs(self.free, arrivals, services, timeout)


class TickOutcome(NamedTuple):
    """What one exactly served tick produced (counts and sums over its requests)."""

    failed: float
    shed: float
    wait: float        # total queue wait, seconds
    latency: float     # total latency of answered requests, capped at the timeout, seconds
    queued_at_end: int  # requests still waiting for a replica when the tick ends
    bins: np.ndarray   # latency histogram counts of the answered requests


def serve_tick(servers: FcfsServers, count: int, service, seed: int, day_index: int, tick_index: int,
               t0: float, tick: float, timeout: float, shed_after: float | None) -> TickOutcome:
    """Serve the ``count`` requests of one tick starting at ``t0`` exactly, FCFS on ``servers``.

    Arrivals are the Poisson count placed uniformly in the tick; services are
    drawn from ``service`` (a :class:`~simulator.serving.queueing.ServiceModel`).
    With ``shed_after`` set, a request that would wait longer is turned away
    at once to the fallback (shed); otherwise it waits out the timeout and fails.
    """
    rng = stream(seed, "requests", day_index + 1_000_000, tick_index)
    times = t0 + tick * np.sort(rng.random(count))
    services = service.sample(rng, count)
    limit = min(timeout, shed_after) if shed_after is not None else timeout
    waits, latency, failed, shed, queued, bins = serve_and_tally(
        servers.free, times, services, limit, timeout, shed_after is not None, t0 + tick, EDGES)
    return TickOutcome(float(failed), float(shed), float(waits.sum()), float(latency.sum()), queued,
                       bins.astype(np.float64))
