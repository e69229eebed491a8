"""The built-in policies the maturity presets are made of."""
from __future__ import annotations

import math

import numpy as np

from .base import (Alert, AutoscalingPolicy, CanaryCheck, DayObservation, DeploymentPolicy, MonitoringPolicy,
                   RetrainingPolicy, WorldView)


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
        """``"drift"``, ``"decay"``, both joined by ``+``, or ``""`` for neither.

        Drift is the drift monitor's alert of the day (or, with no alerts in
        the view, the largest PSI over ``drift_threshold``).
        """
        if view.alerts:
            drifted = self.drift_threshold is not None and any(a.kind == "data_drift" for a in view.alerts)
        else:
            drifted = self.drift_threshold is not None and view.drift_score > self.drift_threshold
        decayed = self.decay_threshold is not None and not math.isnan(view.decay) and view.decay > self.decay_threshold
        return "+".join(name for name, hit in (("drift", drifted), ("decay", decayed)) if hit)


class RetrainOnAlert(RetrainingPolicy):
    """Retraining by hand: someone starts a job when the monitors alert, at most once per ``every``.

    The level's ``human_delay`` then passes before the job runs.
    """

    def __init__(self, every: float) -> None:
        self.every = every

    def should_retrain(self, view: WorldView) -> bool:
        """True on any data-drift or performance alert of the last day, not too soon after the last job."""
        if view.last_retrain is not None and view.now - view.last_retrain < self.every - 1e-6:
            return False
        return any(a.kind in ("data_drift", "performance") for a in view.alerts)

    def reason(self, view: WorldView) -> str:
        """The alerts that made someone act."""
        return "alert: " + ", ".join(sorted({a.kind for a in view.alerts})) if view.alerts else "alert"


class ThresholdMonitor(MonitoringPolicy):
    """The presets' monitor: alert on input drift and on delayed-label decay.

    Input drift is the largest PSI over its threshold or, with ``use_tests``,
    the day's two-sample tests (``DayObservation.drift_report``) rejecting.

    >>> m = ThresholdMonitor(drift_threshold=0.2, decay_threshold=0.03, watch_drift=True, watch_performance=False)
    >>> day = DayObservation(5, {"x": 0.31, "y": 0.02}, 0.0, float("nan"), float("nan"), 0.0, 0.05)
    >>> [a.kind for a in m.alerts(None, day)]
    ['data_drift']
    """

    def __init__(self, drift_threshold: float, decay_threshold: float, watch_drift: bool,
                 watch_performance: bool, use_tests: bool = False) -> None:
        self.use_tests = use_tests
        self.drift_threshold = drift_threshold
        self.decay_threshold = decay_threshold
        self.watch_drift = watch_drift
        self.watch_performance = watch_performance

    def alerts(self, view: WorldView, day: DayObservation) -> list[Alert]:
        """A ``data_drift`` alert when the largest PSI passes its threshold, a ``performance`` one on decay."""
        out = []
        time = (day.day + 1) * 86400.0
        if self.watch_drift and self.use_tests and day.drift_report is not None:
            report = day.drift_report
            if report.drifted:
                out.append(Alert(time, "data_drift", report.share_drifted, report.summary()))
        elif self.watch_drift and day.psi:
            column, value = max(day.psi.items(), key=lambda kv: kv[1])
            if value > self.drift_threshold:
                out.append(Alert(time, "data_drift", value, f"data drift: PSI {value:.2f} on {column}"))
        if self.watch_performance and not math.isnan(day.decay) and day.decay > self.decay_threshold:
            out.append(Alert(time, "performance", day.decay, f"metric {day.decay:.3f} below its reference"))
        return out


class ParityRollback(DeploymentPolicy):
    """The presets' canary judge: roll back a candidate that never started, scores unlike its
    registry model, or serves much slower than the live release.

    >>> ParityRollback().should_rollback(None, CanaryCheck(0.05, 0, 0.4, 1.0, True))
    True
    >>> ParityRollback().should_rollback(None, CanaryCheck(0.05, 0, 0.0, 1.1, True))
    False
    """

    def __init__(self, psi_limit: float = 0.1, latency_limit: float = 2.0) -> None:
        self.psi_limit = psi_limit
        self.latency_limit = latency_limit

    def should_rollback(self, view: WorldView, check: CanaryCheck) -> bool:
        """True if the candidate crashed, its scores moved past ``psi_limit``, or it is ``latency_limit`` times slower."""
        return (not check.started or check.score_psi > self.psi_limit
                or check.latency_ratio > self.latency_limit)


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
        return int(self.desired_for_rates(np.array([view.arrival_rate]), view.replicas, view.service_mean)[0])

    def desired_for_rates(self, rates: np.ndarray, replicas: int, service_mean: float) -> np.ndarray:
        """:meth:`desired_replicas` for many checks at once that differ only in the arrival rate.

        The world uses it for stretches where nothing but the load changes.

        >>> p = TargetUtilisation(target=0.5, min_replicas=1, max_replicas=10)
        >>> p.desired_for_rates(np.array([100.0, 105.0, 400.0]), 4, 0.02).tolist()
        [4, 4, 10]
        """
        load = rates * service_mean
        current = max(replicas, 1)
        within = np.abs(load / (current * self.target) - 1.0) <= self.tolerance
        if not self.min_replicas <= current <= self.max_replicas:
            within[:] = False
        need = np.ceil(load / self.target - 1e-9)
        return np.where(within, replicas, np.clip(need, self.min_replicas, self.max_replicas)).astype(np.int64)


