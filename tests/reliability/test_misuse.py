"""Misuse over real HTTP: stale approvals, lifecycle steps out of order or by the wrong site, and bad input.

Every refused call answers 200 with a typed error in the payload (or, for a type-level fault, GraphQL validation
errors and no data), never a 5xx nor a masked "Unexpected error.", and leaves every row of the database as it was:
`snapshot` is taken before and compared after each refused call.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLField, GraphQLObjectType, build_schema, get_named_type, is_leaf_type
from sqlalchemy import select

from models import Backorder, StockLevel
from models.db import Database
from pooling import network
from pooling.audit import audit
from pooling.limits import MAX_IDS
from tests.api.conftest import Client, clients_by_role, operations
from tests.factories import build_network, receive
from tests.reliability.snapshot import snapshot

ROOT = Path(__file__).parents[2]
SCHEMA = build_schema((ROOT / "schema.graphql").read_text())
assert SCHEMA.mutation_type is not None
MUTATIONS: dict[str, GraphQLField] = dict(SCHEMA.mutation_type.fields)
VALIDATION = "validation"  # expected: a GraphQL validation error (a type-level fault), data null


def document(mutation: str) -> str:
    """The mutation with its one `input` variable, selecting every leaf of the payload and of its records."""
    field = MUTATIONS[mutation]
    payload = get_named_type(field.type)
    assert isinstance(payload, GraphQLObjectType)
    parts = []
    for name, sub in payload.fields.items():
        named = get_named_type(sub.type)
        if is_leaf_type(named):
            parts.append(name)
        else:
            assert isinstance(named, GraphQLObjectType)
            leaves = [n for n, f in named.fields.items() if is_leaf_type(get_named_type(f.type))]
            parts.append(f"{name} {{ {' '.join(leaves)} }}")
    return f"mutation M($input: {field.args['input'].type}) {{ {mutation}(input: $input) {{ {' '.join(parts)} }} }}"


def send(client: Client, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """POST as raw JSON (so NaN, huge numbers and lone surrogates go out as given); never a 5xx, never masked."""
    response = client.http.post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}),
        headers={"Authorization": f"Bearer {client.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert "Unexpected error." not in response.text, response.text
    return response.json()  # type: ignore[no-any-return]


def run(client: Client, mutation: str, **input: Any) -> dict[str, Any]:
    """A mutation that must succeed: its payload."""
    body = send(client, document(mutation), {"input": input})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"][mutation]
    assert result["errors"] == [], (mutation, result["errors"])
    return result


def refused(db: Database, client: Client, mutation: str, input: Any, expected: object) -> None:
    """Send a call that must be refused with `expected` ([(field, code)] or VALIDATION) and change nothing."""
    before = snapshot(db)
    body = send(client, document(mutation), {"input": input})
    if expected == VALIDATION:
        assert body.get("data") is None, body
        assert body["errors"] and all("path" not in e for e in body["errors"]), body  # refused before any resolver
    else:
        assert "errors" not in body, body
        result = body["data"][mutation]
        assert [(e["field"], e["code"]) for e in result["errors"]] == expected, result["errors"]
        assert all(e["message"] for e in result["errors"])
        assert all(value in (None, []) for key, value in result.items() if key != "errors"), result
    assert snapshot(db) == before, f"{mutation} {input!r} was refused but changed the database"


def clean(db: Database) -> None:
    with db.reading() as s:
        assert audit(s) == []


@pytest.fixture
def world(db: Database, server: str, admin: Client) -> dict[str, Client]:
    """west: N holds 10 of X, lane N -> S; east: E. Item Y nobody holds (it is bought). A client per role and site."""
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {"X": "10.00", "Y": "25.00"}, [("N", "S", "1.00", 6)])
    receive(db, "N", "X", 10)
    return clients_by_role(db, server, admin)


def saved_plan(world: dict[str, Client]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rebalance west for real: (transfers, reorders) with their ids, read back through the example operation."""
    data = world["west"].gql(operations()["Rebalance"], {"input": {"region": "west", "dryRun": False}})
    saved = data["rebalance"]["plan"]
    return saved["transfers"], saved["reorders"]


# --- Stale approval ----------------------------------------------------------------------------------------


def consume_eight(world: dict[str, Client], backorder: str) -> None:
    run(world["n"], "recordMovement", site="N", sku="X", quantity=-8, reason="CONSUMPTION")


def raise_safety_stock(world: dict[str, Client], backorder: str) -> None:
    run(world["n"], "setStockPolicy", site="N", sku="X", safetyStock=5, reorderPoint=5)


