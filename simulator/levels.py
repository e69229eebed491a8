"""Maturity presets 0–3, kept as data in ``levels.yaml``, and per-level overrides.

A level is nothing but its bundle of settings; the engine has no special
case for any level number.

>>> from simulator.levels import preset
>>> preset(3).deployment.strategy, preset(0).deployment.failure_rate
('canary', 0.4)
"""
from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, ValidationError, model_validator

from .errors import ScenarioError, did_you_mean, short_repr
from .scenario import Duration, Strict

if TYPE_CHECKING:
    from .scenario import Scenario


def _policy_spec(value: str | None) -> str | None:
    if value is not None and ":" not in value:
        raise ValueError(f"{short_repr(value)} is not a policy: name one as 'module:Class'")
    return value


PolicySpec = Annotated[str | None, AfterValidator(_policy_spec)]


def _above_zero(value: float) -> float:
    """A period or span that something is done once per, or over: zero would loop or divide by zero."""
    if value <= 0:
        raise ValueError("must be above 0")
    return value


PositiveDuration = Annotated[Duration, AfterValidator(_above_zero)]


class Monitoring(Strict):
    """What is watched and how fast a problem is noticed; each alert costs ``alert_hours`` of triage."""

    performance: bool = False
    drift: bool = False
    drift_threshold: float = Field(0.2, gt=0)
    # psi: alert when a column's PSI passes drift_threshold; ks_chi2: when a two-sample test
    # (KS for numbers, chi-squared for categories) rejects at drift_alpha, Bonferroni-corrected
    drift_test: Literal["psi", "ks_chi2"] = "psi"
    drift_alpha: float = Field(0.001, gt=0, lt=1)
    alert_hours: float = Field(0.25, ge=0)
    policy: PolicySpec = None
    params: dict[str, Any] = Field(default_factory=dict)
    outage_detection: Duration = 3600.0
    silent_failure_detection: Duration = 7 * 86400.0
    security_detection: Duration = 30 * 86400.0


class Retraining(Strict):
    """When a new model is trained, on what window, at what price."""

    trigger: Literal["never", "schedule", "alert", "drift", "decay", "drift_or_decay"] = "schedule"
    every: PositiveDuration = 90 * 86400.0
    decay_threshold: float = Field(0.03, gt=0)
    human_delay: Duration = 0.0
    window: PositiveDuration = 90 * 86400.0
    # sliding: the latest `window` of labelled data; expanding: everything labelled since `window` before the start
    window_mode: Literal["sliding", "expanding"] = "sliding"
    policy: PolicySpec = None
    params: dict[str, Any] = Field(default_factory=dict)
    duration: Duration = 3600.0
    engineer_hours: float = Field(0.0, ge=0)
    compute_cost: float = Field(0.0, ge=0)


class Deployment(Strict):
    """How a trained model reaches production and how a bad release is caught."""

    strategy: Literal["manual", "cicd", "direct", "blue_green", "canary", "shadow", "ab_test"] = "cicd"
    lead_time: Duration = 86400.0
    failure_rate: float = Field(0.1, ge=0, le=1)
    health_checks: bool = True
    canary_share: float = Field(1.0, gt=0, le=1)
    # A stepped canary's traffic shares, each held for canary_duration (default: just canary_share).
    canary_steps: list[Annotated[float, Field(gt=0, le=1)]] | None = None
    canary_duration: PositiveDuration = 1800.0
    # ab_test: the challenger takes canary_share of traffic for canary_duration, then, once the
    # labels are in, a one-sided Welch t-test on cost per request at this level picks the winner.
    ab_alpha: float = Field(0.05, gt=0, lt=1)
    auto_rollback: bool = False
    secret_scanning: bool = False
    retry_delay: Duration = 86400.0
    max_attempts: int = Field(3, ge=1)
    engineer_hours: float = Field(0.0, ge=0)
    policy: PolicySpec = None
    params: dict[str, Any] = Field(default_factory=dict)


