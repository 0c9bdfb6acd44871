"""Typed errors for what must not happen, each leaving the database exactly as it was."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import BackorderStatus, Base, MovementReason, Priority, StockLevel, TransferStatus
from models.db import Database
from pooling import orders, rebalance, reorders, stock, transfers
from pooling.errors import ErrorCode, PoolingError
from tests.factories import build_network, receive


def fingerprint(db: Database) -> str:
    """A hash of every row of every table."""
    digest = hashlib.sha256()
    with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(table.select().order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def refused(db: Database, operation: Callable[[Session], object], code: ErrorCode, field: str | None = None) -> None:
    before = fingerprint(db)
    with pytest.raises(PoolingError) as caught, db.transaction() as s:
        operation(s)
    assert caught.value.code == code, caught.value
    if field is not None:
        assert caught.value.field == field
    assert caught.value.message
    assert fingerprint(db) == before


@pytest.fixture
def world(db: Database) -> dict[str, int]:
    """A donor A with 10 spare units of X, a backorder of 6 at B, and a saved plan suggesting A -> B."""
    build_network(db, {"A": "west", "B": "west", "C": "east"}, {"X": "20.00", "Y": "5.00"}, [("A", "B", "1.00", 6)])
    receive(db, "A", "X", 10)
    with db.transaction() as s:
        backorder = orders.place_order(s, "B", "X", 6, Priority.HIGH).backorder
        orders.place_order(s, "B", "Y", 3)
        plan = rebalance.rebalance(s, "west", dry_run=False)
        transfer = plan.transfers[0].id
        reorder = plan.reorders[0].id
    return {"backorder": backorder.id, "transfer": transfer, "reorder": reorder}


def test_bad_input_is_refused_with_its_field(db: Database, world: dict[str, int]) -> None:
    refused(db, lambda s: orders.place_order(s, "B", "X", 0), ErrorCode.INVALID_QUANTITY, "quantity")
    refused(db, lambda s: orders.place_order(s, "B", "X", -3), ErrorCode.INVALID_QUANTITY, "quantity")
    refused(db, lambda s: orders.place_order(s, "B", "X", 10**12), ErrorCode.INVALID_QUANTITY, "quantity")
    refused(db, lambda s: orders.place_order(s, "NOPE", "X", 1), ErrorCode.NOT_FOUND, "site")
    refused(db, lambda s: orders.place_order(s, "B", "NOPE", 1), ErrorCode.NOT_FOUND, "sku")
    naive = datetime(2026, 12, 1)
    refused(db, lambda s: orders.place_order(s, "B", "X", 1, needed_by=naive), ErrorCode.INVALID, "needed_by")
    refused(db, lambda s: orders.place_order(s, "B", "X", 1, reference="r" * 201), ErrorCode.INVALID, "reference")
    refused(
        db,
        lambda s: stock.record_movement(s, "A", "X", 5, MovementReason.CONSUMPTION),
        ErrorCode.INVALID_QUANTITY,
        "quantity",
    )
    refused(
        db,
        lambda s: stock.record_movement(s, "A", "X", -11, MovementReason.CONSUMPTION),
        ErrorCode.INSUFFICIENT_STOCK,
        "quantity",
    )
    refused(
        db, lambda s: stock.record_movement(s, "A", "X", 5, MovementReason.TRANSFER_IN), ErrorCode.INVALID, "reason"
    )
    refused(db, lambda s: stock.set_stock_policy(s, "A", "X", -1, 0), ErrorCode.INVALID_QUANTITY, "safety_stock")
    refused(db, lambda s: rebalance.rebalance(s, "nowhere"), ErrorCode.NOT_FOUND, "region")
    refused(db, lambda s: rebalance.rebalance(s, "west", skus=["NOPE"]), ErrorCode.NOT_FOUND, "skus")
    refused(db, lambda s: transfers.approve_transfers(s, []), ErrorCode.INVALID, "ids")
    refused(db, lambda s: transfers.approve_transfers(s, [world["transfer"], 999_999]), ErrorCode.NOT_FOUND, "ids")


def test_state_machine_misuse(db: Database, world: dict[str, int]) -> None:
    t = world["transfer"]
    refused(db, lambda s: transfers.ship_transfer(s, t), ErrorCode.INVALID_STATE)
    refused(db, lambda s: transfers.receive_transfer(s, t, 6), ErrorCode.INVALID_STATE)
    refused(db, lambda s: transfers.cancel_transfer(s, t), ErrorCode.INVALID_STATE)
    refused(db, lambda s: reorders.receive_reorder(s, world["reorder"], 3), ErrorCode.INVALID_STATE)
    with db.transaction() as s:
        transfers.approve_transfers(s, [t])
    refused(db, lambda s: transfers.approve_transfers(s, [t]), ErrorCode.INVALID_STATE, "ids")
    refused(db, lambda s: transfers.reject_transfers(s, [t]), ErrorCode.INVALID_STATE, "ids")
    with db.transaction() as s:
        transfers.ship_transfer(s, t)
    refused(db, lambda s: transfers.ship_transfer(s, t), ErrorCode.INVALID_STATE)
    refused(db, lambda s: transfers.receive_transfer(s, t, 7), ErrorCode.INVALID_QUANTITY, "quantity_received")
    refused(db, lambda s: transfers.receive_transfer(s, t, -1), ErrorCode.INVALID_QUANTITY, "quantity_received")
    with db.transaction() as s:
        transfers.receive_transfer(s, t, 6)
    refused(db, lambda s: transfers.receive_transfer(s, t, 6), ErrorCode.INVALID_STATE)
    refused(db, lambda s: orders.cancel_backorder(s, world["backorder"]), ErrorCode.INVALID_STATE)


def test_stale_approval_reserves_nothing(db: Database, world: dict[str, int]) -> None:
    """The plan suggested 6 units from A; A then consumes 8 of its 10: approval must fail, not oversell."""
    with db.transaction() as s:
        stock.record_movement(s, "A", "X", -8, MovementReason.CONSUMPTION)
    refused(db, lambda s: transfers.approve_transfers(s, [world["transfer"]]), ErrorCode.INSUFFICIENT_STOCK)


def test_approving_for_a_cancelled_backorder_is_stale(db: Database, world: dict[str, int]) -> None:
    with db.transaction() as s:
        orders.cancel_backorder(s, world["backorder"], "no longer needed")
    refused(db, lambda s: transfers.approve_transfers(s, [world["transfer"]]), ErrorCode.STALE_SUGGESTION)
    refused(
        db, lambda s: reorders.approve_reorders(s, [world["reorder"], world["transfer"] + 1000]), ErrorCode.NOT_FOUND
    )


def test_a_superseded_suggestion_cannot_be_approved(db: Database, world: dict[str, int]) -> None:
    with db.transaction() as s:
        rebalance.rebalance(s, "west", dry_run=False)
    refused(db, lambda s: transfers.approve_transfers(s, [world["transfer"]]), ErrorCode.INVALID_STATE)


def test_all_or_nothing(db: Database, world: dict[str, int]) -> None:
    """One bad id in the list: the good one is not approved either."""
    with db.transaction() as s:
        transfers.reject_transfers(s, [world["transfer"]], "courier strike")
    with db.transaction() as s:
        orders.place_order(s, "B", "X", 2)
        fresh = rebalance.rebalance(s, "west", dry_run=False).transfers[0].id
    refused(db, lambda s: transfers.approve_transfers(s, [fresh, world["transfer"]]), ErrorCode.INVALID_STATE)
    with db.reading() as s:
        assert s.get(transfers.Transfer, fresh).status == TransferStatus.SUGGESTED


def test_lane_capacity_is_checked_at_approval(db: Database) -> None:
    build_network(db, {"A": "west", "B": "west"}, {"X": "20.00"})
    with db.transaction() as s:
        from pooling import network

        network.set_lane(s, "A", "B", "1.00", 6, capacity=5)
    receive(db, "A", "X", 20)
    with db.transaction() as s:
        orders.place_order(s, "B", "X", 4)
        first = rebalance.rebalance(s, "west", dry_run=False).transfers[0].id
    with db.transaction() as s:
        orders.place_order(s, "B", "X", 4)
        second = rebalance.rebalance(s, "west", dry_run=False).transfers[0]
        assert second.quantity == 5  # the whole capacity, before anything is committed
        second_id = second.id
    # Restore the first suggestion, approve it, and the second no longer fits the lane.
    with db.transaction() as s:
        s.get(transfers.Transfer, first).status = TransferStatus.SUGGESTED
    with db.transaction() as s:
        transfers.approve_transfers(s, [first])
    refused(db, lambda s: transfers.approve_transfers(s, [second_id]), ErrorCode.LANE_CAPACITY_EXCEEDED)
    with db.transaction() as s:
        remaining = rebalance.rebalance(s, "west", dry_run=True)
        assert [t.quantity for t in remaining.transfers] == [1]  # 5 - 4 committed


def test_arriving_stock_fills_by_priority_then_age(db: Database) -> None:
    build_network(db, {"A": "west"}, {"X": "1.00"})
    with db.transaction() as s:
        low = orders.place_order(s, "A", "X", 3, Priority.LOW).backorder.id
        normal_old = orders.place_order(s, "A", "X", 3, Priority.NORMAL).backorder.id
        normal_new = orders.place_order(s, "A", "X", 3, Priority.NORMAL).backorder.id
        critical = orders.place_order(s, "A", "X", 3, Priority.CRITICAL).backorder.id
    receive(db, "A", "X", 7)
    with db.reading() as s:
        got = {
            i: (s.get(orders.Backorder, i).fulfilled, s.get(orders.Backorder, i).status)
            for i in (low, normal_old, normal_new, critical)
        }
        level = s.scalar(select(StockLevel))
    assert got[critical] == (3, BackorderStatus.FULFILLED)
    assert got[normal_old] == (3, BackorderStatus.FULFILLED)
    assert got[normal_new] == (1, BackorderStatus.OPEN)
    assert got[low] == (0, BackorderStatus.OPEN)
    assert level.on_hand == 0


def test_a_site_waiting_for_an_item_is_not_a_donor(db: Database) -> None:
    build_network(db, {"A": "west", "B": "west"}, {"X": "1.00"}, [("A", "B", "0.10", 1), ("B", "A", "0.10", 1)])
    receive(db, "A", "X", 5)
    with db.transaction() as s:
        stock.set_stock_policy(s, "A", "X", 0, 0)
        orders.place_order(s, "A", "X", 5)  # takes all of A's stock
        orders.place_order(s, "A", "X", 2)  # A now waits for 2
        orders.place_order(s, "B", "X", 1)
        plan = rebalance.rebalance(s, "west", dry_run=True, now=datetime.now(UTC))
        assert plan.transfers == [] and plan.units_by_reorder == 3
        assert s.execute(text("SELECT 1")).scalar() == 1


def test_a_plan_the_solver_cannot_make_exactly_is_a_typed_error(db: Database) -> None:
    """Prices x quantities beyond the solver's exact integer range: SOLVER_FAILED, nothing saved."""
    build_network(db, {"A": "west", "B": "west"}, {"X": "9999999999.99"}, [("A", "B", "1.00", 6)])
    receive(db, "A", "X", 900_000_000)
    with db.transaction() as s:
        orders.place_order(s, "B", "X", 900_000_000)
    refused(db, lambda s: rebalance.rebalance(s, "west", dry_run=False), ErrorCode.SOLVER_FAILED)