def cancel_the_backorder(world: dict[str, Client], backorder: str) -> None:
    run(world["s"], "cancelBackorder", id=backorder, reason="no longer needed")


def deliver_to_the_recipient(world: dict[str, Client], backorder: str) -> None:
    run(world["s"], "recordMovement", site="S", sku="X", quantity=10, reason="RECEIPT")


def close_the_lane(world: dict[str, Client], backorder: str) -> None:
    run(world["admin"], "setLane", fromSite="N", toSite="S", unitCost="1.00", leadTimeHours=6, active=False)


def cut_lane_capacity(world: dict[str, Client], backorder: str) -> None:
    run(world["admin"], "setLane", fromSite="N", toSite="S", unitCost="1.00", leadTimeHours=6, capacity=4)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (consume_eight, "INSUFFICIENT_STOCK"),
        (raise_safety_stock, "INSUFFICIENT_STOCK"),
        (cancel_the_backorder, "STALE_SUGGESTION"),
        (deliver_to_the_recipient, "STALE_SUGGESTION"),
        (close_the_lane, "STALE_SUGGESTION"),
        (cut_lane_capacity, "LANE_CAPACITY_EXCEEDED"),
    ],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_a_stale_transfer_is_refused_and_reserves_nothing(
    world: dict[str, Client], db: Database, change: Any, code: str
) -> None:
    """The plan moves 10 of X from N (and 10 of Z from M); then the world changes under the X suggestion.

    Approving both is all or nothing: the typed error names the stale one and not a unit is reserved or covered.
    """
    with db.transaction() as s:
        network.create_site(s, "M", "M laboratory", "west", 51.0, 0.0)
        network.create_item(s, "Z", "Z reagent", "5.00")
        network.set_lane(s, "M", "S", "1.00", 6)
    receive(db, "M", "Z", 10)
    backorder = run(world["s"], "placeOrder", site="S", sku="X", quantity=10)["backorder"]["id"]
    run(world["s"], "placeOrder", site="S", sku="Z", quantity=10)
    transfers, _ = saved_plan(world)
    by_sku = {t["item"]["sku"]: t for t in transfers}
    assert {sku: (t["fromSite"]["code"], t["quantity"]) for sku, t in by_sku.items()} == {
        "X": ("N", 10),
        "Z": ("M", 10),
    }
    change(world, backorder)

    refused(db, world["west"], "approveTransfers", {"ids": [by_sku["Z"]["id"], by_sku["X"]["id"]]}, [("ids", code)])
    with db.reading() as s:
        assert all(level.reserved == 0 for level in s.scalars(select(StockLevel)))
        assert all(b.covered == 0 for b in s.scalars(select(Backorder)))
    # A new plan sees the world as it is now, and its suggestions can be approved.
    fresh, _ = saved_plan(world)
    if fresh:
        run(world["west"], "approveTransfers", ids=[t["id"] for t in fresh])
    clean(db)


def test_a_stale_reorder_is_refused(world: dict[str, Client], db: Database) -> None:
    backorder = run(world["s"], "placeOrder", site="S", sku="Y", quantity=4)["backorder"]["id"]
    _, reorders = saved_plan(world)
    (reorder,) = reorders
    run(world["s"], "cancelBackorder", id=backorder)
    refused(db, world["west"], "approveReorders", {"ids": [reorder["id"]]}, [("ids", "STALE_SUGGESTION")])
    clean(db)


# --- State machine misuse ------------------------------------------------------------------------------------


def transfer_in(world: dict[str, Client], state: str) -> str:
    """A transfer of 5 of X from N to S, brought to `state` through the API."""
    run(world["s"], "placeOrder", site="S", sku="X", quantity=5)
    (transfer,), _ = saved_plan(world)
    tid = transfer["id"]
    if state == "SUPERSEDED":
        saved_plan(world)  # a newer saved plan supersedes the unapproved suggestion
    elif state == "REJECTED":
        run(world["west"], "rejectTransfers", ids=[tid], reason="courier strike")
    elif state != "SUGGESTED":
        run(world["west"], "approveTransfers", ids=[tid])
        if state == "CANCELLED":
            run(world["west"], "cancelTransfer", id=tid)
        elif state in ("SHIPPED", "RECEIVED"):
            run(world["n"], "shipTransfer", id=tid)
            if state == "RECEIVED":
                run(world["s"], "receiveTransfer", id=tid, quantityReceived=5)
    status = world["admin"].gql("query($id: ID!) { node(id: $id) { ... on Transfer { status } } }", {"id": tid})
    assert status["node"]["status"] == state
    return tid


