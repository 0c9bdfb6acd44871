"""Server CPU per request of four operations, each beside this stack's floor for the same work (issue 12).

One client sends one operation at a time to a real server process (one uvicorn worker); the server process's CPU
time (all threads, from /proc) over N requests, divided by N, is the figure. Because it is CPU time of one process,
it hardly depends on what else the machine runs (wall-clock latencies do).

The floor is what the stack cannot avoid for the same work:
- HTTP and SQL: a minimal Starlette handler (`api.benchmarks.floor`) that reads the same body with orjson, sends
  exactly the SQL statements the GraphQL request sent (recorded from one real request), and answers the rows with
  orjson; measured the same way, in a server process of its own.
- GraphQL: graphql-core alone executing the same (parsed, validated) document over plain dicts: the answer's own
  `data`, through graphql-core's default resolvers; measured in this process.
"""

from __future__ import annotations

import asyncio
import pickle
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import IO, Any

import graphql
import httpx
from sqlalchemy import event, select

from api.benchmarks.load import PAGE_SIZE, PLACE_ORDER, SITE_STOCK, Dataset, prepare
from api.benchmarks.server import ServerProcess
from models import Priority, Site, Transfer, TransferStatus
from models.db import Database
from pooling import network, orders, rebalance

TRANSFER_PAGE = """
query TransferPage($region: String!, $first: Int, $after: String) {
  transfers(region: $region, first: $first, after: $after) {
    edges {
      node {
        id status quantity unitCost
        fromSite { code } toSite { code } item { sku }
        allocations { backorder { id } quantity }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

APPROVE = """
mutation ApproveTransfers($input: ApproveTransfersInput!) {
  approveTransfers(input: $input) {
    transfers { id status }
    errors { field code message }
  }
}
"""

STOCK_LEVELS, TRANSFERS, PLACE, APPROVE_10 = "stockLevels", "transfers", "placeOrder", "approveTransfers"
# Server CPU per request (ms) from the issue; and the goal for GraphQL ÷ floor.
TARGET_CPU_MS = {STOCK_LEVELS: 15.0, TRANSFERS: 20.0, PLACE: 3.0, APPROVE_10: 10.0}
TARGET_RATIO = 2.0
RECEIVERS = 4  # sites that wait for every item, so that the rebalance suggests RECEIVERS x items transfers
DONORS = 3  # sites with lanes to the receivers
IDS_PER_APPROVAL = 10


@dataclass
class OperationCost:
    """One operation's figures: CPU milliseconds per request."""

    name: str
    requests: int
    statements: int  # SQL statements one request sent (recorded from a real request)
    server_cpu_ms: float | None  # the GraphQL server process, all threads
    floor_http_sql_ms: float | None  # the minimal Starlette + orjson handler sending the same SQL
    floor_graphql_ms: float  # graphql-core alone executing the document over plain dicts
    floor_ms: float | None
    ratio: float | None  # server_cpu_ms / floor_ms
    target_cpu_ms: float
    cpu_target_met: bool | None
    ratio_target_met: bool | None


