"""Who did it: every change of state of a transfer, reorder and backorder, and every stock policy and lane change,
leaves one history entry naming the token (name and id) and the reason, readable over GraphQL by those who may
see the record."""

from __future__ import annotations

from typing import Any

import pytest

from models import PlanMode
from models.db import Database
from pooling import nightly
from pooling.policies import parse_policy
from tests.api.conftest import Client, clients_by_role
from tests.factories import build_network, receive

ENTRY = "history { at actor actorTokenId action note changes { field old new } }"
HISTORY = f"""
query History($id: ID!) {{
  node(id: $id) {{
    ... on Transfer {{ {ENTRY} }}
    ... on Reorder {{ {ENTRY} }}
    ... on Backorder {{ {ENTRY} }}
    ... on StockLevel {{ {ENTRY} }}
  }}
}}
"""
REBALANCE = """
mutation ($region: String!) {
  rebalance(input: {region: $region, dryRun: false}) {
    plan { transfers { id } reorders { id } }
    errors { code message }
  }
}
"""
MUTATIONS = {
    "approveTransfers": "mutation ($ids: [ID!]!) { approveTransfers(input: {ids: $ids}) { errors { code } } }",
    "rejectTransfers": (
        "mutation ($ids: [ID!]!, $reason: String) "
        "{ rejectTransfers(input: {ids: $ids, reason: $reason}) { errors { code } } }"
    ),
    "cancelTransfer": (
        "mutation ($id: ID!, $reason: String) { cancelTransfer(input: {id: $id, reason: $reason}) { errors { code } } }"
    ),
    "shipTransfer": "mutation ($id: ID!) { shipTransfer(input: {id: $id}) { errors { code } } }",
    "receiveTransfer": (
        "mutation ($id: ID!, $q: Int!) { receiveTransfer(input: {id: $id, quantityReceived: $q}) { errors { code } } }"
    ),
    "approveReorders": "mutation ($ids: [ID!]!) { approveReorders(input: {ids: $ids}) { errors { code } } }",
    "rejectReorders": (
        "mutation ($ids: [ID!]!, $reason: String) "
        "{ rejectReorders(input: {ids: $ids, reason: $reason}) { errors { code } } }"
    ),
    "receiveReorder": (
        "mutation ($id: ID!, $q: Int!) { receiveReorder(input: {id: $id, quantityReceived: $q}) { errors { code } } }"
    ),
    "placeOrder": (
        "mutation ($sku: String!, $q: Int!) "
        '{ placeOrder(input: {site: "S", sku: $sku, quantity: $q}) { backorder { id } errors { code } } }'
    ),
    "cancelBackorder": (
        "mutation ($id: ID!, $reason: String) "
        "{ cancelBackorder(input: {id: $id, reason: $reason}) { errors { code } } }"
    ),
    "setStockPolicy": (
        'mutation { setStockPolicy(input: {site: "N", sku: "X", safetyStock: 2, reorderPoint: 3}) '
        "{ stockLevel { id } errors { code } } }"
    ),
    "setLane": (
        'mutation { setLane(input: {fromSite: "N", toSite: "S", unitCost: "1.50", leadTimeHours: 6}) '
        "{ errors { code } } }"
    ),
}


@pytest.fixture
def world(db: Database, server: str, admin: Client) -> dict[str, Client]:
    """west: N (40 of X) -> S, and Y that nobody holds (bought outside); east: E."""
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {"X": "10.00", "Y": "3.00"}, [("N", "S", "1.00", 6)])
    receive(db, "N", "X", 40)
    return clients_by_role(db, server, admin)


def do(client: Client, name: str, **variables: Any) -> dict[str, Any]:
    (result,) = client.gql(MUTATIONS[name], variables).values()
    assert result["errors"] == [], (name, result)
    return result  # type: ignore[no-any-return]


def rebalance(client: Client) -> dict[str, Any]:
    result = client.gql(REBALANCE, {"region": "west"})["rebalance"]
    assert result["errors"] == []
    return result["plan"]  # type: ignore[no-any-return]


def history(client: Client, record: str) -> list[dict[str, Any]]:
    node = client.gql(HISTORY, {"id": record})["node"]
    assert node is not None, f"{record} is not visible"
    return node["history"]  # type: ignore[no-any-return]


def who(entries: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(e["action"], e["actor"], e["actorTokenId"]) for e in entries]


def token_id(client: Client) -> str:
    return client.gql("{ me { id } }")["me"]["id"]  # type: ignore[no-any-return]