STATE = "INVALID_STATE"

# By the transfer's state: (who acts, mutation, more input, the expected (field, code)).
TRANSFER_MISUSE: dict[str, list[tuple[str, str, dict[str, Any], tuple[str | None, str]]]] = {
    "SUGGESTED": [
        ("n", "shipTransfer", {}, ("id", STATE)),  # ship before approval
        ("s", "receiveTransfer", {"quantityReceived": 5}, ("id", STATE)),
        ("west", "cancelTransfer", {}, ("id", STATE)),
        ("s", "approveTransfers", {}, (None, "FORBIDDEN")),  # a site approves
        ("east", "approveTransfers", {}, ("ids", "NOT_FOUND")),  # another region's coordinator
    ],
    "APPROVED": [
        ("s", "receiveTransfer", {"quantityReceived": 5}, ("id", STATE)),  # receive before ship
        ("west", "approveTransfers", {}, ("ids", STATE)),  # approve twice
        ("west", "rejectTransfers", {}, ("ids", STATE)),
        ("s", "shipTransfer", {}, (None, "FORBIDDEN")),  # the receiving site ships
        ("n", "cancelTransfer", {}, (None, "FORBIDDEN")),
        ("e", "shipTransfer", {}, ("id", "NOT_FOUND")),  # a site of another region
    ],
    "SHIPPED": [
        ("n", "shipTransfer", {}, ("id", STATE)),  # ship twice
        ("west", "cancelTransfer", {}, ("id", STATE)),
        ("west", "approveTransfers", {}, ("ids", STATE)),
        ("s", "receiveTransfer", {"quantityReceived": 6}, ("quantityReceived", "INVALID_QUANTITY")),  # > shipped
        ("s", "receiveTransfer", {"quantityReceived": -1}, ("quantityReceived", "INVALID_QUANTITY")),
        ("n", "receiveTransfer", {"quantityReceived": 5}, (None, "FORBIDDEN")),  # the sending site receives
        ("east", "receiveTransfer", {"quantityReceived": 5}, ("id", "NOT_FOUND")),
    ],
    "RECEIVED": [
        ("s", "receiveTransfer", {"quantityReceived": 5}, ("id", STATE)),  # receive twice
        ("n", "shipTransfer", {}, ("id", STATE)),
        ("west", "cancelTransfer", {}, ("id", STATE)),
    ],
    "SUPERSEDED": [
        ("west", "approveTransfers", {}, ("ids", STATE)),
        ("west", "rejectTransfers", {}, ("ids", STATE)),
    ],
    "REJECTED": [
        ("west", "approveTransfers", {}, ("ids", STATE)),
        ("west", "rejectTransfers", {}, ("ids", STATE)),
    ],
    "CANCELLED": [
        ("n", "shipTransfer", {}, ("id", STATE)),  # ship a cancelled transfer
        ("west", "approveTransfers", {}, ("ids", STATE)),
        ("west", "cancelTransfer", {}, ("id", STATE)),
        ("s", "shipTransfer", {}, (None, "FORBIDDEN")),
    ],
}

# By the reorder's state, likewise.
REORDER_MISUSE: dict[str, list[tuple[str, str, dict[str, Any], tuple[str | None, str]]]] = {
    "SUGGESTED": [
        ("west", "receiveReorder", {"quantityReceived": 4}, ("id", STATE)),  # receive before ordering
        ("s", "approveReorders", {}, (None, "FORBIDDEN")),
        ("s", "rejectReorders", {}, (None, "FORBIDDEN")),
    ],
    "ORDERED": [
        ("west", "approveReorders", {}, ("ids", STATE)),  # order twice
        ("west", "rejectReorders", {}, ("ids", STATE)),
        ("west", "receiveReorder", {"quantityReceived": -1}, ("quantityReceived", "INVALID_QUANTITY")),
        ("n", "receiveReorder", {"quantityReceived": 4}, ("id", "NOT_FOUND")),  # another site's delivery
        ("east", "receiveReorder", {"quantityReceived": 4}, ("id", "NOT_FOUND")),
    ],
    "RECEIVED": [
        ("west", "receiveReorder", {"quantityReceived": 4}, ("id", STATE)),  # receive twice
        ("west", "approveReorders", {}, ("ids", STATE)),
    ],
    "REJECTED": [
        ("west", "approveReorders", {}, ("ids", STATE)),
        ("west", "receiveReorder", {"quantityReceived": 4}, ("id", STATE)),
    ],
    "SUPERSEDED": [
        ("west", "approveReorders", {}, ("ids", STATE)),
        ("west", "rejectReorders", {}, ("ids", STATE)),
    ],
}


