"""What a refusal says, over HTTP: records by the opaque id the client knows (never an internal number), plain
English (lower-case states, the right article), and a dry run's ids explained rather than merely not found."""

from __future__ import annotations

from typing import Any

import pytest

from models.db import Database
from tests.api.conftest import Client, clients_by_role
from tests.factories import build_network, receive


@pytest.fixture
def world(db: Database, server: str, admin: Client) -> dict[str, Client]:
    """west: N (40 of X) -> S; east: E."""
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {"X": "10.00"}, [("N", "S", "1.00", 6)])
    receive(db, "N", "X", 40)
    return clients_by_role(db, server, admin)


def payload(client: Client, name: str, **variables: Any) -> dict[str, Any]:
    (result,) = client.op(name, **variables).values()
    return result  # type: ignore[no-any-return]


def done(client: Client, name: str, **variables: Any) -> dict[str, Any]:
    result = payload(client, name, **variables)
    assert result["errors"] == [], result
    return result


def refused(client: Client, name: str, **variables: Any) -> tuple[str, str]:
    """(code, message) of the one error of an example mutation."""
    ((error),) = payload(client, name, **variables)["errors"]
    return error["code"], error["message"]


def saved_plan(world: dict[str, Client], quantity: int = 5) -> tuple[str, str, str]:
    """S orders `quantity` of X; a saved plan moves it from N. (backorder id, transfer id, reorder id or "")."""
    backorder = done(world["s"], "PlaceOrder", input={"site": "S", "sku": "X", "quantity": quantity})["backorder"]
    plan = done(world["west"], "Rebalance", input={"region": "west", "dryRun": False})["plan"]
    reorder = plan["reorders"][0]["id"] if plan["reorders"] else ""
    return backorder["id"], plan["transfers"][0]["id"], reorder


def test_a_transfer_in_the_wrong_state_is_named_by_its_id_in_plain_english(world: dict[str, Client]) -> None:
    _, transfer, _ = saved_plan(world)
    assert refused(world["n"], "ShipTransfer", input={"id": transfer}) == (
        "INVALID_STATE",
        f"Transfer {transfer} is suggested; only an approved transfer can be shipped.",
    )
    done(world["west"], "ApproveTransfers", input={"ids": [transfer]})
    done(world["n"], "ShipTransfer", input={"id": transfer})
    assert refused(world["n"], "ShipTransfer", input={"id": transfer}) == (
        "INVALID_STATE",
        f"Transfer {transfer} is shipped; only an approved transfer can be shipped.",
    )
    assert refused(world["west"], "ApproveTransfers", input={"ids": [transfer]}) == (
        "INVALID_STATE",
        f"Transfer {transfer} is shipped; only a suggested transfer can be approved.",
    )
    assert refused(world["s"], "ReceiveTransfer", input={"id": transfer, "quantityReceived": 6}) == (
        "INVALID_QUANTITY",
        f"Transfer {transfer} shipped 5 unit(s); received must be 0 to 5.",
    )


def test_a_stale_suggestion_names_the_transfer_and_the_backorder_by_their_ids(world: dict[str, Client]) -> None:
    backorder, transfer, _ = saved_plan(world)
    done(world["s"], "CancelBackorder", input={"id": backorder})
    assert refused(world["west"], "ApproveTransfers", input={"ids": [transfer]}) == (
        "STALE_SUGGESTION",
        f"Transfer {transfer} covers 5 unit(s) of backorder {backorder}, which now has 0 open (cancelled). "
        "Run a new rebalance.",
    )
    assert refused(world["s"], "CancelBackorder", input={"id": backorder}) == (
        "INVALID_STATE",
        f"Backorder {backorder} is already cancelled.",
    )


def test_a_reorder_in_the_wrong_state_is_named_by_its_id(world: dict[str, Client]) -> None:
    _, _, reorder = saved_plan(world, quantity=45)  # N spares 40: 5 are bought
    assert refused(world["s"], "ReceiveReorder", input={"id": reorder, "quantityReceived": 5}) == (
        "INVALID_STATE",
        f"Reorder {reorder} is suggested; only an ordered reorder can be received.",
    )
    done(world["west"], "ApproveReorders", input={"ids": [reorder]})
    assert refused(world["west"], "ApproveReorders", input={"ids": [reorder]}) == (
        "INVALID_STATE",
        f"Reorder {reorder} is ordered; only a suggested reorder can be approved.",
    )


def test_a_revoked_token_is_named_by_its_id(world: dict[str, Client]) -> None:
    revoke = "mutation R($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) { errors { code message } } }"
    token = world["n"].gql("{ me { id } }")["me"]["id"]
    assert world["admin"].gql(revoke, {"input": {"id": token}})["revokeApiToken"]["errors"] == []
    assert world["admin"].gql(revoke, {"input": {"id": token}})["revokeApiToken"]["errors"] == [
        {"code": "INVALID_STATE", "message": f"Token {token} is already revoked."}
    ]


def test_a_dry_runs_ids_are_said_to_be_of_a_plan_that_was_not_saved(world: dict[str, Client]) -> None:
    done(world["s"], "PlaceOrder", input={"site": "S", "sku": "X", "quantity": 45})
    plan = done(world["west"], "Rebalance", input={"region": "west", "dryRun": True})["plan"]
    transfer, reorder = plan["transfers"][0]["id"], plan["reorders"][0]["id"]
    assert refused(world["west"], "ApproveTransfers", input={"ids": [transfer]}) == (
        "NOT_FOUND",
        f"{transfer!r} is a transfer of a dry run, and dry-run plans are not saved: rebalance with dryRun: false "
        "for transfers that can be approved.",
    )
    assert refused(world["west"], "ApproveReorders", input={"ids": [reorder]}) == (
        "NOT_FOUND",
        f"{reorder!r} is a reorder of a dry run, and dry-run plans are not saved: rebalance with dryRun: false "
        "for reorders that can be approved.",
    )
    code, message = refused(world["n"], "ShipTransfer", input={"id": transfer})
    assert code == "NOT_FOUND" and "dry-run plans are not saved" in message
