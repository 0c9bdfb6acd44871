"""`stockpool bench`: the command-line shell over `api.benchmarks.rebalance` (a table, or one JSON document)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from api.benchmarks import forecast
from api.benchmarks.rebalance import BenchReport, run_bench
from api.cli.console import EXIT_USAGE
from models.db import Database

NAME = "bench"
HELP = "benchmark: a random network loaded into an empty database, rebalanced end to end"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--lanes", default="dense", help="dense (every pair) or knn:K (each site's K nearest)")
    parser.add_argument("--backorder-share", type=float, default=0.1, help="share of (site, item) pairs waiting")
    parser.add_argument("--surplus-share", type=float, default=0.4, help="share of (site, item) pairs with surplus")
    parser.add_argument(
        "--backordered-items", type=float, default=1.0, help="share of items with any backorder (default all)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--processes", type=int, help="solver processes for the rebalance (default: by size)")
    parser.add_argument(
        "--history-days",
        type=int,
        help="benchmark the nightly forecast instead: every active series with this many days of history",
    )
    parser.add_argument(
        "--active-items", type=float, default=0.05, help="with --history-days: the share of items in use (0.05)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(database: Database, args: argparse.Namespace) -> int:
    if args.history_days is not None:
        return _forecast_bench(args)
    try:
        report = run_bench(
            database,
            args.sites,
            args.items,
            args.lanes,
            args.backorder_share,
            args.surplus_share,
            args.backordered_items,
            args.seed,
            args.processes,
            progress=_progress(),
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print(table(report))
    return 0 if report.same_plan_as_raw_solver else 1


def _forecast_bench(args: argparse.Namespace) -> int:
    try:
        report = forecast.run_forecast_bench(args.sites, args.items, args.active_items, args.history_days, args.seed)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(report.as_json(), indent=2) if args.json else forecast.table(report))
    return 0


def table(report: BenchReport) -> str:
    s = report.seconds
    lines = [
        f"stockpool bench: {report.sites} sites x {report.items} items, lanes {report.lanes}, seed {report.seed}",
        f"  database {report.database}",
        f"  {report.lane_count:,} lanes, {report.stock_rows:,} stock levels, {report.backorders:,} backorders, "
        f"{report.items_planned:,} items planned, {report.arcs:,} arcs",
        "",
        f"  {'stage':<34}{'seconds':>10}",
    ]
    for label, key in (
        ("generate (numpy)", "generate"),
        ("load (bulk insert)", "load"),
        ("read", "read"),
        ("solve (wall)", "solve"),
        ("  build graphs (cpu, all procs)", "build"),
        ("  OR-Tools (cpu, all procs)", "flow"),
        ("write plan + commit", "write"),
        ("end to end (read+solve+write)", "end_to_end"),
        ("raw solve, 1 process", "raw_solve_1_process"),
        ("  build", "raw_build_1_process"),
        ("  OR-Tools", "raw_flow_1_process"),
        ("raw solve, all cores", "raw_solve_all_cores"),
        ("greedy nearest donor", "greedy"),
    ):
        value = report.end_to_end if key == "end_to_end" else s.get(key)
        if value is not None:
            lines.append(f"  {label:<34}{value:>10.2f}")
    lines.append("")
    for name, ratio in report.ratios().items():
        lines.append(f"  {name:<44}{ratio:>6.2f}x")
    for name, mb in report.peak_rss_mb.items():
        lines.append(f"  peak RSS, {name:<34}{mb:>8.0f} MB")
    if report.optimal and report.greedy:
        lines += ["", f"  {'':<10}{'pooled':>10}{'reordered':>11}{'unmet':>8}{'transfers':>14}{'reorders':>14}"]
        for name, f in (("optimal", report.optimal), ("greedy", report.greedy)):
            lines.append(
                f"  {name:<10}{f.units_by_transfer:>10,}{f.units_by_reorder:>11,}{f.units_unmet:>8,}"
                f"{f.transfer_cost:>14}{f.reorder_cost:>14}"
            )
    lines.append("")
    lines.append(
        "  the saved plan equals the pure solver's"
        if report.same_plan_as_raw_solver
        else "  MISMATCH: the saved plan differs from the pure solver's"
    )
    return "\n".join(lines)


def _progress() -> Callable[[str, int], Callable[[int], None]] | None:
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    def start(label: str, total: int) -> Callable[[int], None]:
        bar = tqdm(total=total, desc=label, unit="rows", unit_scale=True, leave=False)
        update: Callable[[int], None] = bar.update
        return update

    return start
