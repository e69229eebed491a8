"""Traffic domains: built-in names and ``package.module:Class`` plug-ins."""
from __future__ import annotations

import importlib

from ..errors import ScenarioError, did_you_mean
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

__all__ = ["BUILTIN", "Domain", "FraudDomain", "Rows", "Scorer", "load_domain_class"]


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
    module_name, _, class_name = kind.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or ValueError/TypeError for a malformed module name
        raise ScenarioError(source, "domain.kind", f"cannot import {module_name!r}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Domain)):
        raise ScenarioError(source, "domain.kind", f"{kind!r} is not a subclass of simulator.domains.Domain")
    return cls
