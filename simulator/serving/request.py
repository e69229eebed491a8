"""Request mode: every request simulated exactly, first come first served over the replicas.

Each tick's Poisson count of requests is served by :func:`~simulator.serving.fcfs.serve_tick`
on one heap of replica free times kept across ticks, so a queue carries over
exactly from one tick to the next.
"""
from __future__ import annotations

import numpy as np

from .fcfs import FcfsServers, serve_tick
from .queueing import ServiceModel, TickStats, histogram_rows


class RequestQueue:
    """Request-mode serving, the same :class:`~simulator.serving.queueing.ServingQueue` as tick mode.

    >>> from simulator.scenario import ServiceTime
    >>> q = RequestQueue(ServiceModel(ServiceTime(dist="exponential", mean="20ms")), 60.0, 1.0, seed=0, replicas=4)
    >>> int(q.serve(np.array([6000.0, 12000.0]), replicas=4, start=0.0).failed.sum())
    0
    """

    def __init__(self, service: ServiceModel, tick: float, timeout: float, seed: int, replicas: int,
                 shed_after: float | None = None) -> None:
        self.base_service = self.service = service
        self.tick = tick
        self.timeout = timeout
        self.shed_after = shed_after
        self.seed = seed
        self.servers = FcfsServers(replicas)
        self._end = 0.0  # end of the last tick served

    @property
    def backlog(self) -> float:
        """1.0 while any replica is still busy at the end of the last tick served, else 0.0."""
        return 1.0 if self.servers.busy_after(self._end) else 0.0

    def slow_down(self, factor: float) -> None:
        """Serve from now on with every service time ``factor`` times the scenario's (a slow release)."""
        self.service = self.base_service.scaled(factor)

    def drop_backlog(self, now: float) -> None:
        """Forget the queue (the replicas holding it crashed): every replica is free from ``now``."""
        self.servers = FcfsServers(self.servers.replicas, now)

    def serve(self, arrivals: np.ndarray, replicas: int, start: float, *, expected: np.ndarray | None = None,
              day_index: int = 0, first_tick: int = 0, hist: np.ndarray | None = None,
              group: np.ndarray | None = None) -> TickStats:
        """Serve the ticks starting at ``start`` (tick ``first_tick`` of day ``day_index``) on ``replicas``.

        ``expected`` is accepted for the common interface and not needed:
        every request is simulated. See :meth:`~simulator.serving.queueing.TickQueue.serve`.
        """
        n = len(arrivals)
        hist2d, group = histogram_rows(hist, group, n)
        self.servers.resize(replicas, start)
        out = TickStats.empty(n)
        for i in range(n):
            count = int(arrivals[i])
            if count == 0:
                continue
            got = serve_tick(self.servers, count, self.service, self.seed, day_index, first_tick + i,
                             start + i * self.tick, self.tick, self.timeout, self.shed_after)
            out.record(i, got)
            hist2d[group[i]] += got.bins
        self._end = start + n * self.tick
        out.backlog = self.backlog
        return out
