"""`stockpool token create` prints a new token once (it is stored hashed); `stockpool token list` shows every token
with its role, scope and use, never the secret (only its hash is stored, and that is not shown either)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from api.cli.console import EXIT_USAGE
from models import Role
from models.db import Database
from pooling.access import create_token, list_tokens
from pooling.errors import PoolingError

NAME = "token"
HELP = "API tokens: create one (shown once), list them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    token = parser.add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="create a token; prints it alone on the last line (shown once)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--site", help="the site code (SITE tokens)")
    create.add_argument("--region", help="the region (COORDINATOR tokens)")
    create.add_argument("--name", required=True)
    listing = token.add_parser("list", help="list the tokens: name, role, scope, created, last used, revoked")
    listing.add_argument("--json", action="store_true", help="print one JSON document")


def run(database: Database, args: argparse.Namespace) -> int:
    if args.token_command == "list":
        return list_command(database, args.json)
    return create_command(database, args)


def create_command(database: Database, args: argparse.Namespace) -> int:
    try:
        with database.transaction() as session:
            row, token = create_token(session, args.name, Role(args.role), args.site, args.region)
            scope = args.site or args.region or "all"
            print(f"created {row.role} token #{row.id} {row.name!r} for {scope}; it is shown once:")
    except PoolingError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    print(token)
    return 0


def rows(database: Database) -> list[dict[str, Any]]:
    with database.reading() as session:
        return [
            {
                "id": token.id,
                "name": token.name,
                "role": token.role.value,
                "site": site,
                "region": token.region,
                "created": _when(token.created_at),
                "last_used": _when(token.last_used_at),
                "revoked": _when(token.revoked_at),
            }
            for token, site in list_tokens(session)
        ]


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def list_command(database: Database, as_json: bool) -> int:
    found = rows(database)
    if as_json:
        print(json.dumps(found, indent=2))
        return 0
    headers = {"id": "ID", "name": "NAME", "role": "ROLE", "scope": "SCOPE", "created": "CREATED"}
    headers |= {"last_used": "LAST USED", "revoked": "REVOKED"}
    for row in found:
        row["scope"] = f"site {row['site']}" if row["site"] else f"region {row['region']}" if row["region"] else "all"
    table = [headers] + [{k: "-" if row[k] is None else str(row[k]) for k in headers} for row in found]
    widths = {k: max(len(str(line[k])) for line in table) for k in headers}
    for line in table:
        print("  ".join(str(line[k]).ljust(widths[k]) for k in headers).rstrip())
    if not found:
        print("no tokens yet: stockpool token create --role ADMIN --name NAME")
    return 0
