"""Experiments: replications with confidence intervals, parameter sweeps, and where the runs go.

A *replication* is the whole scenario run again under another seed. Every
level of one replication shares that seed, so the levels meet the same
traffic (common random numbers) and their difference is the policies', not
the dice's. Replication 0 keeps the scenario's own seed, so its summary is
exactly that of a plain run; the others' seeds are spawned from it with
``numpy.random.SeedSequence``:

>>> replication_seeds(42, 3)
[42, 2684470948, 4091952314]

Each numeric figure of a level's summary becomes its mean over the
replications with a 95% Student-t interval:

>>> interval([10.0, 12.0, 14.0])
{'mean': 12.0, 'lo': 7.03172, 'hi': 16.9683}

A *sweep* runs a grid of parameter values, the cartesian product of each
``KEY=V1,V2,...``:

>>> parse_param("retraining.every=7d,30d")
('retraining.every', ['7d', '30d'])

Runs go to a *backend*: ``serial`` (one after another in this process),
``joblib`` (one process per core) or ``dask`` (a Dask cluster: one at
``scheduler`` or a local one started for the purpose). Each run's numbers
depend only on its scenario and seed, so every backend gives the same results.
"""
from __future__ import annotations

import itertools
import math
import os
import signal
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ScenarioError, did_you_mean
from .levels import LevelConfig
from .destination import Destination, claim
from .signals import ignored_by_children, watch_parent
from .yaml_reader import read_yaml
from .scenario import Scenario, scenario_from_dict

#: The level settings sections: a sweep key starting with one of these sets it at every level.
LEVEL_SECTIONS = tuple(name for name in LevelConfig.model_fields if name != "name")
#: Where runs can go.
BACKENDS = ("serial", "joblib", "dask")
#: The figures of a level's summary that a sweep reports: column name, then the path in the summary.
FIGURES = (
    ("cost_model_errors", ("cost", "model_errors")), ("cost_outage", ("cost", "outage")),
    ("cost_infrastructure", ("cost", "infrastructure")), ("cost_people", ("cost", "people")),
    ("cost_total", ("cost", "total")), ("availability", ("availability",)),
    ("latency_p99_ms", ("latency_ms", "p99")), ("model_mean", ("model", "mean")),
    ("model_pre_drift", ("model", "pre_drift")), ("model_post_drift", ("model", "post_drift")),
    ("retrains", ("retrains",)), ("deploys", ("deploys",)), ("failed_deploys", ("failed_deploys",)),
    ("rollbacks", ("rollbacks",)), ("incidents", ("incidents",)), ("downtime_minutes", ("downtime_minutes",)),
)


# --- replications and intervals ------------------------------------------------


