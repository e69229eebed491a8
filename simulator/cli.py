"""The command line: ``python -m simulator run | validate | list``.

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

#: Where the shipped scenarios live (beside the package in a checkout).
SHIPPED = Path(__file__).resolve().parent.parent / "scenarios"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m simulator``."""
    parser = _Parser(prog="python -m simulator", description="MLOps Failure Lab: run scripted production-ML scenarios.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="run a scenario at maturity levels 0-3 and compare them")
    run.add_argument("scenario", help="scenario YAML file")
    run.add_argument("--levels", help="comma-separated levels, e.g. 0,3 (default: the scenario's)")
    run.add_argument("--seed", type=int, help="replace the scenario's seed")
    run.add_argument("--out", type=Path, help="folder for the results (default results/<scenario>/<time>)")
    run.add_argument("--days", type=float, help="simulate this many days instead of the scenario's duration")
    run.add_argument("--fidelity", choices=["tick", "request"], help="replace the scenario's fidelity")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("scenarios", nargs="+", help="scenario YAML files")
    sub.add_parser("list", help="list the shipped scenarios")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "validate":
            return _validate(args.scenarios)
        return _list()
    except ScenarioError as exc:
        err.print(f"error: {exc}", markup=False)
        return 2
    except RunFailure as exc:
        err.print(f"error while running: {exc}", markup=False)
        return 1
    except KeyboardInterrupt:
        err.print("interrupted: nothing was written", markup=False)
        return 130


def _parse_levels(text: str | None, source: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip() != ""]
    except ValueError:
        raise ScenarioError(source, "--levels", f"{text!r} is not a comma-separated list of levels (e.g. 0,3)") from None


def _run(args: argparse.Namespace) -> int:
    from . import prepare
    from .engine import simulate
    from .output import default_out_dir, write_results

    source = args.scenario
    sc = prepare(source, levels=_parse_levels(args.levels, source), seed=args.seed, days=args.days)
    if args.fidelity is not None and args.fidelity != sc.fidelity:
        from .scenario import check_scenario

        sc = sc.model_copy(update={"fidelity": args.fidelity})
        try:
            check_scenario(sc, source)
        except ScenarioError as exc:
            raise ScenarioError(source, "--fidelity", exc.problem) from None
    out = args.out if args.out is not None else default_out_dir(sc.name)
    if out.exists() and not out.is_dir():
        raise ScenarioError(str(out), "--out", "exists and is not a folder")
    console = Console()
    try:
        if args.quiet:
            comparison = simulate(sc)
        else:
            from .progress import day_progress

            with day_progress(sc, console=console) as update:
                comparison = simulate(sc, progress=update)
    except (ScenarioError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a failure while running: one line, unless debugging
        if os.environ.get("SIMULATOR_DEBUG"):
            raise
        raise RunFailure(f"{type(exc).__name__}: {exc}") from exc
    written = write_results(comparison, out, Path(source).read_text(encoding="utf-8"))
    if not args.quiet:
        console.print(comparison_table(comparison))
        console.print(f"results written to [bold]{written}[/]")
    return 0


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
    for cat in ("model_errors", "outage", "infrastructure", "people"):
        row(f"cost: {cat.replace('_', ' ')}", lambda s, c=cat: s["cost"][c], money)
    row("[bold]cost: total[/]", lambda s: s["cost"]["total"], lambda v: f"[bold]{money(v)}[/]")
    return table


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
