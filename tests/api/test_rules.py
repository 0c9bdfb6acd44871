"""Roles and scope, idempotent retries, bad input and abusive queries, all over HTTP."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from models import Backorder
from models.db import Database
from tests.api.conftest import Client, clients_by_role, operations
from tests.factories import build_network, receive


@pytest.fixture
def world(db: Database, server: str, admin: Client) -> dict[str, Client]:
    """west: N (40 of X) -> S; east: E. Tokens for each site and each region's coordinator."""
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {"X": "10.00"}, [("N", "S", "1.00", 6)])
    receive(db, "N", "X", 40)
    return clients_by_role(db, server, admin)


def payload(client: Client, name: str, **variables: object) -> dict:
    (result,) = client.op(name, **variables).values()
    return result


def codes(result: dict) -> list[str]:
    return [e["code"] for e in result["errors"]]


def backorders(db: Database) -> int:
    with db.reading() as s:
        return s.scalar(select(func.count(Backorder.id))) or 0


def suggested_transfer(world: dict[str, Client]) -> str:
    payload(world["s"], "PlaceOrder", input={"site": "S", "sku": "X", "quantity": 5})
    plan = payload(world["west"], "Rebalance", input={"region": "west", "dryRun": False})["plan"]
    return plan["transfers"][0]["id"]


def test_a_site_token_cannot_approve(world: dict[str, Client]) -> None:
    transfer = suggested_transfer(world)
    assert codes(payload(world["n"], "ApproveTransfers", input={"ids": [transfer]})) == ["FORBIDDEN"]
    assert codes(payload(world["s"], "RejectTransfers", input={"ids": [transfer]})) == ["FORBIDDEN"]
    assert codes(payload(world["n"], "Rebalance", input={"region": "west"})) == ["FORBIDDEN"]
    assert payload(world["west"], "ApproveTransfers", input={"ids": [transfer]})["errors"] == []


def test_a_site_token_cannot_move_another_sites_stock(world: dict[str, Client], db: Database) -> None:
    result = payload(world["n"], "RecordMovement", input={"site": "S", "sku": "X", "quantity": 5, "reason": "RECEIPT"})
    assert codes(result) == ["NOT_FOUND"] and result["stockLevel"] is None
    missing = payload(
        world["n"], "RecordMovement", input={"site": "NOWHERE", "sku": "X", "quantity": 5, "reason": "RECEIPT"}
    )
    assert result["errors"][0]["message"].replace("'S'", "'NOWHERE'") == missing["errors"][0]["message"]
    assert codes(payload(world["n"], "PlaceOrder", input={"site": "S", "sku": "X", "quantity": 1})) == ["NOT_FOUND"]
    assert backorders(db) == 0
    transfer = suggested_transfer(world)
    payload(world["west"], "ApproveTransfers", input={"ids": [transfer]})
    assert codes(payload(world["s"], "ShipTransfer", input={"id": transfer})) == ["FORBIDDEN"]
    assert codes(payload(world["e"], "ShipTransfer", input={"id": transfer})) == ["NOT_FOUND"]
    assert payload(world["n"], "ShipTransfer", input={"id": transfer})["errors"] == []
    assert codes(payload(world["n"], "ReceiveTransfer", input={"id": transfer, "quantityReceived": 5})) == ["FORBIDDEN"]


def test_a_site_token_cannot_see_another_sites_ledger(world: dict[str, Client]) -> None:
    mine = world["n"].post(operations()["Ledger"], {"site": "N", "sku": "X"}).json()
    assert [e["node"]["quantity"] for e in mine["data"]["movements"]["edges"]] == [40]
    theirs = world["s"].post(operations()["Ledger"], {"site": "N", "sku": "X"}).json()
    assert theirs["data"] is None and theirs["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_a_coordinator_cannot_act_outside_its_region(world: dict[str, Client]) -> None:
    assert codes(payload(world["east"], "Rebalance", input={"region": "west"})) == ["NOT_FOUND"]
    transfer = suggested_transfer(world)
    assert codes(payload(world["east"], "ApproveTransfers", input={"ids": [transfer]})) == ["NOT_FOUND"]
    pending = world["east"].op("PendingTransfers", region="west")["transfers"]["edges"]
    assert pending == []


def test_no_token_or_a_bad_one_is_refused(world: dict[str, Client], server: str) -> None:
    for token in (None, "sp_not-a-real-token"):
        response = Client(server, token).post(operations()["WhoHasIt"], {"sku": "X"})
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_an_idempotent_retry_of_place_order_creates_one_backorder(world: dict[str, Client], db: Database) -> None:
    order = {"input": {"site": "S", "sku": "X", "quantity": 7, "priority": "HIGH"}}
    first = world["s"].post(operations()["PlaceOrder"], order, key="order-1")
    second = world["s"].post(operations()["PlaceOrder"], order, key="order-1")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content and second.headers.get("idempotent-replayed") == "true"
    assert backorders(db) == 1
    other = world["s"].post(operations()["PlaceOrder"], {"input": {**order["input"], "quantity": 8}}, key="order-1")
    assert other.status_code == 422 and other.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert backorders(db) == 1
    # Another caller's key of the same name is its own.
    assert world["west"].post(operations()["PlaceOrder"], order, key="order-1").status_code == 200
    assert backorders(db) == 2


def test_concurrent_sends_of_one_key_apply_once(world: dict[str, Client], db: Database) -> None:
    order = {"input": {"site": "S", "sku": "X", "quantity": 2}}
    bodies: list[bytes] = []
    barrier = threading.Barrier(8)

    def send() -> None:
        client = Client(world["s"].base, world["s"].token)
        barrier.wait()
        bodies.append(client.post(operations()["PlaceOrder"], order, key="burst").content)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(bodies) == 8 and len(set(bodies)) == 1
    assert backorders(db) == 1


@pytest.mark.parametrize(
    ("input", "field", "code"),
    [
        ({"quantity": 0}, "quantity", "INVALID_QUANTITY"),
        ({"quantity": -4}, "quantity", "INVALID_QUANTITY"),
        ({"quantity": 10**9 + 1}, "quantity", "INVALID_QUANTITY"),
        ({"sku": "NOPE"}, "sku", "NOT_FOUND"),
        ({"site": "NOPE"}, "site", "NOT_FOUND"),
        ({"reference": "r" * 201}, "reference", "INVALID"),
    ],
)
def test_bad_order_input_returns_errors_and_changes_nothing(
    world: dict[str, Client], db: Database, input: dict, field: str, code: str
) -> None:
    result = payload(world["admin"], "PlaceOrder", input={"site": "S", "sku": "X", "quantity": 3, **input})
    assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, code)]
    assert result["backorder"] is None and backorders(db) == 0


