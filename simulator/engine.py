"""Run a scenario's levels in lockstep over the same traffic, one simulated day at a time."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from .domains import load_domain_class
from .drift import DriftSchedule
from .levels import resolve_levels
from .results import Comparison, LevelResult
from .scenario import Scenario
from .serving.queueing import ServiceModel
from .store import TrafficStore
from .traffic import DAY
from .rng import stream
from .world import World, train_model

Progress = Callable[[float, float], None]


def simulate(scenario: Scenario, levels: Iterable[int] | None = None,
             progress: Progress | None = None) -> Comparison:
    """Simulate ``levels`` (default: the scenario's) and return their comparison.

    ``progress(done_days, total_days)`` is called after each simulated day.
    Each level's numbers depend only on the scenario, the seed and the level,
    not on which other levels run or in what order.
    """
    configs = resolve_levels(scenario)
    wanted = sorted(set(levels if levels is not None else scenario.levels))
    if levels is not None:
        configs = resolve_levels(scenario.model_copy(update={"levels": wanted}))
    domain = load_domain_class(scenario.domain.kind)(scenario.domain.params)
    schedule = DriftSchedule(domain.params, scenario.drift)
    store = TrafficStore(scenario, domain, schedule)
    service = ServiceModel(scenario.serving.service_time)
    # The first model is the same for every level: trained once, before the start.
    initial = train_model(store, domain, 0.0, scenario.domain.train_window, 0.0, 1, stream(scenario.seed, "train-initial"))
    worlds = [World(scenario, lvl, configs[lvl], domain, store, service, initial) for lvl in wanted]
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
    return Comparison(scenario, [LevelResult.from_world(w, schedule) for w in worlds])
