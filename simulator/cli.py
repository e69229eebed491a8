"""The command line: ``python -m simulator run | sweep | validate | list``.

Exit status: 0 done, 2 bad input (scenario or arguments), 1 a failure while
running; either failure prints one line on standard error.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .errors import RunFailure, ScenarioError
from .signals import exit_status, interruptible

#: Where the shipped scenarios live (beside the package in a checkout).
SHIPPED = Path(__file__).resolve().parent.parent / "scenarios"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m simulator``."""
    parser = _Parser(prog="python -m simulator", description="MLOps Failure Lab: run scripted production-ML scenarios.",
                     epilog="examples:\n"
                            "  python -m simulator run scenarios/fraud_covid.yaml\n"
                            "  python -m simulator run scenarios/load_spike.yaml --levels 0,3 --days 7 --out results/spike\n"
                            "  python -m simulator run scenarios/load_spike.yaml --out results/spike --overwrite\n"
                            "  python -m simulator validate my_scenario.yaml\n\n"
                            "--out names a new or empty folder; an existing one is refused unless it holds an earlier\n"
                            "run's results and --overwrite is given (then only that run's files are replaced).\n"
                            "exit status: 0 done, 1 failure while running, 2 bad input, 130/143 interrupted",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run a scenario at maturity levels 0-3 and compare them")
    _run_options(run, "a new (or empty) folder for the results (default results/<scenario>/<time>); "
                      "an existing folder is refused unless it holds an earlier run's results and "
                      "--overwrite is given")
    swp = sub.add_parser("sweep", help="run a scenario over a grid of settings; writes DIR/sweep.csv")
    swp.add_argument("--param", action="append", default=[], metavar="KEY=V1,V2,...",
                     help="a setting and its values, e.g. retraining.every=7d,30d or serving.replicas=2,4 "
                          "(repeat for a grid: every combination runs)")
    _run_options(swp, "a new (or empty) folder for sweep.csv (default results/<scenario>/<time>-sweep); "
                      "an existing folder is refused unless it holds an earlier sweep and --overwrite is given")
    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("scenarios", nargs="+", help="scenario YAML files")
    sub.add_parser("list", help="list the shipped scenarios")
    return parser


def _run_options(parser: argparse.ArgumentParser, out_help: str) -> None:
    """What ``run`` and ``sweep`` share: the scenario, what to change of it, and where the results go."""
    parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument("--levels", help="comma-separated levels, e.g. 0,3 (default: the scenario's)")
    parser.add_argument("--seed", type=int, help="replace the scenario's seed")
    parser.add_argument("--out", type=Path, help=out_help)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the files of an earlier run in --out (only the files that run wrote)")
    parser.add_argument("--days", type=float, help="simulate this many days instead of the scenario's duration")
    parser.add_argument("--fidelity", choices=["tick", "request"], help="replace the scenario's fidelity")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    _experiment_options(parser)


def _experiment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--replications", type=int, metavar="N",
                        help="run N seeds (the same seeds at every level) and report means with 95%% intervals")
    parser.add_argument("--backend", choices=["serial", "joblib", "dask"],
                        help="where several runs go: serial, joblib (local processes, the default) or dask")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a Dask scheduler to run on (implies --backend dask; "
                             "without it, dask starts a local cluster)")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
    try:
        # SIGTERM unwinds like Ctrl-C: workers are stopped and temporary folders removed.
        with interruptible():
            argv = sys.argv[1:] if argv is None else list(argv)
            args = build_parser().parse_args(argv)
            args.argv = argv
            if args.command == "run":
                return _run(args)
            if args.command == "sweep":
                return _sweep(args)
            if args.command == "validate":
                return _validate(args.scenarios)
            return _list()
    except ScenarioError as exc:
        err.print(f"error: {exc}", markup=False)
        return 2
    except RunFailure as exc:
        err.print(f"error while running: {exc}", markup=False)
        return 1
    except KeyboardInterrupt as exc:
        err.print("interrupted: nothing was written", markup=False)
        return exit_status(exc)


def _parse_levels(text: str | None, source: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip() != ""]
    except ValueError:
        raise ScenarioError(source, "--levels", f"{text!r} is not a comma-separated list of levels (e.g. 0,3)") from None


def _backend(args: argparse.Namespace, source: str) -> str:
    """The backend asked for (``--scheduler`` alone means dask), checked before anything runs."""
    from .experiments import check_backend

    backend = args.backend or ("dask" if args.scheduler is not None else "joblib")
    check_backend(backend, args.scheduler, source)
    if args.replications is not None and args.replications < 1:
        raise ScenarioError(source, "--replications", f"must be at least 1, not {args.replications}")
    return backend


def _running(work):
    """Call ``work()``; a failure while running becomes one line (exit 1), unless debugging."""
    try:
        return work()
    except (ScenarioError, RunFailure, KeyboardInterrupt):
        raise
    except Exception as exc:
        if os.environ.get("SIMULATOR_DEBUG"):
            raise
        raise RunFailure(f"{type(exc).__name__}: {exc}") from exc


