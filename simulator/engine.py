"""Run a scenario's levels over the same traffic, one simulated day at a time.

Levels are independent given the scenario and the seed, so they may run in
parallel: with ``workers=2`` one group of levels runs in a forked process
(each process generates the same traffic from the same seed) and the results
are identical to a serial run.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable

from threadpoolctl import threadpool_limits

from .domains import load_domain_class
from .drift import DriftSchedule
from .levels import resolve_levels
from .results import Comparison, LevelResult
from .rng import stream
from .scenario import Scenario
from .serving.queueing import ServiceModel
from .store import TrafficStore
from .traffic import DAY
from .world import World, train_model

Progress = Callable[[float, float], None]

# Relative cost of simulating each level, for splitting them across processes.
# Level 3 scales every five minutes, tests its inputs daily and retrains up to
# weekly: alone it costs about as much as levels 0-2 together, so with two
# processes it gets one to itself (measured in benchmarks/README.md).
_LEVEL_WEIGHT = {0: 3.0, 1: 3.0, 2: 4.0, 3: 10.0}


def simulate(scenario: Scenario, levels: Iterable[int] | None = None, progress: Progress | None = None,
             workers: int | None = None) -> Comparison:
    """Simulate ``levels`` (default: the scenario's) and return their comparison.

    ``progress(done_days, total_days)`` is called after each simulated day.
    ``workers`` is how many processes share the levels (default: up to two,
    where the platform forks; 1 runs everything here). Each level's numbers
    depend only on the scenario, the seed and the level — not on which other
    levels run, in what order, or in which process.
    """
    wanted = sorted(set(levels if levels is not None else scenario.levels))
    if levels is not None:
        scenario = scenario.model_copy(update={"levels": wanted})
    groups = _split(wanted, _workers(workers, len(wanted)))
    if len(groups) == 1:
        results = run_levels(scenario, groups[0], progress)
    else:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(len(groups) - 1) as pool:
            pending = [pool.apply_async(run_levels, (scenario, group)) for group in groups[1:]]
            results = run_levels(scenario, groups[0], progress)
            for job in pending:
                results += job.get()
    return Comparison(scenario, sorted(results, key=lambda r: r.level))


def run_levels(scenario: Scenario, levels: list[int], progress: Progress | None = None) -> list[LevelResult]:
    """Simulate ``levels`` in lockstep in this process and summarise each.

    BLAS runs single-threaded meanwhile: the matrices here are small, and its
    threads cost more than they give (and would fight the other process).
    """
    with threadpool_limits(limits=1):
        return _run_levels(scenario, levels, progress)


def _run_levels(scenario: Scenario, levels: list[int], progress: Progress | None) -> list[LevelResult]:
    configs = resolve_levels(scenario)
    domain = load_domain_class(scenario.domain.kind)(scenario.domain.params)
    schedule = DriftSchedule(domain.params, scenario.drift)
    store = TrafficStore(scenario, domain, schedule)
    service = ServiceModel(scenario.serving.service_time)
    # The first model is the same for every level: trained once, before the start.
    initial = train_model(store, domain, 0.0, scenario.domain.train_window, 0.0, 1,
                          stream(scenario.seed, "train-initial"))
    worlds = [World(scenario, lvl, configs[lvl], domain, store, service, initial) for lvl in levels]
    total_days = scenario.duration / DAY
    day = 0
    while day * DAY < scenario.duration - 1e-9:
        until = min((day + 1) * DAY, scenario.duration)
        for world in worlds:
            # Just past the boundary, so the day's closing checks and report run in this step.
            world.env.run(until=until + 1e-6)
        day += 1
        if progress is not None:
            progress(until / DAY, total_days)
    for world in worlds:
        world.finish()
    return [LevelResult.from_world(w, schedule) for w in worlds]


def _workers(requested: int | None, n_levels: int) -> int:
    if requested is not None:
        if requested < 1:
            raise ValueError("workers must be at least 1")
        wanted = requested
    else:
        wanted = min(2, os.cpu_count() or 1)
    # Forking is fast (nothing to re-import) and safe on Linux; elsewhere, run serially.
    if not sys.platform.startswith("linux"):
        return 1
    return max(1, min(wanted, n_levels))


def _split(levels: list[int], n: int) -> list[list[int]]:
    """Share levels among ``n`` groups of similar cost; the first group stays in this process."""
    groups: list[list[int]] = [[] for _ in range(n)]
    load = [0.0] * n
    for lvl in sorted(levels, key=lambda x: -_LEVEL_WEIGHT.get(x, 1.0)):
        i = load.index(min(load))
        groups[i].append(lvl)
        load[i] += _LEVEL_WEIGHT.get(lvl, 1.0)
    return [sorted(g) for g in groups if g]
