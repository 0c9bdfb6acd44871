"""`stockpool rebalance`: the nightly job. Rebalances regions, applies the auto-approval policy, reports.

Exit codes a scheduler can act on: 0 done; 3 done but demand is left unmet; 4 a failure (database unreachable,
a region that could not be planned); 2 a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from tqdm import tqdm

from models import PlanMode, Site, utcnow
from models.db import Database
from pooling.errors import PoolingError
from pooling.nightly import RegionRound, run_region
from pooling.policies import parse_policy

EXIT_OK, EXIT_USAGE, EXIT_UNMET, EXIT_FAILED = 0, 2, 3, 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--region", action="append", help="a region to rebalance (repeatable)")
    which.add_argument("--all-regions", action="store_true", help="every region with an active site")
    parser.add_argument("--mode", choices=[m.value for m in PlanMode], default=PlanMode.POOL_FIRST.value)
    saving = parser.add_mutually_exclusive_group()
    saving.add_argument("--dry-run", action="store_true", default=True, help="save nothing (the default)")
    saving.add_argument("--commit", action="store_true", help="save the plans (earlier suggestions are superseded)")
    parser.add_argument(
        "--auto-approve",
        action="append",
        default=[],
        metavar="POLICY",
        help="approve what POLICY allows (repeatable; any rule allows): none, all, transfers, "
        "transfers-under:AMOUNT, transfers-for:CRITICAL,HIGH, reorders-under:AMOUNT",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    parser.add_argument("--report", type=Path, metavar="FILE.html", help="write an HTML report for the coordinator")


def run(database: Database, args: argparse.Namespace) -> int:
    try:
        rules = parse_policy(args.auto_approve)
    except PoolingError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    if rules and not args.commit:
        print("error: --auto-approve needs --commit (a dry run saves nothing to approve)", file=sys.stderr)
        return EXIT_USAGE
    try:
        regions = args.region or _all_regions(database)
    except OperationalError as error:
        print(f"error: database unreachable: {error.orig}", file=sys.stderr)
        return EXIT_FAILED

    rounds: list[dict[str, Any]] = []
    failed = False
    bar = tqdm(regions, desc="rebalancing", unit="region", disable=not sys.stderr.isatty(), file=sys.stderr)
    for region in bar:
        bar.set_postfix_str(region)
        try:
            with database.transaction() as session:
                done = run_region(session, region, PlanMode(args.mode), args.commit, rules)
                rounds.append(_summary(done, args.commit))
                if args.report:
                    rounds[-1]["_report"] = _region_report(session, done, args.commit)
        except PoolingError as error:
            failed = True
            rounds.append({"region": region, "error": {"code": error.code.value, "message": error.message}})
        except OperationalError as error:
            failed = True
            rounds.append({"region": region, "error": {"code": "DATABASE", "message": str(error.orig)}})
    bar.close()

    unmet = any(r.get("unitsUnmet", 0) for r in rounds)
    code = EXIT_FAILED if failed else EXIT_UNMET if unmet else EXIT_OK
    if args.report:
        _write_report(args.report, [r.pop("_report") for r in rounds if "_report" in r])
    document = {"mode": args.mode, "saved": bool(args.commit), "regions": rounds, "exitCode": code}
    print(json.dumps(document, indent=2) if args.json else _table(rounds))
    return code


def _all_regions(database: Database) -> list[str]:
    with database.reading() as session:
        return list(session.scalars(select(Site.region).where(Site.active).distinct().order_by(Site.region)))


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _summary(done: RegionRound, saved: bool) -> dict[str, Any]:
    plan = done.plan
    total = plan.transfer_cost + plan.reorder_cost
    return {
        "region": done.region,
        "planId": plan.id if saved else None,
        "unitsRequested": plan.units_requested,
        "unitsByTransfer": plan.units_by_transfer,
        "unitsByReorder": plan.units_by_reorder,
        "unitsUnmet": plan.units_unmet,
        "transferCost": _money(plan.transfer_cost),
        "reorderCost": _money(plan.reorder_cost),
        "totalCost": _money(total),
        "allExternalCost": _money(plan.all_external_cost),
        "savings": _money(plan.all_external_cost - total),
        "solveMillis": plan.solve_millis,
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
        r = {**r, "approved": f"{r['approvedTransfers']}/{r['approvedReorders']}"}
        rows.append([str(r[key]) for key, _ in COLUMNS])
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


def _region_report(session: Any, done: RegionRound, saved: bool) -> Any:
    from api.report import RegionReport, SiteMark

    plan = done.plan
    sites = session.scalars(select(Site).where(Site.region == done.region).order_by(Site.code)).all()
    summary = _summary(done, saved)
    return RegionReport(
        region=done.region,
        mode=plan.mode.value,
        saved=saved,
        figures={
            k: summary[k]
            for k in (
                "unitsRequested",
                "unitsByTransfer",
                "unitsByReorder",
                "unitsUnmet",
                "transferCost",
                "reorderCost",
                "totalCost",
                "allExternalCost",
                "savings",
                "solveMillis",
            )
        },
        sites=[SiteMark(s.code, s.name, s.latitude, s.longitude) for s in sites],
        transfers=[
            {
                "from": t.from_site.code,
                "to": t.to_site.code,
                "sku": t.item.sku,
                "quantity": t.quantity,
                "unitCost": _money(t.unit_cost),
                "status": t.status.value,
            }
            for t in plan.transfers
        ],
        reorders=[
            {
                "site": o.site.code,
                "sku": o.item.sku,
                "quantity": o.quantity,
                "unitCost": _money(o.unit_cost),
                "status": o.status.value,
            }
            for o in plan.reorders
        ],
        unmet=[{"site": u.site.code, "sku": u.item.sku, "quantity": u.quantity} for u in plan.unmet],
    )


def _write_report(path: Path, regions: list[Any]) -> None:
    from api.report import render_report

    path.write_text(render_report(regions, utcnow()))
    print(f"report written to {path}", file=sys.stderr)
