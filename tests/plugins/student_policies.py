"""Policies a student might write, used by the plug-in tests."""
from simulator.policies import (AutoscalingPolicy, DeploymentPolicy, MonitoringPolicy, RetrainingPolicy,
                               TargetUtilisation)


class NeverAgain(RetrainingPolicy):
    """Never retrains."""

    def should_retrain(self, view):
        return False


class EveryDay(RetrainingPolicy):
    """Asks for a retrain every day (the world ignores it while a job runs)."""

    def should_retrain(self, view):
        return True


class Boom(RetrainingPolicy):
    """Raises on day 3."""

    def __init__(self, day=3):
        self.day = day

    def should_retrain(self, view):
        if view.now >= self.day * 86400:
            raise ZeroDivisionError("division by zero in my policy")
        return False


class HalfReplicas(AutoscalingPolicy):
    """Returns nonsense: zero replicas."""

    def desired_replicas(self, view):
        return 0


class TrustEveryCanary(DeploymentPolicy):
    """Never rolls back."""

    def should_rollback(self, view, check):
        return False


class Quiet(MonitoringPolicy):
    """Never alerts."""

    def alerts(self, view, day):
        return []


class Vanish(RetrainingPolicy):
    """Ends its process without a word on day 2: a worker that dies."""

    def should_retrain(self, view):
        if view.now >= 2 * 86400:
            import os

            os._exit(3)
        return False


class AskedEachTime(TargetUtilisation):
    """Level 3's rule, asked check by check (a subclass that decides for itself is never batched)."""

    def desired_replicas(self, view):
        return super().desired_replicas(view)
