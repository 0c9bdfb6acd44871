"""`stockpool bench-api`: the command-line shell over `api.benchmarks.load` (a table, or one JSON document)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from api.benchmarks.load import check_options, run_load
from api.benchmarks.operations import run_operations
from api.cli.console import EXIT_USAGE
from models.db import Database

NAME = "bench-api"
HELP = (
    "API speed: server CPU per request of four operations beside the stack's floor, then concurrent GraphQL clients "
    "against `serve --workers N` on loopback (latency, throughput); it adds regions with orders to the database: "
    "use a scratch database"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Also after the command (`stockpool bench-api --database-url URL`), as this command has always taken it.
    parser.add_argument(
        "--database-url", default=argparse.SUPPRESS, help="default: DATABASE_URL or sqlite:///stockpool.db"
    )
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds (default 20)")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds, not measured (default 3)")
    parser.add_argument("--sites", type=int, default=50, help="sites in the load region (default 50)")
    parser.add_argument("--items", type=int, default=200, help="items, each stocked at every site (default 200)")
    parser.add_argument("--read-share", type=float, default=0.2, help="share of stockLevels pages (default 0.2)")
    parser.add_argument("--think-ms", type=float, default=0, help="mean pause between a client's requests")
    parser.add_argument("--workers", type=int, help="server worker processes under load (default 2; 1 with --profile)")
    parser.add_argument(
        "--requests",
        type=int,
        default=200,
        help="requests per operation for the CPU-per-request figures and their floor (default 200; 0 skips them)",
    )
    parser.add_argument("--no-load", action="store_true", help="only the CPU-per-request figures")
    parser.add_argument("--profile", metavar="FILE", help="write the server's cProfile statistics to FILE")
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(database: Database, args: argparse.Namespace) -> int:
    """Exit 0 when every request was answered without error, 1 otherwise, 2 for options that make no sense."""
    workers = args.workers if args.workers is not None else (1 if args.profile else 2)
    if args.requests < 0 or workers < 1 or (args.no_load and not args.requests):
        print("error: need --requests >= 0, --workers >= 1, and something to measure", file=sys.stderr)
        return EXIT_USAGE
    operations = None
    report = None
    try:
        if not args.no_load:
            check_options(
                args.clients, args.seconds, args.warmup, args.read_share, args.think_ms, workers, args.profile
            )
        if args.requests:
            operations = run_operations(database.url, args.requests)
            if not args.json:
                print(operations.table(), end="\n\n", flush=True)
        if not args.no_load:
            report = run_load(
                database.url,
                args.clients,
                args.seconds,
                sites=args.sites,
                items=args.items,
                warmup=args.warmup,
                read_share=args.read_share,
                think_ms=args.think_ms,
                profile=str(Path(args.profile).resolve()) if args.profile else None,
                workers=workers,
            )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        document = {
            "cpu_per_request": None if operations is None else operations.as_dict(),
            "load": None if report is None else report.as_dict(),
        }
        print(json.dumps(document, indent=2))
    elif report is not None:
        print(report.table())
    if args.profile and not args.json:
        print(f"server profile (CPU time, all threads): {args.profile}; read it with python -m pstats")
    if report is None:
        return 0
    clean = report.requests_failed == 0 and report.server_errors == 0
    return 0 if clean and report.requests_answered == report.requests_sent else 1
