"""Database outages: recognised wherever they surface, answered 503 SERVICE_UNAVAILABLE with `Retry-After`, and
logged as one line, at most one a second (with the count of those it held back), never as a traceback.

An outage is the database refusing or dropping connections (SQLAlchemy's `OperationalError`, `InterfaceError`,
any `DBAPIError` that invalidated its connection, psycopg's `OperationalError`) or no connection free in the pool
in time. It may come wrapped (by graphql-core as a `GraphQLError.original_error`, or as the cause or context of
another exception): the whole chain is looked at. A request that meets one commits nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psycopg
from graphql import GraphQLError
from sqlalchemy import exc
from starlette.responses import JSONResponse

log = logging.getLogger("stockpool.api")

RETRY_AFTER_SECONDS = 5
MESSAGE = "The database is unavailable; retry later."
CODE = "SERVICE_UNAVAILABLE"


class DatabaseUnavailable(GraphQLError):
    """What a resolver raises when the database is out; the request is then answered 503 as a whole."""

    def __init__(self) -> None:
        super().__init__(MESSAGE, extensions={"code": CODE})


def is_outage(error: BaseException | None) -> bool:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, psycopg.OperationalError)):
            return True
        if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
            return True
        original = error.original_error if isinstance(error, GraphQLError) else None
        error = original or error.__cause__ or error.__context__
    return False


def response() -> JSONResponse:
    body = {"data": None, "errors": [{"message": MESSAGE, "extensions": {"code": CODE}}]}
    return JSONResponse(body, 503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _summary(error: BaseException) -> str:
    """The driver's first line (SQLAlchemy's own text adds the statement, its parameters and a link)."""
    cause = error.orig if isinstance(error, exc.DBAPIError) and error.orig is not None else error
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first}"[:300]


class RateLimitedLog:
    """At most one line per `interval` seconds; the next line says how many were held back meanwhile."""

    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self.last: float | None = None
        self.held_back = 0
        self.lock = threading.Lock()

    def warning(self, message: str) -> None:
        with self.lock:
            now = self.clock()
            if self.last is not None and now - self.last < self.interval:
                self.held_back += 1
                return
            held_back, self.held_back, self.last = self.held_back, 0, now
        suffix = f" ({held_back} more since the last such line)" if held_back else ""
        log.warning("%s%s", message, suffix)


_reports = RateLimitedLog()


def report(error: BaseException) -> None:
    """One line for a request that met an outage."""
    while isinstance(error, GraphQLError) and error.original_error is not None:
        error = error.original_error
    if isinstance(error, DatabaseUnavailable) and error.__cause__ is not None:
        error = error.__cause__
    _reports.warning(f"database unavailable: {_summary(error)}")