def _run(args: argparse.Namespace) -> int:
    from . import prepare
    from .engine import simulate
    from .output import write_results

    source = args.scenario
    backend = _backend(args, source)
    sc = prepare(source, levels=_parse_levels(args.levels, source), seed=args.seed, days=args.days)
    if args.fidelity is not None and args.fidelity != sc.fidelity:
        from .scenario import check_scenario

        sc = sc.model_copy(update={"fidelity": args.fidelity})
        try:
            check_scenario(sc, source)
        except ScenarioError as exc:
            raise ScenarioError(source, "--fidelity", exc.problem) from None
    dest = _claim(args, sc.name)
    console = Console()

    def work():
        if args.replications is not None:
            from .experiments import replicate

            return replicate(sc, args.replications, backend=backend, scheduler=args.scheduler,
                             progress=not args.quiet, console=console)
        if args.quiet:
            return simulate(sc)
        from .progress import day_progress

        with day_progress(sc, console=console) as update:
            return simulate(sc, progress=update)

    with dest:
        comparison = _running(work)
        written = write_results(comparison, dest, Path(source).read_text(encoding="utf-8"), command=_command(args))
    if not args.quiet:
        if "replications" in comparison.summary:
            console.print(replication_table(comparison.summary))
        else:
            console.print(comparison_table(comparison))
        console.print(f"results written to [bold]{written}[/]")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    from .experiments import expand_grid, run_grid, write_sweep

    source = args.scenario
    backend = _backend(args, source)
    replace = {"fidelity": args.fidelity} if args.fidelity is not None else None
    # Every grid point is built and checked here, before anything runs.
    points = expand_grid(source, args.param, levels=_parse_levels(args.levels, source), seed=args.seed,
                         days=args.days, replace=replace)
    first = points[0].scenario
    dest = _claim(args, first.name, "-sweep")
    console = Console()
    with dest:
        frame = _running(lambda: run_grid(points, replications=args.replications, backend=backend,
                                          scheduler=args.scheduler, source=source, progress=not args.quiet,
                                          console=console))
        manifest = {"scenario": first.name, "scenario_sha256": _sha256(source), "seed": first.seed,
                    "levels": first.levels, "duration_days": first.duration / 86400.0, "params": list(args.param),
                    "points": len(points), "replications": args.replications, "command": _command(args)}
        written = write_sweep(frame, dest, manifest)
    if not args.quiet:
        console.print(sweep_table(frame, list(points[0].params), first.name))
        console.print(f"sweep written to [bold]{written}[/]")
    return 0


def _claim(args: argparse.Namespace, name: str, suffix: str = ""):
    """The results folder, claimed before the work (a bad --out is an error now, not after it);
    what runs killed earlier left behind is removed first."""
    from .destination import claim
    from .output import default_out_dir
    from .spill import remove_stale_spills

    remove_stale_spills()
    return claim(args.out if args.out is not None else default_out_dir(name, suffix), overwrite=args.overwrite)


def _command(args: argparse.Namespace) -> list[str]:
    """The command line as typed, for the manifest."""
    return ["python", "-m", "simulator", *args.argv]


def _sha256(path: str) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def comparison_table(comparison) -> Table:
    """A rich table with one column per level."""
    levels = comparison.levels
    summary = comparison.summary["levels"]
    metric = summary[str(levels[0])]["model"]["metric"]
    table = Table(title=f"{comparison.scenario.name}: {comparison.summary['duration_days']:g} simulated days, "
                        f"seed {comparison.scenario.seed}")
    table.add_column("")
    for lvl in levels:
        table.add_column(f"L{lvl} {summary[str(lvl)]['name']}", justify="right")

    def row(label, get, fmt):
        values = []
        for lvl in levels:
            value = get(summary[str(lvl)])
            values.append("–" if value is None else fmt(value))
        table.add_row(label, *values)

    row(f"{metric} before drift", lambda s: s["model"]["pre_drift"], "{:.3f}".format)
    row(f"{metric} after drift", lambda s: s["model"]["post_drift"], "{:.3f}".format)
    row("p99 latency (ms)", lambda s: s["latency_ms"]["p99"], "{:.0f}".format)
    row("availability", lambda s: s["availability"], lambda v: f"{v:.4%}")
    row("shed to fallback", lambda s: s.get("shed_requests"), "{:,.0f}".format)
    for key, label in (("retrains", "retrains"), ("deploys", "deploys"), ("failed_deploys", "failed deploys"),
                       ("rollbacks", "rollbacks"), ("incidents", "incidents")):
        row(label, lambda s, k=key: s[k], "{:d}".format)
    row("downtime (min)", lambda s: s["downtime_minutes"], "{:,.0f}".format)
    table.add_section()
    parts = {"model_errors": ("model_decisions", "fallback_decisions", "unscored_decisions"),
             "outage": ("failed_requests", "downtime")}
    for cat in ("model_errors", "outage", "infrastructure", "people"):
        row(f"cost: {cat.replace('_', ' ')}", lambda s, c=cat: s["cost"][c], money)
        for part in parts.get(cat, ()):
            row(f"[dim]  {part.replace('_', ' ')}[/]", lambda s, p=part: s.get("cost_breakdown", {}).get(p),
                lambda v: f"[dim]{money(v)}[/]")
    row("[bold]cost: total[/]", lambda s: s["cost"]["total"], lambda v: f"[bold]{money(v)}[/]")
    return table


