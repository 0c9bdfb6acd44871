"""The figures of one `stockpool bench-api` run: per operation and in all, as a table or a JSON document."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

PLACE, PAGE = "placeOrder", "stockLevels"
# Issue 12: with `--workers 2` and 64 clients, requests per second (PostgreSQL, SQLite) and p99 of all requests.
THROUGHPUT_TARGETS = {"postgresql": 300.0, "sqlite": 150.0}
P99_TARGET_MS = 250.0


@dataclass
class OperationStats:
    name: str
    requests: int
    errors: int
    rps: float
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, name: str, latencies: list[float], errors: int, seconds: float) -> OperationStats:
        """An operation's figures from its latencies (seconds) over a window of `seconds`."""
        ordered = sorted(latencies)

        def pct(q: float) -> float:
            return ordered[max(math.ceil(q * len(ordered)) - 1, 0)] * 1000 if ordered else 0.0

        mean = sum(ordered) / len(ordered) * 1000 if ordered else 0.0
        return cls(
            name=name,
            requests=len(ordered),
            errors=errors,
            rps=len(ordered) / seconds,
            mean_ms=mean,
            p50_ms=pct(0.50),
            p90_ms=pct(0.90),
            p99_ms=pct(0.99),
            max_ms=ordered[-1] * 1000 if ordered else 0.0,
        )


@dataclass
class LoadReport:
    """The figures of one run; `operations` holds the measured window only, `orders_*` the whole run."""

    database: str
    dialect: str
    clients: int
    seconds: float
    warmup_seconds: float
    server_workers: int
    region: str
    run_id: str
    sites: int
    items: int
    stock_levels: int
    operations: dict[str, OperationStats]
    total_requests: int
    total_rps: float
    total_errors: int
    p99_ms: float  # of every measured request, both operations
    locked_answers: int  # answers that said "database is locked" (SQLite)
    rows_per_page: float
    orders_placed: int
    units_ordered: int
    units_filled: int
    backorders: int
    requests_answered: int
    requests_sent: int
    requests_failed: int
    server_errors: int  # lines the server logged at ERROR level or above (unexpected failures)
    server_mean_ms: float | None  # time in the GraphQL endpoint per request, from the server's /metrics
    server_cpu_ms_per_request: float | None  # the server process's CPU time (all threads) per request (Linux)
    server_cpu_share: float | None  # of one core, during the window: well under 1 while saturated = a busy machine
    client_cpu_share: float  # this process (the clients), of one core
    load_average: float | None  # the machine's 1-minute load average at the end
    error_samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def throughput_target(self) -> float | None:
        return THROUGHPUT_TARGETS.get(self.dialect)

    @property
    def targets_met(self) -> bool | None:
        """Issue 12's throughput target (for this database), p99 of all requests (PostgreSQL) and no lock errors."""
        rps = self.throughput_target
        if rps is None:
            return None
        p99_ok = self.p99_ms <= P99_TARGET_MS if self.dialect == "postgresql" else True
        return self.total_rps >= rps and p99_ok and self.locked_answers == 0

    def target_lines(self) -> list[str]:
        rps = self.throughput_target
        if rps is None:
            return []
        ok = self.targets_met
        p99 = f", p99 ≤ {P99_TARGET_MS:g} ms" if self.dialect == "postgresql" else ""
        return [
            f"target ({self.dialect}, {self.server_workers} worker(s), {self.clients} clients): ≥ {rps:g} requests/s"
            f"{p99}, no 'database is locked': {'met' if ok else 'MISSED'} ({self.total_rps:.1f} requests/s,"
            f" p99 {self.p99_ms:.1f} ms, {self.locked_answers} locked)"
        ]

    def table(self) -> str:
        head = (
            f"stockpool API load: {self.clients} clients, {self.seconds:g} s measured after {self.warmup_seconds:g} s"
            f" warm-up; {self.server_workers} uvicorn worker(s) on 127.0.0.1; {self.database}\n"
            f"data: region {self.region}, {self.sites} sites x {self.items} items = {self.stock_levels:,} stock levels"
        )
        rows = [("operation", "requests", "rps", "mean ms", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors")]
        rows.extend(
            (
                stats.name,
                f"{stats.requests:,}",
                f"{stats.rps:.1f}",
                f"{stats.mean_ms:.1f}",
                f"{stats.p50_ms:.1f}",
                f"{stats.p90_ms:.1f}",
                f"{stats.p99_ms:.1f}",
                f"{stats.max_ms:.1f}",
                f"{stats.errors:,}",
            )
            for stats in self.operations.values()
        )
        rows.append(
            ("total", f"{self.total_requests:,}", f"{self.total_rps:.1f}", "", "", "", "", "", f"{self.total_errors:,}")
        )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        body = "\n".join(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in rows
        )

        def figure(value: float | None, form: str) -> str:
            return "n/a" if value is None else format(value, form)

        tail = [
            f"server: {figure(self.server_mean_ms, '.1f')} ms per request in the endpoint (mean, /metrics),"
            f" {figure(self.server_cpu_ms_per_request, '.1f')} ms CPU per request, busy"
            f" {figure(self.server_cpu_share, '.0%')} of one core; clients: {self.client_cpu_share:.0%} of one core;"
            f" load average {figure(self.load_average, '.1f')} on {os.cpu_count()} CPUs",
            f"pages: {self.rows_per_page:.1f} rows on average",
            f"whole run: {self.orders_placed:,} orders placed ({self.units_ordered:,} units, {self.units_filled:,}"
            f" filled from the shelf, {self.backorders:,} backorders); {self.requests_answered:,} of"
            f" {self.requests_sent:,} requests answered, {self.requests_failed:,} failed;"
            f" {self.server_errors} server error(s) logged",
            *self.target_lines(),
            *(f"error: {sample}" for sample in self.error_samples),
        ]
        return f"{head}\n\n{body}\n\n" + "\n".join(tail)
