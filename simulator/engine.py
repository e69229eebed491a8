"""Run a scenario's levels over the same traffic, one simulated day at a time.

Levels are independent given the scenario and the seed, so they may run in
parallel: with ``workers=2`` the two processes first share out the making of
the first model's window of traffic, then one group of levels runs in a
forked process while this one makes the rest of the days and then runs its
own group, and the results are identical to a serial run.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .domains import Domain, make_domain
from .drift import DriftSchedule
from .forking import Forked, can_fork
from .levels import resolve_levels
from .registry import ModelVersion
from .results import Comparison, LevelResult
from .rng import stream
from .scenario import Scenario
from .serving.kernel import warm_up
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
        return Comparison(scenario, sorted(run_levels(scenario, groups[0], progress), key=lambda r: r.level))
    setup = Setup.of(scenario)
    try:  # the traffic's spill folder goes however the run ends
        history, ahead = _day_ranges(scenario)
        with threadpool_limits(limits=1):
            # What every level shares is made once, before the levels part: the first model's
            # window of traffic (its days shared between the processes through the spill
            # folder) and the first model. The compiled serving loops are loaded here too,
            # once, rather than in each forked process.
            _generate_days(setup.store, len(groups), history)
            setup.train_initial()
            warm_up()
        pending = [Forked(lambda group=group: run_levels(scenario, group, setup=setup)) for group in groups[1:]]
        try:
            # This process makes the rest of the days, in order, before its own levels (level 3's
            # group costs about as much as levels 0-2 without them): the forked groups read them
            # from the spill folder as they go, and make any day they reach first themselves (a
            # day is the same whoever makes it).
            with threadpool_limits(limits=1):
                setup.store.make(ahead)
            results = run_levels(scenario, groups[0], progress, setup=setup)
            for job in pending:
                results += job()
        finally:
            for job in pending:
                job.stop()
    finally:
        setup.close()
    return Comparison(scenario, sorted(results, key=lambda r: r.level))


@dataclass
class Setup:
    """What every level of a run shares: configs, domain, drift schedule, traffic, service and first model.

    The traffic store holds a temporary folder on disk: whoever makes a setup
    calls :meth:`close` when the run ends (or uses the setup as a context manager).
    """

    configs: dict
    domain: Domain
    schedule: DriftSchedule
    store: TrafficStore
    service: ServiceModel
    scenario: Scenario
    initial: ModelVersion | None = None

    @classmethod
    def of(cls, scenario: Scenario) -> "Setup":
        """Everything but the first model, which :meth:`train_initial` adds."""
        configs = resolve_levels(scenario)
        domain = make_domain(scenario)
        schedule = DriftSchedule(domain.params, scenario.drift)
        return cls(configs, domain, schedule, TrafficStore(scenario, domain, schedule),
                   ServiceModel(scenario.serving.service_time), scenario)

    def train_initial(self) -> ModelVersion:
        """The first model, the same for every level: trained once, before the start."""
        if self.initial is None:
            sc = self.scenario
            self.initial = train_model(self.store, self.domain, 0.0, sc.domain.train_window, 0.0, 1,
                                       stream(sc.seed, "train-initial"))
        return self.initial

    def close(self) -> None:
        """Remove the traffic's spill folder (in the process that made the setup)."""
        self.store.close()

    def __enter__(self) -> "Setup":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def run_levels(scenario: Scenario, levels: list[int], progress: Progress | None = None,
               setup: Setup | None = None) -> list[LevelResult]:
    """Simulate ``levels`` in lockstep in this process and summarise each.

    BLAS runs single-threaded meanwhile: the matrices here are small, and its
    threads cost more than they give (and would fight the other process).
    A ``setup`` passed in stays its caller's to close; one made here is closed here.
    """
    with threadpool_limits(limits=1):
        if setup is not None:
            return _run_levels(scenario, levels, progress, setup)
        with Setup.of(scenario) as own:
            return _run_levels(scenario, levels, progress, own)


def _run_levels(scenario: Scenario, levels: list[int], progress: Progress | None,
                setup: Setup) -> list[LevelResult]:
    initial = setup.train_initial()
    worlds = [World(scenario, lvl, setup.configs[lvl], setup.domain, setup.store, setup.service, initial)
              for lvl in levels]
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
    return [LevelResult.from_world(w, setup.schedule) for w in worlds]


def _day_ranges(sc: Scenario) -> tuple[list[int], list[int]]:
    """The run's days: those of the first model's window (before the start), and the simulated ones."""
    first, end = int(np.floor(-sc.domain.train_window / DAY)), int(np.ceil(sc.duration / DAY))
    return list(range(first, min(0, end))), list(range(0, end))


def _generate_days(store: TrafficStore, processes: int, days: list[int]) -> None:
    """Make ``days``, shared among ``processes``.

    Each day comes from its own random stream, so who makes it changes nothing.
    Every process writes its days to the store's spill folder, where all of
    them read them from; none is kept in memory.
    """
    jobs = [Forked(lambda mine=days[k::processes]: store.make(mine)) for k in range(1, processes)]
    try:
        store.make(days[0::processes])
        for job in jobs:
            job()
    finally:
        for job in jobs:
            job.stop()


def _workers(requested: int | None, n_levels: int) -> int:
    if requested is not None:
        if requested < 1:
            raise ValueError("workers must be at least 1")
        wanted = requested
    else:
        wanted = min(2, os.cpu_count() or 1)
    # Forking is fast (nothing to re-import) and safe on Linux; elsewhere, run serially.
    if not can_fork():
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
