"""The `stockpool` command line: thin shells over the operations in `pooling`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from models import Role
from models.db import Database
from pooling.audit import audit
from pooling.errors import PoolingError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stockpool", description="Pool stock across sister sites.")
    parser.add_argument("--database-url", help="overrides DATABASE_URL (default: sqlite:///stockpool.db)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the GraphQL service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="load a demo network into an empty database")
    serve.add_argument("--no-graphiql", action="store_true", help="do not serve GraphiQL on GET /graphql")
    serve.add_argument(
        "--no-introspection",
        action="store_true",
        help="refuse __schema and __type queries, for production (also: STOCKPOOL_INTROSPECTION=0)",
    )

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

    database = Database(args.database_url)
    try:
        try:
            database.migrate()
        except OperationalError as error:
            print(f"error: database unreachable: {error.orig}", file=sys.stderr)
            return 4
        if args.command == "check":
            return _check(database, args.json)
        if args.command == "token" and args.token_command == "list":
            from api.tokens import list_command

            return list_command(database, args.json)
        if args.command == "token":
            return _create_token(database, args)
        if args.command == "serve":
            return _serve(database, args)
        if args.command == "rebalance":
            from api import nightly

            return nightly.run(database, args)
        if args.command == "bench":
            return bench_command.run(database, args)
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


def introspection_on(no_introspection: bool) -> bool:
    """Off with `--no-introspection` or STOCKPOOL_INTROSPECTION=0 (or false, no, off); on otherwise."""
    setting = os.environ.get("STOCKPOOL_INTROSPECTION", "1").strip().lower()
    return not no_introspection and setting not in ("0", "false", "no", "off")


def _serve(database: Database, args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url = f"http://{args.host}:{args.port}/graphql"
    if args.demo:
        from pooling.demo import load_demo

        tokens = load_demo(database)
        if tokens is None:
            print("The database already has sites: demo data not loaded.")
        else:
            print(f"Demo network loaded. Open {url} and add the header  Authorization: Bearer <token>")
            print(f"  ADMIN                      {tokens.admin}")
            print(f"  COORDINATOR ({tokens.region:<12}) {tokens.coordinator}")
            print(f"  SITE ({tokens.site_code:<19}) {tokens.site}")
    print(f"stockpool serving {url} (database {database.display_url})", flush=True)
    app = create_app(database, graphiql=not args.no_graphiql, introspection=introspection_on(args.no_introspection))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
