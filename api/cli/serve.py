"""`stockpool serve`: the GraphQL service under uvicorn, in one process or in several workers.

Every option also comes from the environment (STOCKPOOL_HOST, STOCKPOOL_PORT, ...: the option's default), and the
command line wins. The port is bound before anything is printed or loaded, so a busy port is one clear error.
The app is built by `app_from_environment` in each serving process (uvicorn's factory: worker processes import
it), so the settings reach the workers as environment variables, which `run` sets from the options it resolved.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from api.cli.console import EXIT_FAILED, EXIT_USAGE
from api.logs import FORMATS, LEVELS, default_format, logging_config
from api.timeouts import DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, ServerConfig, TimedH11Protocol
from models.db import Database

NAME = "serve"
HELP = "run the GraphQL service (every option also from STOCKPOOL_*)"
DEFAULT_LIMIT_CONCURRENCY = 1000
DEFAULT_KEEP_ALIVE = 5.0
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value.lower() not in choices:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)} (not {value!r})")
        return value.lower()

    return parse


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(value: str) -> Any:
        number = kind(value)
        if not number > 0:
            raise argparse.ArgumentTypeError(f"must be more than 0 (not {value})")
        return number

    parse.__name__ = kind.__name__
    return parse


def switch(name: str, default: bool) -> bool:
    """A yes/no setting from the environment: 1/0, true/false, yes/no, on/off; unset means `default`."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in TRUE or value in FALSE:
        return value in TRUE
    raise ValueError(f"{name} must be one of {'/'.join(TRUE)} or {'/'.join(FALSE)}, not {value!r}")