class Incidents(Strict):
    """How long a detected incident takes to repair, and how many people it takes."""

    repair_time: Duration = 3600.0
    responders: int = Field(1, ge=0)


class Autoscaling(Strict):
    """Replica count policy: fixed, or scale to a target utilisation."""

    policy: Annotated[str, AfterValidator(lambda v: v if v in ("none", "target_utilisation") else _policy_spec(v))] = "none"
    params: dict[str, Any] = Field(default_factory=dict)
    target: float = Field(0.6, gt=0, lt=1)
    tolerance: float = Field(0.1, ge=0, lt=1)
    min_replicas: int = Field(1, ge=1)
    max_replicas: int = Field(64, ge=1)
    provisioning_delay: Duration = 180.0
    cooldown: Duration = 600.0

    @model_validator(mode="after")
    def _bounds(self) -> "Autoscaling":
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) must not be above max_replicas ({self.max_replicas})")
        return self


class Shedding(Strict):
    """Load shedding: send requests that would queue too long to a cheap fallback instead."""

    enabled: bool = False
    after: Duration = 0.5


class LevelConfig(Strict):
    """One maturity level's bundle of policy settings."""

    name: str
    monitoring: Monitoring = Monitoring()
    retraining: Retraining = Retraining()
    deployment: Deployment = Deployment()
    incidents: Incidents = Incidents()
    autoscaling: Autoscaling = Autoscaling()
    shedding: Shedding = Shedding()


@cache
def _raw_presets() -> dict[int, dict[str, Any]]:
    text = resources.files("simulator").joinpath("levels.yaml").read_text(encoding="utf-8")
    return {int(k): v for k, v in yaml.safe_load(text).items()}


def preset(level: int) -> LevelConfig:
    """The shipped preset for ``level`` (0–3)."""
    return LevelConfig.model_validate(_raw_presets()[level])


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def check_policies(cfg: LevelConfig, source: str, where: str) -> None:
    """Build each of a level's policies once, so a bad trigger or plug-in is bad input, not a crash."""
    from .policies import (PolicyImportError, autoscaling_policy, deployment_policy, monitoring_policy,
                           retraining_policy)

    checks = [("retraining", lambda: retraining_policy(cfg.retraining, cfg.monitoring)),
              ("monitoring", lambda: monitoring_policy(cfg.monitoring, cfg.retraining.decay_threshold)),
              ("deployment", lambda: deployment_policy(cfg.deployment)),
              ("autoscaling", lambda: autoscaling_policy(cfg.autoscaling))]
    for section, build in checks:
        try:
            build()
        except PolicyImportError as exc:
            raise ScenarioError(source, f"{where}.{section}.policy", str(exc)) from None
        except ValueError as exc:
            raise ScenarioError(source, f"{where}.{section}.trigger", str(exc)) from None


def resolve_levels(scenario: "Scenario", source: str = "<scenario>") -> dict[int, LevelConfig]:
    """Each requested level's preset with the scenario's overrides applied."""
    resolved = {}
    for level in sorted(set(scenario.levels) | set(scenario.overrides)):
        override = scenario.overrides.get(level, {})
        if not isinstance(override, dict):
            raise ScenarioError(source, f"overrides.{level}", "must be a mapping of preset keys")
        try:
            resolved[level] = LevelConfig.model_validate(_merge(_raw_presets()[level], override))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = [str(p) for p in err["loc"]]
            key = ".".join(["overrides", str(level), *loc])
            if err["type"] == "extra_forbidden":
                from .scenario import _known_keys

                hint = did_you_mean(loc[-1], _known_keys(LevelConfig, loc[:-1]))
                raise ScenarioError(source, key, "unknown key" + hint) from None
            raise ScenarioError(source, key, err["msg"].removeprefix("Value error, ")) from None
        check_policies(resolved[level], source, f"overrides.{level}")
    return {level: resolved[level] for level in scenario.levels}
