"""A whole round through the operations — stock in, orders, rebalance, approve, ship, receive — and the ledger."""

from __future__ import annotations

from sqlalchemy import func, select

from api.cli import main as stockpool
from models import (
    Backorder,
    BackorderStatus,
    Movement,
    MovementReason,
    PlanMode,
    Priority,
    ReorderStatus,
    StockLevel,
    Transfer,
    TransferStatus,
)
from models.db import Database
from pooling import orders, rebalance, reorders, stock, transfers
from pooling.audit import audit
from tests.factories import build_network, receive


def level(db: Database, site: str, sku: str) -> tuple[int, int]:
    with db.reading() as s:
        row = s.execute(
            select(StockLevel.on_hand, StockLevel.reserved)
            .join(StockLevel.site)
            .join(StockLevel.item)
            .where(StockLevel.site.has(code=site), StockLevel.item.has(sku=sku))
        ).one()
        return row.on_hand, row.reserved


def test_a_whole_round_balances_the_ledger(db: Database, capsys) -> None:
    build_network(
        db,
        sites={"LAB-N": "west", "LAB-S": "west", "LAB-E": "west"},
        items={"RGT-001": "42.50", "SWB-010": "0.80"},
        lanes=[("LAB-N", "LAB-S", "1.20", 6), ("LAB-E", "LAB-S", "2.00", 12), ("LAB-N", "LAB-E", "1.00", 6)],
    )
    receive(db, "LAB-N", "RGT-001", 40)
    receive(db, "LAB-E", "RGT-001", 5)
    receive(db, "LAB-S", "RGT-001", 2)
    with db.transaction() as s:
        stock.set_stock_policy(s, "LAB-N", "RGT-001", safety_stock=30, reorder_point=32)
    with db.transaction() as s:
        placed = orders.place_order(s, "LAB-S", "RGT-001", 20, Priority.CRITICAL, reference="req-1")
        assert placed.filled_quantity == 2 and placed.backorder is not None
        assert placed.backorder.quantity == 18
    with db.transaction() as s:
        # SWB-010 is nowhere in stock: it can only be bought.
        orders.place_order(s, "LAB-E", "SWB-010", 100, Priority.NORMAL)

    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", PlanMode.POOL_FIRST, dry_run=False)
        # LAB-N can spare 10 (40 - safety 30), LAB-E 5: 15 by transfer, 3 bought; 100 swabs bought.
        assert (plan.units_requested, plan.units_by_transfer, plan.units_by_reorder, plan.units_unmet) == (
            118,
            15,
            103,
            0,
        )
        by_route = {(t.from_site.code, t.to_site.code): t.quantity for t in plan.transfers}
        assert by_route == {("LAB-N", "LAB-S"): 10, ("LAB-E", "LAB-S"): 5}
        transfer_ids = [t.id for t in plan.transfers]
        reorder_ids = [r.id for r in plan.reorders]
        assert sorted(r.quantity for r in plan.reorders) == [3, 100]

    with db.transaction() as s:
        approved = transfers.approve_transfers(s, transfer_ids, actor="coordinator")
        assert {t.status for t in approved} == {TransferStatus.APPROVED}
    assert level(db, "LAB-N", "RGT-001") == (40, 10)
    with db.transaction() as s:
        reorders.approve_reorders(s, reorder_ids)
    with db.reading() as s:
        backorder = s.get(Backorder, placed.backorder.id)
        assert (backorder.covered, backorder.status) == (18, BackorderStatus.COVERED)

    for transfer_id in transfer_ids:
        with db.transaction() as s:
            transfers.ship_transfer(s, transfer_id)
    assert level(db, "LAB-N", "RGT-001") == (30, 0)
    north, east = sorted(transfer_ids)
    with db.transaction() as s:
        transfers.receive_transfer(s, north, 10)
    with db.transaction() as s:
        transfers.receive_transfer(s, east, 4)  # one unit lost on the way: that much backorder reopens
    with db.reading() as s:
        backorder = s.get(Backorder, placed.backorder.id)
        assert (backorder.fulfilled, backorder.covered, backorder.open) == (14, 3, 1)
        assert s.get(Transfer, east).quantity_lost == 1

    with db.reading() as s:
        reorder_of = {r.quantity: r.id for r in s.scalars(select(reorders.Reorder))}
    with db.transaction() as s:
        reorders.receive_reorder(s, reorder_of[3], 3)
    with db.transaction() as s:
        reorders.receive_reorder(s, reorder_of[100], 120)  # over-delivery: 20 stay on the shelf
    with db.reading() as s:
        backorder = s.get(Backorder, placed.backorder.id)
        assert (backorder.fulfilled, backorder.covered, backorder.status) == (17, 0, BackorderStatus.OPEN)
        assert s.get(reorders.Reorder, reorder_of[100]).status == ReorderStatus.RECEIVED
    assert level(db, "LAB-E", "SWB-010") == (20, 0)
    assert level(db, "LAB-S", "RGT-001") == (0, 0)

    # The lost unit: a receipt at LAB-S fills the reopened backorder first.
    receive(db, "LAB-S", "RGT-001", 4)
    with db.reading() as s:
        backorder = s.get(Backorder, placed.backorder.id)
        assert backorder.status == BackorderStatus.FULFILLED
        reasons = dict(s.execute(select(Movement.reason, func.sum(Movement.quantity)).group_by(Movement.reason)).all())
    assert level(db, "LAB-S", "RGT-001") == (3, 0)

    # Conservation: everything received from outside is on a shelf, filled to an order, or lost.
    outside = reasons[MovementReason.RECEIPT] + reasons[MovementReason.PURCHASE_RECEIPT]
    with db.reading() as s:
        on_shelves = s.scalar(select(func.sum(StockLevel.on_hand)))
        assert audit(s) == []
    filled = -(reasons[MovementReason.ORDER_FILL] + reasons[MovementReason.BACKORDER_FILL])
    lost = -reasons[MovementReason.TRANSFER_LOSS]
    assert outside == on_shelves + filled + lost
    assert reasons[MovementReason.TRANSFER_OUT] + reasons[MovementReason.TRANSFER_IN] == 0

    assert stockpool(["--database-url", db.url, "check"]) == 0
    assert "ledger ok" in capsys.readouterr().out