def introspection_on(no_introspection: bool) -> bool:
    """Off with `--no-introspection` or STOCKPOOL_INTROSPECTION=0 (or false, no, off); on otherwise."""
    return not no_introspection and switch("STOCKPOOL_INTROSPECTION", True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    option = parser.add_argument
    option(
        "--host",
        default=_env("STOCKPOOL_HOST", "127.0.0.1"),
        help="address to listen on (STOCKPOOL_HOST; default 127.0.0.1)",
    )
    option("--port", type=int, default=_env("STOCKPOOL_PORT", "8000"), help="port (STOCKPOOL_PORT; default 8000)")
    option(
        "--workers",
        type=_positive(int),
        default=_env("STOCKPOOL_WORKERS", "1"),
        metavar="N",
        help="server processes (STOCKPOOL_WORKERS; default 1); /metrics adds them up",
    )
    option("--demo", action="store_true", help="load a demo network into an empty database (STOCKPOOL_DEMO=1)")
    option("--no-graphiql", action="store_true", help="do not serve GraphiQL on GET /graphql (STOCKPOOL_GRAPHIQL=0)")
    option(
        "--no-introspection",
        action="store_true",
        help="refuse __schema and __type queries, for production (STOCKPOOL_INTROSPECTION=0)",
    )
    option(
        "--log-format",
        type=_choice(FORMATS),
        default=default_format(),
        metavar="{json,text}",
        help="json or text (STOCKPOOL_LOG_FORMAT; default: text on a terminal, json otherwise)",
    )
    option(
        "--log-level",
        type=_choice(LEVELS),
        default=_env("STOCKPOOL_LOG_LEVEL", "info"),
        metavar="{" + ",".join(LEVELS) + "}",
        help="(STOCKPOOL_LOG_LEVEL; default info)",
    )
    option(
        "--limit-concurrency",
        type=_positive(int),
        default=_env("STOCKPOOL_LIMIT_CONCURRENCY", str(DEFAULT_LIMIT_CONCURRENCY)),
        metavar="N",
        help="connections or requests at once per worker, beyond which requests are answered 503"
        f" (STOCKPOOL_LIMIT_CONCURRENCY; default {DEFAULT_LIMIT_CONCURRENCY})",
    )
    option(
        "--timeout-keep-alive",
        type=_positive(float),
        default=_env("STOCKPOOL_TIMEOUT_KEEP_ALIVE", f"{DEFAULT_KEEP_ALIVE:g}"),
        metavar="SECONDS",
        help=f"close an idle kept-alive connection (STOCKPOOL_TIMEOUT_KEEP_ALIVE; default {DEFAULT_KEEP_ALIVE:g})",
    )
    option(
        "--timeout-headers",
        type=_positive(float),
        default=_env("STOCKPOOL_TIMEOUT_HEADERS", f"{DEFAULT_HEADER_TIMEOUT:g}"),
        metavar="SECONDS",
        help="a request's headers must arrive within this time, else 408 and the connection is closed"
        f" (STOCKPOOL_TIMEOUT_HEADERS; default {DEFAULT_HEADER_TIMEOUT:g})",
    )
    option(
        "--timeout-body",
        type=_positive(float),
        default=_env("STOCKPOOL_TIMEOUT_BODY", f"{DEFAULT_BODY_TIMEOUT:g}"),
        metavar="SECONDS",
        help="a request's body must keep arriving: a read that waits longer is answered 408"
        f" (STOCKPOOL_TIMEOUT_BODY; default {DEFAULT_BODY_TIMEOUT:g})",
    )


def app_from_environment() -> Any:
    """The app as each serving process builds it (uvicorn's factory), from DATABASE_URL and STOCKPOOL_*."""
    from api.app import create_app

    return create_app(
        Database(),
        graphiql=switch("STOCKPOOL_GRAPHIQL", True),
        introspection=introspection_on(False),
        body_timeout=float(_env("STOCKPOOL_TIMEOUT_BODY", f"{DEFAULT_BODY_TIMEOUT:g}")),
    )


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound now (uvicorn listens on it, in each worker)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def run(database: Database, args: argparse.Namespace) -> int:
    try:
        demo = args.demo or switch("STOCKPOOL_DEMO", False)
        graphiql = not args.no_graphiql and switch("STOCKPOOL_GRAPHIQL", True)
        introspection = introspection_on(args.no_introspection)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        sock = listen(args.host, args.port)
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        if error.errno == errno.EADDRINUSE:
            print("  another program serves that port: stop it, or choose another with --port", file=sys.stderr)
        return EXIT_FAILED
    with sock:
        url = f"http://{args.host}:{args.port}/graphql"
        if demo:
            _demo(database, url)
        os.environ.update(
            {
                "DATABASE_URL": database.url,
                "STOCKPOOL_GRAPHIQL": "1" if graphiql else "0",
                "STOCKPOOL_INTROSPECTION": "1" if introspection else "0",
                "STOCKPOOL_TIMEOUT_BODY": f"{args.timeout_body:g}",
            }
        )
        workers = f", {args.workers} workers" if args.workers > 1 else ""
        print(f"stockpool serving {url} (database {database.display_url}{workers})", flush=True)
        config = ServerConfig(
            "api.cli.serve:app_from_environment",
            factory=True,
            http=TimedH11Protocol,
            workers=args.workers,
            log_config=logging_config(args.log_format, args.log_level),
            log_level=args.log_level,
            access_log=False,  # api.observe writes one line per request
            limit_concurrency=args.limit_concurrency,
            timeout_keep_alive=args.timeout_keep_alive,
            timeout_headers=args.timeout_headers,
        )
        return start(config, sock)


def start(config: ServerConfig, sock: socket.socket) -> int:
    """Serve on the bound socket until stopped: in this process, or in `config.workers` worker processes."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if config.workers == 1:
        server = uvicorn.Server(config)
        server.run(sockets=[sock])
        return 0 if server.started else EXIT_FAILED
    made = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the workers' metrics meet here (api.metrics)
        made = tempfile.mkdtemp(prefix="stockpool-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]
    return 0


def _demo(database: Database, url: str) -> None:
    from pooling.demo import load_demo

    tokens = load_demo(database)
    if tokens is None:
        print("The database already has sites: demo data not loaded, and no token printed (a token is shown once,")
        print("when it is made). Make one, e.g. a coordinator of the demo's north region:")
        print("  stockpool token create --role COORDINATOR --region north --name me")
        print("and see the tokens there are (names, roles, scopes; never the secrets) with:  stockpool token list")
        return
    print(f"Demo network loaded. Open {url} and add the header  Authorization: Bearer <token>")
    print(f"or open the board, {url.removesuffix('/graphql')}/board, and sign in with a token:")
    print(f"  ADMIN                      {tokens.admin}")
    print(f"  COORDINATOR ({tokens.region:<12}) {tokens.coordinator}")
    print(f"  SITE ({tokens.sender_code:<19}) {tokens.sender}   ships to {tokens.site_code} in the rebalance")
    print(f"  SITE ({tokens.site_code:<19}) {tokens.site}   receives from {tokens.sender_code}")
