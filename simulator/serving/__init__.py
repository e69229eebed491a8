"""Serving: replicas, queueing and latency (the tick-mode queueing model lives in ``queueing``)."""
from .latency import LatencyHistogram
from .queueing import TickQueue, erlang_c

__all__ = ["LatencyHistogram", "TickQueue", "erlang_c"]
