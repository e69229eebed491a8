"""Shared fixtures: paths, and the full fraud_covid run computed once per test session."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FRAUD = ROOT / "scenarios" / "fraud_covid.yaml"


@pytest.fixture(scope="session")
def fraud_full():
    """fraud_covid as shipped: 365 days, levels 0–3, seed 42 (about 20 s)."""
    import simulator

    return simulator.run(FRAUD)