def misuse(
    db: Database,
    world: dict[str, Client],
    subtests: pytest.Subtests,
    record: str,
    cases: list[tuple[str, str, dict[str, Any], tuple[str | None, str]]],
) -> None:
    for actor, mutation, extra, expected in cases:
        with subtests.test(msg=f"{actor} {mutation} {extra}"):
            takes_ids = "ids" in get_named_type(MUTATIONS[mutation].args["input"].type).fields  # type: ignore[union-attr]
            ids = {"ids": [record]} if takes_ids else {"id": record}
            refused(db, world[actor], mutation, {**ids, **extra}, [expected])
    clean(db)


@pytest.mark.parametrize("state", TRANSFER_MISUSE)
def test_transfer_lifecycle_misuse_is_refused_with_its_own_code(
    world: dict[str, Client], db: Database, subtests: pytest.Subtests, state: str
) -> None:
    misuse(db, world, subtests, transfer_in(world, state), TRANSFER_MISUSE[state])


def reorder_in(world: dict[str, Client], state: str) -> str:
    """A reorder of 4 of Y for S, brought to `state` through the API."""
    run(world["s"], "placeOrder", site="S", sku="Y", quantity=4)
    _, (reorder,) = saved_plan(world)
    rid = reorder["id"]
    if state == "SUPERSEDED":
        saved_plan(world)
    elif state == "REJECTED":
        run(world["west"], "rejectReorders", ids=[rid])
    elif state != "SUGGESTED":
        run(world["west"], "approveReorders", ids=[rid])
        if state == "RECEIVED":
            run(world["west"], "receiveReorder", id=rid, quantityReceived=4)
    status = world["admin"].gql("query($id: ID!) { node(id: $id) { ... on Reorder { status } } }", {"id": rid})
    assert status["node"]["status"] == state
    return rid


@pytest.mark.parametrize("state", REORDER_MISUSE)
def test_reorder_lifecycle_misuse_is_refused_with_its_own_code(
    world: dict[str, Client], db: Database, subtests: pytest.Subtests, state: str
) -> None:
    misuse(db, world, subtests, reorder_in(world, state), REORDER_MISUSE[state])


@pytest.mark.parametrize("how", ["cancelled", "fulfilled", "another site's"])
def test_a_closed_or_foreign_backorder_cannot_be_cancelled(world: dict[str, Client], db: Database, how: str) -> None:
    backorder = run(world["s"], "placeOrder", site="S", sku="X", quantity=3)["backorder"]["id"]
    expected, actor = [("id", STATE)], "s"
    if how == "cancelled":
        run(world["s"], "cancelBackorder", id=backorder)
    elif how == "fulfilled":
        run(world["s"], "recordMovement", site="S", sku="X", quantity=3, reason="RECEIPT")
    else:
        expected, actor = [("id", "NOT_FOUND")], "n"
    refused(db, world[actor], "cancelBackorder", {"id": backorder}, expected)
    clean(db)


# --- Bad input, for every mutation ----------------------------------------------------------------------------

LONG = 10_000
TOO_MANY = MAX_IDS + 1


def wrong_kind(kind: str, pk: int = 1) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode()


SITE = {"code": "Q", "name": "Q lab", "region": "west"}
ITEM = {"sku": "Q", "name": "Q kit", "unitCost": "1.00"}
LANE = {"fromSite": "S", "toSite": "N", "unitCost": "1.00", "leadTimeHours": 6}
POLICY = {"site": "N", "sku": "X", "safetyStock": 2, "reorderPoint": 3}
MOVE = {"site": "N", "sku": "X", "quantity": 3, "reason": "RECEIPT"}
ORDER = {"site": "S", "sku": "X", "quantity": 3}

