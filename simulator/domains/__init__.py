"""Traffic domains: built-in names and ``package.module:Class`` plug-ins."""
from __future__ import annotations

import importlib
from typing import Any

from ..errors import ScenarioError, did_you_mean
from ..plugins import PluginError, import_class
from .base import Domain, Rows, Scorer
from .fraud import FraudDomain

#: Built-in domains by the name a scenario uses in ``domain.kind``; the
#: others are imported when a scenario asks for them.
BUILTIN: dict[str, type[Domain] | str] = {
    "fraud": FraudDomain,
    "demand": "simulator.domains.demand:DemandDomain",
    "language": "simulator.domains.language:LanguageDomain",
    "recsys": "simulator.domains.recsys:RecsysDomain",
}

__all__ = ["BUILTIN", "Domain", "FraudDomain", "Rows", "Scorer", "load_domain_class", "make_domain"]


def load_domain_class(kind: str, source: str = "<scenario>") -> type[Domain]:
    """The domain class for ``kind``: a built-in name or ``"package.module:Class"``."""
    if kind in BUILTIN:
        builtin = BUILTIN[kind]
        if isinstance(builtin, str):
            module_name, _, class_name = builtin.partition(":")
            builtin = getattr(importlib.import_module(module_name), class_name)
        return builtin
    if ":" not in kind:
        raise ScenarioError(source, "domain.kind", f"unknown domain {kind!r}" + did_you_mean(kind, BUILTIN))
    try:
        return import_class(kind, Domain, "simulator.domains.Domain")
    except PluginError as exc:
        raise ScenarioError(source, "domain.kind", str(exc)) from None


def make_domain(scenario: Any, source: str = "<scenario>") -> Domain:
    """The scenario's domain, built with its parameters and told the run's first day."""
    domain = load_domain_class(scenario.domain.kind, source)(scenario.domain.params)
    domain.begin(scenario.start)
    return domain