def test_malformed_ids_and_long_strings(world: dict[str, Client]) -> None:
    for bad in ("not-an-id", "VHJhbnNmZXI6OTk5OTk=", "U2l0ZTox"):  # garbage, Transfer:99999, a Site's id
        assert codes(payload(world["west"], "ApproveTransfers", input={"ids": [bad]})) == ["NOT_FOUND"]
    result = payload(world["admin"], "CreateSite", input={"code": "C" * 33, "name": "x", "region": "west"})
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("code", "INVALID")]
    wrong_type = world["admin"].post(operations()["PlaceOrder"], {"input": {"site": "S", "sku": "X", "quantity": 1.5}})
    assert wrong_type.status_code == 200 and wrong_type.json()["errors"]


def test_abusive_queries_are_refused_before_execution(world: dict[str, Client], db: Database) -> None:
    """Refused at parse or validation time: no resolver runs, so no order is placed."""
    place = 'placeOrder(input: {site: "S", sku: "X", quantity: 1}) { filledQuantity }'

    def refused(query: str, why: str) -> None:
        body = world["admin"].post(query).json()
        assert body.get("data") is None, body
        assert any(why in e["message"] for e in body["errors"]), body["errors"]

    refused("mutation { " + " ".join(f"a{i}: {place}" for i in range(2000)) + " }", "token")
    refused("mutation { " + " ".join(f"a{i}: {place}" for i in range(60)) + " }", "aliases found")
    fragment = "fragment F on Site { " + " ".join(f"c{i}: code" for i in range(60)) + " }"
    refused(fragment + " query { sites { edges { node { ...F } } } }", "aliases found")
    refused("query Deep { " + "me { " * 25 + "name" + " }" * 25 + " }", "exceeds maximum operation depth")
    assert backorders(db) == 0
    fine = "query { transfers { edges { node { allocations { backorder { site { code } } } } } } }"
    assert "errors" not in world["admin"].post(fine).json()


def test_a_revoked_token_is_refused(world: dict[str, Client]) -> None:
    me = world["n"].gql("{ me { id name role } }")["me"]
    assert me["role"] == "SITE"
    revoke = (
        "mutation R($input: RevokeApiTokenInput!) "
        "{ revokeApiToken(input: $input) { apiToken { id revokedAt } errors { code } } }"
    )
    assert world["n"].gql(revoke, {"input": {"id": me["id"]}})["revokeApiToken"]["errors"] == [{"code": "FORBIDDEN"}]
    done = world["admin"].gql(revoke, {"input": {"id": me["id"]}})["revokeApiToken"]
    assert done["errors"] == [] and done["apiToken"]["revokedAt"]
    assert world["n"].post("{ me { id } }").status_code == 401
    again = world["admin"].gql(revoke, {"input": {"id": me["id"]}})["revokeApiToken"]
    assert again["errors"] == [{"code": "INVALID_STATE"}]


@pytest.mark.parametrize(
    "body",
    [
        {"foo": 1},
        {"query": "{ me { name } }", "variables": "x"},
        {"query": 123},
        {
            "query": 'mutation M { placeOrder(input: {site: "S", sku: "X", quantity: 1}) { filledQuantity } }',
            "operationName": "Nope",
        },
        [{"query": "{ me { name } }"}, {"query": "{ me { name } }"}],
    ],
    ids=["no query", "variables not an object", "query not a string", "unknown operation name", "batched"],
)
def test_malformed_requests_get_a_4xx_and_change_nothing(world: dict[str, Client], db: Database, body: object) -> None:
    response = world["admin"].http.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {world['admin'].token}"}
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["errors"]
    assert backorders(db) == 0
