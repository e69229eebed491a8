"""Helpers the lesson notebooks import.

>>> from labs import scenario_path
>>> scenario_path("fraud_covid").name
'fraud_covid.yaml'
"""
from __future__ import annotations

from pathlib import Path

#: The shipped scenarios, beside the packages in a checkout.
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def scenario_path(name: str) -> Path:
    """The path of a shipped scenario by name (``"fraud_covid"``), checked to exist."""
    path = SCENARIOS / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in SCENARIOS.glob("*.yaml")))
        raise FileNotFoundError(f"no scenario {name!r}; shipped: {known}")
    return path
