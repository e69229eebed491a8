"""A rich progress bar in simulated days."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .scenario import Scenario
from .traffic import DAY


@contextmanager
def day_progress(scenario: Scenario, console=None) -> Iterator:
    """Yield ``update(done_days, total_days)`` that advances a bar of simulated days."""
    total = scenario.duration / DAY
    columns = [TextColumn(f"[bold]{scenario.name}[/] levels {','.join(map(str, scenario.levels))}"),
               BarColumn(), MofNCompleteColumn(), TextColumn("simulated days"), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("simulating", total=round(total))

        def update(done: float, _total: float) -> None:
            bar.update(task, completed=round(done))

        yield update
