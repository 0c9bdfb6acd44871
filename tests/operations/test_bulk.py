"""The bulk forms (`place_orders`, `record_movements`) apply the one-record rule line by line: the same random
lines given one at a time to a twin site leave the same state; and a batch is all or none."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from models import Backorder, MovementReason, Order, Priority, Site, StockLevel
from models.db import Database
from pooling import orders, stock
from pooling.audit import audit
from pooling.errors import ErrorCode, PoolingError
from pooling.orders import OrderLine
from pooling.stock import MovementLine
from tests.factories import build_network
from tests.operations.test_rules import fingerprint

ITEMS = ("X", "Y")


def _state(db: Database, code: str) -> dict[str, list[tuple[object, ...]]]:
    """What a site holds, was asked and owes, without ids or times: comparable between twin sites."""
    with db.reading() as s:
        site_id = s.scalar(select(Site.id).where(Site.code == code))
        levels = s.scalars(select(StockLevel).where(StockLevel.site_id == site_id).order_by(StockLevel.item_id))
        placed = s.scalars(select(Order).where(Order.site_id == site_id).order_by(Order.id))
        owed = s.scalars(select(Backorder).where(Backorder.site_id == site_id).order_by(Backorder.id))
        return {
            "levels": [(lv.item_id, lv.on_hand, lv.reserved) for lv in levels],
            "orders": [(o.item_id, o.quantity, o.filled_quantity, o.priority) for o in placed],
            "backorders": [(b.item_id, b.quantity, b.fulfilled, b.covered, b.status, b.priority) for b in owed],
        }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_batch_leaves_what_the_same_lines_one_by_one_leave(db: Database, seed: int) -> None:
    build_network(db, {"ONE": "west", "BULK": "west"}, dict.fromkeys(ITEMS, "3.00"))
    rng = random.Random(seed)
    for _ in range(6):  # rounds of a receipt batch (with consumption and counts) and an order batch
        movements = []
        for _ in range(rng.randint(1, 6)):
            reason = rng.choice([MovementReason.RECEIPT, MovementReason.CONSUMPTION, MovementReason.COUNT_ADJUSTMENT])
            quantity = rng.randint(1, 9) * (-1 if reason == MovementReason.CONSUMPTION else rng.choice([1, 1, -1]))
            movements.append((rng.choice(ITEMS), quantity, reason))
        placed = [(rng.choice(ITEMS), rng.randint(1, 7), rng.choice(list(Priority))) for _ in range(rng.randint(1, 8))]

        one_refused = bulk_refused = False
        try:
            with db.transaction() as s:
                for sku, quantity, reason in movements:
                    stock.record_movement(s, "ONE", sku, quantity, reason)
        except PoolingError:
            one_refused = True  # all or none as well: the transaction rolled back
        try:
            with db.transaction() as s:
                stock.record_movements(s, [MovementLine("BULK", sku, q, reason) for sku, q, reason in movements])
        except PoolingError:
            bulk_refused = True
        assert one_refused == bulk_refused

        with db.transaction() as s:
            for sku, quantity, priority in placed:
                orders.place_order(s, "ONE", sku, quantity, priority)
        with db.transaction() as s:
            orders.place_orders(s, [OrderLine("BULK", sku, quantity, priority) for sku, quantity, priority in placed])
        assert _state(db, "ONE") == _state(db, "BULK")
    with db.reading() as s:
        assert audit(s) == []


def test_a_batch_with_one_bad_line_changes_nothing(db: Database) -> None:
    build_network(db, {"A": "west"}, {"X": "3.00"})
    with db.transaction() as s:
        stock.record_movement(s, "A", "X", 5, MovementReason.RECEIPT)
    before = fingerprint(db)
    with pytest.raises(PoolingError) as refused, db.transaction() as s:
        orders.place_orders(s, [OrderLine("A", "X", 2), OrderLine("NOWHERE", "X", 1)])
    assert (refused.value.code, refused.value.field) == (ErrorCode.NOT_FOUND, "site")
    with pytest.raises(PoolingError) as refused, db.transaction() as s:
        stock.record_movements(
            s, [MovementLine("A", "X", 4, MovementReason.RECEIPT), MovementLine("A", "X", -20, MovementReason.DAMAGE)]
        )
    assert refused.value.code == ErrorCode.INSUFFICIENT_STOCK
    assert fingerprint(db) == before
