"""`stockpool forecast`: recompute the demand forecasts of every series in bulk (a region or all), and with
`--apply` set the numbers of FORECAST stock policies. `stockpool policies` is the same round, read as a policy
command: it shows what FORECAST policies would become, and `--apply` sets them."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from tqdm import tqdm

from api.cli.console import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from models import Site
from models.db import Database
from pooling import forecasts
from pooling.demand import MAX_HISTORY_DAYS
from pooling.errors import PoolingError

NAME = "forecast"
HELP = "recompute demand forecasts in bulk (and with --apply, FORECAST stock policies)"


def add_arguments(parser: argparse.ArgumentParser, apply_default: bool = False) -> None:
    parser.add_argument("--region", action="append", help="a region (repeatable; default every region)")
    parser.add_argument(
        "--history-days", type=int, default=forecasts.DEFAULT_HISTORY_DAYS, help="days of history (default 90)"
    )
    parser.add_argument(
        "--review-days",
        type=int,
        default=forecasts.DEFAULT_REVIEW_DAYS,
        help="order-up-to = reorder point + this many days of demand (default 7)",
    )
    parser.add_argument("--apply", action="store_true", default=apply_default, help="set FORECAST policies")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


class _NothingKept(Exception):
    """Raised to roll back a round whose result is only shown."""

    def __init__(self, result: forecasts.Recomputed) -> None:
        self.result = result


def run(database: Database, args: argparse.Namespace) -> int:
    return run_round(database, args, store=True)


def run_round(database: Database, args: argparse.Namespace, *, store: bool) -> int:
    """Each region in its own transaction; without `store` (policies without --apply) nothing is kept."""
    if not 1 <= args.history_days <= MAX_HISTORY_DAYS:
        print(f"error: --history-days must be between 1 and {MAX_HISTORY_DAYS}", file=sys.stderr)
        return EXIT_USAGE
    if not 0 <= args.review_days <= forecasts.MAX_REVIEW_DAYS:
        print(f"error: --review-days must be between 0 and {forecasts.MAX_REVIEW_DAYS}", file=sys.stderr)
        return EXIT_USAGE
    try:
        regions = args.region or _all_regions(database)
    except OperationalError as error:
        print(f"error: database {database.display_url} unreachable: {error.orig}", file=sys.stderr)
        return EXIT_FAILED
    done: list[dict[str, Any]] = []
    bar = tqdm(regions, desc="forecasting", unit="region", disable=not sys.stderr.isatty(), file=sys.stderr)
    for region in bar:
        bar.set_postfix_str(region)
        try:
            with database.transaction() as session:
                result = forecasts.recompute(
                    session,
                    region=region,
                    history_days=args.history_days,
                    review_days=args.review_days,
                    apply=args.apply or not store,
                    progress=_shown_on(bar, region),
                )
                if not store:
                    raise _NothingKept(result)
        except _NothingKept as kept:
            result = kept.result
        except (PoolingError, OperationalError) as error:
            message = error.message if isinstance(error, PoolingError) else str(error.orig)
            done.append({"region": region, "error": message})
            continue
        done.append(_round(result, args.apply))
    bar.close()
    failed = any("error" in r for r in done)
    if args.json:
        print(json.dumps({"applied": bool(args.apply), "regions": done}, indent=2))
    else:
        print(_table(done, args.apply, store))
    return EXIT_FAILED if failed else EXIT_OK


def _shown_on(bar: Any, region: str) -> forecasts.Progress:
    def show(stage: str) -> None:
        bar.set_postfix_str(f"{region}: {stage}")

    return show


def _round(result: forecasts.Recomputed, applied: bool) -> dict[str, Any]:
    return {
        "region": result.region,
        "series": result.series,
        "byClass": result.by_class,
        "byMethod": result.by_method,
        "policiesChanged" if applied else "policiesToChange": result.policies_changed,
        "seconds": result.seconds,
    }


def _table(done: list[dict[str, Any]], applied: bool, stored: bool) -> str:
    lines = []
    for r in done:
        if "error" in r:
            lines.append(f"{r['region']}: error: {r['error']}")
            continue
        classes = ", ".join(f"{k.lower()} {v}" for k, v in r["byClass"].items() if v)
        methods = ", ".join(f"{k} {v}" for k, v in r["byMethod"].items() if v)
        lines.append(f"{r['region']}: {r['series']} series ({classes or 'none'}); methods: {methods or 'none'}")
        if applied:
            lines.append(f"  {r['policiesChanged']} FORECAST stock policies changed")
        elif not stored:
            lines.append(f"  {r['policiesToChange']} FORECAST stock policies would change (--apply sets them)")
    return "\n".join(lines) or "no region"


def _all_regions(database: Database) -> list[str]:
    with database.reading() as session:
        return list(session.scalars(select(Site.region).where(Site.active).distinct().order_by(Site.region)))
