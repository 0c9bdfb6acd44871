"""The `stockpool` command line: thin shells over the operations in `pooling`."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence

from sqlalchemy.exc import ArgumentError, OperationalError

from api.console import quiet_on_closed_pipe
from models import Role
from models.db import Database, database_url, masked_url
from pooling.audit import audit
from pooling.errors import PoolingError


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stockpool", description="Pool stock across sister sites.")
    parser.add_argument("--database-url", help="overrides DATABASE_URL (default: sqlite:///stockpool.db)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the GraphQL service (every option also from STOCKPOOL_*)")
    from api import serve as serve_command

    serve_command.add_arguments(serve)

    token = commands.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="create a token; prints it alone on the last line (shown once)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--site", help="the site code (SITE tokens)")
    create.add_argument("--region", help="the region (COORDINATOR tokens)")
    create.add_argument("--name", required=True)
    listing = token.add_parser("list", help="list the tokens: name, role, scope, created, last used, revoked")
    listing.add_argument("--json", action="store_true", help="print one JSON document")

    rebalance_command = commands.add_parser(
        "rebalance", help="rebalance regions (the nightly job); see --help for exit codes"
    )
    from api.nightly import add_arguments

    add_arguments(rebalance_command)

    bench = commands.add_parser(
        "bench", help="benchmark: a random network loaded into an empty database, rebalanced end to end"
    )
    from api import bench as bench_command

    bench_command.add_arguments(bench)

    commands.add_parser(
        "bench-api",
        help="load test: concurrent GraphQL clients against a server process (see stockpool bench-api --help)",
        add_help=False,
    )

    check = commands.add_parser("check", help="verify the ledger invariants; exit 1 if any is broken")
    check.add_argument("--json", action="store_true", help="print one JSON document")
    commands.add_parser("migrate", help="create or upgrade the database schema")
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench-api":  # its options are its own (api.load)
        from api import load

        return load.main(rest + (["--database-url", args.database_url] if args.database_url else []))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    try:
        database = Database(args.database_url)
    except (ArgumentError, ValueError, ImportError) as error:  # a URL no engine can be made from
        url = args.database_url or database_url()
        reason = _without_password(str(error), url)
        print(f"error: cannot use the database URL {masked_url(url)}: {reason}", file=sys.stderr)
        return 2
    try:
        try:
            database.migrate()
        except OperationalError as error:
            print(f"error: database {database.display_url} unreachable: {error.orig}", file=sys.stderr)
            return 4
        if args.command == "check":
            return _check(database, args.json)
        if args.command == "token" and args.token_command == "list":
            from api.tokens import list_command

            return list_command(database, args.json)
        if args.command == "token":
            return _create_token(database, args)
        if args.command == "serve":
            return serve_command.run(database, args)
        if args.command == "rebalance":
            from api import nightly

            return nightly.run(database, args)
        if args.command == "bench":
            return bench_command.run(database, args)
        return 0
    finally:
        database.dispose()


def _without_password(message: str, url: str) -> str:
    """The message with the URL's password (if any) replaced by ***, even when the URL does not parse."""
    password = re.match(r"^[^:/]+://[^:/@]*:([^@/]+)@", url)
    return message.replace(password[1], "***") if password else message


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


def _create_token(database: Database, args: argparse.Namespace) -> int:
    from pooling.access import create_token

    try:
        with database.transaction() as session:
            row, token = create_token(session, args.name, Role(args.role), args.site, args.region)
            scope = args.site or args.region or "all"
            print(f"created {row.role} token #{row.id} {row.name!r} for {scope}; it is shown once:")
    except PoolingError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