def test_dry_run_saves_nothing_and_a_saved_plan_supersedes_the_last(db: Database) -> None:
    build_network(db, {"A": "west", "B": "west"}, {"X": "10.00"}, [("A", "B", "1.00", 6)])
    receive(db, "A", "X", 10)
    with db.transaction() as s:
        orders.place_order(s, "B", "X", 4)
    with db.transaction() as s:
        dry = rebalance.rebalance(s, "west", dry_run=True)
        assert dry.id is None and [t.quantity for t in dry.transfers] == [4]
    with db.reading() as s:
        assert s.scalar(select(func.count(Transfer.id))) == 0
    with db.transaction() as s:
        first = rebalance.rebalance(s, "west", dry_run=False).transfers[0].id
    with db.transaction() as s:
        second = rebalance.rebalance(s, "west", dry_run=False).transfers[0].id
    with db.reading() as s:
        assert s.get(Transfer, first).status == TransferStatus.SUPERSEDED
        assert s.get(Transfer, second).status == TransferStatus.SUGGESTED
    with db.transaction() as s:
        transfers.approve_transfers(s, [second])
    with db.transaction() as s:
        # An approved transfer is a commitment: the next plan has nothing left to do.
        third = rebalance.rebalance(s, "west", dry_run=False)
        assert third.transfers == [] and third.units_requested == 0
    with db.reading() as s:
        assert s.get(Transfer, second).status == TransferStatus.APPROVED
        assert audit(s) == []
