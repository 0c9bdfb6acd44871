"""The outbox: `record` writes an event in the caller's transaction, so it exists if and only if the change
it reports commits. Subscriptions and webhooks read the outbox; nothing else sends anything.

`about_backorder`, `about_transfer`, `about_reorder` and `plan_saved` name the record, its site(s) and region(s)
(the scope rules read those columns). A bulk operation writes one event for the whole of it: a saved plan of
100,000 suggestions is one PLAN_SAVED with its counts, not one event per line.

Readers (`after`) follow the ids in order. Ids are handed out when rows are inserted but become visible when their
transaction commits, so a reader that meets a gap stops before it until the gap is older than `GAP_WAIT`
(the missing id then belongs to a transaction that rolled back): nothing committed is ever skipped.

On PostgreSQL `record` also queues a NOTIFY on `CHANNEL`, sent by the database when (and only if) the transaction
commits: listening servers wake at once; SQLite readers poll.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import takewhile
from typing import Any

from sqlalchemy import ColumnElement, delete, select, text
from sqlalchemy import event as orm_events
from sqlalchemy.orm import Session, SessionTransaction

from models import Backorder, Plan, Reorder, Transfer, utcnow
from models.db import Database
from models.enums import EventKind
from models.events import Event

CHANNEL = "stockpool_events"
GAP_WAIT = timedelta(seconds=10)
SWEEP_BATCH = 5000
DEFAULT_RETENTION_DAYS = 30.0


def record(
    session: Session,
    kind: EventKind,
    *,
    region: str | None = None,
    site_id: int | None = None,
    item_id: int | None = None,
    backorder_id: int | None = None,
    transfer_id: int | None = None,
    reorder_id: int | None = None,
    plan_id: int | None = None,
    alert_id: int | None = None,
    data: dict[str, Any] | None = None,
    to_site_id: int | None = None,
    to_region: str | None = None,
) -> Event:
    event = Event(
        kind=kind,
        occurred_at=utcnow(),
        region=region,
        site_id=site_id,
        item_id=item_id,
        backorder_id=backorder_id,
        transfer_id=transfer_id,
        reorder_id=reorder_id,
        plan_id=plan_id,
        alert_id=alert_id,
        data=data,
        to_site_id=to_site_id,
        to_region=to_region,
    )
    session.add(event)
    if not session.info.get(_NOTIFIED) and session.get_bind().dialect.name == "postgresql":
        # PostgreSQL delivers one NOTIFY per channel and payload per transaction however often it is queued, so
        # one is queued per transaction (or savepoint: a rolled-back savepoint takes its NOTIFY with it).
        session.connection().execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})  # no autoflush
        session.info[_NOTIFIED] = True
    return event


_NOTIFIED = "stockpool.events.notified"


@orm_events.listens_for(Session, "after_transaction_end")
def _notify_again(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None or transaction.nested:  # not a flush's own subtransaction
        session.info.pop(_NOTIFIED, None)


def about_backorder(session: Session, backorder: Backorder, kind: EventKind, **data: Any) -> Event:
    return record(
        session,
        kind,
        region=backorder.site.region,
        site_id=backorder.site_id,
        item_id=backorder.item_id,
        backorder_id=backorder.id,
        data={"status": backorder.status.value, **data},
    )


def about_transfer(session: Session, transfer: Transfer, kind: EventKind, **data: Any) -> Event:
    """Seen by both ends: the sending site is the event's site, the receiving one its `to_site`."""
    return record(
        session,
        kind,
        region=transfer.from_site.region,
        site_id=transfer.from_site_id,
        to_site_id=transfer.to_site_id,
        to_region=transfer.to_site.region,
        item_id=transfer.item_id,
        transfer_id=transfer.id,
        plan_id=transfer.plan_id,
        data={"status": transfer.status.value, "quantity": transfer.quantity, **data},
    )


def about_reorder(session: Session, reorder: Reorder, kind: EventKind, **data: Any) -> Event:
    return record(
        session,
        kind,
        region=reorder.site.region,
        site_id=reorder.site_id,
        item_id=reorder.item_id,
        reorder_id=reorder.id,
        plan_id=reorder.plan_id,
        data={"status": reorder.status.value, "quantity": reorder.quantity, **data},
    )


def plan_saved(session: Session, plan: Plan, transfers: int, reorders: int) -> Event:
    """One event for a saved plan, whatever its size: its region's coordinators read it."""
    return record(
        session,
        EventKind.PLAN_SAVED,
        region=plan.region,
        plan_id=plan.id,
        data={
            "transfers": transfers,
            "reorders": reorders,
            "unitsByTransfer": plan.units_by_transfer,
            "unitsByReorder": plan.units_by_reorder,
            "unitsUnmet": plan.units_unmet,
        },
    )


