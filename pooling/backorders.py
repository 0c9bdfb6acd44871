"""How backorders wait and fill: the status rule, surplus, and what arriving stock does first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, case, select, tuple_
from sqlalchemy.orm import Session, object_session

from models import (
    Backorder,
    BackorderStatus,
    EventKind,
    Item,
    MovementReason,
    Priority,
    Reorder,
    ReorderAllocation,
    ReorderStatus,
    Site,
    StockLevel,
    Transfer,
    TransferAllocation,
    TransferStatus,
    utcnow,
)
from pooling import events
from pooling.expected import reorder_expected_at, transfer_expected
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
    """Serve the site's waiting backorders for the item from its available stock; returns the units used.

    Every waiting backorder is served, in service order (priority, then age), whether its units are open or
    covered by something still on its way: stock on the shelf now is better than stock arriving later. The cover
    of units the shelf fills moves on (`move_covers`): to the next waiting backorder of the (site, item), or it is
    released and the shipment or purchase simply arrives as stock.
    """
    return fill_from_shelves(session, [level], actor)[(level.site_id, level.item_id)]


def fill_from_shelves(session: Session, levels: Iterable[StockLevel], actor: str | None) -> dict[Pair, int]:
    """`fill_from_shelf` for many locked levels at once (their waiting backorders read in one query); returns the
    units used per (site, item)."""
    by_pair = {(level.site_id, level.item_id): level for level in levels}
    used = dict.fromkeys(by_pair, 0)
    stocked = sorted(pair for pair, level in by_pair.items() if level.available > 0)
    if not stocked:
        return used
    where: ColumnElement[bool]
    if len(stocked) == 1:
        ((site_id, item_id),) = stocked
        where = (Backorder.site_id == site_id) & (Backorder.item_id == item_id)
    else:
        where = tuple_(Backorder.site_id, Backorder.item_id).in_(stocked)
    waiting: dict[Pair, list[Backorder]] = {pair: [] for pair in stocked}
    for backorder in session.scalars(
        select(Backorder).where(where, Backorder.status.in_(WAITING)).order_by(*SERVICE_ORDER)
    ):
        waiting[(backorder.site_id, backorder.item_id)].append(backorder)
    for pair in stocked:
        level = by_pair[pair]
        freed: list[tuple[Backorder, int]] = []
        for backorder in waiting[pair]:
            take = min(backorder.quantity - backorder.fulfilled, level.available)
            if take <= 0:
                break
            no_longer_needed = take - backorder.open
            if no_longer_needed > 0:
                backorder.covered -= no_longer_needed  # settled once, by the fill just below
                freed.append((backorder, no_longer_needed))
            fulfil(session, level, backorder, take, actor)
            used[pair] += take
        if freed:
            move_covers(session, level.site_id, level.item_id, freed, actor, "filled from the shelf")
    return used


# What covers a backorder: allocations of transfers approved or on their way, and of ordered reorders.
ON_THE_WAY = (TransferStatus.APPROVED, TransferStatus.SHIPPED)


@dataclass
class _Cover:
    allocation: TransferAllocation | ReorderAllocation
    parent: Transfer | Reorder
    expected_at: datetime | None


def _covers(session: Session, backorder_ids: Sequence[int]) -> dict[int, list[_Cover]]:
    """The live allocations covering each backorder, the one expected to arrive LAST first (None: last of all)."""
    found: dict[int, list[_Cover]] = {pk: [] for pk in backorder_ids}
    for allocation, transfer, handling in session.execute(
        select(TransferAllocation, Transfer, Site.handling_time_hours)
        .join(Transfer, Transfer.id == TransferAllocation.transfer_id)
        .join(Site, Site.id == Transfer.from_site_id)
        .where(TransferAllocation.backorder_id.in_(backorder_ids), Transfer.status.in_(ON_THE_WAY))
    ):
        expected = transfer_expected(transfer, handling)
        found[allocation.backorder_id].append(_Cover(allocation, transfer, expected))
    for reorder_allocation, reorder, lead_days in session.execute(
        select(ReorderAllocation, Reorder, Item.supplier_lead_time_days)
        .join(Reorder, Reorder.id == ReorderAllocation.reorder_id)
        .join(Item, Item.id == Reorder.item_id)
        .where(ReorderAllocation.backorder_id.in_(backorder_ids), Reorder.status == ReorderStatus.ORDERED)
    ):
        expected = reorder_expected_at(reorder.status, reorder.ordered_at, lead_days)
        found[reorder_allocation.backorder_id].append(_Cover(reorder_allocation, reorder, expected))
    latest = datetime.max.replace(tzinfo=UTC)
    for covers in found.values():
        covers.sort(
            key=lambda c: (c.expected_at or latest, isinstance(c.parent, Reorder), c.allocation.id), reverse=True
        )
    return found


def move_covers(
    session: Session,
    site_id: int,
    item_id: int,
    freed: Sequence[tuple[Backorder, int]],
    actor: str | None,
    why: str,
) -> None:
    """Cover no longer needed by a backorder (filled from the shelf, or cancelled) moves on, so that nothing is
    counted twice and `covered`/`coveredBy`/`expectedBy` stay true.

    `freed` are (backorder, units): units its `covered` has already given up (the caller settles it). Those units
    of its allocations (the one expected to arrive last first) are taken off it and re-pointed, on the same
    transfer or reorder, to the next waiting backorder of the same (site, item) with open units, in service order;
    what no backorder needs is released: the shipment or purchase will arrive as plain stock (and fill whatever
    waits by then). The transfer's or reorder's history says which.
    """
    covers = _covers(session, [backorder.id for backorder, _ in freed])
    takers = list(
        session.scalars(
            select(Backorder)
            .where(Backorder.site_id == site_id, Backorder.item_id == item_id, Backorder.status.in_(HAS_OPEN))
            .order_by(*SERVICE_ORDER)
        )
    )
    for backorder, units in freed:
        for cover_ in covers[backorder.id]:
            if units <= 0:
                break
            moving = min(units, cover_.allocation.quantity)
            units -= moving
            _take_off(session, cover_, moving)
            kind = Kind.TRANSFER if isinstance(cover_.parent, Transfer) else Kind.REORDER
            while moving > 0 and takers:
                taker = takers[0]
                given = min(moving, taker.open)
                if given > 0:
                    _give(cover_.parent, taker, given)
                    cover(taker, given, actor)
                    moving -= given
                    note = f"{given} unit(s) moved from backorder {backorder.id} ({why}) to backorder {taker.id}"
                    record(session, kind, cover_.parent.id, actor, "COVER_MOVED", note)
                if taker.open <= 0:
                    takers.pop(0)
            if moving > 0:
                note = f"{moving} unit(s) no longer cover backorder {backorder.id} ({why}); they arrive as stock"
                record(session, kind, cover_.parent.id, actor, "COVER_RELEASED", note)
        if units > 0:  # covered and allocations disagreed before this call: the audit would say so
            raise RuntimeError(f"backorder {backorder.id} gave up {units} unit(s) of cover it had no allocation for")


def _take_off(session: Session, cover_: _Cover, units: int) -> None:
    allocations = cover_.parent.allocations  # loaded before the change (a lazy load flushes what is pending)
    cover_.allocation.quantity -= units
    if cover_.allocation.quantity == 0:
        allocations.remove(cover_.allocation)  # type: ignore[arg-type]
        session.delete(cover_.allocation)


def _give(parent: Transfer | Reorder, taker: Backorder, units: int) -> None:
    for allocation in parent.allocations:
        if allocation.backorder_id == taker.id:
            allocation.quantity += units
            return
    if isinstance(parent, Transfer):
        parent.allocations.append(TransferAllocation(backorder_id=taker.id, backorder=taker, quantity=units))
    else:
        parent.allocations.append(ReorderAllocation(backorder_id=taker.id, backorder=taker, quantity=units))


def serve_earmarked(
    session: Session,
    level: StockLevel,
    quantity: int,
    earmarked: Iterable[tuple[Backorder, int]],
    actor: str | None,
) -> None:
    """Stock that has just arrived (already moved onto the shelf) fills what it was meant for first.

    The caller has already closed the transfer or reorder (RECEIVED), so its allocations no longer count as cover.
    `earmarked` are the (backorder, units) the shipment or purchase covered: they are served first, by priority
    then age; coverage the arrival cannot serve (a loss) is released, reopening that much of the backorder. The
    caller then lets whatever is left, with the rest of the shelf, serve the site's other waiting backorders
    (`fill_from_shelves`, once for all the arrivals it books together).
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
