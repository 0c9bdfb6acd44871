"""The coordinator's figures, each checked against a small scenario worked out by hand, and scoped by region."""

from __future__ import annotations

from decimal import Decimal

from models import Priority
from models.db import Database
from pooling import orders, rebalance, reorders, stock, transfers
from pooling.kpis import Kpis, kpis
from tests.factories import build_network, receive


def figures(db: Database, region: str | None = None) -> Kpis:
    with db.reading() as s:
        return kpis(s, region)


def test_no_orders_gives_zeros(db: Database) -> None:
    zero = Kpis(0, 0, 0.0, 0.0, 0, 0, 0, 0.0, Decimal("0.00"))
    assert figures(db) == zero
    build_network(db, {"A": "west"}, {"RGT": "40.00"})
    assert figures(db, "west") == zero
    assert figures(db, "nowhere") == zero


def test_each_figure_over_a_round(db: Database) -> None:
    build_network(
        db,
        {"A": "west", "B": "west", "C": "west", "X": "east"},
        {"RGT": "40.00", "SWB": "1.00"},
        [("A", "B", "2.50", 6)],
    )
    receive(db, "A", "RGT", 30)
    receive(db, "B", "RGT", 4)
    receive(db, "X", "SWB", 10)
    with db.transaction() as s:
        stock.set_stock_policy(s, "A", "RGT", safety_stock=10, reorder_point=12)
        assert orders.place_order(s, "B", "RGT", 10).filled_quantity == 4  # backorder 6
        assert orders.place_order(s, "B", "RGT", 5, Priority.HIGH).filled_quantity == 0  # backorder 5
        assert orders.place_order(s, "C", "SWB", 20).filled_quantity == 0  # backorder 20, nobody has swabs
        assert orders.place_order(s, "A", "RGT", 5).filled_quantity == 5  # A: 25 on hand, 15 to spare
        assert orders.place_order(s, "X", "RGT", 3).filled_quantity == 0  # east: backorder 3
        assert orders.place_order(s, "X", "SWB", 4).filled_quantity == 4

    west = figures(db, "west")
    assert (west.orders_placed, west.orders_backordered, west.backorder_rate) == (4, 3, 75.0)
    assert west.fill_rate == 9 / 40
    assert west.open_backorder_units == 6 + 5 + 20
    assert (west.units_pooled, west.units_reordered, west.pooled_share, west.savings) == (0, 0, 0.0, Decimal("0.00"))

    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", dry_run=False)
        ((transfer_id, moved),) = [(t.id, t.quantity) for t in plan.transfers]
        ((reorder_id, bought),) = [(r.id, r.quantity) for r in plan.reorders]
    assert (moved, bought) == (11, 20)
    assert figures(db, "west").savings == Decimal("0.00")  # a suggestion saves nothing yet

    with db.transaction() as s:
        transfers.approve_transfers(s, [transfer_id])
    west = figures(db, "west")
    assert (west.open_backorder_units, west.units_pooled) == (20, 0)
    assert west.savings == Decimal("412.50")  # 11 * (40.00 - 2.50), counted from approval
    with db.transaction() as s:
        transfers.ship_transfer(s, transfer_id)
    assert figures(db, "west").savings == Decimal("412.50")
    with db.transaction() as s:
        transfers.receive_transfer(s, transfer_id, 10)  # one lost: the NORMAL backorder reopens by 1
    with db.transaction() as s:
        reorders.approve_reorders(s, [reorder_id])
    with db.transaction() as s:
        reorders.receive_reorder(s, reorder_id, 18)  # short delivery: 2 stay open at C

    west = figures(db, "west")
    assert west == Kpis(
        orders_placed=4,
        orders_backordered=3,
        backorder_rate=75.0,
        fill_rate=9 / 40,  # what the shelf filled when ordered; later fulfilment does not change it
        open_backorder_units=1 + 2,
        units_pooled=10,  # received, not shipped
        units_reordered=18,
        pooled_share=10 / 28,
        savings=Decimal("412.50"),
    )

    # A second round: A spares 4 more (14 on hand, safety 10); one unit goes to B, two swabs to buy for C.
    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", dry_run=False)
        ((transfer_id, moved),) = [(t.id, t.quantity) for t in plan.transfers]
    assert moved == 1
    assert figures(db, "west") == west  # suggestions change no figure
    with db.transaction() as s:
        transfers.approve_transfers(s, [transfer_id])
    west = figures(db, "west")
    assert (west.open_backorder_units, west.units_pooled, west.savings) == (2, 10, Decimal("450.00"))

    east = figures(db, "east")
    assert east == Kpis(
        orders_placed=2,
        orders_backordered=1,
        backorder_rate=50.0,
        fill_rate=4 / 7,
        open_backorder_units=3,
        units_pooled=0,
        units_reordered=0,
        pooled_share=0.0,
        savings=Decimal("0.00"),
    )

    everywhere = figures(db)
    assert (everywhere.orders_placed, everywhere.orders_backordered) == (6, 4)
    assert everywhere.backorder_rate == 4 / 6 * 100
    assert everywhere.fill_rate == 13 / 47
    assert everywhere.open_backorder_units == 2 + 3
    assert (everywhere.units_pooled, everywhere.units_reordered) == (10, 18)
    assert everywhere.pooled_share == 10 / 28
    assert everywhere.savings == Decimal("450.00")


def test_a_transfer_dearer_than_buying_counts_as_a_loss(db: Database) -> None:
    build_network(db, {"A": "west", "B": "west"}, {"GLV": "5.95"}, [("A", "B", "7.20", 6)], purchasable=False)
    receive(db, "A", "GLV", 10)
    with db.transaction() as s:
        orders.place_order(s, "B", "GLV", 3)
        plan = rebalance.rebalance(s, "west", dry_run=False)
        transfers.approve_transfers(s, [t.id for t in plan.transfers])
    assert figures(db, "west").savings == Decimal("-3.75")  # 3 * (5.95 - 7.20)
