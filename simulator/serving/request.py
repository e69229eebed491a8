"""Request mode: every request simulated exactly, first come first served over the replicas.

Each tick's Poisson count of requests is served by :func:`~simulator.serving.fcfs.serve_tick`
on one heap of replica free times kept across ticks, so a queue carries over
exactly from one tick to the next.
"""
from __future__ import annotations

import numpy as np

from .fcfs import FcfsServers, serve_tick
from .queueing import ServiceModel, TickStats


class RequestQueue:
    """Request-mode serving with the same interface as the tick-mode :class:`TickQueue`."""

    def __init__(self, service: ServiceModel, tick: float, timeout: float, seed: int, replicas: int,
                 shed_after: float | None = None) -> None:
        self.service = service
        self.tick = tick
        self.timeout = timeout
        self.shed_after = shed_after
        self.seed = seed
        self.servers = FcfsServers(replicas)

    def drop_backlog(self, now: float) -> None:
        """Forget the queue (the replicas holding it crashed): every replica is free from ``now``."""
        self.servers = FcfsServers(self.servers.replicas, now)

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
            got = serve_tick(self.servers, count, self.service, self.seed, day_index, first_tick + i,
                             start + i * self.tick, self.tick, self.timeout, self.shed_after)
            out.failed[i], out.shed[i], out.wait[i], out.latency[i] = got.failed, got.shed, got.wait, got.latency
            out.queued[i] = got.queued_at_end
            hist[group[i]] += got.bins
        out.backlog = 1.0 if self.servers.busy_after(start + n * self.tick) else 0.0
        return out
