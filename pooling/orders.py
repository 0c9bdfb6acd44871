"""Operations on orders: place one (fill from the shelf, backorder the rest), cancel a backorder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from models import Backorder, BackorderStatus, EventKind, MovementReason, Order, Priority, utcnow
from pooling import events
from pooling.backorders import move_covers, settle
from pooling.errors import ErrorCode, PoolingError, Ref
from pooling.history import Kind, record
from pooling.ledger import check_quantity, lock_levels, lock_records, move
from pooling.limits import MAX_REFERENCE, check_text
from pooling.lookup import by_id, item_by_sku, site_by_code
from pooling.moments import in_utc


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    backorder: Backorder | None

    @property
    def filled_quantity(self) -> int:
        return self.order.filled_quantity


def place_order(
    session: Session,
    site: str,
    sku: str,
    quantity: int,
    priority: Priority = Priority.NORMAL,
    needed_by: datetime | None = None,
    reference: str | None = None,
    actor: str | None = None,
) -> PlacedOrder:
    check_quantity(quantity)
    if needed_by is not None:
        needed_by = in_utc(needed_by, "needed_by")
    check_text(reference, "reference", MAX_REFERENCE)
    site_row, item = site_by_code(session, site), item_by_sku(session, sku)
    if not site_row.active:
        raise PoolingError(ErrorCode.INVALID_STATE, f"Site {site_row.code} is not active.", "site")
    level = lock_levels(session, [(site_row.id, item.id)])[(site_row.id, item.id)]
    filled = min(quantity, max(level.available, 0))
    order = Order(
        site_id=site_row.id,
        item_id=item.id,
        quantity=quantity,
        filled_quantity=filled,
        priority=priority,
        needed_by=needed_by,
        reference=reference,
        actor=actor,
        created_at=utcnow(),
    )
    session.add(order)
    session.flush()
    if filled:
        move(session, level, -filled, MovementReason.ORDER_FILL, actor, order_id=order.id)
    backorder = None
    if quantity > filled:
        backorder = Backorder(
            order_id=order.id,
            site_id=site_row.id,
            item_id=item.id,
            quantity=quantity - filled,
            fulfilled=0,
            covered=0,
            priority=priority,
            needed_by=needed_by,
            reference=reference,
            created_at=order.created_at,
            status=BackorderStatus.OPEN,
        )
        session.add(backorder)
        session.flush()
        record(session, Kind.BACKORDER, backorder.id, actor, "CREATED", f"{backorder.quantity} unit(s) backordered")
        events.about_backorder(session, backorder, EventKind.BACKORDER_CREATED, quantity=backorder.quantity)
    return PlacedOrder(order, backorder)


def cancel_backorder(
    session: Session, backorder_id: int, reason: str | None = None, actor: str | None = None
) -> Backorder:
    """Cancel what is left of a backorder; shipments already covering it cover the site's next waiting backorder
    of the item (or arrive as plain stock): `pooling.backorders.move_covers`."""
    check_text(reason, "reason")
    backorder = by_id(session, Backorder, backorder_id)
    lock_levels(session, [(backorder.site_id, backorder.item_id)])
    backorder = lock_records(session, Backorder, [backorder_id])[backorder_id]
    if backorder.status in (BackorderStatus.CANCELLED, BackorderStatus.FULFILLED):
        raise PoolingError(
            ErrorCode.INVALID_STATE,
            "Backorder {backorder} is already {status}.",
            "id",
            backorder=Ref.of(backorder),
            status=backorder.status.lower(),
        )
    backorder.status = BackorderStatus.CANCELLED
    backorder.cancel_reason = reason
    backorder.closed_at = utcnow()
    covered, backorder.covered = backorder.covered, 0
    if covered:  # what was on its way for it now covers the site's next waiting backorder, or arrives as stock
        move_covers(session, backorder.site_id, backorder.item_id, [(backorder, covered)], actor, "cancelled")
    settle(backorder)
    record(session, Kind.BACKORDER, backorder.id, actor, "CANCELLED", reason)
    events.about_backorder(session, backorder, EventKind.BACKORDER_CANCELLED)
    return backorder
