"""The plain routes, GraphiQL, and a page of transfers costing a bounded number of queries (DataLoaders)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import event

from api.benchmarks.load import PLACE_ORDER
from models.db import Database
from pooling import orders, rebalance
from tests.api.conftest import Client
from tests.factories import build_network, receive

PAGE = """query Page($first: Int) {
  transfers(first: $first) { edges { node {
    id quantity fromSite { code } toSite { code } item { sku }
    allocations { quantity backorder { id status site { code } item { sku } } }
  } } }
}"""


def test_livez_readyz_metrics_and_graphiql(server: str) -> None:
    with httpx.Client(base_url=server) as http:
        assert http.get("/livez").text == "ok"
        ready = http.get("/readyz")
        assert ready.status_code == 200 and ready.text.startswith("ok ")
        page = http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        assert "stockpool_graphql_requests_total" in http.get("/metrics").text


def suggest_transfers(db: Database, count: int) -> None:
    """`count` recipients each waiting for one item that a single donor holds."""
    sites = {"D": "west"} | {f"R{k}": "west" for k in range(count)}
    build_network(db, sites, {"X": "9.00"}, [("D", f"R{k}", "1.00", 4) for k in range(count)])
    receive(db, "D", "X", 10 * count)
    with db.transaction() as s:
        for k in range(count):
            orders.place_order(s, f"R{k}", "X", 2)
        rebalance.rebalance(s, "west", dry_run=False)


def statements(db: Database, client: Client, first: int) -> tuple[int, int]:
    seen = []

    def count(*_: object) -> None:
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        edges = client.gql(PAGE, {"first": first})["transfers"]["edges"]
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(edges), len(seen)


def test_a_page_of_100_transfers_costs_a_bounded_number_of_queries(db: Database, admin: Client) -> None:
    suggest_transfers(db, 100)
    admin.gql("{ me { id } }")  # the token's first use is written down once (last_used_at); not counted here
    few, few_queries = statements(db, admin, 5)
    many, many_queries = statements(db, admin, 100)
    assert (few, many) == (5, 100)
    assert many_queries == few_queries <= 12, (few_queries, many_queries)
    print("queries per page:", many_queries)


APPROVE = """mutation Approve($ids: [ID!]!) {
  approveTransfers(input: {ids: $ids}) { transfers { id status } errors { code } }
}"""


def counted(db: Database, send: Callable[[], Any]) -> tuple[Any, list[str]]:
    """What `send` answered and the SQL statements the server sent meanwhile."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        return send(), seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_approving_10_transfers_sends_the_statements_approving_2_does(db: Database, admin: Client) -> None:
    """Lanes, sites, allocations, backorders and the donors' waiting marks are read once per approval, not once per
    transfer. (SQLite's driver sends the history and event rows one INSERT each, PostgreSQL in one: not counted.)"""
    suggest_transfers(db, 12)
    admin.gql("{ me { id } }")  # the token's first use is written down once (last_used_at); not counted here
    ids = [
        edge["node"]["id"]
        for edge in admin.gql("{ transfers(first: 12) { edges { node { id } } } }")["transfers"]["edges"]
    ]

    def approve(chosen: list[str]) -> list[str]:
        answer, sent = counted(db, lambda: admin.gql(APPROVE, {"ids": chosen})["approveTransfers"])
        assert answer["errors"] == [] and {t["status"] for t in answer["transfers"]} == {"APPROVED"}
        return [s for s in sent if not s.lstrip().upper().startswith(("INSERT INTO EVENTS", "INSERT INTO HISTORY"))]

    two, ten = approve(ids[:2]), approve(ids[2:])
    assert len(ten) == len(two) <= 30, (len(two), len(ten))


def test_an_order_sends_a_bounded_number_of_statements(db: Database, admin: Client) -> None:
    """An order's alert rules read what they need in a few statements (the region's backorder rate is one grouped
    query, not the region's scorecard); the site is looked up once."""
    build_network(db, {f"S{k}": "west" for k in range(8)}, {"X": "9.00"})
    receive(db, "S0", "X", 5)
    admin.gql("{ me { id } }")
    order = {"site": "S0", "sku": "X", "quantity": 1}
    answer, sent = counted(db, lambda: admin.gql(PLACE_ORDER, {"input": order})["placeOrder"])
    assert answer["errors"] == [] and answer["filledQuantity"] == 1
    assert len(sent) <= 15, sent
    assert sum("FROM sites" in s and "sites.code =" in s for s in sent) == 1, sent
