"""The built-in policies the maturity presets are made of."""
from __future__ import annotations

import math

from ..levels import Autoscaling, Retraining
from .base import AutoscalingPolicy, RetrainingPolicy, WorldView


class NeverRetrain(RetrainingPolicy):
    """The first model serves for ever.

    >>> NeverRetrain().should_retrain(None)
    False
    """

    def should_retrain(self, view: WorldView) -> bool:
        """Never."""
        return False


class ScheduledRetraining(RetrainingPolicy):
    """Retrain every ``every`` seconds, counted from the start or the last job."""

    def __init__(self, every: float) -> None:
        self.every = every

    def should_retrain(self, view: WorldView) -> bool:
        """True once ``every`` has passed since the last job (or the start)."""
        since = view.now - (view.last_retrain if view.last_retrain is not None else 0.0)
        return since >= self.every - 1e-6

    def reason(self, view: WorldView) -> str:
        """Always the calendar."""
        return "schedule"


class DriftOrDecayRetraining(RetrainingPolicy):
    """Retrain when inputs drift (PSI) or delayed-label quality decays; at most once per ``every``."""

    def __init__(self, drift_threshold: float | None, decay_threshold: float | None, every: float) -> None:
        self.drift_threshold = drift_threshold
        self.decay_threshold = decay_threshold
        self.every = every

    def should_retrain(self, view: WorldView) -> bool:
        """True on drift above the threshold or decay above its threshold, not too soon after the last job."""
        if view.last_retrain is not None and view.now - view.last_retrain < self.every - 1e-6:
            return False
        return self.reason(view) != ""

    def reason(self, view: WorldView) -> str:
        """``"drift"``, ``"decay"``, both joined by ``+``, or ``""`` for neither."""
        drifted = self.drift_threshold is not None and view.drift_score > self.drift_threshold
        decayed = self.decay_threshold is not None and not math.isnan(view.decay) and view.decay > self.decay_threshold
        return "+".join(name for name, hit in (("drift", drifted), ("decay", decayed)) if hit)


class FixedReplicas(AutoscalingPolicy):
    """Keep whatever replicas there are."""

    def desired_replicas(self, view: WorldView) -> int:
        """The current count."""
        return view.replicas


class TargetUtilisation(AutoscalingPolicy):
    """Enough replicas that the observed load keeps utilisation at ``target``.

    Like Kubernetes' horizontal autoscaler, it leaves the count alone while
    the utilisation is within ``tolerance`` (relative) of the target, so a
    large pool does not churn on every small change of load.

    >>> p = TargetUtilisation(target=0.5, min_replicas=1, max_replicas=10)
    >>> p.desired_replicas(WorldView(0, 0, float("nan"), None, False, 2, 100.0, 0.02))
    4
    >>> p.desired_replicas(WorldView(0, 0, float("nan"), None, False, 4, 105.0, 0.02))  # 5% over: keep 4
    4
    """

    def __init__(self, target: float, min_replicas: int, max_replicas: int, tolerance: float = 0.1) -> None:
        self.target = target
        self.min_replicas = min_replicas
        self.max_replicas = max_replicas
        self.tolerance = tolerance

    def desired_replicas(self, view: WorldView) -> int:
        """ceil(λ·s / target), clamped to the bounds; the current count while within tolerance."""
        load = view.arrival_rate * view.service_mean
        current = max(view.replicas, 1)
        if abs(load / (current * self.target) - 1.0) <= self.tolerance and self.min_replicas <= current <= self.max_replicas:
            return view.replicas
        need = math.ceil(load / self.target - 1e-9)
        return max(self.min_replicas, min(self.max_replicas, need))


def retraining_policy(cfg: Retraining, drift_threshold: float, drift_monitored: bool,
                      performance_monitored: bool) -> RetrainingPolicy:
    """The policy a preset's ``retraining`` settings describe.

    A trigger that needs a monitor the level does not have is refused.
    """
    if cfg.trigger == "never":
        return NeverRetrain()
    if cfg.trigger == "schedule":
        return ScheduledRetraining(cfg.every)
    wants_drift = cfg.trigger in ("drift", "drift_or_decay")
    wants_decay = cfg.trigger in ("decay", "drift_or_decay")
    if wants_drift and not drift_monitored:
        raise ValueError(f"retraining.trigger {cfg.trigger!r} needs monitoring.drift: true")
    if wants_decay and not performance_monitored:
        raise ValueError(f"retraining.trigger {cfg.trigger!r} needs monitoring.performance: true")
    return DriftOrDecayRetraining(drift_threshold if wants_drift else None,
                                  cfg.decay_threshold if wants_decay else None, cfg.every)


def autoscaling_policy(cfg: Autoscaling) -> AutoscalingPolicy:
    """The policy a preset's ``autoscaling`` settings describe."""
    if cfg.policy == "none":
        return FixedReplicas()
    return TargetUtilisation(cfg.target, cfg.min_replicas, cfg.max_replicas, cfg.tolerance)