def test_each_change_of_a_transfer_names_the_token_and_the_reason(world: dict[str, Client]) -> None:
    west, n, s = world["west"], world["n"], world["s"]
    west_id, n_id, s_id = token_id(west), token_id(n), token_id(s)
    backorder = do(s, "placeOrder", sku="X", q=5)["backorder"]["id"]

    first = rebalance(west)["transfers"][0]["id"]
    second = rebalance(west)["transfers"][0]["id"]  # supersedes the first
    assert who(history(west, first)) == [("CREATED", "west", west_id), ("SUPERSEDED", "system", None)]
    assert "saved by west" in history(west, first)[1]["note"]

    do(west, "approveTransfers", ids=[second])
    do(west, "cancelTransfer", id=second, reason="the van broke down")
    cancelled = history(west, second)
    assert who(cancelled) == [
        ("CREATED", "west", west_id),
        ("APPROVED", "west", west_id),
        ("CANCELLED", "west", west_id),
    ]
    assert cancelled[-1]["note"] == "the van broke down"

    third = rebalance(west)["transfers"][0]["id"]
    do(west, "rejectTransfers", ids=[third], reason="too dear")
    assert who(history(west, third))[-1] == ("REJECTED", "west", west_id)
    assert history(west, third)[-1]["note"] == "too dear"

    fourth = rebalance(west)["transfers"][0]["id"]
    do(west, "approveTransfers", ids=[fourth])
    do(n, "shipTransfer", id=fourth)
    do(s, "receiveTransfer", id=fourth, q=3)
    received = history(s, fourth)
    assert who(received) == [
        ("CREATED", "west", west_id),
        ("APPROVED", "west", west_id),
        ("SHIPPED", "n", n_id),
        ("RECEIVED", "s", s_id),
    ]
    assert received[-1]["note"] == "received 3 of 5; 2 lost"
    assert [e["at"] for e in received] == sorted(e["at"] for e in received)
    assert history(n, fourth) == received  # the sending site sees the same history

    # The backorder: created by S, covered and uncovered by the coordinator, filled (3 of 5) on receipt by S.
    assert who(history(s, backorder)) == [
        ("CREATED", "s", s_id),
        ("COVERED", "west", west_id),  # the second transfer approved
        ("OPEN", "west", west_id),  # ... and cancelled
        ("COVERED", "west", west_id),  # the fourth approved
        ("OPEN", "s", s_id),  # received: 3 filled, 2 lost
    ]
    assert history(s, backorder)[-1]["note"] == "3 unit(s) filled from stock; 3 fulfilled, 0 covered, 2 open"
    do(s, "cancelBackorder", id=backorder, reason="found some in the back")
    last = history(s, backorder)[-1]
    assert (last["action"], last["actor"], last["note"]) == ("CANCELLED", "s", "found some in the back")


def test_reorders_backorders_policies_and_lanes_keep_their_history(world: dict[str, Client], db: Database) -> None:
    admin, west, s = world["admin"], world["west"], world["s"]
    admin_id, west_id, s_id = token_id(admin), token_id(west), token_id(s)
    do(s, "placeOrder", sku="Y", q=4)
    ordered = rebalance(west)["reorders"][0]["id"]
    do(west, "approveReorders", ids=[ordered])
    do(s, "receiveReorder", id=ordered, q=4)
    assert who(history(west, ordered)) == [
        ("CREATED", "west", west_id),
        ("ORDERED", "west", west_id),
        ("RECEIVED", "s", s_id),
    ]
    do(s, "placeOrder", sku="Y", q=2)
    refused = rebalance(west)["reorders"][0]["id"]
    do(west, "rejectReorders", ids=[refused], reason="supplier out of stock")
    assert history(west, refused)[-1] | {"at": None} == {
        "at": None,
        "action": "REJECTED",
        "actor": "west",
        "actorTokenId": west_id,
        "note": "supplier out of stock",
        "changes": [],
    }

    level = do(world["n"], "setStockPolicy")["stockLevel"]["id"]
    # Everyone reads the network's stock levels, but who manages a site's policy is the site's and its region's.
    assert history(world["e"], level) == [] and history(world["east"], level) == []
    assert history(world["west"], level) == history(world["n"], level)
    (policy,) = history(world["n"], level)
    assert (policy["action"], policy["actor"], policy["actorTokenId"]) == ("POLICY_CHANGED", "n", token_id(world["n"]))
    assert policy["changes"] == [
        {"field": "safetyStock", "old": "0", "new": "2"},
        {"field": "reorderPoint", "old": "0", "new": "3"},
    ]
    do(world["n"], "setStockPolicy")  # the same values again: nothing changed, nothing recorded
    assert len(history(world["n"], level)) == 1

    do(admin, "setLane")
    (lane,) = admin.gql('{ lanes(region: "west") { ' + ENTRY + " } }")["lanes"]
    assert who(lane["history"]) == [("CREATED", "system", None), ("CHANGED", "test admin", admin_id)]
    assert lane["history"][1]["changes"] == [{"field": "unitCost", "old": "1.00", "new": "1.50"}]


def test_the_nightly_command_names_itself(world: dict[str, Client], db: Database) -> None:
    do(world["s"], "placeOrder", sku="X", q=5)
    with db.transaction() as session:
        round_ = nightly.run_region(session, "west", PlanMode.POOL_FIRST, True, parse_policy(["all"]))
        (transfer,) = round_.approved_transfers
    from api.graphql.base import global_id

    assert who(history(world["west"], global_id("Transfer", transfer))) == [
        ("CREATED", "nightly", None),
        ("APPROVED", "nightly", None),
    ]


def test_history_is_only_reachable_through_records_the_caller_may_see(world: dict[str, Client]) -> None:
    backorder = do(world["s"], "placeOrder", sku="X", q=5)["backorder"]["id"]
    transfer = rebalance(world["west"])["transfers"][0]["id"]
    for outsider in ("e", "east"):
        for record in (backorder, transfer):
            assert world[outsider].gql(HISTORY, {"id": record})["node"] is None
    # The sending site sees the transfer (and its history) but not the receiving site's backorder.
    assert world["n"].gql(HISTORY, {"id": backorder})["node"] is None
    assert [e["action"] for e in history(world["n"], transfer)] == ["CREATED"]