def replication_table(summary: dict) -> Table:
    """A rich table of the main figures over replications: mean ± half of the 95% interval, one column per level."""
    reps = summary["replications"]
    levels = sorted(reps, key=int)
    first = reps[levels[0]]
    metric = first["model"]["metric"]
    n = len(summary["replication_seeds"])
    table = Table(title=f"{summary['scenario']}: {summary['duration_days']:g} simulated days, {n} replications "
                        f"(seeds from {summary['seed']}), mean ± {summary.get('confidence', 0.95):.0%} interval")
    table.add_column("")
    for lvl in levels:
        table.add_column(f"L{lvl} {reps[lvl]['name']}", justify="right")

    def row(label, get, fmt):
        table.add_row(label, *[_pm(get(reps[lvl]), fmt) for lvl in levels])

    row(f"{metric} before drift", lambda s: s["model"]["pre_drift"], "{:.3f}".format)
    row(f"{metric} after drift", lambda s: s["model"]["post_drift"], "{:.3f}".format)
    row(f"{metric} mean", lambda s: s["model"]["mean"], "{:.3f}".format)
    row("p99 latency (ms)", lambda s: s["latency_ms"]["p99"], "{:.0f}".format)
    row("availability", lambda s: s["availability"], lambda v: f"{v:.4%}")
    row("retrains", lambda s: s["retrains"], "{:.1f}".format)
    row("downtime (min)", lambda s: s["downtime_minutes"], "{:,.0f}".format)
    table.add_section()
    for cat in ("model_errors", "outage", "infrastructure", "people"):
        row(f"cost: {cat.replace('_', ' ')}", lambda s, c=cat: s["cost"][c], money)
    row("[bold]cost: total[/]", lambda s: s["cost"]["total"], money)
    return table


def sweep_table(frame, params: list[str], title: str) -> Table:
    """A rich table of a sweep: one row per grid point per level, with the main figures."""
    table = Table(title=f"{title}: sweep of {', '.join(params)}")
    spread = "cost_total_mean" in frame.columns
    figures = [("cost total", "cost_total", money),
               ("availability", "availability", lambda v: f"{v:.4%}"),
               ("p99 ms", "latency_p99_ms", "{:.0f}".format),
               ("metric after drift", "model_post_drift", "{:.3f}".format),
               ("retrains", "retrains", "{:g}".format)]
    for name in [*params, "level"]:
        table.add_column(name)
    for label, _, _ in figures:
        table.add_column(label, justify="right")
    for rec in frame.to_dict("records"):
        cells = [str(rec[p]) for p in params] + [f"L{rec['level']}"]
        for _, col, fmt in figures:
            if spread:
                cells.append(_pm({k: _none(rec[f"{col}_{k}"]) for k in ("mean", "lo", "hi")}, fmt))
            else:
                value = _none(rec[col])
                cells.append("–" if value is None else fmt(value))
        table.add_row(*cells)
    return table


def _none(value):
    """None for a missing figure (NaN in a frame)."""
    return None if value is None or (isinstance(value, float) and value != value) else value


def _pm(stats: dict, fmt) -> str:
    """``mean ± half-width`` of a ``{mean, lo, hi}`` figure.

    >>> _pm({"mean": 2.0, "lo": 1.5, "hi": 2.5}, "{:.1f}".format)
    '2.0 ± 0.5'
    >>> _pm({"mean": None, "lo": None, "hi": None}, str)
    '–'
    """
    if stats["mean"] is None:
        return "–"
    if stats["lo"] is None or stats["hi"] is None:
        return fmt(stats["mean"])
    half = (stats["hi"] - stats["lo"]) / 2
    return f"{fmt(stats['mean'])} ± {fmt(half)}"


def money(dollars: float) -> str:
    """Dollars for a table: whole dollars below a million, then millions.

    >>> money(8016.4), money(1_337_500_000)
    ('$8,016', '$1,337.5M')
    """
    if abs(dollars) >= 1e6:
        return f"${dollars / 1e6:,.1f}M"
    return f"${dollars:,.0f}"


def _validate(paths: list[str]) -> int:
    from .scenario import load_scenario

    console = Console()
    for path in paths:
        sc = load_scenario(path)
        console.print(f"{path}: ok ({sc.name}, {sc.duration / 86400:g} days, levels {sc.levels})", markup=False)
    return 0


def _list() -> int:
    from .scenario import load_scenario

    console = Console()
    table = Table(title="shipped scenarios")
    table.add_column("scenario")
    table.add_column("description")
    for path in sorted(SHIPPED.glob("*.yaml")):
        sc = load_scenario(path)
        table.add_row(str(path.relative_to(SHIPPED.parent)), " ".join(sc.description.split()))
    console.print(table)
    return 0
