"""Serving: replicas, queueing and latency — tick mode in ``queueing``, request mode in ``request``."""
from .latency import LatencyHistogram
from .queueing import ServiceModel, ServingQueue, TickQueue, TickStats, erlang_c
from .request import FcfsServers, RequestQueue

__all__ = ["FcfsServers", "LatencyHistogram", "RequestQueue", "ServiceModel", "ServingQueue", "TickQueue", "TickStats",
           "erlang_c"]
