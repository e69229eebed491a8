"""Base classes of policies and the read-only view they decide on."""
from __future__ import annotations

from typing import NamedTuple


class WorldView(NamedTuple):
    """What a policy may see of one level's world at one moment.

    Times are seconds since the start. ``drift_score`` is the largest PSI of
    the last full day's inputs against the live model's training data (NaN
    at a level that does not monitor drift); ``decay`` is how far the live
    model's delayed-label metric has fallen below its reference (positive =
    worse; NaN without performance monitoring or before labels arrive).
    """

    now: float
    drift_score: float
    decay: float
    last_retrain: float | None
    pipeline_busy: bool
    replicas: int
    arrival_rate: float
    service_mean: float


class RetrainingPolicy:
    """Decides, once a simulated day, whether to start a retraining job."""

    def should_retrain(self, view: WorldView) -> bool:
        """Return True to start a job now (ignored while one is running)."""
        raise NotImplementedError

    def reason(self, view: WorldView) -> str:
        """Why it decided to retrain, for the event log."""
        return type(self).__name__


class AutoscalingPolicy:
    """Decides how many replicas the service should have."""

    def desired_replicas(self, view: WorldView) -> int:
        """Return the replica count wanted now."""
        raise NotImplementedError
