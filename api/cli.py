"""The `stockpool` command line: thin shells over the operations in `pooling`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from models.db import Database
from pooling.audit import audit


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stockpool", description="Pool stock across sister sites.")
    parser.add_argument("--database-url", help="overrides DATABASE_URL (default: sqlite:///stockpool.db)")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="verify the ledger invariants; exit 1 if any is broken")
    check.add_argument("--json", action="store_true", help="print one JSON document")
    commands.add_parser("migrate", help="create or upgrade the database schema")
    args = parser.parse_args(argv)

    database = Database(args.database_url)
    try:
        database.migrate()
        if args.command == "check":
            return _check(database, args.json)
        return 0
    finally:
        database.dispose()


def _check(database: Database, as_json: bool) -> int:
    with database.reading() as session:
        breaches = audit(session)
    if as_json:
        print(json.dumps({"ok": not breaches, "breaches": [b.__dict__ for b in breaches]}, indent=2))
    elif breaches:
        for breach in breaches:
            print(breach)
        print(f"{len(breaches)} broken invariant(s)", file=sys.stderr)
    else:
        print("ledger ok: on hand equals the movements everywhere, reservations and transfers add up")
    return 1 if breaches else 0


if __name__ == "__main__":
    raise SystemExit(main())
