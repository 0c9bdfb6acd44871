"""The coordinator's figures, each checked against a small scenario worked out by hand, by region, period and site."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import update

from models import Backorder, Order, Priority, Transfer
from models.db import Database
from pooling import orders, rebalance, reorders, stock, transfers
from pooling.errors import ErrorCode, PoolingError
from pooling.kpis import Kpis, kpis, scorecard
from tests.factories import build_network, receive

ZERO = Kpis(0, 0, 0.0, 0.0, 0, 0, 0, 0.0, Decimal("0.00"))


def figures(
    db: Database, region: str | None = None, since: datetime | None = None, until: datetime | None = None
) -> Kpis:
    with db.reading() as s:
        return kpis(s, region, since, until)


def test_no_orders_gives_zeros_and_a_region_nobody_is_in_is_not_found(db: Database) -> None:
    assert figures(db) == ZERO
    build_network(db, {"A": "west"}, {"RGT": "40.00"})
    assert figures(db, "west") == ZERO
    with pytest.raises(PoolingError) as refused:
        figures(db, "nowhere")
    assert (refused.value.code, refused.value.field, refused.value.message) == (
        ErrorCode.NOT_FOUND,
        "region",
        "No region 'nowhere'.",
    )


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
    assert (west.orders_placed, west.orders_backordered, west.backorder_rate) == (4, 3, 0.75)  # a fraction
    assert west.fill_rate == 9 / 40
    assert west.open_backorder_units == 6 + 5 + 20
    assert (west.units_pooled, west.units_reordered, west.pooled_share, west.savings) == (0, 0, 0.0, Decimal("0.00"))

    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", dry_run=False)
        ((transfer_id, moved),) = [(t.id, t.quantity) for t in plan.transfers]
        ((reorder_id, bought),) = [(r.id, r.quantity) for r in plan.reorders]
    assert (moved, bought) == (11, 20)
    assert figures(db, "west").savings == Decimal("0.00")  # a suggestion saves nothing

    with db.transaction() as s:
        transfers.approve_transfers(s, [transfer_id])
    west = figures(db, "west")
    assert (west.open_backorder_units, west.units_pooled, west.savings) == (20, 0, Decimal("0.00"))  # not yet
    with db.transaction() as s:
        transfers.ship_transfer(s, transfer_id)
    assert figures(db, "west").savings == Decimal("0.00")  # in transit: it may still be lost
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
        backorder_rate=0.75,
        fill_rate=9 / 40,  # what the shelf filled when ordered; later fulfilment does not change it
        open_backorder_units=1 + 2,
        units_pooled=10,  # received, not shipped
        units_reordered=18,
        pooled_share=10 / 28,
        savings=Decimal("372.50"),  # 10 received * 40.00 - 11 shipped * 2.50
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
    assert (west.open_backorder_units, west.units_pooled, west.savings) == (2, 10, Decimal("372.50"))

    east = figures(db, "east")
    assert east == Kpis(
        orders_placed=2,
        orders_backordered=1,
        backorder_rate=0.5,
        fill_rate=4 / 7,
        open_backorder_units=3,
        units_pooled=0,
        units_reordered=0,
        pooled_share=0.0,
        savings=Decimal("0.00"),
    )

    everywhere = figures(db)
    assert (everywhere.orders_placed, everywhere.orders_backordered) == (6, 4)
    assert everywhere.backorder_rate == 4 / 6
    assert everywhere.fill_rate == 13 / 47
    assert everywhere.open_backorder_units == 2 + 3
    assert (everywhere.units_pooled, everywhere.units_reordered) == (10, 18)
    assert everywhere.pooled_share == 10 / 28
    assert everywhere.savings == Decimal("372.50")


def test_units_lost_in_transit_are_neither_pooled_nor_saved_and_the_replacement_counts_once(db: Database) -> None:
    build_network(db, {"A": "west", "B": "west"}, {"RGT": "40.00"}, [("A", "B", "2.50", 6)], purchasable=False)
    receive(db, "A", "RGT", 10)
    with db.transaction() as s:
        orders.place_order(s, "B", "RGT", 2)
        (transfer,) = rebalance.rebalance(s, "west", dry_run=False).transfers
        transfers.approve_transfers(s, [transfer.id])
        transfers.ship_transfer(s, transfer.id)
        transfers.receive_transfer(s, transfer.id, 1)  # shipped 2, received 1: the backorder reopens by 1
    after_loss = figures(db, "west")
    assert (after_loss.units_pooled, after_loss.open_backorder_units) == (1, 1)
    assert after_loss.savings == Decimal("35.00")  # 1 received * 40.00 - 2 shipped * 2.50

    with db.transaction() as s:
        (replacement,) = rebalance.rebalance(s, "west", dry_run=False).transfers
        assert replacement.quantity == 1
        transfers.approve_transfers(s, [replacement.id])
        transfers.ship_transfer(s, replacement.id)
        transfers.receive_transfer(s, replacement.id, 1)
    done = figures(db, "west")
    assert (done.units_pooled, done.open_backorder_units, done.pooled_share) == (2, 0, 1.0)  # 2 needed, 2 arrived
    assert done.savings == Decimal("72.50")  # 2 received * 40.00 - 3 shipped * 2.50


def test_a_transfer_dearer_than_buying_counts_as_a_loss(db: Database) -> None:
    build_network(db, {"A": "west", "B": "west"}, {"GLV": "5.95"}, [("A", "B", "7.20", 6)], purchasable=False)
    receive(db, "A", "GLV", 10)
    with db.transaction() as s:
        orders.place_order(s, "B", "GLV", 3)
        plan = rebalance.rebalance(s, "west", dry_run=False)
        (transfer,) = plan.transfers
        transfers.approve_transfers(s, [transfer.id])
        transfers.ship_transfer(s, transfer.id)
        transfers.receive_transfer(s, transfer.id, 3)
    assert figures(db, "west").savings == Decimal("-3.75")  # 3 * (5.95 - 7.20)


JAN, FEB, MAR = (datetime(2026, month, 1, tzinfo=UTC) for month in (1, 2, 3))


def test_a_period_counts_what_happened_in_it_and_each_site_has_its_figures(db: Database) -> None:
    """Orders count when placed, transfers when received; `since` inclusive, `until` exclusive."""
    build_network(db, {"A": "west", "B": "west", "C": "west"}, {"RGT": "40.00"}, [("A", "B", "2.50", 6)])
    receive(db, "A", "RGT", 10)
    with db.transaction() as s:
        january = orders.place_order(s, "B", "RGT", 4).order.id  # backordered entirely
        february = orders.place_order(s, "A", "RGT", 1).order.id  # filled from the shelf
        (transfer,) = rebalance.rebalance(s, "west", dry_run=False).transfers
        transfers.approve_transfers(s, [transfer.id])
        transfers.ship_transfer(s, transfer.id)
        transfers.receive_transfer(s, transfer.id, 4)
        # When each thing happened, set by hand: January's order, February's order and the transfer's arrival.
        for order_id, at in ((january, JAN), (february, FEB)):
            s.execute(update(Order).where(Order.id == order_id).values(created_at=at))
            s.execute(update(Backorder).where(Backorder.order_id == order_id).values(created_at=at))
        s.execute(update(Transfer).where(Transfer.id == transfer.id).values(received_at=FEB))

    assert figures(db, "west").orders_placed == 2
    in_january = figures(db, "west", since=JAN, until=FEB)
    assert (in_january.orders_placed, in_january.orders_backordered, in_january.backorder_rate) == (1, 1, 1.0)
    assert (in_january.units_pooled, in_january.savings) == (0, Decimal("0.00"))  # it arrived in February
    from_february = figures(db, "west", since=FEB)
    assert (from_february.orders_placed, from_february.orders_backordered, from_february.fill_rate) == (1, 0, 1.0)
    assert (from_february.units_pooled, from_february.savings) == (4, Decimal("150.00"))  # 4 * (40.00 - 2.50)
    assert figures(db, "west", until=JAN) == ZERO
    assert figures(db, "west", since=MAR) == ZERO

    with db.reading() as s:
        card = scorecard(s, "west", since=JAN)
        by_code = {site.code: site_figures for site, site_figures in card.sites}
    assert list(by_code) == ["A", "B", "C"]  # every site of the region, by code, even one with nothing to show
    assert (by_code["A"].orders_placed, by_code["A"].fill_rate, by_code["A"].units_pooled) == (1, 1.0, 0)
    assert (by_code["B"].orders_placed, by_code["B"].backorder_rate, by_code["B"].units_pooled) == (1, 1.0, 4)
    assert by_code["B"].savings == Decimal("150.00")
    assert by_code["C"] == ZERO
    assert card.total == figures(db, "west", since=JAN)


@pytest.mark.parametrize(
    ("since", "until", "field", "message"),
    [
        (FEB, JAN, "until", "until must be later than since."),
        (FEB, FEB, "until", "until must be later than since."),
        (datetime(2026, 1, 1), None, "since", "since needs a time zone (for example ...Z)."),
    ],
)
def test_a_period_that_is_no_period_is_refused(
    db: Database, since: datetime, until: datetime | None, field: str, message: str
) -> None:
    with pytest.raises(PoolingError) as refused:
        figures(db, None, since, until)
    assert (refused.value.code, refused.value.field, refused.value.message) == (ErrorCode.INVALID, field, message)


def test_the_alert_rules_backorder_rates_are_the_scorecards_own(db: Database) -> None:
    """`backorder_rates` (what BACKORDER_RATE_HIGH reads on every order) gives, per region, the scorecard's orders
    placed, orders backordered and backorder rate over the same period; regions without orders are absent."""
    from pooling.kpis import backorder_rates

    build_network(db, {"A": "west", "B": "west", "E": "east", "Q": "quiet"}, {"RGT": "40.00", "BLT": "3.00"})
    receive(db, "A", "RGT", 5)
    receive(db, "E", "BLT", 2)
    with db.transaction() as s:
        for site, sku, quantity in [
            ("A", "RGT", 2),
            ("A", "RGT", 4),
            ("B", "RGT", 1),
            ("E", "BLT", 1),
            ("E", "BLT", 3),
        ]:
            orders.place_order(s, site, sku, quantity)
        old = orders.place_order(s, "B", "BLT", 7).order.id
        s.execute(update(Order).where(Order.id == old).values(created_at=JAN))  # before the period
    since = FEB
    with db.reading() as s:
        rates = backorder_rates(s, ["west", "east", "quiet", "nowhere"], since)
    assert sorted(rates) == ["east", "west"]
    for region, found in rates.items():
        expected = figures(db, region, since=since)
        assert (found.orders_placed, found.orders_backordered, found.backorder_rate) == (
            expected.orders_placed,
            expected.orders_backordered,
            expected.backorder_rate,
        )
    assert (rates["west"].orders_placed, rates["east"].orders_placed) == (3, 2)  # the January order is outside
