"""`stockpool check` catches a ledger corrupted behind the service's back, and names exactly what was touched.

A small network is run through the real operations (receipts, a consumption, orders, a rebalance, a transfer
shipped and received, another approved and so holding a reservation). Then, in raw SQL and in its own
transaction, one cached on-hand gets +5 and one movement row of another (site, item) disappears.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, insert, select, update

from api.cli import main
from models import Item, Movement, MovementReason, Site, StockLevel, Transfer
from models.db import Database
from pooling import orders, rebalance, stock, transfers
from pooling.audit import audit
from tests.factories import build_network, receive

Pair = tuple[str, str]


def check(
    db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str, str]:
    """Run `stockpool check` (the real command line) against the test database: (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    capsys.readouterr()
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def pairs_in(lines: str) -> list[Pair]:
    """The (site, sku) each breach line names: `SITE SKU: problem`."""
    named = []
    for line in lines.splitlines():
        site, sku = line.split(":", 1)[0].split()
        named.append((site, sku))
    return named


def level(db: Database, pair: Pair) -> StockLevel:
    with db.reading() as s:
        return s.execute(
            select(StockLevel).join(Site).join(Item).where(Site.code == pair[0], Item.sku == pair[1])
        ).scalar_one()


@pytest.fixture
def network(db: Database) -> Database:
    """west: N (40 X, 20 Y) -> S, and E (10 X). S orders X and Y; one transfer arrives, one is approved."""
    build_network(db, {"N": "west", "S": "west", "E": "west"}, {"X": "10.00", "Y": "5.00"}, [("N", "S", "1.00", 6)])
    receive(db, "N", "X", 40)
    receive(db, "N", "Y", 20)
    receive(db, "E", "X", 10)
    with db.transaction() as s:
        stock.record_movement(s, "N", "Y", -3, MovementReason.CONSUMPTION, actor="test")
        orders.place_order(s, "S", "X", 8)
        orders.place_order(s, "S", "Y", 4)
    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", dry_run=False, actor="test")
        suggested = {t.item.sku: t.id for t in plan.transfers}
    assert set(suggested) == {"X", "Y"}
    with db.transaction() as s:
        transfers.approve_transfers(s, list(suggested.values()))
    with db.transaction() as s:
        transfers.ship_transfer(s, suggested["X"])
    with db.transaction() as s:
        shipped = s.get_one(Transfer, suggested["X"]).quantity
        transfers.receive_transfer(s, suggested["X"], shipped)
    assert level(db, ("N", "Y")).reserved == 4  # the approved transfer of Y holds N's units
    return db


def test_check_names_exactly_the_corrupted_pairs_and_exits_non_zero(
    network: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = network
    code, out, _ = check(db, capsys, monkeypatch)
    assert code == 0 and out.startswith("ledger ok"), out

    bumped, robbed = ("N", "X"), ("N", "Y")
    bumped_on_hand = level(db, bumped).on_hand
    robbed_on_hand = level(db, robbed).on_hand
    with db.reading() as s:
        consumption = s.execute(
            select(Movement.__table__)
            .join(Site, Site.id == Movement.site_id)
            .join(Item, Item.id == Movement.item_id)
            .where(Site.code == robbed[0], Item.sku == robbed[1], Movement.reason == MovementReason.CONSUMPTION)
        ).one()
    row = dict(consumption._mapping)
    with db.engine.begin() as connection:  # behind the service's back: raw SQL, its own transaction
        connection.execute(
            update(StockLevel).where(StockLevel.id == level(db, bumped).id).values(on_hand=StockLevel.on_hand + 5)
        )
        connection.execute(delete(Movement).where(Movement.id == row["id"]))

    code, out, err = check(db, capsys, monkeypatch)
    assert code == 1
    assert pairs_in(out) == [bumped, robbed], out
    assert out.splitlines() == [
        f"N X: on hand {bumped_on_hand + 5} but the movements sum to {bumped_on_hand}",
        f"N Y: on hand {robbed_on_hand} but the movements sum to {robbed_on_hand - row['quantity']}",
    ]
    assert "2 broken invariant(s)" in err

    code, out, _ = check(db, capsys, monkeypatch, "--json")
    answer = json.loads(out)
    assert code == 1 and answer["ok"] is False
    assert [(b["site"], b["sku"]) for b in answer["breaches"]] == [bumped, robbed]

    # Undo exactly those two changes: the check is clean again, so it blamed nothing else.
    with db.engine.begin() as connection:
        connection.execute(
            update(StockLevel).where(StockLevel.id == level(db, bumped).id).values(on_hand=StockLevel.on_hand - 5)
        )
        connection.execute(insert(Movement).values(**row))
    code, out, _ = check(db, capsys, monkeypatch, "--json")
    assert code == 0 and json.loads(out) == {"ok": True, "breaches": []}
    with db.reading() as s:
        assert audit(s) == []
