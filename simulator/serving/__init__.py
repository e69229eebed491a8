"""Serving: replicas, queueing and latency — tick mode in ``queueing``, request mode in ``request``."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .latency import LatencyHistogram
from .queueing import ServiceModel, ServingQueue, TickQueue, TickStats, erlang_c
from .request import FcfsServers, RequestQueue

if TYPE_CHECKING:
    from ..scenario import Scenario

__all__ = ["FcfsServers", "LatencyHistogram", "RequestQueue", "ServiceModel", "ServingQueue", "TickQueue", "TickStats",
           "erlang_c", "queue_for"]


def queue_for(scenario: "Scenario", service: ServiceModel, shed_after: float | None) -> ServingQueue:
    """The queue a level serves ``scenario``'s traffic with: its ``fidelity`` decides which.

    ``shed_after`` is the level's load-shedding limit in seconds (``None``: no shedding).
    """
    sv = scenario.serving
    if scenario.fidelity == "request":
        return RequestQueue(service, scenario.tick, sv.timeout, scenario.seed, sv.replicas, shed_after)
    return TickQueue(service, scenario.tick, sv.timeout, shed_after, sv.exact_above, scenario.seed)