# (mutation, input, expected); "{transfer}", "{reorder}" and "{backorder}" stand for the ids of `records`.
# Each input is otherwise valid, so its one fault is what is refused.
SHARING = {"site": "N", "sku": "X", "share": "SURPLUS", "keepDaysOfCover": 7, "maxUnitsPerPlan": 5}
BAD_INPUT: list[tuple[str, dict[str, Any], object]] = [
    ("createSite", {**SITE, "code": ""}, [("code", "INVALID")]),
    ("createSite", {**SITE, "code": "   "}, [("code", "INVALID")]),
    ("createSite", {**SITE, "name": "n" * 201}, [("name", "INVALID")]),
    ("createSite", {**SITE, "region": "r" * 65}, [("region", "INVALID")]),
    ("createSite", {**SITE, "latitude": 90.5}, [("latitude", "INVALID")]),
    ("createSite", {**SITE, "longitude": -1e308}, [("longitude", "INVALID")]),
    ("createSite", {**SITE, "code": "N"}, [("code", "DUPLICATE")]),
    ("createSite", {**SITE, "latitude": float("nan")}, VALIDATION),
    ("createSite", {**SITE, "code": 42}, VALIDATION),
    ("createSite", {"code": "Q", "name": "Q lab"}, VALIDATION),
    ("createSite", {**SITE, "colour": "red"}, VALIDATION),
    ("createSite", {**SITE, "code": "Q\x00"}, VALIDATION),
    ("createSite", {**SITE, "name": "\ud800"}, VALIDATION),
    ("createItem", {**ITEM, "unitCost": "-1.00"}, [("unitCost", "INVALID")]),
    ("createItem", {**ITEM, "unitCost": "0.001"}, [("unitCost", "INVALID")]),
    ("createItem", {**ITEM, "unitCost": "NaN"}, [("unitCost", "INVALID")]),
    ("createItem", {**ITEM, "unitCost": "1e400"}, [("unitCost", "INVALID")]),
    ("createItem", {**ITEM, "unitCost": "cheap"}, VALIDATION),
    ("createItem", {**ITEM, "sku": "s" * 65}, [("sku", "INVALID")]),
    ("createItem", {**ITEM, "unit": "u" * 33}, [("unit", "INVALID")]),
    ("createItem", {**ITEM, "sku": "X"}, [("sku", "DUPLICATE")]),
    ("createItem", {**ITEM, "supplierLeadTimeDays": -1}, [("supplierLeadTimeDays", "INVALID")]),
    ("createItem", {**ITEM, "supplierLeadTimeDays": 3651}, [("supplierLeadTimeDays", "INVALID")]),
    ("createItem", {**ITEM, "supplierLeadTimeDays": 2**31}, VALIDATION),
    ("createItem", {**ITEM, "purchasable": "yes"}, VALIDATION),
    ("setLane", {**LANE, "fromSite": "NOPE"}, [("fromSite", "NOT_FOUND")]),
    ("setLane", {**LANE, "toSite": "S"}, [("toSite", "INVALID")]),
    ("setLane", {**LANE, "leadTimeHours": -1}, [("leadTimeHours", "INVALID")]),
    ("setLane", {**LANE, "leadTimeHours": 8761}, [("leadTimeHours", "INVALID")]),
    ("setLane", {**LANE, "capacity": 0}, [("capacity", "INVALID_QUANTITY")]),
    ("setLane", {**LANE, "capacity": -5}, [("capacity", "INVALID_QUANTITY")]),
    ("setLane", {**LANE, "capacity": 10**9 + 1}, [("capacity", "INVALID_QUANTITY")]),
    ("setLane", {**LANE, "unitCost": "-0.01"}, [("unitCost", "INVALID")]),
    ("setLane", {**LANE, "leadTimeHours": 1.5}, VALIDATION),
    ("createApiToken", {"name": "", "role": "ADMIN"}, [("name", "INVALID")]),
    ("createApiToken", {"name": "t" * 201, "role": "ADMIN"}, [("name", "INVALID")]),
    ("createApiToken", {"name": "t", "role": "ROOT"}, VALIDATION),
    ("createApiToken", {"name": "t", "role": "SITE"}, [("site", "INVALID")]),
    ("createApiToken", {"name": "t", "role": "SITE", "site": "NOPE"}, [("site", "NOT_FOUND")]),
    ("createApiToken", {"name": "t", "role": "SITE", "site": "N", "region": "west"}, [("region", "INVALID")]),
    ("createApiToken", {"name": "t", "role": "COORDINATOR"}, [("region", "INVALID")]),
    ("createApiToken", {"name": "t", "role": "COORDINATOR", "region": "mars"}, [("region", "NOT_FOUND")]),
    ("createApiToken", {"name": "t", "role": "ADMIN", "site": "N"}, [("site", "INVALID")]),
    ("revokeApiToken", {"id": "garbage"}, [("id", "NOT_FOUND")]),
    ("revokeApiToken", {"id": wrong_kind("Site")}, [("id", "NOT_FOUND")]),
    ("revokeApiToken", {"id": wrong_kind("ApiToken", 999_999)}, [("id", "NOT_FOUND")]),
    ("revokeApiToken", {"id": None}, VALIDATION),
    ("setStockPolicy", {**POLICY, "safetyStock": -1}, [("safetyStock", "INVALID_QUANTITY")]),
    ("setStockPolicy", {**POLICY, "reorderPoint": 10**9 + 1}, [("reorderPoint", "INVALID_QUANTITY")]),
    ("setStockPolicy", {**POLICY, "site": "NOPE"}, [("site", "NOT_FOUND")]),
    ("setStockPolicy", {**POLICY, "sku": "NOPE"}, [("sku", "NOT_FOUND")]),
    ("setStockPolicy", {**POLICY, "safetyStock": "2"}, VALIDATION),
    ("setSharingPolicy", {**SHARING, "keepDaysOfCover": -1}, [("keepDaysOfCover", "INVALID")]),
    ("setSharingPolicy", {**SHARING, "keepDaysOfCover": 10**6}, [("keepDaysOfCover", "INVALID")]),
    ("setSharingPolicy", {**SHARING, "maxUnitsPerPlan": -1}, [("maxUnitsPerPlan", "INVALID_QUANTITY")]),
    ("setSharingPolicy", {**SHARING, "maxUnitsPerPlan": 10**9 + 1}, [("maxUnitsPerPlan", "INVALID_QUANTITY")]),
    ("setSharingPolicy", {**SHARING, "share": "NEVER"}, [("share", "INVALID")]),
    ("setSharingPolicy", {**SHARING, "site": "NOPE"}, [("site", "NOT_FOUND")]),
    ("setSharingPolicy", {**SHARING, "sku": "NOPE"}, [("sku", "NOT_FOUND")]),
    ("setSharingPolicy", {**SHARING, "share": "SOMETIMES"}, VALIDATION),
    ("recordMovement", {**MOVE, "quantity": 0}, [("quantity", "INVALID_QUANTITY")]),
    ("recordMovement", {**MOVE, "quantity": -3}, [("quantity", "INVALID_QUANTITY")]),
    ("recordMovement", {**MOVE, "reason": "CONSUMPTION"}, [("quantity", "INVALID_QUANTITY")]),
    ("recordMovement", {**MOVE, "quantity": 10**9 + 1}, [("quantity", "INVALID_QUANTITY")]),
    ("recordMovement", {**MOVE, "quantity": -11, "reason": "DAMAGE"}, [("quantity", "INSUFFICIENT_STOCK")]),
    ("recordMovement", {**MOVE, "reason": "TRANSFER_IN"}, [("reason", "INVALID")]),
    ("recordMovement", {**MOVE, "note": "n" * 501}, [("note", "INVALID")]),
    ("recordMovement", {**MOVE, "site": "S" * LONG}, [("site", "NOT_FOUND")]),
    ("recordMovement", {**MOVE, "reason": "THEFT"}, VALIDATION),
    ("recordMovement", {**MOVE, "quantity": 2.5}, VALIDATION),
    ("recordMovement", {**MOVE, "quantity": 2**31}, VALIDATION),
    ("recordMovement", {**MOVE, "note": "a\x00b"}, VALIDATION),
    ("placeOrder", {**ORDER, "neededBy": "2026-12-01T08:00:00"}, [("neededBy", "INVALID")]),
    ("placeOrder", {**ORDER, "neededBy": "0001-01-01T00:00:00+01:00"}, [("neededBy", "INVALID")]),
    ("placeOrder", {**ORDER, "neededBy": "9999-12-31T23:00:00-14:00"}, [("neededBy", "INVALID")]),
    ("placeOrder", {**ORDER, "neededBy": "soon"}, VALIDATION),
    ("placeOrder", {**ORDER, "priority": "URGENT"}, VALIDATION),
    ("placeOrder", {**ORDER, "quantity": "3"}, VALIDATION),
    ("placeOrder", {**ORDER, "quantity": None}, VALIDATION),
    ("placeOrder", {**ORDER, "quantity": -(2**31) - 1}, VALIDATION),
    ("placeOrder", {**ORDER, "reference": "\x00"}, VALIDATION),
    ("cancelBackorder", {"id": "garbage"}, [("id", "NOT_FOUND")]),
    ("cancelBackorder", {"id": "{transfer}"}, [("id", "NOT_FOUND")]),
    ("cancelBackorder", {"id": "{backorder}", "reason": "r" * 501}, [("reason", "INVALID")]),
    ("rebalance", {"region": "mars"}, [("region", "NOT_FOUND")]),
    ("rebalance", {"region": "r" * LONG}, [("region", "NOT_FOUND")]),
    ("rebalance", {"region": "west", "skus": ["NOPE"], "dryRun": False}, [("skus", "NOT_FOUND")]),
    ("rebalance", {"region": "west", "skus": ["X"] * TOO_MANY, "dryRun": False}, [("skus", "INVALID")]),
    ("rebalance", {"region": "west", "mode": "CHEAPEST"}, VALIDATION),
    ("rebalance", {"region": "west", "dryRun": "no"}, VALIDATION),
    ("approveTransfers", {"ids": []}, [("ids", "INVALID")]),
    ("approveTransfers", {"ids": ["{transfer}"] * TOO_MANY}, [("ids", "INVALID")]),
    ("approveTransfers", {"ids": ["{transfer}", "garbage"]}, [("ids", "NOT_FOUND")]),
    ("approveTransfers", {"ids": ["{reorder}"]}, [("ids", "NOT_FOUND")]),
    ("approveTransfers", {"ids": [None]}, VALIDATION),
    ("rejectTransfers", {"ids": ["{transfer}"], "reason": "r" * 501}, [("reason", "INVALID")]),
    ("rejectTransfers", {"ids": []}, [("ids", "INVALID")]),
    ("rejectTransfers", {"ids": ["{transfer}"] * TOO_MANY}, [("ids", "INVALID")]),
    ("shipTransfer", {"id": "garbage"}, [("id", "NOT_FOUND")]),
    ("shipTransfer", {"id": ""}, [("id", "NOT_FOUND")]),
    ("shipTransfer", {"id": "x" * LONG}, [("id", "NOT_FOUND")]),
    ("shipTransfer", {"id": ["{transfer}"]}, VALIDATION),
    (
        "receiveTransfer",
        {"id": "{transfer}", "quantityReceived": 10**9 + 1},
        [("quantityReceived", "INVALID_QUANTITY")],
    ),
    ("receiveTransfer", {"id": "garbage", "quantityReceived": 1}, [("id", "NOT_FOUND")]),
    ("receiveTransfer", {"id": "{transfer}", "quantityReceived": "5"}, VALIDATION),
    ("cancelTransfer", {"id": "{transfer}", "reason": "r" * 501}, [("reason", "INVALID")]),
    ("cancelTransfer", {"id": wrong_kind("Transfer", 2**62)}, [("id", "NOT_FOUND")]),
    ("cancelTransfer", {"id": "{transfer}", "reason": 5}, VALIDATION),
    ("approveReorders", {"ids": []}, [("ids", "INVALID")]),
    ("approveReorders", {"ids": ["{reorder}"] * TOO_MANY}, [("ids", "INVALID")]),
    ("approveReorders", {"ids": ["{transfer}"]}, [("ids", "NOT_FOUND")]),
    ("rejectReorders", {"ids": ["{reorder}"], "reason": "r" * 501}, [("reason", "INVALID")]),
    ("rejectReorders", {"ids": ["{reorder}"] * TOO_MANY}, [("ids", "INVALID")]),
    ("rejectReorders", {"ids": ["garbage"]}, [("ids", "NOT_FOUND")]),
    ("receiveReorder", {"id": "{reorder}", "quantityReceived": -1}, [("quantityReceived", "INVALID_QUANTITY")]),
    ("receiveReorder", {"id": "{reorder}", "quantityReceived": 10**9 + 1}, [("quantityReceived", "INVALID_QUANTITY")]),
    ("receiveReorder", {"id": "{backorder}", "quantityReceived": 1}, [("id", "NOT_FOUND")]),
    ("createWebhook", {"url": "ftp://a.example/h", "kinds": ["PLAN_SAVED"]}, [("url", "INVALID")]),
    ("createWebhook", {"url": "https://a.example/" + "x" * 2000, "kinds": ["PLAN_SAVED"]}, [("url", "INVALID")]),
    ("createWebhook", {"url": "https://a.example/h", "kinds": []}, [("kinds", "INVALID")]),
    ("createWebhook", {"url": "https://a.example/h", "kinds": ["EVERYTHING"]}, VALIDATION),
    ("createWebhook", {"url": "https://a.example/h", "kinds": ["PLAN_SAVED"], "site": "NOPE"}, [("site", "NOT_FOUND")]),
    ("setWebhookActive", {"id": "garbage", "active": False}, [("id", "NOT_FOUND")]),
    ("setWebhookActive", {"id": wrong_kind("Site"), "active": True}, [("id", "NOT_FOUND")]),
    ("deleteWebhook", {"id": wrong_kind("Webhook", 999_999)}, [("id", "NOT_FOUND")]),
    ("deleteWebhook", {"id": None}, VALIDATION),
]


