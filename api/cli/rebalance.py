"""`stockpool rebalance`: the nightly job. Rebalances regions, applies the auto-approval policy, reports.

Everything that can be checked is checked before anything runs (a usage error, exit 2, nothing saved). A failure
after a region was committed (the report, the sweep of expired idempotency keys) still prints the summary of what
was committed, then one line saying what failed, and exits 4.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from tqdm import tqdm

from api import alert_sweep, idempotency, report
from api.cli.console import EXIT_FAILED, EXIT_OK, EXIT_UNMET, EXIT_USAGE
from models import Plan, PlanMode, Site, utcnow
from models.db import Database
from pooling import events, forecasts, money
from pooling.errors import PoolingError
from pooling.nightly import RegionRound, run_region
from pooling.policies import Rule, parse_policy

NAME = "rebalance"
PROACTIVE_VARIABLE = "STOCKPOOL_PROACTIVE"  # 1: the nightly job rebalances proactively unless told --reactive
HELP = "rebalance regions (the nightly job); see --help for exit codes"
EXIT_CODES = """exit codes:
  0  done
  2  a usage error (bad options, an unwritable --report, plotly missing): nothing was run or saved
  3  done, but demand is left unmet
  4  a failure: the database unreachable, a region that could not be planned, or, after the plans were saved,
     the report or the sweep of expired idempotency keys (the summary is printed, then what failed)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXIT_CODES
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--region", action="append", help="a region to rebalance (repeatable)")
    which.add_argument("--all-regions", action="store_true", help="every region with an active site")
    parser.add_argument("--mode", choices=[m.value for m in PlanMode], default=PlanMode.POOL_FIRST.value)
    saving = parser.add_mutually_exclusive_group()
    saving.add_argument("--dry-run", action="store_true", default=True, help="save nothing (the default)")
    saving.add_argument(
        "--commit",
        action="store_true",
        help="save the plans (earlier suggestions are superseded) and delete expired idempotency keys",
    )
    parser.add_argument(
        "--auto-approve",
        action="append",
        default=[],
        metavar="POLICY",
        help="approve what POLICY allows (repeatable; any rule allows): none, all, transfers, "
        "transfers-under:AMOUNT, transfers-for:CRITICAL,HIGH, reorders-under:AMOUNT",
    )
    proactive = parser.add_mutually_exclusive_group()
    proactive.add_argument(
        "--proactive",
        action="store_true",
        default=os.environ.get(PROACTIVE_VARIABLE, "0").lower() in ("1", "true", "yes"),
        help=f"also restore sites below their reorder point, after every backorder (default: ${PROACTIVE_VARIABLE})",
    )
    proactive.add_argument("--reactive", dest="proactive", action="store_false", help="backorders only")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument(
        "--report",
        type=report_target,
        metavar="FILE.html",
        help="write an HTML report for the coordinator (needs plotly: pip install 'stockpool[report]')",
    )
    parser.add_argument(
        "--board-url",
        type=board_url,
        default=default_board_url(),
        metavar="URL",
        help="where the report links to the board (default: $STOCKPOOL_BOARD_URL, else /board on "
        "$STOCKPOOL_HOST:$STOCKPOOL_PORT, as `stockpool serve` listens); '' for no link",
    )


def default_board_url() -> str:
    """The board of the service `stockpool serve` runs here by default (its host and port settings)."""
    named = os.environ.get("STOCKPOOL_BOARD_URL", "").strip()
    if named:
        return named
    host = os.environ.get("STOCKPOOL_HOST", "").strip()
    host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # listening everywhere: this machine's board
    port = os.environ.get("STOCKPOOL_PORT", "").strip() or "8000"
    return f"http://{host}:{port}/board"


def board_url(value: str) -> str:
    """--board-url: an http(s) address, or '' for none."""
    value = value.strip()
    if value and not value.lower().startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"{value!r} is not an http(s) address")
    return value


def report_target(value: str) -> Path:
    """--report, checked before anything runs: plotly is installed and the file can be written."""
    try:
        import plotly.graph_objects  # noqa: F401 - what the report draws with
    except ImportError as error:
        raise argparse.ArgumentTypeError(
            "the HTML report needs plotly: pip install 'stockpool[report]' (or leave out --report)"
        ) from error
    path = Path(value)
    folder = path.parent
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a directory; name the report's file")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"no directory {folder} to write {path.name} in")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"cannot write {value} (permission denied)")
    return path