def replication_seeds(seed: int, n: int) -> list[int]:
    """``n`` distinct seeds for ``n`` replications: ``seed`` itself, then children of ``SeedSequence(seed)``.

    The list for ``n`` starts with the list for any smaller ``n``, so ten
    replications contain the first five.

    >>> replication_seeds(7, 2) == replication_seeds(7, 4)[:2]
    True
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    seeds = [int(seed)]
    parent = np.random.SeedSequence(seed)
    while len(seeds) < n:
        child = int(parent.spawn(1)[0].generate_state(1, dtype=np.uint32)[0])
        if child not in seeds:
            seeds.append(child)
    return seeds


def interval(values: Iterable[Any], confidence: float = 0.95) -> dict[str, float | None]:
    """Mean and two-sided Student-t confidence interval of ``values``.

    ``None`` and NaN are left out. With no value left, every figure is
    ``None``; with one, ``lo`` and ``hi`` are ``None`` (one run says nothing
    of its spread). Figures are rounded to six significant digits, as in
    summaries.

    >>> interval([3, None, float("nan")])
    {'mean': 3.0, 'lo': None, 'hi': None}
    >>> interval([5, 5, 5])
    {'mean': 5.0, 'lo': 5.0, 'hi': 5.0}
    """
    from scipy.stats import t

    xs = np.array([float(v) for v in values if v is not None and math.isfinite(float(v))])
    if len(xs) == 0:
        return {"mean": None, "lo": None, "hi": None}
    mean = float(xs.mean())
    if len(xs) == 1:
        return {"mean": _round(mean), "lo": None, "hi": None}
    sd = float(xs.std(ddof=1))
    half = float(t.ppf(0.5 + confidence / 2, len(xs) - 1)) * sd / math.sqrt(len(xs)) if sd > 0 else 0.0
    return {"mean": _round(mean), "lo": _round(mean - half), "hi": _round(mean + half)}


def combine_summaries(summaries: Sequence[dict[str, Any]], confidence: float = 0.95) -> dict[str, Any]:
    """One level's summaries over replications, each numeric figure as ``{mean, lo, hi}``.

    Nested sections (``latency_ms``, ``cost``) stay nested; text and flags
    (the level's name, the metric's name) are kept as the first replication
    has them; a figure that is ``None`` in some replications is averaged over
    the others.

    >>> combine_summaries([{"name": "x", "cost": {"total": 1}}, {"name": "x", "cost": {"total": 3}}])
    {'name': 'x', 'cost': {'total': {'mean': 2.0, 'lo': -10.7062, 'hi': 14.7062}}}
    """
    keys = list(dict.fromkeys(k for s in summaries for k in s))
    out: dict[str, Any] = {}
    for key in keys:
        present = [s[key] for s in summaries if s.get(key) is not None]
        if present and all(isinstance(v, dict) for v in present):
            out[key] = combine_summaries(present, confidence)
        elif all(_is_number(v) for v in present):
            out[key] = interval(present, confidence)
        else:
            out[key] = present[0]
    return out


def replicate(scenario: str | Path | Scenario, replications: int, *, levels: list[int] | None = None,
              seed: int | None = None, days: float | None = None, backend: str = "joblib",
              scheduler: str | None = None, progress: bool = False, console=None, confidence: float = 0.95):
    """Run a scenario under ``replications`` seeds and summarise each level with intervals.

    Returns the :class:`~simulator.results.Comparison` of replication 0 (the
    scenario's own seed: its ``levels``, time series and events are exactly a
    plain run's) whose ``summary`` also has ``replications`` (keyed by level
    like ``levels``, every numeric figure as ``{"mean", "lo", "hi"}``),
    ``replication_seeds`` and ``confidence``.
    """
    from . import prepare

    source = str(scenario) if not isinstance(scenario, Scenario) else f"<scenario {scenario.name}>"
    check_backend(backend, scheduler, source)
    if int(replications) < 1:
        raise ScenarioError(source, "--replications", f"must be at least 1, not {replications}")
    sc = prepare(scenario, levels=levels, seed=seed, days=days)
    seeds = replication_seeds(sc.seed, int(replications))
    jobs = [(sc.model_copy(update={"seed": s}), i == 0) for i, s in enumerate(seeds)]
    results = run_jobs(_simulate_job, jobs, backend=backend, scheduler=scheduler, source=source,
                       progress=progress, console=console, label=f"{sc.name}: {len(jobs)} replications")
    comparison = results[0]
    per_run = [comparison.summary["levels"], *results[1:]]
    comparison.summary["replication_seeds"] = seeds
    comparison.summary["confidence"] = confidence
    comparison.summary["replications"] = {
        lvl: combine_summaries([run[lvl] for run in per_run], confidence) for lvl in comparison.summary["levels"]}
    return comparison


# --- sweeps --------------------------------------------------------------------


@dataclass(frozen=True)
class GridPoint:
    """One point of a sweep: the values as given (by parameter) and the scenario they make."""

    params: dict[str, str]
    scenario: Scenario


def parse_param(text: str, source: str = "<scenario>") -> tuple[str, list[str]]:
    """Split ``KEY=V1,V2,...`` into the dotted key and its values (as text).

    >>> parse_param("traffic.rate=50/s, 100/s")
    ('traffic.rate', ['50/s', '100/s'])
    """
    key, sep, rest = str(text).partition("=")
    key = key.strip()
    values = [v.strip() for v in rest.split(",")]
    if not sep or not key or any(not part for part in key.split(".")):
        raise ScenarioError(source, "--param", f"{text!r} is not KEY=V1,V2,... (e.g. retraining.every=7d,30d)")
    if any(v == "" for v in values):
        raise ScenarioError(source, key, f"--param {text!r} has an empty value")
    return key, values


def expand_grid(scenario: str | Path, params: dict[str, Sequence[Any]] | Sequence[str], *,
                levels: list[int] | None = None, seed: int | None = None, days: float | None = None,
                replace: dict[str, Any] | None = None) -> list[GridPoint]:
    """Every point of the grid, each scenario validated, before anything runs.

    ``params`` maps a dotted key to its values (or is a list of
    ``"KEY=V1,V2"`` texts). A key whose first part is a level settings
    section (``retraining.every``) sets that value at every level, merged
    into the scenario's ``overrides``; any other key replaces a scenario key
    (``serving.replicas``, ``traffic.rate``, ``drift.0.at``). Values are
    read as YAML scalars (``7d``, ``2``, ``true``). ``replace`` replaces
    top-level keys first (``fidelity``, say). A bad key or value raises
    :class:`ScenarioError` naming the file and the key.

    >>> grid = expand_grid("scenarios/load_spike.yaml", {"serving.replicas": [2, 4], "retraining.every": ["7d"]})
    >>> [(p.params, p.scenario.serving.replicas) for p in grid]
    [({'serving.replicas': '2', 'retraining.every': '7d'}, 2), ({'serving.replicas': '4', 'retraining.every': '7d'}, 4)]
    >>> grid[0].scenario.overrides[3]["retraining"]["every"]
    '7d'
    """
    from . import prepare

    source = str(scenario)
    if isinstance(params, dict):
        grid = {str(k): [str(v) for v in vs] for k, vs in params.items()}
    else:
        grid = {}
        for text in params:
            key, values = parse_param(text, source)
            if key in grid:
                raise ScenarioError(source, key, "given twice: list all its values in one --param")
            grid[key] = values
    if not grid:
        raise ScenarioError(source, "--param", "a sweep needs at least one --param KEY=V1,V2,...")
    base = prepare(scenario, levels=levels, seed=seed, days=days)  # checks the file and the arguments
    data = read_yaml(Path(scenario).read_text(encoding="utf-8"), str(scenario))
    data.update(replace or {}, levels=base.levels, seed=base.seed)
    for key, values in grid.items():
        head = key.split(".")[0]
        if head in ("levels", "overrides") and key == head:
            raise ScenarioError(source, key, "cannot be swept: use --levels, or a level setting like retraining.every")
        if head not in Scenario.model_fields and head not in LEVEL_SECTIONS:
            raise ScenarioError(source, key, "unknown key" + did_you_mean(head, [*Scenario.model_fields,
                                                                                *LEVEL_SECTIONS]))
        if not values:
            raise ScenarioError(source, key, "needs at least one value")
    points = []
    for combo in itertools.product(*grid.values()):
        point = dict(zip(grid, combo))
        point_data = _apply(data, point, base.levels, source)
        try:
            sc = scenario_from_dict(point_data, source)
            if days is not None:
                if days * 86400.0 < sc.tick:
                    raise ScenarioError(source, "duration", f"--days {days} is shorter than one tick")
                sc = sc.with_days(days)
        except ScenarioError as exc:
            raise _blame(exc, point, source) from None
        points.append(GridPoint(point, sc))
    return points


def sweep(scenario: str | Path, params: dict[str, Sequence[Any]] | Sequence[str], *,
          levels: list[int] | None = None, seed: int | None = None, days: float | None = None,
          replications: int | None = None, backend: str = "joblib", scheduler: str | None = None,
          progress: bool = False, console=None, replace: dict[str, Any] | None = None,
          confidence: float = 0.95):
    """Run every point of a grid (see :func:`expand_grid`) and return one row per point per level.

    The frame has a column per parameter (its value as given), ``level``,
    ``level_name``, ``seed``, ``model_metric`` (the metric's name) and the
    figures in :data:`FIGURES`. With ``replications``, each point runs under
    the same seeds (:func:`replication_seeds` of its seed) and each figure
    becomes three columns, ``<figure>_mean``, ``_lo`` and ``_hi``.
    """
    source = str(scenario)
    check_backend(backend, scheduler, source)
    points = expand_grid(scenario, params, levels=levels, seed=seed, days=days, replace=replace)
    return run_grid(points, replications=replications, backend=backend, scheduler=scheduler, source=source,
                    progress=progress, console=console, confidence=confidence)


def run_grid(points: Sequence[GridPoint], *, replications: int | None = None, backend: str = "joblib",
             scheduler: str | None = None, source: str = "<scenario>", progress: bool = False, console=None,
             confidence: float = 0.95):
    """Run grid points made by :func:`expand_grid`: the frame :func:`sweep` returns."""
    import pandas as pd

    check_backend(backend, scheduler, source)
    if replications is not None and int(replications) < 1:
        raise ScenarioError(source, "--replications", f"must be at least 1, not {replications}")
    n = int(replications or 1)
    jobs = [(p.scenario.model_copy(update={"seed": s}), False)
            for p in points for s in replication_seeds(p.scenario.seed, n)]
    results = run_jobs(_simulate_job, jobs, backend=backend, scheduler=scheduler, source=source,
                       progress=progress, console=console,
                       label=f"{points[0].scenario.name}: {len(points)} points x {n} runs")
    rows = []
    for i, point in enumerate(points):
        runs = results[i * n:(i + 1) * n]
        for lvl in point.scenario.levels:
            summaries = [run[str(lvl)] for run in runs]
            row: dict[str, Any] = dict(point.params)
            for name, value in (("level", lvl), ("level_name", summaries[0]["name"]), ("seed", point.scenario.seed),
                                ("model_metric", summaries[0]["model"]["metric"])):
                row.setdefault(name, value)
            if replications is None:
                row.update(figures(summaries[0]))
            else:
                combined = combine_summaries(summaries, confidence)
                for name, stats in figures(combined).items():
                    row.update({f"{name}_{k}": v for k, v in stats.items()})
            rows.append(row)
    return pd.DataFrame(rows)


def figures(level_summary: dict[str, Any]) -> dict[str, Any]:
    """The main figures of one level's summary, flat, named as in :data:`FIGURES`.

    >>> figures({"cost": {"total": 5.0}, "availability": 0.99})["cost_total"]
    5.0
    """
    out = {}
    for name, path in FIGURES:
        value: Any = level_summary
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        out[name] = value
    return out


def write_sweep(frame, out: str | Path | Destination, manifest: dict[str, Any] | None = None,
                overwrite: bool = False) -> Path:
    """Write ``out/sweep.csv`` and ``out/manifest.json``; return the csv's path.

    ``out`` is a folder path (claimed as a run's results folder is: see
    :mod:`simulator.destination`) or a destination claimed before the sweep
    ran. Both files are written in a temporary folder and moved into place
    together, so an interrupted sweep leaves neither.
    """
    dest = out if isinstance(out, Destination) else claim(out, overwrite=overwrite)
    with dest:
        frame.to_csv(dest.staging / "sweep.csv", index=False, lineterminator="\n")
        return dest.commit(["sweep.csv"], manifest or {}) / "sweep.csv"


# --- backends ------------------------------------------------------------------


def check_backend(backend: str, scheduler: str | None = None, source: str = "<scenario>") -> None:
    """Raise :class:`ScenarioError` if ``backend`` is unknown or its package is missing.

    >>> check_backend("serial")
    >>> check_backend("spark")
    Traceback (most recent call last):
    ...
    simulator.errors.ScenarioError: <scenario>: --backend: unknown backend 'spark'; one of serial, joblib, dask
    """
    if backend not in BACKENDS:
        raise ScenarioError(source, "--backend", f"unknown backend {backend!r}; one of {', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise ScenarioError(source, "--scheduler", f"a scheduler address is for --backend dask, not {backend}")
    needs = {"joblib": ("joblib", "joblib"), "dask": ("distributed", "mlops-failure-lab[dask]")}.get(backend)
    if needs is not None:
        import importlib.util

        if importlib.util.find_spec(needs[0]) is None:
            raise ScenarioError(source, "--backend", f"{backend} needs the {needs[0]} package: "
                                                     f"pip install '{needs[1]}'")


def run_jobs(fn: Callable[[Any], Any], jobs: Sequence[Any], *, backend: str = "joblib", scheduler: str | None = None,
             source: str = "<scenario>", progress: bool = False, console=None, label: str = "runs") -> list:
    """``[fn(job) for job in jobs]``, run on ``backend``, results in the order of ``jobs``.

    ``fn`` is called as ``fn(job, parallel)``: ``parallel`` is True when
    several jobs run at once, so a job should not start processes of its own.
    ``fn`` and the jobs must pickle for ``joblib`` and ``dask``. A single job
    on ``joblib`` runs in this process.

    >>> run_jobs(_square, [1, 2, 3], backend="serial")
    [1, 4, 9]
    """
    check_backend(backend, scheduler, source)
    jobs = list(jobs)
    with _job_bar(len(jobs), label, console, progress) as advance:
        if backend == "serial" or (backend == "joblib" and len(jobs) <= 1):
            results = []
            for job in jobs:
                results.append(fn(job, False))
                advance()
            return results
        if backend == "joblib":
            return _run_joblib(fn, jobs, advance)
        return _run_dask(fn, jobs, scheduler, source, advance)


def _run_joblib(fn, jobs, advance) -> list:
    """The jobs on joblib's process pool (loky), one worker per core; results in the order of ``jobs``.

    The workers are started ignoring SIGINT: Ctrl-C is left to this
    process, which then stops them, instead of each worker printing a
    traceback of its own. A worker also ends if this
    process is killed (see :func:`_in_worker`).
    """
    from concurrent.futures import as_completed

    from joblib.externals.loky import get_reusable_executor

    executor = get_reusable_executor(max_workers=max(1, min(os.cpu_count() or 1, len(jobs))))
    with warnings.catch_warnings():
        # loky replaces a worker whose memory grew after a year-long run, and says so; no result is lost.
        warnings.filterwarnings("ignore", message="A worker stopped while some jobs", category=UserWarning)
        try:
            with ignored_by_children(signal.SIGINT):  # the first submit starts the workers
                futures = [executor.submit(_in_worker, fn, job, os.getpid()) for job in jobs]
            for _ in as_completed(futures):
                advance()
            return [future.result() for future in futures]
        except BaseException:
            executor.shutdown(wait=False, kill_workers=True)
            raise


def _run_dask(fn, jobs, scheduler, source, advance) -> list:
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if scheduler is not None:
            try:
                client = Client(scheduler, timeout="15s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ScenarioError(source, "--scheduler", f"cannot reach a Dask scheduler at {scheduler}: "
                                                           f"{type(exc).__name__}: {exc}") from None
        else:
            workers = max(1, min(os.cpu_count() or 1, len(jobs)))
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
        with client:
            futures = [client.submit(fn, job, True, pure=False) for job in jobs]
            for _ in as_completed(futures):
                advance()
            return client.gather(futures)
    finally:
        if cluster is not None:
            cluster.close()


def _in_worker(fn: Callable[[Any, bool], Any], job: Any, parent: int) -> Any:
    """``fn(job, True)`` in a pool's worker, which ends itself if ``parent`` dies (the pool can't see to it)."""
    watch_parent(parent)
    return fn(job, True)


def _simulate_job(job: tuple[Scenario, bool], parallel: bool):
    """One run: the whole Comparison if asked for, else only the summary's ``levels``."""
    from .engine import simulate

    scenario, full = job
    comparison = simulate(scenario, workers=1 if parallel else None)
    return comparison if full else comparison.summary["levels"]


