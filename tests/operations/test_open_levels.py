"""The ledger's bulk form (`pooling.ledger.open_levels`): levels written with their movements, the ledger's rules."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select

from models import Item, Movement, MovementReason, Site, StockLevel, Transfer
from models.db import Database
from pooling.audit import audit
from pooling.errors import ErrorCode, PoolingError
from pooling.ledger import MAX_ON_HAND, MovementBatch, open_levels
from tests.factories import build_network

AT = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _ids(db: Database) -> tuple[np.ndarray, np.ndarray]:
    build_network(db, {"A": "north", "B": "north"}, {"X": "1.00", "Y": "2.00"})
    with db.reading() as s:
        sites = np.array(s.scalars(select(Site.id).order_by(Site.code)).all())
        items = np.array(s.scalars(select(Item.id).order_by(Item.sku)).all())
    site, item = np.meshgrid(sites, items, indexing="ij")
    return site.ravel(), item.ravel()


def test_on_hand_is_the_sum_of_the_movements_written_with_it(db: Database) -> None:
    site, item = _ids(db)
    receipts = MovementBatch(np.array([0, 1, 3]), np.array([5, 7, 2]))
    issues = MovementBatch(np.array([1]), np.array([-3]), MovementReason.COUNT_ADJUSTMENT)
    with db.transaction() as s:
        open_levels(s, site, item, [receipts, issues], "test", AT, safety_stock=np.array([1, 0, 0, 2]), note="opening")
    with db.reading() as s:
        levels = s.scalars(select(StockLevel).order_by(StockLevel.site_id, StockLevel.item_id)).all()
        assert [(lv.on_hand, lv.reserved, lv.safety_stock, lv.version) for lv in levels] == [
            (5, 0, 1, 1),
            (4, 0, 0, 1),
            (0, 0, 0, 1),
            (2, 0, 2, 1),
        ]
        movements = s.scalars(select(Movement).order_by(Movement.id)).all()
        assert [(m.quantity, m.reason, m.actor, m.note, m.transfer_id) for m in movements] == [
            (5, MovementReason.RECEIPT, "test", "opening", None),
            (7, MovementReason.RECEIPT, "test", "opening", None),
            (2, MovementReason.RECEIPT, "test", "opening", None),
            (-3, MovementReason.COUNT_ADJUSTMENT, "test", "opening", None),
        ]
        assert all(m.created_at == AT for m in movements)
        assert s.scalar(select(Transfer.id)) is None
        assert audit(s) == []


@pytest.mark.parametrize(
    ("quantities", "code"),
    [
        ([[3], [-4]], ErrorCode.INVALID_QUANTITY),  # below zero along the way
        ([[MAX_ON_HAND + 1]], ErrorCode.INVALID_QUANTITY),
        ([[0]], ErrorCode.INVALID_QUANTITY),
    ],
)
def test_the_ledgers_rules_hold_in_bulk(db: Database, quantities: list[list[int]], code: ErrorCode) -> None:
    site, item = _ids(db)
    batches = [MovementBatch(np.array([0]), np.array(q)) for q in quantities]
    with pytest.raises(PoolingError) as refused, db.transaction() as s:
        open_levels(s, site, item, batches, "test", AT)
    assert refused.value.code == code
    with db.reading() as s:
        assert s.scalar(select(StockLevel.id)) is None and s.scalar(select(Movement.id)) is None
