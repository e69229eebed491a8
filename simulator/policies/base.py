"""Base classes of policies and the read-only view they decide on.

A policy is a small class: the world calls one or two methods with a
:class:`WorldView` and acts on the answer. Write your own by subclassing one
of these and name it in a scenario as ``{policy: "module:Class", params: {...}}``
under the level's ``retraining``, ``deployment``, ``monitoring`` or
``autoscaling``; ``params`` are passed to the constructor as keywords.

>>> class EveryWeek(RetrainingPolicy):
...     def should_retrain(self, view):
...         return view.last_retrain is None or view.now - view.last_retrain >= 7 * 86400
>>> EveryWeek().should_retrain(WorldView(now=86400.0, drift_score=0.0, decay=float("nan"),
...     last_retrain=None, pipeline_busy=False, replicas=4, arrival_rate=50.0, service_mean=0.02))
True
"""
from __future__ import annotations

from typing import Any, NamedTuple


class Alert(NamedTuple):
    """A monitor's alert: when (seconds), what kind, how strong, and a line for people."""

    time: float
    kind: str       # "data_drift", "prediction_drift", "performance", "latency", "errors", ...
    value: float
    detail: str = ""


class ModelInfo(NamedTuple):
    """A registered model version's lineage, as policies see it."""

    version: int
    trained_at: float
    data_start: float
    data_end: float
    rows: int
    reference_metric: float


class WorldView(NamedTuple):
    """What a policy may see of one level's world at one moment.

    Times are seconds since the start. ``drift_score`` is the largest PSI of
    the last full day's inputs against the live model's training data (NaN
    at a level that does not monitor drift); ``decay`` is how far the live
    model's delayed-label metric has fallen below its reference (positive =
    worse; NaN without performance monitoring or before labels arrive).
    ``metrics`` holds the latest daily values of the domain's metrics whose
    labels are in hand (empty without performance monitoring, and in the
    autoscaler's five-minute views); ``alerts``
    the monitors' alerts of the last day; ``registry`` every model version so
    far and ``live_version`` the one serving.
    """

    now: float
    drift_score: float
    decay: float
    last_retrain: float | None
    pipeline_busy: bool
    replicas: int
    arrival_rate: float
    service_mean: float
    level: int = 0
    metrics: tuple[dict, ...] = ()
    alerts: tuple[Alert, ...] = ()
    registry: tuple[ModelInfo, ...] = ()
    live_version: int = 1
    failed_share: float = 0.0       # failed requests over the last check interval
    latency_p99: float = float("nan")  # seconds, over the last simulated day


class RetrainingPolicy:
    """Decides, once a simulated day, whether to start a retraining job."""

    def should_retrain(self, view: WorldView) -> bool:
        """Return True to start a job now (ignored while one is running)."""
        raise NotImplementedError

    def reason(self, view: WorldView) -> str:
        """Why it decided to retrain, for the event log."""
        return type(self).__name__


class AutoscalingPolicy:
    """Decides, every five simulated minutes, how many replicas the service should have."""

    def desired_replicas(self, view: WorldView) -> int:
        """Return the replica count wanted now."""
        raise NotImplementedError


class CanaryCheck(NamedTuple):
    """What a candidate release showed while it served part of the traffic (or shadowed it)."""

    share: float           # share of traffic it served (0 for a shadow)
    step: int              # which step of a stepped release, from 0
    score_psi: float       # its served scores against the registry model's own on the same requests
    latency_ratio: float   # its mean service time over the live release's
    started: bool          # False if it never became ready (crashed on start)


class DeploymentPolicy:
    """Decides whether a candidate release goes on or is rolled back, after each canary step."""

    def should_rollback(self, view: WorldView, check: CanaryCheck) -> bool:
        """Return True to roll the candidate back now."""
        raise NotImplementedError


class MonitoringPolicy:
    """Turns one simulated day's observations into alerts."""

    def alerts(self, view: WorldView, day: "DayObservation") -> list[Alert]:
        """The alerts to raise at the end of the day (each costs people time)."""
        raise NotImplementedError


class DayObservation(NamedTuple):
    """One day as the monitors see it: drift statistics, labelled metrics in hand, serving health."""

    day: int
    psi: dict                # per drift column, against the live model's training data
    score_psi: float         # the model's scores against its training scores (prediction drift)
    metric_in_hand: float    # the domain's metric over the latest labelled week (NaN until labels arrive)
    decay: float             # reference metric minus metric_in_hand (positive = worse)
    failed_share: float      # failed requests / requests over the day
    latency_p99: float       # seconds
    drift_report: Any = None  # two-sample tests per column (simulator.detectors.DriftReport), if the level runs them