def _square(x: int, parallel: bool) -> int:
    return x * x


# --- helpers -------------------------------------------------------------------


class _job_bar:
    """A rich progress bar over jobs (or nothing, when not asked for): ``with _job_bar(...) as advance``."""

    def __init__(self, total: int, label: str, console, show: bool) -> None:
        self.total, self.label, self.console, self.show = total, label, console, show
        self.bar = None

    def __enter__(self) -> Callable[[], None]:
        if not self.show:
            return lambda: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn(f"[bold]{self.label}[/]"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("runs"), TimeElapsedColumn(), console=self.console, transient=True)
        self.bar.__enter__()
        task = self.bar.add_task("runs", total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _apply(data: dict[str, Any], point: dict[str, str], levels: list[int], source: str) -> dict[str, Any]:
    """A copy of the raw scenario mapping with one grid point's values set."""
    import copy

    data = copy.deepcopy(data)
    for key, text in point.items():
        try:
            # A value is read as the file's values are: within the same limits, errors on one line.
            value = read_yaml(text, source) if text.strip() else text
        except ScenarioError as exc:
            raise ScenarioError(source, f"--param {key}", f"{text!r}: {exc.problem}") from None
        parts = key.split(".")
        if parts[0] in LEVEL_SECTIONS:
            overrides = data.get("overrides")
            if overrides is None:
                overrides = data["overrides"] = {}
            if not isinstance(overrides, dict):
                raise ScenarioError(source, "overrides", "must be a mapping of levels")
            for lvl in levels:
                slot = lvl if lvl in overrides or str(lvl) not in overrides else str(lvl)
                current = overrides.setdefault(slot, {})
                if not isinstance(current, dict):
                    raise ScenarioError(source, f"overrides.{lvl}", "must be a mapping of preset keys")
                _set(current, parts, value, source, key)
        else:
            _set(data, parts, value, source, key)
    return data


def _set(node: Any, parts: list[str], value: Any, source: str, key: str) -> None:
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        where = ".".join(parts[:i]) or "the file"
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError(source, key, f"{where} has no item {part!r} (it has {len(node)})")
            slot: Any = int(part)
        elif isinstance(node, dict):
            # Level numbers are integer keys in YAML (overrides: {3: ...}).
            slot = int(part) if part.isdigit() and part not in node else part
        else:
            raise ScenarioError(source, key, f"{where} is a value, not a mapping of keys")
        if last:
            node[slot] = value
        else:
            if isinstance(node, dict) and node.get(slot) is None:
                node[slot] = {}
            node = node[slot]


def _blame(exc: ScenarioError, point: dict[str, str], source: str) -> ScenarioError:
    """Name the swept key an error comes from, with its value."""
    found = exc.key or ""
    for key, value in point.items():
        if found and (found == key or found.endswith("." + key) or key.startswith(found + ".")):
            return ScenarioError(source, key, f"--param value {value!r}: {exc.problem}")
    given = ", ".join(f"{k}={v}" for k, v in point.items())
    return ScenarioError(source, exc.key, f"{exc.problem} (with --param {given})")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _round(x: float) -> float:
    return float(f"{x:.6g}")
