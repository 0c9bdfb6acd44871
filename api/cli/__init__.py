"""The `stockpool` command line: one module per command, each a thin shell (over the operations in `pooling`, or
the harness in `api/benchmarks`).

A command module names itself (`NAME`, `HELP`), adds its options (`add_arguments`) and runs on the migrated
database (`run(database, args)`, returning the exit code). Every command first creates or migrates the schema.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from types import ModuleType

from sqlalchemy.exc import ArgumentError, OperationalError

from api.cli import bench, bench_api, check, deliver, forecast, migrate, policies, rebalance, serve, simulate, token
from api.cli.console import EXIT_FAILED, EXIT_USAGE, quiet_on_closed_pipe
from models.db import Database, database_url, masked_url

COMMANDS: tuple[ModuleType, ...] = (
    serve,
    token,
    rebalance,
    check,
    migrate,
    bench,
    bench_api,
    forecast,
    policies,
    deliver,
    simulate,
)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="stockpool", description="Pool stock across sister sites.")
    top.add_argument("--database-url", help="overrides DATABASE_URL (default: sqlite:///stockpool.db)")
    commands = top.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        sub.set_defaults(run=command.run)
        command.add_arguments(sub)
    return top


@quiet_on_closed_pipe
def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        database = Database(args.database_url)
    except (ArgumentError, ValueError, ImportError) as error:  # a URL no engine can be made from
        url = args.database_url or database_url()
        reason = _without_password(str(error), url)
        print(f"error: cannot use the database URL {masked_url(url)}: {reason}", file=sys.stderr)
        return EXIT_USAGE
    try:
        try:
            database.migrate()
        except OperationalError as error:
            print(f"error: database {database.display_url} unreachable: {error.orig}", file=sys.stderr)
            return EXIT_FAILED
        code: int = args.run(database, args)
        return code
    finally:
        database.dispose()


def _without_password(message: str, url: str) -> str:
    """The message with the URL's password (if any) replaced by ***, even when the URL does not parse."""
    password = re.match(r"^[^:/]+://[^:/@]*:([^@/]+)@", url)
    return message.replace(password[1], "***") if password else message
