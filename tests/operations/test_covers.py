"""Stock on the shelf serves a site's waiting backorders in service order, covered ones too; the cover of what the
shelf fills moves on to the next waiting backorder of the (site, item), or is released (issue 16, part A).

Each case is built through the operations (orders, rebalance, approvals, receipts); the expected figures follow
from the quantities each case chooses, stated next to them.
"""

from __future__ import annotations

from sqlalchemy import select

from models import (
    AlertKind,
    Backorder,
    BackorderStatus,
    HistoryEntry,
    Priority,
    Reorder,
    ReorderAllocation,
    ReorderStatus,
    StockLevel,
    Transfer,
    TransferAllocation,
    TransferStatus,
)
from models.db import Database
from pooling import orders, rebalance, reorders, transfers
from pooling.audit import audit
from pooling.expected import coverage
from tests.factories import build_network, receive
from tests.operations.test_alerts import open_alerts


def _backorder(db: Database, pk: int) -> tuple[int, int, int, BackorderStatus]:
    with db.reading() as s:
        b = s.get(Backorder, pk)
        assert b is not None
        return b.fulfilled, b.covered, b.open, b.status


def _reorder_covers(db: Database, reorder_id: int) -> dict[int, int]:
    with db.reading() as s:
        rows = s.execute(
            select(ReorderAllocation.backorder_id, ReorderAllocation.quantity).where(
                ReorderAllocation.reorder_id == reorder_id
            )
        )
        return dict(rows.all())


def _transfer_covers(db: Database, transfer_id: int) -> dict[int, int]:
    with db.reading() as s:
        rows = s.execute(
            select(TransferAllocation.backorder_id, TransferAllocation.quantity).where(
                TransferAllocation.transfer_id == transfer_id
            )
        )
        return dict(rows.all())


def _on_hand(db: Database, site_id: int) -> int:
    with db.reading() as s:
        return sum(s.scalars(select(StockLevel.on_hand).where(StockLevel.site_id == site_id)))


def _history(db: Database, kind: str, pk: int) -> list[tuple[str, str | None]]:
    with db.reading() as s:
        rows = s.execute(
            select(HistoryEntry.action, HistoryEntry.note)
            .where(HistoryEntry.record_kind == kind, HistoryEntry.record_id == pk)
            .order_by(HistoryEntry.id)
        )
        return [(a, n) for a, n in rows]


def _clean(db: Database) -> None:
    with db.reading() as s:
        assert audit(s) == []


def _reorder_for(db: Database, site: str, quantity: int, priority: Priority = Priority.NORMAL) -> tuple[int, int]:
    """A backorder of `quantity` at `site` (no stock anywhere), covered by an ordered reorder of the same quantity."""
    with db.transaction() as s:
        backorder = orders.place_order(s, site, "X", quantity, priority).backorder
        assert backorder is not None
        plan = rebalance.rebalance(s, "west", dry_run=False)
        (reorder,) = plan.reorders
        assert reorder.quantity == quantity
        reorders.approve_reorders(s, [reorder.id])
        return backorder.id, reorder.id


def test_a_covered_backorder_is_filled_by_an_earlier_receipt_and_its_cover_released(db: Database) -> None:
    build_network(db, {"S": "west"}, {"X": "10.00"})
    covered, reorder = _reorder_for(db, "S", 6)
    assert _backorder(db, covered) == (0, 6, 0, BackorderStatus.COVERED)

    receive(db, "S", "X", 6)  # the site's own delivery lands long before the supplier's reorder would
    assert _backorder(db, covered) == (6, 0, 0, BackorderStatus.FULFILLED)
    assert _reorder_covers(db, reorder) == {}  # no other backorder waits: the reorder covers nothing now
    assert _history(db, "reorder", reorder)[-1][0] == "COVER_RELEASED"
    with db.reading() as s:
        assert coverage(s, [covered])[covered] == []
        site_id = s.get(Backorder, covered).site_id  # type: ignore[union-attr]
    assert _on_hand(db, site_id) == 0

    with db.transaction() as s:  # the purchase still arrives: as plain stock
        reorders.receive_reorder(s, reorder, 6)
    assert _on_hand(db, site_id) == 6
    _clean(db)


def test_the_cover_moves_to_the_next_waiting_backorder_in_service_order(db: Database) -> None:
    build_network(db, {"S": "west"}, {"X": "10.00"})
    first, reorder = _reorder_for(db, "S", 6)
    with db.transaction() as s:
        later = orders.place_order(s, "S", "X", 2, Priority.LOW).backorder.id  # type: ignore[union-attr]
        second = orders.place_order(s, "S", "X", 4, Priority.HIGH).backorder.id  # type: ignore[union-attr]

    # 6 units arrive: service order is `second` (HIGH), then `first` (NORMAL), then `later` (LOW). `second` takes
    # 4 (its open units), `first` 2 of its 6 covered units: 2 units of the reorder's cover are no longer needed
    # there and move on to the next waiting backorder with open units, `later`.
    receive(db, "S", "X", 6)
    assert _backorder(db, second) == (4, 0, 0, BackorderStatus.FULFILLED)
    assert _backorder(db, first) == (2, 4, 0, BackorderStatus.COVERED)
    assert _backorder(db, later) == (0, 2, 0, BackorderStatus.COVERED)
    assert _reorder_covers(db, reorder) == {first: 4, later: 2}
    action, note = _history(db, "reorder", reorder)[-1]
    assert action == "COVER_MOVED" and f"backorder {first}" in note and f"backorder {later}" in note  # type: ignore[operator]
    with db.reading() as s:
        covers = coverage(s, [first, later])
        assert [(c.quantity, c.reorder.id) for c in covers[later]] == [(2, reorder)]  # type: ignore[union-attr]
        assert [(c.quantity, c.reorder.id) for c in covers[first]] == [(4, reorder)]  # type: ignore[union-attr]

    # The reorder arrives: it serves exactly what it covers now.
    with db.transaction() as s:
        reorders.receive_reorder(s, reorder, 6)
    assert _backorder(db, first)[3] == _backorder(db, later)[3] == BackorderStatus.FULFILLED
    _clean(db)


