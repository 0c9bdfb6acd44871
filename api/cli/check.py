"""`stockpool check`: verify the ledger invariants; exit 1 with each broken (site, item)."""

from __future__ import annotations

import argparse
import json
import sys

from models.db import Database
from pooling.audit import audit

NAME = "check"
HELP = "verify the ledger invariants; exit 1 if any is broken"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document")


def run(database: Database, args: argparse.Namespace) -> int:
    with database.reading() as session:
        breaches = audit(session)
    if args.json:
        print(json.dumps({"ok": not breaches, "breaches": [b.__dict__ for b in breaches]}, indent=2))
    elif breaches:
        for breach in breaches:
            print(breach)
        print(f"{len(breaches)} broken invariant(s)", file=sys.stderr)
    else:
        print("ledger ok: on hand equals the movements everywhere, reservations and transfers add up")
    return 1 if breaches else 0