@dataclass
class OperationsReport:
    database: str
    dialect: str
    run_id: str
    requests_per_operation: int
    operations: dict[str, OperationCost]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> str:
        head = (
            f"server CPU per request, one client, one uvicorn worker; {self.database}; floor = minimal Starlette +"
            f" orjson handler sending the same SQL, plus graphql-core alone over plain dicts"
        )
        rows = [("operation", "requests", "SQL", "CPU ms", "target", "floor ms", "(http+sql / graphql)", "÷ floor")]

        def ms(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.2f}"

        for c in self.operations.values():
            met = "" if c.cpu_target_met is None else (" ok" if c.cpu_target_met else " MISSED")
            rows.append(
                (
                    c.name,
                    f"{c.requests}",
                    f"{c.statements}",
                    ms(c.server_cpu_ms),
                    f"≤ {c.target_cpu_ms:g}{met}",
                    ms(c.floor_ms),
                    f"{ms(c.floor_http_sql_ms)} / {ms(c.floor_graphql_ms)}",
                    "n/a" if c.ratio is None else f"{c.ratio:.1f}x" + ("" if c.ratio <= TARGET_RATIO else " (> 2x)"),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        body = "\n".join(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in rows
        )
        return f"{head}\n\n{body}"


# --- data -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Setup:
    data: Dataset
    transfer_ids: list[int]  # SUGGESTED, to approve 10 at a time


def _prepare(db: Database, sites: int, items: int) -> _Setup:
    """A load region, plus RECEIVERS sites without stock that wait for every item, lanes to them from DONORS sites,
    and a saved rebalance: RECEIVERS x items suggested transfers, each serving one backorder."""
    data = prepare(db, max(sites, DONORS), items)
    receivers = [f"L{data.run_id}-R{k}" for k in range(RECEIVERS)]
    with db.transaction() as s:
        for code in receivers:
            network.create_site(s, code, f"load receiver {code}", data.region, 50.0, 4.0)
        for donor in data.site_codes[:DONORS]:
            for code in receivers:
                network.set_lane(s, donor, code, "0.50", 24)
        for code in receivers:
            for sku in data.skus:
                orders.place_order(s, code, sku, 2, Priority.HIGH, reference=f"{data.run_id}-wait")
    with db.transaction() as s:
        rebalance.rebalance(s, data.region, dry_run=False, actor="bench")
        ids = s.scalars(
            select(Transfer.id)
            .join(Site, Site.id == Transfer.to_site_id)
            .where(Site.region == data.region, Transfer.status == TransferStatus.SUGGESTED)
            .order_by(Transfer.id)
        ).all()
    return _Setup(data, list(ids))


# --- the requests -------------------------------------------------------------------------------------------------


class _Requests:
    """The bodies and headers the client sends, one operation at a time (pages walk their cursors)."""

    def __init__(self, setup: _Setup) -> None:
        from api.graphql.base import global_id

        self.data = setup.data
        self.site_auth = {"Authorization": f"Bearer {self.data.site_tokens[self.data.site_codes[-1]]}"}
        self.coordinator = {"Authorization": f"Bearer {self.data.coordinator_token}"}
        self.approvals = iter(
            [global_id("Transfer", pk) for pk in setup.transfer_ids[k : k + IDS_PER_APPROVAL]]
            for k in range(0, len(setup.transfer_ids) - IDS_PER_APPROVAL + 1, IDS_PER_APPROVAL)
        )
        self.approvals_left = len(setup.transfer_ids) // IDS_PER_APPROVAL
        self.n = 0
        self.page_site = 0
        self.stock_cursor: str | None = None
        self.transfer_cursor: str | None = None

    def next(self, operation: str) -> tuple[dict[str, Any], dict[str, str]]:
        self.n += 1
        if operation == STOCK_LEVELS:
            site = self.data.site_codes[self.page_site % len(self.data.site_codes)]
            variables: dict[str, Any] = {"site": site, "first": PAGE_SIZE, "after": self.stock_cursor}
            return {"query": SITE_STOCK, "variables": variables, "operationName": "SiteStock"}, self.coordinator
        if operation == TRANSFERS:
            variables = {"region": self.data.region, "first": PAGE_SIZE, "after": self.transfer_cursor}
            return {"query": TRANSFER_PAGE, "variables": variables, "operationName": "TransferPage"}, self.coordinator
        if operation == PLACE:
            order = {
                "site": self.data.site_codes[-1],
                "sku": self.data.skus[self.n % len(self.data.skus)],
                "quantity": 1,
                "priority": "NORMAL",
                "reference": f"{self.data.run_id}-op-{self.n}",
            }
            return {"query": PLACE_ORDER, "variables": {"input": order}, "operationName": "PlaceOrder"}, self.site_auth
        self.approvals_left -= 1
        ids = next(self.approvals)
        return {"query": APPROVE, "variables": {"input": {"ids": ids}}, "operationName": "ApproveTransfers"}, (
            self.coordinator
        )

    def saw(self, operation: str, data: dict[str, Any]) -> None:
        """Walk the pages: the next stockLevels page (or the next site's first), the next transfers page."""
        if operation == STOCK_LEVELS:
            info = data["stockLevels"]["pageInfo"]
            self.stock_cursor = info["endCursor"] if info["hasNextPage"] else None
            if self.stock_cursor is None:
                self.page_site += 1
        elif operation == TRANSFERS:
            info = data["transfers"]["pageInfo"]
            self.transfer_cursor = info["endCursor"] if info["hasNextPage"] else None


def _answer(response: httpx.Response, operation: str) -> dict[str, Any]:
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{operation}: HTTP {response.status_code}: {response.text[:300]}")
    data: dict[str, Any] = body["data"]
    payload = data.get(operation)
    if isinstance(payload, dict) and payload.get("errors"):
        raise RuntimeError(f"{operation}: {payload['errors']}")
    return data


# --- recording one request's SQL ------------------------------------------------------------------------------


@dataclass
class _Recorded:
    body: dict[str, Any]
    headers: dict[str, str]
    data: dict[str, Any]
    statements: list[tuple[str, Any, bool]]  # (SQL, parameters, executemany)


@contextmanager
def _statements(db: Database) -> Iterator[list[tuple[str, Any, bool]]]:
    sent: list[tuple[str, Any, bool]] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.append((statement, parameters, executemany))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def _record(url: str, requests: _Requests, operations: tuple[str, ...]) -> dict[str, _Recorded]:
    """One real request per operation through the app in this process, with the SQL it sent."""
    from api.app import create_app

    db = Database(url)
    app = create_app(db, graphiql=False)
    recorded: dict[str, _Recorded] = {}

    async def send() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            for operation in operations:
                body, headers = requests.next(operation)
                with _statements(db) as sent:
                    response = await http.post("/graphql", json=body, headers=headers)
                data = _answer(response, operation)
                requests.saw(operation, data)
                recorded[operation] = _Recorded(body, headers, data, list(sent))

    try:
        asyncio.run(send())
    finally:
        db.dispose()
    return recorded


# --- measuring ------------------------------------------------------------------------------------------------


def _server_cpu(server: ServerProcess, n: int, warmup: int, send: Callable[[httpx.Client, int], None]) -> float | None:
    """CPU milliseconds of the server process per request over `n` requests after `warmup` ones."""
    with httpx.Client(base_url=server.base, timeout=120) as http:
        for k in range(warmup):
            send(http, k)
        before = server.cpu_seconds()
        for k in range(n):
            send(http, warmup + k)
        after = server.cpu_seconds()
    return None if before is None or after is None else (after - before) / n * 1000


def _graphql_core_ms(sdl: str, recorded: _Recorded, minimum_seconds: float = 0.3) -> float:
    """CPU milliseconds for graphql-core to execute the parsed document over the answer's own data (plain dicts)."""
    schema = graphql.build_schema(sdl)
    document = graphql.parse(recorded.body["query"])
    if graphql.validate(schema, document):
        raise RuntimeError("the document does not validate against the schema")
    variables = recorded.body.get("variables") or {}

    def once() -> None:
        result = graphql.execute(schema, document, root_value=recorded.data, variable_values=variables)
        if result.errors:  # type: ignore[union-attr]
            raise RuntimeError(f"graphql-core: {result.errors}")  # type: ignore[union-attr]

    once()
    runs, started = 0, time.process_time()
    while (spent := time.process_time() - started) < minimum_seconds or runs < 20:
        once()
        runs += 1
    return spent / runs * 1000


def run_operations(database_url: str, requests: int = 200, *, sites: int = 10, items: int = 400) -> OperationsReport:
    """Prepare a region, record each operation's SQL, then measure the GraphQL server and the floor."""
    if requests < 1 or sites < 1 or items < 1:
        raise ValueError("need requests >= 1, sites >= 1, items >= 1")
    from api.graphql.schema import sdl

    db = Database(database_url)
    try:
        db.migrate()
        setup = _prepare(db, sites, items)
    finally:
        db.dispose()
    asked = _Requests(setup)
    operations = (STOCK_LEVELS, TRANSFERS, PLACE, APPROVE_10)
    recorded = _record(database_url, asked, operations)
    warmup = 5
    counts = dict.fromkeys(operations, requests)
    counts[APPROVE_10] = max(min(requests, asked.approvals_left - warmup), 1)
    server_ms: dict[str, float | None] = {}
    floor_ms: dict[str, float | None] = {}
    with tempfile.TemporaryFile(mode="w+") as log:
        server = ServerProcess(database_url, log)
        try:
            server.start()
            for op in operations:

                def graphql_request(http: httpx.Client, _: int, op: str = op) -> None:
                    body, headers = asked.next(op)
                    asked.saw(op, _answer(http.post("/graphql", json=body, headers=headers), op))

                ahead = min(warmup, asked.approvals_left - 1) if op == APPROVE_10 else warmup
                server_ms[op] = _server_cpu(server, counts[op], ahead, graphql_request)
        finally:
            server.stop()
        with tempfile.NamedTemporaryFile(suffix=".pickle") as replay:
            pickle.dump({op: r.statements for op, r in recorded.items()}, replay)
            replay.flush()
            floor_ms = _floor_http(database_url, replay.name, recorded, counts, warmup, log)
    costs = {}
    schema_text = sdl()
    for op in operations:
        graphql_ms = _graphql_core_ms(schema_text, recorded[op])
        http_ms, cpu = floor_ms.get(op), server_ms.get(op)
        floor = None if http_ms is None else http_ms + graphql_ms
        ratio = None if floor is None or cpu is None else cpu / floor
        costs[op] = OperationCost(
            name=op,
            requests=counts[op],
            statements=len(recorded[op].statements),
            server_cpu_ms=cpu,
            floor_http_sql_ms=http_ms,
            floor_graphql_ms=graphql_ms,
            floor_ms=floor,
            ratio=ratio,
            target_cpu_ms=TARGET_CPU_MS[op],
            cpu_target_met=None if cpu is None else cpu <= TARGET_CPU_MS[op],
            ratio_target_met=None if ratio is None else ratio <= TARGET_RATIO,
        )
    return OperationsReport(
        database=db.display_url,
        dialect=db.engine.dialect.name,
        run_id=setup.data.run_id,
        requests_per_operation=requests,
        operations=costs,
    )


def _floor_http(
    url: str, replay: str, recorded: dict[str, _Recorded], counts: dict[str, int], warmup: int, log: IO[str]
) -> dict[str, float | None]:
    server = ServerProcess(url, log, floor=replay)
    found: dict[str, float | None] = {}
    try:
        server.start()
        for op, r in recorded.items():

            def floor_request(http: httpx.Client, _: int, r: _Recorded = r, op: str = op) -> None:
                response = http.post(f"/floor/{op}", json=r.body, headers=r.headers)
                if response.status_code != 200:
                    raise RuntimeError(f"floor {op}: HTTP {response.status_code}: {response.text[-3000:]}")

            found[op] = _server_cpu(server, counts[op], warmup, floor_request)
    finally:
        server.stop()
    return found
