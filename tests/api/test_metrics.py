"""`/metrics` through prometheus_client, over the test server: requests and latency by operation and outcome,
bounded labels, database connections in use, rebalances, idempotency keys."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import MAX_OPERATIONS
from models import Role
from models.db import Database
from pooling import orders
from pooling.access import create_token
from tests.api.conftest import Client, operations
from tests.factories import build_network, receive

Labels = tuple[tuple[str, str], ...]


def scrape(server: str) -> dict[str, dict[Labels, float]]:
    response = httpx.get(f"{server}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    found: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def delta(before: dict[str, dict[Labels, float]], after: dict[str, dict[Labels, float]], name: str) -> dict:
    changed = {}
    for labels, value in after.get(name, {}).items():
        grown = value - before.get(name, {}).get(labels, 0.0)
        if grown:
            changed[dict(labels).get("operation", ""), dict(labels).get("outcome", "")] = grown
    return changed


def test_requests_are_counted_and_timed_by_operation_and_outcome(server: str, admin: Client) -> None:
    before = scrape(server)
    admin.gql("query Me { me { name } }")
    invalid = admin.post("query Broken { noSuchField }")
    assert invalid.json()["errors"]
    assert httpx.post(f"{server}/graphql", json={"query": "query Sneaky { me { name } }"}).status_code == 401
    after = scrape(server)
    requests = delta(before, after, "stockpool_graphql_requests_total")
    assert requests[("Me", "ok")] == 1
    assert requests[("other", "unauthenticated")] == 1  # a name sent without a token is no label
    broken = "errors" if invalid.status_code == 200 else "client_error"
    assert requests[("Broken", broken)] == 1
    assert delta(before, after, "stockpool_graphql_request_duration_seconds_count") == requests
    assert delta(before, after, "stockpool_graphql_request_duration_seconds_sum")[("Me", "ok")] > 0


def test_operation_names_are_a_bounded_label(server: str, admin: Client) -> None:
    for number in range(MAX_OPERATIONS + 20):
        admin.gql(f"query Q{number} {{ me {{ name }} }}")
    names = {dict(labels)["operation"] for labels in scrape(server)["stockpool_graphql_requests_total"]}
    assert len(names) <= MAX_OPERATIONS + 2  # and "other", "anonymous"
    assert "other" in names and f"Q{MAX_OPERATIONS + 19}" not in names


def test_rebalances_connections_in_use_and_idempotency_keys(server: str, db: Database) -> None:
    build_network(db, {"D": "west", "R": "west"}, {"X": "9.00"}, [("D", "R", "1.00", 4)])
    receive(db, "D", "X", 10)
    with db.transaction() as s:
        orders.place_order(s, "R", "X", 3)
        coordinator = Client(server, create_token(s, "west coordinator", Role.COORDINATOR, region="west")[1])
    before = scrape(server)
    assert before["stockpool_idempotency_keys"][()] == 0
    plan = coordinator.gql(operations()["Rebalance"], {"input": {"region": "west", "dryRun": False}}, key="nightly-1")[
        "rebalance"
    ]["plan"]
    after = scrape(server)
    assert plan["summary"]["unitsByTransfer"] == 3
    assert after["stockpool_rebalance_duration_seconds_count"][(("dry_run", "false"),)] == (
        before.get("stockpool_rebalance_duration_seconds_count", {}).get((("dry_run", "false"),), 0) + 1
    )
    units = after["stockpool_rebalance_units_total"]
    previous = before.get("stockpool_rebalance_units_total", {})
    assert (
        units[(("dry_run", "false"), ("kind", "transfer"))]
        - previous.get((("dry_run", "false"), ("kind", "transfer")), 0)
        == 3
    )
    assert after["stockpool_idempotency_keys"][()] == 1

    with db.engine.connect():  # one more connection checked out of the server's pool
        held = scrape(server)["stockpool_database_connections_in_use"][()]
    released = scrape(server)["stockpool_database_connections_in_use"][()]
    assert held >= 1 and released == held - 1
