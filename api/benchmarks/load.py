"""A small load generator for the GraphQL API: N concurrent clients on loopback against a real uvicorn server.

It prepares a fresh region (its own run id, so it can run again on the same database), starts the service in a
separate process (one uvicorn worker by default, `workers` for `stockpool serve --workers N`; the clients never
share the server's GIL), then lets every client loop
for a warm-up and a measured window: mostly `placeOrder` at its own site (SITE token), sometimes a 100-row page
of `stockLevels` at a site of the region (COORDINATOR token). Latency is measured per request on the client; the
report gives per operation the count, requests per second, p50/p90/p99/max and errors, and the total.

Every placed order stays in the database (tagged `reference = "<run id>-<client>-<n>"`): point it at a scratch
database. The stock levels start with `stock` units each, so most orders fill from the shelf and the rest become
backorders; the product never lets stock run negative (`stockpool check` stays clean).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import numpy as np

from api.benchmarks.load_report import PAGE, PLACE, LoadReport, OperationStats
from api.benchmarks.server import ServerProcess
from models import Role, utcnow
from models.db import Database
from pooling import network
from pooling.access import create_token
from pooling.ledger import MovementBatch, open_levels

# The two operations, as clients send them (copied from examples/operations.graphql; api/ does not read examples/).
PLACE_ORDER = """
mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    filledQuantity
    backorder { id quantity status priority }
    errors { field code message }
  }
}
"""

SITE_STOCK = """
query SiteStock($site: String!, $first: Int, $after: String) {
  stockLevels(site: $site, first: $first, after: $after) {
    edges { node { item { sku } onHand reserved available incoming safetyStock reorderPoint surplus } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

PAGE_SIZE = 100
PRIORITIES = ("LOW", "NORMAL", "NORMAL", "NORMAL", "HIGH", "CRITICAL")
SERVER_WORKERS = 1
_LOGGED_ERROR = re.compile(r"^(?:[0-9-]+ [0-9:,.]+ )?(?:ERROR|CRITICAL)\b")  # JSON-less or text log lines
LOCKED = "database is locked"


@dataclass(frozen=True)
class Dataset:
    """What `prepare` made: a region of sites and items with stock, and the tokens the clients use."""

    run_id: str
    region: str
    site_codes: list[str]
    skus: list[str]
    site_tokens: dict[str, str]
    coordinator_token: str
    stock: int

    @property
    def stock_levels(self) -> int:
        return len(self.site_codes) * len(self.skus)


# --- data -----------------------------------------------------------------------------------------------------


def prepare(db: Database, sites: int, items: int, stock: int = 1000, run_id: str | None = None) -> Dataset:
    """A new region with `sites` x `items` stock levels of `stock` units each (a RECEIPT movement per level, written
    in bulk through the ledger)."""
    if sites < 1 or items < 1:
        raise ValueError("need at least one site and one item")
    run_id = run_id or secrets.token_hex(3)
    region = f"load-{run_id}"
    codes = [f"L{run_id}-S{k:03}" for k in range(sites)]
    skus = [f"L{run_id}-I{k:04}" for k in range(items)]
    with db.transaction() as s:
        site_ids = [network.create_site(s, code, f"load site {code}", region, 50.0, 4.0).id for code in codes]
        item_ids = [
            network.create_item(s, sku, f"load item {sku}", Decimal("10.00") + k % 90, supplier_lead_time_days=7).id
            for k, sku in enumerate(skus)
        ]
        site, item = np.meshgrid(np.array(site_ids), np.array(item_ids), indexing="ij")
        every = np.arange(site.size)
        receipts = [MovementBatch(every, np.full(site.size, stock))] if stock else []
        open_levels(s, site.ravel(), item.ravel(), receipts, "load generator", utcnow(), note=f"load run {run_id}")
        site_tokens = {code: create_token(s, f"load {code}", Role.SITE, site=code)[1] for code in codes}
        coordinator = create_token(s, f"load {region}", Role.COORDINATOR, region=region)[1]
    return Dataset(run_id, region, codes, skus, site_tokens, coordinator, stock)


# --- the clients ----------------------------------------------------------------------------------------------


@dataclass
class _Tally:
    """What the clients saw: latencies in the measured window, and counts over the whole run."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {PLACE: [], PAGE: []})
    errors: dict[str, int] = field(default_factory=lambda: {PLACE: 0, PAGE: 0})
    error_samples: list[str] = field(default_factory=list)
    page_rows: list[int] = field(default_factory=list)
    sent: int = 0
    answered: int = 0
    locked: int = 0  # answers that said "database is locked" (SQLite's busy timeout ran out)
    failed: int = 0
    orders: int = 0
    units: int = 0
    filled: int = 0
    backorders: int = 0

    def error(self, operation: str, measured: bool, message: str) -> None:
        self.failed += 1
        self.locked += LOCKED in message
        if measured:
            self.errors[operation] += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{operation}: {message[:300]}")


async def _client(
    k: int,
    base: str,
    data: Dataset,
    window: tuple[float, float],
    read_share: float,
    think: float,
    tally: _Tally,
) -> None:
    measure_from, stop_at = window
    rng = random.Random(f"{data.run_id}-{k}")
    site = data.site_codes[k % len(data.site_codes)]
    site_auth = {"Authorization": f"Bearer {data.site_tokens[site]}"}
    reader_auth = {"Authorization": f"Bearer {data.coordinator_token}"}
    cursors: dict[str, str | None] = {}
    n = 0
    credit = (k * 0.618034) % 1  # the mix is spread evenly, each client in its own phase: `read_share` are pages
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=httpx.Limits(max_connections=1)) as http:
        while time.perf_counter() < stop_at:
            credit += read_share
            if credit >= 1:
                credit -= 1
                operation = PAGE
                page_site = rng.choice(data.site_codes)
                variables: dict[str, Any] = {"site": page_site, "first": PAGE_SIZE, "after": cursors.get(page_site)}
                body = {"query": SITE_STOCK, "variables": variables, "operationName": "SiteStock"}
                headers = reader_auth
            else:
                operation = PLACE
                n += 1
                quantity = rng.randint(1, 3)
                order = {
                    "site": site,
                    "sku": rng.choice(data.skus),
                    "quantity": quantity,
                    "priority": rng.choice(PRIORITIES),
                    "reference": f"{data.run_id}-{k}-{n}",
                }
                body = {"query": PLACE_ORDER, "variables": {"input": order}, "operationName": "PlaceOrder"}
                headers = site_auth
            started = time.perf_counter()
            measured = started >= measure_from
            tally.sent += 1
            try:
                response = await http.post("/graphql", json=body, headers=headers)
            except httpx.HTTPError as error:
                tally.error(operation, measured, f"{type(error).__name__}: {error}")
                continue
            elapsed = time.perf_counter() - started
            tally.answered += 1
            problem = _problem(response)
            if problem is not None:
                tally.error(operation, measured, problem)
            else:
                data_ = response.json()["data"]
                if operation == PLACE:
                    placed = data_["placeOrder"]
                    tally.orders += 1
                    tally.units += quantity
                    tally.filled += placed["filledQuantity"]
                    tally.backorders += placed["backorder"] is not None
                else:
                    page = data_["stockLevels"]
                    info = page["pageInfo"]
                    cursors[page_site] = info["endCursor"] if info["hasNextPage"] else None
                    if measured:
                        tally.page_rows.append(len(page["edges"]))
            if measured:
                tally.latencies[operation].append(elapsed)
            if think:
                await asyncio.sleep(rng.expovariate(1 / think))


def _problem(response: httpx.Response) -> str | None:
    """Why an answer is not a success (HTTP status, GraphQL errors, a payload's errors), or None."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:200]}"
    if body.get("errors"):
        return f"errors: {body['errors']}"
    payload = (body.get("data") or {}).get("placeOrder")
    if payload is not None and payload.get("errors"):
        return f"placeOrder errors: {payload['errors']}"
    return None


_METRIC = re.compile(r"^stockpool_graphql_request_duration_seconds_(count|sum)\{[^}]*\} ([0-9.e+-]+)$", re.MULTILINE)


async def _server_figures(base: str) -> tuple[float, float]:
    """(requests answered, seconds spent) so far, from the server's /metrics."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        text = (await http.get("/metrics")).text
    requests, seconds = 0.0, 0.0
    for name, value in _METRIC.findall(text):
        if name == "sum":
            seconds += float(value)
        else:
            requests += float(value)
    return requests, seconds


@dataclass
class _Window:
    """What the server and this process did during the measured window."""

    server_mean_ms: float | None = None
    server_cpu_ms: float | None = None
    server_cpu_share: float | None = None
    client_cpu_share: float = 0.0


async def _drive(
    server: ServerProcess,
    data: Dataset,
    clients: int,
    seconds: float,
    warmup: float,
    read_share: float,
    think: float,
) -> tuple[_Tally, _Window]:
    tally, figures = _Tally(), _Window()
    begin = time.perf_counter()
    window = (begin + warmup, begin + warmup + seconds)
    tasks = [
        asyncio.create_task(_client(k, server.base, data, window, read_share, think, tally)) for k in range(clients)
    ]
    await asyncio.sleep(max(window[0] - time.perf_counter(), 0))
    cpu, server_cpu = time.process_time(), server.cpu_seconds()
    before = await _server_figures(server.base)
    await asyncio.sleep(max(window[1] - time.perf_counter(), 0))
    after = await _server_figures(server.base)
    figures.client_cpu_share = (time.process_time() - cpu) / seconds
    server_cpu_after = server.cpu_seconds()
    await asyncio.gather(*tasks)
    answered = after[0] - before[0]  # GraphQL requests the server finished in the window (/metrics not counted)
    if answered > 0:
        figures.server_mean_ms = (after[1] - before[1]) / answered * 1000
    if server_cpu is not None and server_cpu_after is not None:
        figures.server_cpu_share = (server_cpu_after - server_cpu) / seconds
        figures.server_cpu_ms = (server_cpu_after - server_cpu) / answered * 1000 if answered > 0 else None
    return tally, figures


def check_options(
    clients: int, seconds: float, warmup: float, read_share: float, think_ms: float, workers: int, profile: str | None
) -> None:
    """ValueError for options that make no sense (before anything is written)."""
    if clients < 1 or seconds <= 0 or warmup < 0 or not 0 <= read_share <= 1 or think_ms < 0 or workers < 1:
        raise ValueError(
            "need clients >= 1, seconds > 0, warmup >= 0, 0 <= read_share <= 1, think_ms >= 0, workers >= 1"
        )
    if workers > 1 and profile:
        raise ValueError("--profile measures one worker: use --workers 1 with it")


def run_load(
    database_url: str,
    clients: int = 64,
    seconds: float = 20,
    *,
    sites: int = 50,
    items: int = 200,
    warmup: float = 3,
    read_share: float = 0.2,
    think_ms: float = 0,
    stock: int = 1000,
    profile: str | None = None,
    workers: int = SERVER_WORKERS,
) -> LoadReport:
    """Prepare a region, start the server in its own process, run `clients` clients, and report.

    `read_share` of the requests are 100-row `stockLevels` pages, the rest `placeOrder`; `think_ms` is the mean
    pause of a client between its requests (0: each client sends its next request as soon as it has an answer).
    `profile` writes the server's cProfile statistics (all threads) to that file (and slows the server down).
    """
    check_options(clients, seconds, warmup, read_share, think_ms, workers, profile)
    db = Database(database_url)
    try:
        db.migrate()
        data = prepare(db, sites, items, stock)
    finally:
        db.dispose()
    with tempfile.TemporaryFile(mode="w+") as log:
        server = ServerProcess(database_url, log, profile, workers=workers)
        try:
            server.start()
            tally, figures = asyncio.run(_drive(server, data, clients, seconds, warmup, read_share, think_ms / 1000))
        finally:
            server.stop()
        server_errors = [line for line in server.output().splitlines() if _LOGGED_ERROR.match(line)]
    operations = {
        name: OperationStats.of(name, tally.latencies[name], tally.errors[name], seconds) for name in (PLACE, PAGE)
    }
    total = sum(s.requests for s in operations.values())
    every = OperationStats.of("all", [t for name in (PLACE, PAGE) for t in tally.latencies[name]], 0, seconds)
    return LoadReport(
        database=db.display_url,
        dialect=db.engine.dialect.name,
        clients=clients,
        seconds=seconds,
        warmup_seconds=warmup,
        server_workers=workers,
        region=data.region,
        run_id=data.run_id,
        sites=sites,
        items=items,
        stock_levels=data.stock_levels,
        operations=operations,
        total_requests=total,
        total_rps=total / seconds,
        total_errors=sum(s.errors for s in operations.values()),
        p99_ms=every.p99_ms,
        locked_answers=tally.locked,
        rows_per_page=sum(tally.page_rows) / len(tally.page_rows) if tally.page_rows else 0.0,
        orders_placed=tally.orders,
        units_ordered=tally.units,
        units_filled=tally.filled,
        backorders=tally.backorders,
        requests_answered=tally.answered,
        requests_sent=tally.sent,
        requests_failed=tally.failed,
        server_mean_ms=figures.server_mean_ms,
        server_cpu_ms_per_request=figures.server_cpu_ms,
        server_cpu_share=figures.server_cpu_share,
        client_cpu_share=figures.client_cpu_share,
        load_average=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        server_errors=len(server_errors),
        error_samples=tally.error_samples + server_errors[:3],
    )