def fill(value: Any, records: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in records:
        return records[value[1:-1]]
    if isinstance(value, list):
        return [fill(v, records) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, records) for k, v in value.items()}
    return value


@pytest.fixture
def records(world: dict[str, Client]) -> dict[str, str]:
    """A suggested transfer (5 of X, N -> S), a suggested reorder (4 of Y for S) and an open backorder."""
    backorder = run(world["s"], "placeOrder", site="S", sku="X", quantity=5)["backorder"]["id"]
    run(world["s"], "placeOrder", site="S", sku="Y", quantity=4)
    (transfer,), (reorder,) = saved_plan(world)
    return {"transfer": transfer["id"], "reorder": reorder["id"], "backorder": backorder}


def test_every_mutation_has_bad_input_cases() -> None:
    assert {mutation for mutation, _, _ in BAD_INPUT} == set(MUTATIONS)


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_bad_input_is_refused_and_changes_nothing(
    world: dict[str, Client], db: Database, subtests: pytest.Subtests, request: pytest.FixtureRequest, mutation: str
) -> None:
    cases = [(input, expected) for m, input, expected in BAD_INPUT if m == mutation]
    assert cases
    records = request.getfixturevalue("records") if "{" in repr(cases) else {}
    for input, expected in cases:
        with subtests.test(msg=repr(input)[:200]):
            refused(db, world["admin"], mutation, fill(input, records), expected)
    clean(db)