def run(database: Database, args: argparse.Namespace) -> int:
    try:
        rules = parse_policy(args.auto_approve)
        retention = idempotency.Retention.from_environment()
    except PoolingError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as error:
        print(f"error: {idempotency.RETENTION_VARIABLE}: {error}", file=sys.stderr)
        return EXIT_USAGE
    if rules and not args.commit:
        print("error: --auto-approve needs --commit (a dry run saves nothing to approve)", file=sys.stderr)
        return EXIT_USAGE
    try:
        regions = args.region or _all_regions(database)
    except OperationalError as error:
        print(f"error: database {database.display_url} unreachable: {error.orig}", file=sys.stderr)
        return EXIT_FAILED

    rounds, reports = _rebalance(database, regions, args, rules)
    failed = any("error" in r for r in rounds)

    # After the commits: what fails from here on is reported after the summary of what was saved.
    failures: list[str] = []
    document: dict[str, Any] = {
        "mode": args.mode,
        "proactive": args.proactive,
        "saved": bool(args.commit),
        "regions": rounds,
    }
    if args.commit:
        try:
            document["expiredIdempotencyKeysDeleted"] = idempotency.sweep(database, retention.window)
        except Exception as error:
            failures.append(f"expired idempotency keys not deleted: {_reason(error)}")
        try:
            alert_sweep.sweep_once(database)
        except Exception as error:
            failures.append(f"alerts not swept: {_reason(error)}")
        try:
            document["oldEventsDeleted"] = events.sweep(database)
        except Exception as error:
            failures.append(f"old events not deleted: {_reason(error)}")
    if args.report:
        document["report"] = {"path": str(args.report), "written": False}
        try:
            _write_report(args.report, reports, args.board_url)
            document["report"]["written"] = True
        except Exception as error:
            document["report"]["error"] = _reason(error)
            failures.append(f"report not written to {args.report}: {_reason(error)}")

    unmet = any(r.get("unitsUnmet", 0) for r in rounds)
    code = EXIT_FAILED if failed or failures else EXIT_UNMET if unmet else EXIT_OK
    document["failures"] = failures
    document["exitCode"] = code
    print(json.dumps(document, indent=2) if args.json else _table(rounds), flush=True)
    swept = document.get("expiredIdempotencyKeysDeleted")
    if swept:
        print(f"{swept} expired idempotency keys deleted", file=sys.stderr)
    if args.report and document["report"]["written"]:
        print(f"report written to {args.report}", file=sys.stderr)
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return code


def _rebalance(
    database: Database, regions: list[str], args: argparse.Namespace, rules: list[Rule]
) -> tuple[list[dict[str, Any]], list[report.RegionReport]]:
    """Each region in a transaction of its own: its round for the summary (or what failed), and its report."""
    rounds: list[dict[str, Any]] = []
    reports: list[report.RegionReport] = []
    bar = tqdm(regions, desc="rebalancing", unit="region", disable=not sys.stderr.isatty(), file=sys.stderr)
    for region in bar:
        bar.set_postfix_str(region)
        refreshed = _refresh_policies(database, region) if args.commit else None
        try:
            with database.transaction() as session:
                done = run_region(session, region, PlanMode(args.mode), args.commit, rules, proactive=args.proactive)
                summary = _plan_summary(done.plan)
                done_round = _round(done, args.commit, summary)
                drawn = _region_report(session, done, args.commit, summary) if args.report else None
        except PoolingError as error:
            rounds.append(_failed(region, error.code.value, error.message))
        except OperationalError as error:
            rounds.append(_failed(region, "DATABASE", str(error.orig)))
        except Exception as error:
            traceback.print_exc()
            rounds.append(_failed(region, "UNEXPECTED", _reason(error)))
        else:
            if refreshed is not None:
                done_round["forecast"] = refreshed
            rounds.append(done_round)
            if drawn is not None:
                reports.append(drawn)
    bar.close()
    return rounds, reports


def _refresh_policies(database: Database, region: str) -> dict[str, Any]:
    """Before a committed rebalance: the region's forecasts recomputed and its FORECAST policies applied, in a
    transaction of their own (a failure there is reported and the rebalance runs on the numbers as they were)."""
    try:
        with database.transaction() as session:
            result = forecasts.recompute(session, region=region, apply=True, actor="nightly")
    except (PoolingError, OperationalError) as error:
        return {"error": error.message if isinstance(error, PoolingError) else str(error.orig)}
    except Exception as error:
        traceback.print_exc()
        return {"error": _reason(error)}
    return {"series": result.series, "policiesChanged": result.policies_changed}


