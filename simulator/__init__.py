"""MLOps Failure Lab: simulate production ML failures and compare maturity levels 0–3.

>>> import simulator
>>> cmp = simulator.run("scenarios/fraud_covid.yaml", levels=[0, 3], days=3)
>>> sorted(cmp.summary["levels"])
['0', '3']
>>> sorted(set(cmp.timeseries["level"]))
[0, 3]
"""
from __future__ import annotations

import math
from pathlib import Path

from .engine import simulate
from .errors import RunFailure, ScenarioError
from .results import Comparison
from .scenario import Scenario, check_scenario, load_scenario

__all__ = ["Comparison", "RunFailure", "Scenario", "ScenarioError", "load_scenario", "prepare", "run", "simulate"]
__version__ = "0.1.0"


def run(scenario: str | Path | Scenario, levels: list[int] | None = None, seed: int | None = None,
        days: float | None = None, progress: bool = False) -> Comparison:
    """Run a scenario at the given maturity levels over the same traffic.

    Parameters
    ----------
    scenario
        A path to a scenario YAML file, or a :class:`Scenario`.
    levels
        Which levels to run (default: the scenario's ``levels``).
    seed
        Replaces the scenario's seed.
    days
        Replaces the scenario's duration (simulated days).
    progress
        Show a progress bar on the terminal.

    Returns
    -------
    Comparison
        ``.summary`` (the dict of summary.json), ``.timeseries``, ``.events``
        and ``.daily`` (DataFrames with a ``level`` column), and plots.
    """
    sc = prepare(scenario, levels=levels, seed=seed, days=days)
    if not progress:
        return simulate(sc)
    from .progress import day_progress

    with day_progress(sc) as update:
        return simulate(sc, progress=update)


def prepare(scenario: str | Path | Scenario, levels: list[int] | None = None, seed: int | None = None,
            days: float | None = None) -> Scenario:
    """Load (or copy) a scenario with the caller's levels, seed and days applied and checked."""
    source = str(scenario) if not isinstance(scenario, Scenario) else f"<scenario {scenario.name}>"
    update: dict = {}
    if levels is not None:
        levels = list(levels)
        if not levels or any(lvl not in (0, 1, 2, 3) for lvl in levels):
            raise ScenarioError(source, "levels", f"must be among 0, 1, 2, 3, not {levels}")
        update["levels"] = sorted(set(levels))
    if seed is not None:
        if seed < 0:
            raise ScenarioError(source, "seed", "must be zero or more")
        update["seed"] = int(seed)
    if days is not None:
        if not (math.isfinite(days) and days > 0):
            raise ScenarioError(source, "duration", f"--days must be a number of days above 0, not {days}")
    if isinstance(scenario, Scenario):
        sc = scenario.model_copy(update=update)
        check_scenario(sc, source)
    else:
        sc = load_scenario(scenario, **update)
    if days is not None:
        if days * 86400.0 < sc.tick:
            raise ScenarioError(source, "duration", f"--days {days} is shorter than one tick")
        # A shorter run drops the events that would start after its end.
        sc = sc.with_days(days)
    return sc
