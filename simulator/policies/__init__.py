"""Policies: small classes that look at a read-only view of the world and decide.

The maturity presets are bundles of these built-in policies; the engine asks
them and never special-cases a level.
"""
from .base import AutoscalingPolicy, RetrainingPolicy, WorldView
from .builtin import (
    DriftOrDecayRetraining,
    FixedReplicas,
    NeverRetrain,
    ScheduledRetraining,
    TargetUtilisation,
    autoscaling_policy,
    retraining_policy,
)

__all__ = [
    "AutoscalingPolicy", "DriftOrDecayRetraining", "FixedReplicas", "NeverRetrain", "RetrainingPolicy",
    "ScheduledRetraining", "TargetUtilisation", "WorldView", "autoscaling_policy", "retraining_policy",
]