def test_a_moved_cover_on_a_transfer_fills_the_new_backorder_when_it_arrives_even_with_a_loss(db: Database) -> None:
    build_network(db, {"A": "west", "S": "west"}, {"X": "10.00"}, [("A", "S", "1.00", 6)])
    receive(db, "A", "X", 5)
    with db.transaction() as s:
        first = orders.place_order(s, "S", "X", 5).backorder.id  # type: ignore[union-attr]
        plan = rebalance.rebalance(s, "west", dry_run=False)
        (transfer,) = [t.id for t in plan.transfers]
        transfers.approve_transfers(s, [transfer])
        transfers.ship_transfer(s, transfer)
        second = orders.place_order(s, "S", "X", 3).backorder.id  # type: ignore[union-attr]
    assert _transfer_covers(db, transfer) == {first: 5}

    receive(db, "S", "X", 5)  # fills `first` (older); 3 of the transfer's 5 units now cover `second`, 2 released
    assert _backorder(db, first) == (5, 0, 0, BackorderStatus.FULFILLED)
    assert _backorder(db, second) == (0, 3, 0, BackorderStatus.COVERED)
    assert _transfer_covers(db, transfer) == {second: 3}
    actions = [a for a, _ in _history(db, "transfer", transfer)]
    assert actions[-2:] == ["COVER_MOVED", "COVER_RELEASED"]

    with db.transaction() as s:
        transfers.receive_transfer(s, transfer, 2)  # 3 of 5 lost on the way: `second` gets 2 and reopens 1
    assert _backorder(db, second) == (2, 0, 1, BackorderStatus.OPEN)
    with db.reading() as s:
        assert s.get(Transfer, transfer).status == TransferStatus.RECEIVED  # type: ignore[union-attr]
        site = s.get(Backorder, second).site_id  # type: ignore[union-attr]
    assert _on_hand(db, site) == 0
    _clean(db)


def test_a_cancelled_backorder_hands_its_cover_on(db: Database) -> None:
    build_network(db, {"S": "west"}, {"X": "10.00"})
    first, reorder = _reorder_for(db, "S", 5)
    with db.transaction() as s:
        second = orders.place_order(s, "S", "X", 3).backorder.id  # type: ignore[union-attr]
        orders.cancel_backorder(s, first, "found some in the back")
    assert _backorder(db, first) == (0, 0, 0, BackorderStatus.CANCELLED)
    assert _backorder(db, second) == (0, 3, 0, BackorderStatus.COVERED)
    assert _reorder_covers(db, reorder) == {second: 3}  # and 2 released
    with db.transaction() as s:
        reorders.receive_reorder(s, reorder, 5)
    assert _backorder(db, second)[3] == BackorderStatus.FULFILLED
    with db.reading() as s:
        assert s.get(Reorder, reorder).status == ReorderStatus.RECEIVED  # type: ignore[union-attr]
        site = s.get(Backorder, second).site_id  # type: ignore[union-attr]
    assert _on_hand(db, site) == 2  # the 2 units nobody waits for are on the shelf
    _clean(db)


def test_a_critical_backorder_given_a_moved_cover_stops_alerting(db: Database) -> None:
    build_network(db, {"S": "west"}, {"X": "10.00"})
    first, _ = _reorder_for(db, "S", 4)
    with db.transaction() as s:
        critical = orders.place_order(s, "S", "X", 4, Priority.CRITICAL).backorder.id  # type: ignore[union-attr]
    assert [a.backorder_id for a in open_alerts(db, AlertKind.CRITICAL_BACKORDER_UNCOVERED)] == [critical]

    receive(db, "S", "X", 4)  # served in service order: CRITICAL first; `first` keeps its reorder
    assert _backorder(db, critical)[3] == BackorderStatus.FULFILLED
    assert _backorder(db, first) == (0, 4, 0, BackorderStatus.COVERED)
    assert open_alerts(db, AlertKind.CRITICAL_BACKORDER_UNCOVERED) == []

    with db.transaction() as s:  # now the other way round: a CRITICAL one waits, the covered one is cancelled
        critical = orders.place_order(s, "S", "X", 3, Priority.CRITICAL).backorder.id  # type: ignore[union-attr]
    assert [a.backorder_id for a in open_alerts(db, AlertKind.CRITICAL_BACKORDER_UNCOVERED)] == [critical]
    with db.transaction() as s:
        orders.cancel_backorder(s, first)
    assert _backorder(db, critical) == (0, 3, 0, BackorderStatus.COVERED)
    assert open_alerts(db, AlertKind.CRITICAL_BACKORDER_UNCOVERED) == []
    assert "COVERED" in [action for action, _ in _history(db, "backorder", critical)]
    _clean(db)
