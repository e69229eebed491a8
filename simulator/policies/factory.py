"""The policies a level's settings describe: built-in ones, or user classes named ``"module:Class"``."""
from __future__ import annotations

from typing import Any

from .. import plugins
from ..plugins import PluginError, PluginTimeout, call_with_limit, describe, import_class
from .base import AutoscalingPolicy, DeploymentPolicy, MonitoringPolicy, RetrainingPolicy
from .builtin import (DriftOrDecayRetraining, FixedReplicas, NeverRetrain, ParityRollback, RetrainOnAlert,
                      ScheduledRetraining, TargetUtilisation, ThresholdMonitor)

BASES = {"retraining": RetrainingPolicy, "deployment": DeploymentPolicy, "monitoring": MonitoringPolicy,
         "autoscaling": AutoscalingPolicy}


class PolicyImportError(ValueError):
    """A ``"module:Class"`` policy that does not import or is not the right kind of policy."""


def load_user_policy(spec: str, params: dict[str, Any], section: str) -> Any:
    """Import ``"module:Class"``, check it subclasses the section's base class, and build it with ``params``.

    The working folder is searched first, as ``python -m`` would. A module or
    constructor that raises, calls ``sys.exit`` or outlasts
    :data:`simulator.plugins.IMPORT_TIMEOUT` is a :class:`PolicyImportError`.
    """
    base = BASES[section]
    try:
        cls = import_class(spec, base, f"simulator.policies.{base.__name__}")
    except PluginError as exc:
        raise PolicyImportError(str(exc)) from None
    call = f"{spec}({', '.join(f'{k}=...' for k in params)})"
    try:
        # Built as it is imported: within the import limit, and a sys.exit is a failure like any other.
        return call_with_limit(lambda: cls(**params), (), plugins.IMPORT_TIMEOUT)
    except PluginTimeout as exc:
        raise PolicyImportError(f"{call} {exc}") from None
    except (Exception, SystemExit) as exc:
        raise PolicyImportError(f"{call} failed: {describe(exc)}") from None


def retraining_policy(cfg, monitoring) -> RetrainingPolicy:
    """The policy a level's ``retraining`` settings describe.

    A trigger that needs a monitor the level does not have is refused.
    """
    if cfg.policy is not None:
        return load_user_policy(cfg.policy, cfg.params, "retraining")
    if cfg.trigger == "never":
        return NeverRetrain()
    if cfg.trigger == "schedule":
        return ScheduledRetraining(cfg.every)
    if cfg.trigger == "alert":
        if not (monitoring.drift or monitoring.performance):
            raise ValueError("retraining.trigger 'alert' needs monitoring.drift or monitoring.performance: true")
        return RetrainOnAlert(cfg.every)
    wants_drift = cfg.trigger in ("drift", "drift_or_decay")
    wants_decay = cfg.trigger in ("decay", "drift_or_decay")
    if wants_drift and not monitoring.drift:
        raise ValueError(f"retraining.trigger {cfg.trigger!r} needs monitoring.drift: true")
    if wants_decay and not monitoring.performance:
        raise ValueError(f"retraining.trigger {cfg.trigger!r} needs monitoring.performance: true")
    return DriftOrDecayRetraining(monitoring.drift_threshold if wants_drift else None,
                                  cfg.decay_threshold if wants_decay else None, cfg.every)


def monitoring_policy(cfg, decay_threshold: float) -> MonitoringPolicy:
    """The policy a level's ``monitoring`` settings describe."""
    if cfg.policy is not None:
        return load_user_policy(cfg.policy, cfg.params, "monitoring")
    return ThresholdMonitor(cfg.drift_threshold, decay_threshold, cfg.drift, cfg.performance,
                            use_tests=cfg.drift_test == "ks_chi2")


def deployment_policy(cfg) -> DeploymentPolicy:
    """The policy that judges a level's canaries."""
    if cfg.policy is not None:
        return load_user_policy(cfg.policy, cfg.params, "deployment")
    return ParityRollback()


def autoscaling_policy(cfg) -> AutoscalingPolicy:
    """The policy a level's ``autoscaling`` settings describe."""
    if cfg.policy == "none":
        return FixedReplicas()
    if cfg.policy == "target_utilisation":
        return TargetUtilisation(cfg.target, cfg.min_replicas, cfg.max_replicas, cfg.tolerance)
    return load_user_policy(cfg.policy, cfg.params, "autoscaling")


def policy_name(policy: Any) -> str:
    """``module:Class`` of a policy object, for messages."""
    cls = type(policy)
    return f"{cls.__module__}:{cls.__qualname__}"
