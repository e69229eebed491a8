"""Policies: small classes that look at a read-only view of the world and decide.

The maturity presets are bundles of these built-in policies; the engine asks
them and never special-cases a level. A scenario may name a user's own
subclass instead, as ``{policy: "module:Class", params: {...}}``.
"""
from .base import (Alert, AutoscalingPolicy, CanaryCheck, DayObservation, DeploymentPolicy, ModelInfo,
                   MonitoringPolicy, RetrainingPolicy, WorldView)
from .builtin import (DriftOrDecayRetraining, FixedReplicas, NeverRetrain, ParityRollback, RetrainOnAlert,
                      ScheduledRetraining, TargetUtilisation, ThresholdMonitor)
from .factory import (PolicyImportError, autoscaling_policy, deployment_policy, load_user_policy,
                      monitoring_policy, policy_name, retraining_policy)

__all__ = [
    "Alert", "AutoscalingPolicy", "CanaryCheck", "DayObservation", "DeploymentPolicy", "DriftOrDecayRetraining",
    "FixedReplicas", "ModelInfo", "MonitoringPolicy", "NeverRetrain", "ParityRollback", "PolicyImportError",
    "RetrainOnAlert", "RetrainingPolicy", "ScheduledRetraining", "TargetUtilisation", "ThresholdMonitor",
    "WorldView", "autoscaling_policy", "deployment_policy", "load_user_policy", "monitoring_policy",
    "policy_name", "retraining_policy",
]
