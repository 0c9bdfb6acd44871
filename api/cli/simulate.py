"""`stockpool simulate`: the command-line shell over `pooling.simulation` (a table, one JSON document, an HTML page).

It always works on its own database (`--database-url` after `simulate`; by default a SQLite file of its own): it
never reads DATABASE_URL, so it cannot fill a real network's database with simulated sites.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from api.cli.console import EXIT_FAILED, EXIT_USAGE
from models.base import utcnow
from models.db import Database
from pooling.simulation.compare import BASELINE, METRICS, Comparison, cell, simulate

NAME = "simulate"
HELP = "simulate months of a synthetic network through the real operations, policy by policy, on the same demand"
DEFAULT_DATABASE = "sqlite:///stockpool-simulate.db"
DEFAULT_POLICIES = "none,nearest,reactive,proactive"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--sites", type=int, default=12)
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=5, help="how many worlds (seeds first-seed, first-seed+1, ...)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--policies", default=DEFAULT_POLICIES, help=f"comma-separated (default {DEFAULT_POLICIES})")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE,
        help=f"the simulation's own database, emptied first (default {DEFAULT_DATABASE}; DATABASE_URL is not read)",
    )
    parser.add_argument("--report", type=Path, help="write an HTML page (offline plotly) with curves and the table")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(database: Database, args: argparse.Namespace) -> int:
    if args.seeds < 1:
        print("error: --seeds must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    label, advance, close = _progress(args.days * len(seeds) * len(policies))
    try:
        comparison = simulate(database, args.days, args.sites, args.items, seeds, policies, label, advance)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        close()
    if args.report:
        from api.report.simulation import render_simulation

        args.report.write_text(render_simulation(comparison, utcnow()))
    if args.json:
        print(json.dumps(comparison.as_json(), indent=2))
    else:
        print(table(comparison))
    if comparison.breaches:
        for breach in comparison.breaches:
            print(breach, file=sys.stderr)
        return EXIT_FAILED
    return 0


def table(c: Comparison) -> str:
    seeds = f"seed {c.seeds[0]}" if len(c.seeds) == 1 else f"seeds {c.seeds[0]}-{c.seeds[-1]}"
    width = 24
    head = f"  {'':<20}" + "".join(f"{p:>{width}}" for p in c.policies)
    lines = [
        f"stockpool simulate: {c.days} days x {c.sites} sites x {c.items} items, {seeds}, "
        f"{c.seconds:.0f} s, database {c.database}",
        "  mean over seeds ± half-width of the 95 % interval; money in the items' currency",
        "",
        head,
    ]
    lines += [f"  {m:<20}" + "".join(f"{cell(m, c.estimate(p, m)):>{width}}" for p in c.policies) for m in METRICS]
    others = [p for p in c.policies if p != BASELINE]
    if BASELINE in c.policies and others:
        lines += ["", f"  difference to {BASELINE} (paired by seed: the same demand)", head]
        lines += [
            f"  {m:<20}"
            + "".join(f"{cell(m, c.versus_baseline(p, m), True) if p != BASELINE else '':>{width}}" for p in c.policies)
            for m in METRICS
        ]
    lines.append("")
    lines.append(
        "  ledger ok at the end (stockpool check): on hand equals the movements everywhere"
        if not c.breaches
        else f"  LEDGER BROKEN: {len(c.breaches)} invariant(s), listed on stderr"
    )
    return "\n".join(lines)


def _progress(total: int) -> tuple[Callable[[str], None] | None, Callable[[int], None] | None, Callable[[], None]]:
    """A progress bar over the simulated days of every run, on a terminal only."""
    if not sys.stderr.isatty():
        return None, None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="day", leave=False)
    return bar.set_description, bar.update, bar.close