def after(
    session: Session,
    after_id: int,
    where: Iterable[ColumnElement[bool]] = (),
    limit: int = 500,
    gap_wait: timedelta = GAP_WAIT,
) -> tuple[list[Event], int]:
    """The committed events after `after_id` that match `where`, oldest first, and the id a reader may resume after.

    Gaps are judged on every id (not only the matching ones): the ids are read first, then the matching rows up to
    the last id known to be safe."""
    ids = list(session.scalars(select(Event.id).where(Event.id > after_id).order_by(Event.id).limit(limit)))
    if not ids:
        return [], after_id
    times = {
        row.id: row.occurred_at for row in session.execute(select(Event.id, Event.occurred_at).where(Event.id.in_(ids)))
    }
    safe = _passable(after_id, ((event_id, times[event_id]) for event_id in ids), utcnow() - gap_wait)
    if safe == after_id:
        return [], after_id
    rows = list(session.scalars(select(Event).where(Event.id > after_id, Event.id <= safe, *where).order_by(Event.id)))
    return rows, safe


def _passable(start: int, ids: Iterable[tuple[int, datetime]], fresh: datetime) -> int:
    """How far a reader at `start` may go through these (id, occurred at), ascending: up to a young id that follows
    a gap (an earlier id may still commit: wait for it, or for the gap to grow old; an old gap is a rollback)."""
    safe = start
    for event_id, occurred_at in ids:
        if event_id != safe + 1 and occurred_at > fresh:
            break
        safe = event_id
    return safe


def cursor(session: Session, gap_wait: timedelta = GAP_WAIT) -> int:
    """Where a reader may start and miss nothing that commits from now on: the newest event id, unless a young id
    follows a gap (`after`'s rule); then the id before that gap."""
    tail = session.execute(select(Event.id, Event.occurred_at).order_by(Event.id.desc()).limit(SWEEP_BATCH)).all()
    if not tail:
        return 0
    fresh = utcnow() - gap_wait
    young = list(takewhile(lambda row: row.occurred_at > fresh, tail))
    # The newest event older than the wait (nothing below it is waited for); when all read are young, below them.
    settled = tail[len(young)].id if len(young) < len(tail) else young[-1].id - 1
    return int(_passable(settled, ((row.id, row.occurred_at) for row in reversed(young)), fresh))


def was_reset(session: Session, cursor: int, cursor_time: datetime | None) -> bool:
    """Whether the outbox was emptied and numbered again since a reader stopped at `cursor` (a test database is
    emptied between tests; in service ids never go back: the sweep keeps the newest event and deletes the oldest
    first, so a deleted cursor row has nothing below it)."""
    row = session.get(Event, cursor)
    if row is not None and (cursor_time is None or row.occurred_at == cursor_time):
        return False
    lowest = session.scalar(select(Event.id).order_by(Event.id).limit(1))
    return (lowest is None and last_id(session) < cursor) or (lowest is not None and lowest <= cursor)


def last_id(session: Session) -> int:
    return session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0


@dataclass(frozen=True)
class Retention:
    """How long events are kept (`STOCKPOOL_EVENT_RETENTION_DAYS`, 30 by default) and how often they are swept."""

    window: timedelta = timedelta(days=DEFAULT_RETENTION_DAYS)
    sweep_every: float = 3600.0

    @classmethod
    def from_environment(cls) -> Retention:
        days = float(os.environ.get("STOCKPOOL_EVENT_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))
        return cls(window=timedelta(days=days))


def sweep(db: Database, window: timedelta | None = None, batch: int = SWEEP_BATCH) -> int:
    """Delete the events older than the window, `batch` rows per transaction; how many were deleted.

    The newest event is always kept: SQLite numbers a new row after the largest id in the table, and ids must
    never go back (readers resume after the last id they saw)."""
    cutoff: datetime = utcnow() - (window or Retention.from_environment().window)
    deleted = 0
    while True:
        with db.transaction() as session:
            newest = last_id(session)
            ids = list(
                session.scalars(
                    select(Event.id)
                    .where(Event.occurred_at < cutoff, Event.id < newest)
                    .order_by(Event.id)
                    .limit(batch)
                )
            )
            if ids:
                session.execute(delete(Event).where(Event.id.in_(ids)))
        deleted += len(ids)
        if len(ids) < batch:
            return deleted
