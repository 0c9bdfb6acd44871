"""The outbox: every operation writes its events in its own transaction; a refused one writes none; bulk is one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from models import EventKind, PlanMode, Priority, utcnow
from models.db import Database
from models.events import Event
from pooling import events, orders, rebalance, reorders, transfers
from pooling.errors import PoolingError
from tests.factories import build_network, receive


def kinds(db: Database, after: int = 0) -> list[EventKind]:
    with db.reading() as s:
        alerts = (EventKind.ALERT_RAISED, EventKind.ALERT_CLOSED)  # the alerts tests check those
        return list(s.scalars(select(Event.kind).where(Event.id > after, Event.kind.not_in(alerts)).order_by(Event.id)))


def last(db: Database) -> int:
    with db.reading() as s:
        return events.last_id(s)


def test_every_step_of_a_round_writes_its_event(db: Database) -> None:
    build_network(
        db,
        sites={"LAB-N": "west", "LAB-S": "west"},
        items={"RGT-001": "42.50", "SWB-010": "0.80"},
        lanes=[("LAB-N", "LAB-S", "1.20", 6)],
    )
    receive(db, "LAB-N", "RGT-001", 40)
    start = last(db)
    with db.transaction() as s:
        placed = orders.place_order(s, "LAB-S", "RGT-001", 10, Priority.CRITICAL)
        orders.place_order(s, "LAB-S", "SWB-010", 5)
    assert kinds(db, start) == [EventKind.BACKORDER_CREATED, EventKind.BACKORDER_CREATED]

    start = last(db)
    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", PlanMode.POOL_FIRST, dry_run=False)
        transfer_ids, reorder_ids = [t.id for t in plan.transfers], [r.id for r in plan.reorders]
    assert kinds(db, start) == [EventKind.PLAN_SAVED]
    with db.reading() as s:
        saved = s.scalars(select(Event).where(Event.id > start)).one()
        assert saved.region == "west" and saved.data == {
            "transfers": 1,
            "reorders": 1,
            "unitsByTransfer": 10,
            "unitsByReorder": 5,
            "unitsUnmet": 0,
        }

    start = last(db)
    with db.transaction() as s:
        transfers.approve_transfers(s, transfer_ids)
        reorders.approve_reorders(s, reorder_ids)
    assert kinds(db, start) == [
        EventKind.BACKORDER_COVERED,
        EventKind.TRANSFER_APPROVED,
        EventKind.BACKORDER_COVERED,
        EventKind.REORDER_ORDERED,
    ]
    start = last(db)
    with db.transaction() as s:
        transfers.ship_transfer(s, transfer_ids[0])
    with db.transaction() as s:
        transfers.receive_transfer(s, transfer_ids[0], 10)
    with db.transaction() as s:
        reorders.receive_reorder(s, reorder_ids[0], 5)
    assert kinds(db, start) == [
        EventKind.TRANSFER_SHIPPED,
        EventKind.BACKORDER_FILLED,
        EventKind.TRANSFER_RECEIVED,
        EventKind.BACKORDER_FILLED,
        EventKind.REORDER_RECEIVED,
    ]
    with db.reading() as s:
        shipped = s.scalars(select(Event).where(Event.kind == EventKind.TRANSFER_SHIPPED)).one()
        assert (shipped.region, shipped.to_region, shipped.transfer_id) == ("west", "west", transfer_ids[0])
        assert shipped.site_id != shipped.to_site_id
        filled = s.scalars(select(Event).where(Event.backorder_id == placed.backorder.id).order_by(Event.id)).all()
        assert filled[-1].data == {"status": "FULFILLED", "filled": 10}


def test_rejections_and_cancellations_are_events(db: Database) -> None:
    build_network(db, {"A": "west", "B": "west"}, {"X": "1.00"}, lanes=[("A", "B", "0.10", 1)])
    receive(db, "A", "X", 10)
    with db.transaction() as s:
        placed = orders.place_order(s, "B", "X", 4)
        placed_too = orders.place_order(s, "B", "X", 2)
    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", PlanMode.POOL_FIRST, dry_run=False)
        (transfer_id,) = [t.id for t in plan.transfers]
    start = last(db)
    with db.transaction() as s:
        transfers.reject_transfers(s, [transfer_id], "not now")
    with db.transaction() as s:
        orders.cancel_backorder(s, placed.backorder.id)
    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", PlanMode.POOL_FIRST, dry_run=False)
        (transfer_id,) = [t.id for t in plan.transfers]
    with db.transaction() as s:
        transfers.approve_transfers(s, [transfer_id])
    with db.transaction() as s:
        transfers.cancel_transfer(s, transfer_id)
    assert kinds(db, start) == [
        EventKind.TRANSFER_REJECTED,
        EventKind.BACKORDER_CANCELLED,
        EventKind.PLAN_SAVED,
        EventKind.BACKORDER_COVERED,
        EventKind.TRANSFER_APPROVED,
        EventKind.TRANSFER_CANCELLED,
    ]
    assert placed_too.backorder is not None


def test_a_refused_operation_writes_no_event(db: Database) -> None:
    build_network(db, {"A": "west", "B": "west"}, {"X": "1.00"}, lanes=[("A", "B", "0.10", 1)])
    receive(db, "A", "X", 10)
    with db.transaction() as s:
        orders.place_order(s, "B", "X", 4)
    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", PlanMode.POOL_FIRST, dry_run=False)
        (transfer_id,) = [t.id for t in plan.transfers]
    start = last(db)
    with pytest.raises(PoolingError), db.transaction() as s:
        transfers.ship_transfer(s, transfer_id)  # not approved
    with pytest.raises(RuntimeError), db.transaction() as s:  # approved, then the transaction fails
        transfers.approve_transfers(s, [transfer_id])
        raise RuntimeError("rolled back")
    assert kinds(db, start) == []


def test_a_plan_of_many_lines_writes_one_event(db: Database) -> None:
    skus = {f"S{i:03d}": "1.00" for i in range(60)}
    build_network(db, {"A": "west", "B": "west"}, skus, lanes=[("A", "B", "0.10", 1)])
    with db.transaction() as s:
        for sku in skus:
            orders.place_order(s, "B", sku, 3)
    start = last(db)
    with db.transaction() as s:
        plan = rebalance.rebalance(s, "west", PlanMode.POOL_FIRST, dry_run=False)
        assert len(plan.reorders) == 60
    assert kinds(db, start) == [EventKind.PLAN_SAVED]


def test_readers_wait_at_a_fresh_gap_and_pass_an_old_one(db: Database) -> None:
    build_network(db, {"A": "west"}, {"X": "1.00"})
    with db.transaction() as s:
        for _ in range(3):
            events.record(s, EventKind.PLAN_SAVED, region="west")
    with db.transaction() as s:
        first, middle, third = s.scalars(select(Event.id).order_by(Event.id)).all()
        s.execute(update(Event).where(Event.id == middle).values(id=third + 5))  # `middle` looks uncommitted
    with db.reading() as s:
        rows, safe = events.after(s, 0)
        assert ([r.id for r in rows], safe) == ([first], first)
        rows, safe = events.after(s, 0, gap_wait=timedelta(0))
        assert [r.id for r in rows] == [first, third, third + 5] and safe == third + 5


def test_the_cursor_stops_before_a_fresh_gap_as_readers_do(db: Database) -> None:
    build_network(db, {"A": "west"}, {"X": "1.00"})
    with db.reading() as s:
        assert events.cursor(s) == 0  # an empty outbox: every event to come is after 0
    with db.transaction() as s:
        for _ in range(3):
            events.record(s, EventKind.PLAN_SAVED, region="west")
    with db.transaction() as s:
        first, middle, third = s.scalars(select(Event.id).order_by(Event.id)).all()
        with db.reading() as r:
            assert events.cursor(r) == third  # no gap: the newest
        s.execute(update(Event).where(Event.id == middle).values(id=third + 5))  # `middle` looks uncommitted
    with db.reading() as s:
        assert events.cursor(s) == first  # `middle` may still commit: a reader starting later must see it
        assert events.cursor(s, gap_wait=timedelta(0)) == third + 5  # an old gap is a rollback
    with db.transaction() as s:
        s.execute(update(Event).where(Event.id == first).values(occurred_at=utcnow() - timedelta(minutes=1)))
        s.execute(update(Event).where(Event.id == third).values(occurred_at=utcnow() - timedelta(minutes=1)))
    with db.reading() as s:
        assert events.cursor(s) == third  # old ones are settled; the young one after 4 to 7 waits for them


def test_old_events_are_swept(db: Database) -> None:
    build_network(db, {"A": "west"}, {"X": "1.00"})
    with db.transaction() as s:
        old = events.record(s, EventKind.PLAN_SAVED, region="west")
        events.record(s, EventKind.PLAN_SAVED, region="west")
        s.flush()
        s.execute(update(Event).where(Event.id == old.id).values(occurred_at=utcnow() - timedelta(days=40)))
    assert events.sweep(db, timedelta(days=30), batch=1) == 1
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 1
    # The newest event stays, however old: ids never go back.
    assert events.sweep(db, timedelta(0)) == 0
    with db.transaction() as s:
        events.record(s, EventKind.PLAN_SAVED, region="west")
        s.flush()
        assert s.scalar(select(func.max(Event.id))) == old.id + 2
