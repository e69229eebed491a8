"""Policies that break their contract at run time, used by tests/test_policy_contract.py.

Each misbehaves from the end of simulated day 1 (or at its first call), so a
two-day run reaches it.
"""
import sys
import time

from simulator.policies import Alert, AutoscalingPolicy, DeploymentPolicy, MonitoringPolicy, RetrainingPolicy

DAY = 86400.0


class ExitsZero(RetrainingPolicy):
    """Calls ``sys.exit(0)`` on day 1, as a script's habit would."""

    def should_retrain(self, view):
        if view.now >= DAY:
            sys.exit(0)
        return False


class NoThanks(RetrainingPolicy):
    """Answers a string where a bool is due (a non-empty string is truthy)."""

    def should_retrain(self, view):
        return "no thanks"


class NotANumber(RetrainingPolicy):
    """Answers NaN where a bool is due (NaN is truthy)."""

    def should_retrain(self, view):
        return float("nan")


class SaysNo(DeploymentPolicy):
    """Answers the string ``"no"`` where a bool is due: truthy, so every canary would be rolled back."""

    def should_rollback(self, view, check):
        return "no"


class ShoutsAString(MonitoringPolicy):
    """Returns a string where a list of Alert is due."""

    def alerts(self, view, day):
        return "drift!"


class AlertsAtNaN(MonitoringPolicy):
    """Returns a well-formed Alert at a NaN time."""

    def alerts(self, view, day):
        return [Alert(float("nan"), "data_drift", 1.0, "drift at no time")]


class BillionReplicas(AutoscalingPolicy):
    """Asks for a billion replicas."""

    def desired_replicas(self, view):
        return 10**9


class Sleeps(RetrainingPolicy):
    """Sleeps a minute on day 1 (a blocking call to a service that does not answer)."""

    def should_retrain(self, view):
        if view.now >= DAY:
            time.sleep(60)
        return False


class LoopsForever(AutoscalingPolicy):
    """Never returns: a loop whose exit condition is never met."""

    def desired_replicas(self, view):
        n = 0
        while True:
            n += 1


class SwallowsErrors(MonitoringPolicy):
    """Loops forever and swallows every ``Exception`` on the way (a retry loop with a bare ``except Exception``)."""

    def alerts(self, view, day):
        while True:
            try:
                time.sleep(0.01)
            except Exception:
                pass
