"""How backorders wait and fill: the status rule, surplus, and what arriving stock does first."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, select, tuple_
from sqlalchemy.orm import Session, object_session

from models import Backorder, BackorderStatus, EventKind, MovementReason, Priority, StockLevel, utcnow
from pooling import events
from pooling.history import Kind, record
from pooling.ledger import Pair, move

WAITING = (BackorderStatus.OPEN, BackorderStatus.PARTIALLY_COVERED, BackorderStatus.COVERED)
HAS_OPEN = (BackorderStatus.OPEN, BackorderStatus.PARTIALLY_COVERED)
COVERING = (BackorderStatus.PARTIALLY_COVERED, BackorderStatus.COVERED)  # a status BACKORDER_COVERED reports

# Highest priority first, then oldest: the order in which arriving stock serves a site's backorders.
priority_rank = case({p.value: p.rank for p in Priority}, value=Backorder.priority)
SERVICE_ORDER = (priority_rank.desc(), Backorder.created_at, Backorder.id)


def settle(backorder: Backorder, actor: str | None = None, filled: int = 0) -> None:
    """Set the status from the quantities (fulfilled, covered, open); a new status or a fill goes in the history."""
    if backorder.status == BackorderStatus.CANCELLED:
        return
    before = backorder.status
    if backorder.fulfilled >= backorder.quantity:
        backorder.status = BackorderStatus.FULFILLED
        backorder.closed_at = utcnow()
    elif backorder.fulfilled + backorder.covered >= backorder.quantity:
        backorder.status = BackorderStatus.COVERED
    elif backorder.covered > 0:
        backorder.status = BackorderStatus.PARTIALLY_COVERED
    else:
        backorder.status = BackorderStatus.OPEN
    session = object_session(backorder)
    if (backorder.status != before or filled) and session is not None and backorder.id is not None:
        action = backorder.status.value if backorder.status != before else "FILLED"
        counts = f"{backorder.fulfilled} fulfilled, {backorder.covered} covered, {backorder.open} open"
        note = f"{filled} unit(s) filled from stock; {counts}" if filled else counts
        record(session, Kind.BACKORDER, backorder.id, actor, action, note)
        if filled:
            events.about_backorder(session, backorder, EventKind.BACKORDER_FILLED, filled=filled)
        elif backorder.status in COVERING and backorder.status != before and backorder.covered > 0:
            events.about_backorder(session, backorder, EventKind.BACKORDER_COVERED, covered=backorder.covered)


def surplus(level: StockLevel, waiting: bool) -> int:
    """Units a site can give away: available above safety stock, none while it waits for the item itself."""
    return 0 if waiting else max(0, level.available - level.safety_stock)


# The same rule in SQL, for reading every donor of many items at once (waiting sites are filtered by the reader).
SPARE = StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock


def waiting(session: Session, pairs: Iterable[Pair]) -> set[Pair]:
    """The pairs whose site waits for the item (an unfulfilled, uncancelled backorder): they have no surplus."""
    wanted = list(set(pairs))
    if not wanted:
        return set()
    rows = session.execute(
        select(Backorder.site_id, Backorder.item_id)
        .distinct()
        .where(tuple_(Backorder.site_id, Backorder.item_id).in_(wanted), Backorder.status.in_(WAITING))
    )
    return {(s, i) for s, i in rows}


def cover(backorder: Backorder, quantity: int, actor: str | None = None) -> None:
    backorder.covered += quantity
    settle(backorder, actor)


def uncover(backorder: Backorder, quantity: int, actor: str | None = None) -> None:
    backorder.covered -= quantity
    settle(backorder, actor)


def fulfil(session: Session, level: StockLevel, backorder: Backorder, quantity: int, actor: str | None) -> None:
    """Hand `quantity` units on the shelf to the backorder (a BACKORDER_FILL movement)."""
    move(
        session,
        level,
        -quantity,
        MovementReason.BACKORDER_FILL,
        actor,
        backorder_id=backorder.id,
        order_id=backorder.order_id,
    )
    backorder.fulfilled += quantity
    settle(backorder, actor, filled=quantity)


def fill_from_shelf(session: Session, level: StockLevel, actor: str | None) -> int:
    """Serve the site's open backorders for the item from its available stock; returns the units used."""
    used = 0
    if level.available <= 0:
        return used
    waiting = session.scalars(
        select(Backorder)
        .where(Backorder.site_id == level.site_id, Backorder.item_id == level.item_id, Backorder.status.in_(HAS_OPEN))
        .order_by(*SERVICE_ORDER)
    ).all()
    for backorder in waiting:
        take = min(backorder.open, level.available)
        if take > 0:
            fulfil(session, level, backorder, take, actor)
            used += take
    return used


def arrive(
    session: Session,
    level: StockLevel,
    quantity: int,
    earmarked: Iterable[tuple[Backorder, int]],
    actor: str | None,
) -> None:
    """Stock that has just arrived (already moved onto the shelf) fills what it was meant for, then the rest.

    `earmarked` are the (backorder, units) the shipment or purchase covered: they are served first, by priority
    then age; coverage the arrival cannot serve (a loss) is released, reopening that much of the backorder.
    Whatever is left, with the rest of the shelf, serves the site's other open backorders.
    """
    left = quantity
    in_service_order = sorted(earmarked, key=lambda pair: (-pair[0].priority.rank, pair[0].created_at, pair[0].id))
    for backorder, units in in_service_order:
        backorder.covered -= units  # no longer on its way: on the shelf now, or lost (settled once, just below)
        closed = backorder.status in (BackorderStatus.CANCELLED, BackorderStatus.FULFILLED)
        take = 0 if closed else min(units, left, backorder.quantity - backorder.fulfilled - backorder.covered)
        if take > 0:
            fulfil(session, level, backorder, take, actor)
            left -= take
        else:
            settle(backorder, actor)
    fill_from_shelf(session, level, actor)
