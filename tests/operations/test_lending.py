"""Lending balances count received units (not lost ones) at the item's price, per site, from a time on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from models import PlanMode, Priority, utcnow
from models.db import Database
from pooling import lending, orders, rebalance, transfers
from pooling.errors import PoolingError
from tests.factories import build_network, receive


def balances(db: Database, **since: object) -> dict[str, tuple[int, int, Decimal, Decimal]]:
    with db.reading() as s:
        return {
            b.site.code: (b.units_lent, b.units_borrowed, b.value_lent, b.value_borrowed)
            for b in lending.lending(s, "west", **since)  # type: ignore[arg-type]
        }


def test_lending_counts_received_units_at_the_items_price(db: Database) -> None:
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {"X": "10.00"}, [("N", "S", "1.00", 6)])
    receive(db, "N", "X", 20)
    with db.transaction() as s:
        orders.place_order(s, "S", "X", 5, Priority.HIGH)
        (move,) = rebalance.rebalance(s, "west", PlanMode.POOL_FIRST, dry_run=False).transfers
        transfers.approve_transfers(s, [move.id])
        transfers.ship_transfer(s, move.id)
    assert balances(db)["N"] == (0, 0, Decimal("0.00"), Decimal("0.00"))  # shipped is not yet lent
    with db.transaction() as s:
        transfers.receive_transfer(s, move.id, 4)  # one lost on the way
    assert balances(db) == {
        "N": (4, 0, Decimal("40.00"), Decimal("0.00")),
        "S": (0, 4, Decimal("0.00"), Decimal("40.00")),
    }
    assert balances(db, since=utcnow() + timedelta(minutes=1)) == {
        "N": (0, 0, Decimal("0.00"), Decimal("0.00")),
        "S": (0, 0, Decimal("0.00"), Decimal("0.00")),
    }
    with db.reading() as s, pytest.raises(PoolingError):
        lending.lending(s, "nowhere")