@pytest.mark.parametrize(
    ("mutation", "field", "value"),
    [
        ("approveTransfers", "ids", "garbage"),
        ("rejectTransfers", "ids", "garbage"),
        ("approveReorders", "ids", "garbage"),
        ("rejectReorders", "ids", "garbage"),
        ("rebalance", "skus", "NOPE"),
    ],
)
def test_list_arguments_take_at_most_the_documented_maximum(
    world: dict[str, Client], db: Database, mutation: str, field: str, value: str
) -> None:
    """MAX_IDS entries are looked at (the unknown one is NOT_FOUND); one more is refused before any lookup."""
    base = {"region": "west", "dryRun": False} if mutation == "rebalance" else {}
    refused(db, world["admin"], mutation, {**base, field: [value] * MAX_IDS}, [(field, "NOT_FOUND")])
    refused(db, world["admin"], mutation, {**base, field: [value] * (MAX_IDS + 1)}, [(field, "INVALID")])
    api = (ROOT / "README.md").read_text().split("## The API in brief")[1].split("\n## ")[0]
    assert f"{MAX_IDS} ids or skus per list argument" in api


def test_query_status_lists_of_any_length_are_answered(world: dict[str, Client], records: dict[str, str]) -> None:
    """An enum list is a set: a huge repeated one (more values than PostgreSQL takes parameters) still answers."""
    for field, kind, status, found in (
        ("backorders", "BackorderStatus", "OPEN", 2),
        ("transfers", "TransferStatus", "SUGGESTED", 1),
        ("reorders", "ReorderStatus", "SUGGESTED", 1),
    ):
        query = f"query($s: [{kind}!]) {{ {field}(status: $s) {{ edges {{ node {{ id }} }} }} }}"
        body = send(world["admin"], query, {"s": [status] * 70_000})
        assert "errors" not in body, body["errors"]
        assert len(body["data"][field]["edges"]) == found


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (
            'mutation { recordMovement(input: {site: "N", sku: "X", quantity: 1, reason: RECEIPT, note: "a\\u0000b"})'
            " { errors { code } } }",
            {},
        ),
        ('query { sites(region: "\\u0000") { edges { node { id } } } }', {}),
        ("query($r: String) { sites(region: $r) { edges { node { id } } } }", {"r": "west\ud800"}),
    ],
    ids=["NUL in a mutation's literal", "NUL in a query's literal", "unpaired surrogate in a query's variable"],
)
def test_unstorable_text_anywhere_is_refused_before_any_resolver(
    world: dict[str, Client], db: Database, query: str, variables: dict[str, Any]
) -> None:
    before = snapshot(db)
    body = send(world["admin"], query, variables)
    assert body["data"] is None and [e["extensions"]["code"] for e in body["errors"]] == ["INVALID"], body
    assert "NUL" in body["errors"][0]["message"]
    assert snapshot(db) == before