def _failed(region: str, code: str, message: str) -> dict[str, Any]:
    return {"region": region, "error": {"code": code, "message": message}}


def _reason(error: BaseException) -> str:
    """One line: what went wrong, without a traceback."""
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _all_regions(database: Database) -> list[str]:
    with database.reading() as session:
        return list(session.scalars(select(Site.region).where(Site.active).distinct().order_by(Site.region)))


def _plan_summary(plan: Plan) -> report.PlanSummary:
    """The plan's figures (its total cost and savings are the Plan's own)."""
    return report.PlanSummary(
        units_requested=plan.units_requested,
        units_by_transfer=plan.units_by_transfer,
        units_by_reorder=plan.units_by_reorder,
        units_unmet=plan.units_unmet,
        units_proactive=plan.units_proactive,
        transfer_cost=plan.transfer_cost,
        reorder_cost=plan.reorder_cost,
        total_cost=plan.total_cost,
        all_external_cost=plan.all_external_cost,
        savings=plan.savings,
        solve_millis=plan.solve_millis,
    )


def _round(done: RegionRound, saved: bool, summary: report.PlanSummary) -> dict[str, Any]:
    """A region's round in the JSON document (and the table): amounts as text."""
    plan = done.plan
    return {
        "region": done.region,
        "planId": plan.id if saved else None,
        "unitsRequested": summary.units_requested,
        "unitsByTransfer": summary.units_by_transfer,
        "unitsByReorder": summary.units_by_reorder,
        "unitsUnmet": summary.units_unmet,
        "unitsProactive": summary.units_proactive,
        "transferCost": money.text(summary.transfer_cost),
        "reorderCost": money.text(summary.reorder_cost),
        "totalCost": money.text(summary.total_cost),
        "allExternalCost": money.text(summary.all_external_cost),
        "savings": money.text(summary.savings),
        "solveMillis": summary.solve_millis,
        "transfers": len(plan.transfers),
        "reorders": len(plan.reorders),
        "approvedTransfers": len(done.approved_transfers),
        "approvedReorders": len(done.approved_reorders),
        "refused": done.refused,
    }


COLUMNS = [
    ("region", "region"),
    ("unitsRequested", "requested"),
    ("unitsByTransfer", "by transfer"),
    ("unitsByReorder", "by reorder"),
    ("unitsUnmet", "unmet"),
    ("unitsProactive", "proactive"),
    ("transferCost", "transfer cost"),
    ("reorderCost", "reorder cost"),
    ("totalCost", "total"),
    ("savings", "savings"),
    ("approved", "approved t/r"),
    ("solveMillis", "solve ms"),
]


def _table(rounds: list[dict[str, Any]]) -> str:
    rows = [[label for _, label in COLUMNS]]
    notes = []
    for r in rounds:
        if "error" in r:
            notes.append(f"{r['region']}: {r['error']['code']} {r['error']['message']}")
            continue
        shown = {**r, "approved": f"{r['approvedTransfers']}/{r['approvedReorders']}"}
        rows.append([str(shown[key]) for key, _ in COLUMNS])
        notes += [f"{r['region']}: not approved: {why}" for why in r["refused"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + notes)


def _region_report(
    session: Session, done: RegionRound, saved: bool, summary: report.PlanSummary
) -> report.RegionReport:
    plan = done.plan
    sites = session.scalars(select(Site).where(Site.region == done.region).order_by(Site.code)).all()
    return report.RegionReport(
        region=done.region,
        mode=plan.mode,
        saved=saved,
        summary=summary,
        sites=[report.SiteMark(s.code, s.name, s.latitude, s.longitude) for s in sites],
        transfers=[
            report.TransferLine(t.from_site.code, t.to_site.code, t.item.sku, t.quantity, t.unit_cost, t.status)
            for t in plan.transfers
        ],
        reorders=[
            report.ReorderLine(o.site.code, o.item.sku, o.quantity, o.unit_cost, o.status) for o in plan.reorders
        ],
        unmet=[report.UnmetLine(u.site.code, u.item.sku, u.quantity) for u in plan.unmet],
    )


def _write_report(path: Path, regions: list[report.RegionReport], board: str) -> None:
    path.write_text(report.render_report(regions, utcnow(), board or None))
