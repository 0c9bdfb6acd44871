"""The reorder lifecycle: SUGGESTED -> ORDERED (covers the backorders) | REJECTED | SUPERSEDED;
ORDERED -> RECEIVED (PURCHASE_RECEIPT, fills the backorders first)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from models import EventKind, MovementReason, Reorder, ReorderAllocation, ReorderStatus, StockLevel, utcnow
from pooling import events
from pooling.backorders import cover, fill_from_shelves, serve_earmarked
from pooling.errors import ErrorCode, PoolingError, Ref, expect_status
from pooling.history import Kind, record
from pooling.ledger import Pair, check_received, lock_with_levels, move
from pooling.limits import check_text


def _locked(session: Session, ids: Sequence[int]) -> tuple[list[Reorder], dict[Pair, StockLevel]]:
    return lock_with_levels(session, Reorder, ids, lambda r: [(r.site_id, r.item_id)])


def _with_allocations(session: Session, reorders: Sequence[Reorder]) -> None:
    """Load the reorders' items, allocations and their backorders in a few queries, not per reorder."""
    session.scalars(
        select(Reorder)
        .where(Reorder.id.in_([r.id for r in reorders]))
        .options(
            joinedload(Reorder.item),
            selectinload(Reorder.allocations).joinedload(ReorderAllocation.backorder),
        )
    ).all()


def approve_reorders(session: Session, ids: Sequence[int], actor: str | None = None) -> list[Reorder]:
    """Order from the supplier, all or none: the reorders cover their backorders until the goods arrive."""
    reorders, _ = _locked(session, ids)
    _with_allocations(session, reorders)
    for reorder in reorders:
        expect_status(reorder, ReorderStatus.SUGGESTED, "approved", "ids")
        if not reorder.item.purchasable:
            raise PoolingError(
                ErrorCode.STALE_SUGGESTION,
                "{sku} can no longer be bought (reorder {reorder}).",
                "ids",
                sku=reorder.item.sku,
                reorder=Ref.of(reorder),
            )
        for allocation in reorder.allocations:
            if allocation.quantity > allocation.backorder.open:
                raise PoolingError(
                    ErrorCode.STALE_SUGGESTION,
                    "Reorder {reorder} covers {quantity} unit(s) of backorder {backorder}, which now has {open} open. "
                    "Run a new rebalance.",
                    "ids",
                    reorder=Ref.of(reorder),
                    quantity=allocation.quantity,
                    backorder=Ref.of(allocation.backorder),
                    open=allocation.backorder.open,
                )
            cover(allocation.backorder, allocation.quantity, actor)
        reorder.status = ReorderStatus.ORDERED
        reorder.ordered_at = utcnow()
        record(session, Kind.REORDER, reorder.id, actor, "ORDERED")
        events.about_reorder(session, reorder, EventKind.REORDER_ORDERED)
    return reorders


def reject_reorders(
    session: Session, ids: Sequence[int], reason: str | None = None, actor: str | None = None
) -> list[Reorder]:
    check_text(reason, "reason")
    reorders, _ = _locked(session, ids)
    for reorder in reorders:
        expect_status(reorder, ReorderStatus.SUGGESTED, "rejected", "ids")
        reorder.status = ReorderStatus.REJECTED
        reorder.note = reason
        reorder.closed_at = utcnow()
        record(session, Kind.REORDER, reorder.id, actor, "REJECTED", reason)
    return reorders


def receive_reorder(session: Session, reorder_id: int, quantity_received: int, actor: str | None = None) -> Reorder:
    """Book a delivery in (it may differ from what was ordered); it fills the covered backorders first."""
    (reorder,) = receive_reorders(session, [(reorder_id, quantity_received)], actor, field="id")
    return reorder


def receive_reorders(
    session: Session, received: Sequence[tuple[int, int]], actor: str | None = None, *, field: str = "ids"
) -> list[Reorder]:
    """Book deliveries in, all or none, given (reorder id, quantity received): `receive_reorder`'s rule for each,
    in the order given, their levels locked together. Each delivery serves its own backorders first; then what is
    left on the shelves serves the other waiting backorders, once for all
    (`pooling.backorders.serve_earmarked`)."""
    for _, quantity_received in received:
        check_received(quantity_received, "quantity_received")
    reorders, levels = _locked(session, [reorder_id for reorder_id, _ in received])
    _with_allocations(session, reorders)
    quantities = dict(received)
    for reorder in reorders:
        expect_status(reorder, ReorderStatus.ORDERED, "received", field)
    for reorder in reorders:
        quantity_received = quantities[reorder.id]
        level = levels[(reorder.site_id, reorder.item_id)]
        if quantity_received:
            move(session, level, quantity_received, MovementReason.PURCHASE_RECEIPT, actor, reorder_id=reorder.id)
        reorder.status = ReorderStatus.RECEIVED  # first: its allocations no longer cover anything once it is here
        reorder.quantity_received = quantity_received
        reorder.received_at = reorder.closed_at = utcnow()
        earmarked = [(a.backorder, a.quantity) for a in reorder.allocations]
        serve_earmarked(session, level, quantity_received, earmarked, actor)  # then the shelves, once below
        note = None if quantity_received == reorder.quantity else f"received {quantity_received} of {reorder.quantity}"
        record(session, Kind.REORDER, reorder.id, actor, "RECEIVED", note)
        events.about_reorder(session, reorder, EventKind.REORDER_RECEIVED, received=quantity_received)
    fill_from_shelves(session, [levels[(r.site_id, r.item_id)] for r in reorders], actor)
    return reorders
