"""The plain routes, GraphiQL, and a page of transfers costing a bounded number of queries (DataLoaders)."""

from __future__ import annotations

import httpx
from sqlalchemy import event

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
