"""The figures of one `stockpool bench-api` run: per operation and in all, as a table or a JSON document."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

PLACE, PAGE = "placeOrder", "stockLevels"
TARGETS = {PLACE: ("p99_ms", 50.0), PAGE: ("p50_ms", 25.0)}  # from the performance issue


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

    def target_lines(self) -> list[str]:
        lines = []
        for name, (figure, limit) in TARGETS.items():
            stats = self.operations.get(name)
            label = f"{name} {figure.removesuffix('_ms')} < {limit:g} ms"
            if stats is None or not stats.requests:
                lines.append(f"{label}: no requests measured")
                continue
            value = getattr(stats, figure)
            lines.append(f"{label}: {'met' if value < limit else 'MISSED'} ({value:.1f} ms)")
        return lines

    def table(self) -> str:
        head = (
            f"stockpool API load: {self.clients} clients, {self.seconds:g} s measured after {self.warmup_seconds:g} s"
            f" warm-up; {self.server_workers} uvicorn worker on 127.0.0.1; {self.database}\n"
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
