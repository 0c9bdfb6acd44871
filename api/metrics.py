"""Prometheus metrics: GraphQL requests and latency per operation and outcome, database connections in use,
rebalances (duration, units) and idempotency keys kept.

With several worker processes (`PROMETHEUS_MULTIPROC_DIR` set before the workers start, as `stockpool serve
--workers N` does) every process writes its samples to that directory and `/metrics`, whichever worker answers it,
adds them up (prometheus_client's multiprocess mode).

Label values are bounded: an operation name is a label only if it is a plain GraphQL name sent by an
authenticated caller, and only the first `MAX_OPERATIONS` such names are kept; anything else is "other".
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event, func, select

from models import IdempotencyKey, Plan, PlanStatus
from models.db import Database

MAX_OPERATIONS = 100
OTHER = "other"
ANONYMOUS = "anonymous"  # a document whose operation has no name
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

REQUESTS = Counter(
    "stockpool_graphql_requests",
    "GraphQL requests answered, by operation name and outcome.",
    ["operation", "outcome"],
)
LATENCY = Histogram(
    "stockpool_graphql_request_duration_seconds",
    "Time from the request's arrival to its answer, by operation name and outcome.",
    ["operation", "outcome"],
    buckets=LATENCY_BUCKETS,
)
CONNECTIONS_IN_USE = Gauge(
    "stockpool_database_connections_in_use",
    "Database connections checked out of the pool (all worker processes together).",
    multiprocess_mode="livesum",
)
REBALANCE_SECONDS = Histogram(
    "stockpool_rebalance_duration_seconds",
    "Time to read, solve and (unless a dry run) save one region's rebalance.",
    ["dry_run"],
    buckets=LATENCY_BUCKETS,
)
REBALANCE_UNITS = Counter(
    "stockpool_rebalance_units",
    "Units planned by rebalances: by transfer, by reorder, or left unmet.",
    ["dry_run", "kind"],
)

disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus_client leaves it unannotated; no `_created` series beside every counter and histogram
_operations: set[str] = set()
_operations_lock = threading.Lock()
_watched: weakref.WeakSet[Engine] = weakref.WeakSet()


def is_name(name: str) -> bool:
    """A plain GraphQL name of at most 64 characters."""
    return _NAME.fullmatch(name) is not None


def operation_label(name: str | None, authenticated: bool) -> str:
    """The operation's name as a label value: bounded in form and in number."""
    if not authenticated:
        return OTHER
    if name is None:
        return ANONYMOUS
    if not is_name(name):
        return OTHER
    with _operations_lock:
        if name in _operations:
            return name
        if len(_operations) < MAX_OPERATIONS:
            _operations.add(name)
            return name
    return OTHER


def outcome(status: int, graphql_errors: bool) -> str:
    """ok, errors (answered with GraphQL errors), unauthenticated, client_error, unavailable, server_error, or
    disconnected (status 0: the client left before the answer)."""
    if status == 0:
        return "disconnected"
    if status == 401:
        return "unauthenticated"
    if status == 503:
        return "unavailable"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return "errors" if graphql_errors else "ok"


def observe_request(operation: str, result: str, seconds: float) -> None:
    REQUESTS.labels(operation, result).inc()
    LATENCY.labels(operation, result).observe(seconds)


def observe_rebalance(plan: Plan, seconds: float) -> None:
    """One rebalance: how long it took and the units it planned."""
    dry_run = str(plan.status == PlanStatus.DRY_RUN).lower()
    REBALANCE_SECONDS.labels(dry_run).observe(seconds)
    for kind, units in (
        ("transfer", plan.units_by_transfer),
        ("reorder", plan.units_by_reorder),
        ("unmet", plan.units_unmet),
    ):
        REBALANCE_UNITS.labels(dry_run, kind).inc(units)


def watch_pool(engine: Engine) -> None:
    """Count the engine's connections in use, from the pool's own checkout and checkin events."""
    if engine in _watched:
        return
    _watched.add(engine)
    event.listen(engine, "checkout", lambda *_: CONNECTIONS_IN_USE.inc())
    event.listen(engine, "checkin", lambda *_: CONNECTIONS_IN_USE.dec())


class IdempotencyKeys(Collector):
    """Idempotency keys stored: counted in the database when scraped."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            with self.db.reading() as session:
                count = session.scalar(select(func.count(IdempotencyKey.id)))
        except Exception:
            return []
        rows = GaugeMetricFamily("stockpool_idempotency_keys", "Idempotency keys stored (answers kept for retries).")
        rows.add_metric([], count or 0)
        return [rows]


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(db: Database) -> tuple[bytes, str]:
    """The text for `/metrics`: this process's (or every worker's) metrics, and the database's counts."""
    if multiprocess_dir():
        registry: Any = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # unannotated upstream
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    scraped = CollectorRegistry()
    scraped.register(IdempotencyKeys(db))
    return text + generate_latest(scraped), CONTENT_TYPE_LATEST
