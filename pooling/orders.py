"""Operations on orders: place one (fill from the shelf, backorder the rest), cancel a backorder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from models import Backorder, BackorderStatus, EventKind, MovementReason, Order, Priority, StockLevel, utcnow
from pooling import events
from pooling.backorders import move_covers, settle
from pooling.errors import ErrorCode, PoolingError, Ref
from pooling.history import Kind, record
from pooling.ledger import check_quantity, lock_levels, lock_records, move
from pooling.limits import MAX_REFERENCE, check_text
from pooling.lookup import by_id, items_by_sku, sites_by_code
from pooling.moments import in_utc


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    backorder: Backorder | None

    @property
    def filled_quantity(self) -> int:
        return self.order.filled_quantity


@dataclass(frozen=True)
class OrderLine:
    """One order to place: what `place_order` takes, as a value (`place_orders` takes many)."""

    site: str
    sku: str
    quantity: int
    priority: Priority = Priority.NORMAL
    needed_by: datetime | None = None
    reference: str | None = None


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
    (placed,) = place_orders(session, [OrderLine(site, sku, quantity, priority, needed_by, reference)], actor)
    return placed


def place_orders(session: Session, lines: Sequence[OrderLine], actor: str | None = None) -> list[PlacedOrder]:
    """Place orders, in the order given, all or none: each fills what it can from its site's available stock (an
    ORDER_FILL movement) and backorders the rest (with its history line and BACKORDER_CREATED event).

    The one rule for one order or many: a later line for the same (site, item) sees what the earlier ones left.
    Many lines cost what a few orders do: the sites and items are looked up once, their levels locked together
    (`lock_levels`, in its fixed order), the orders and the backorders each written in one flush.
    """
    checked = []
    for line in lines:
        check_quantity(line.quantity)
        needed_by = None if line.needed_by is None else in_utc(line.needed_by, "needed_by")
        check_text(line.reference, "reference", MAX_REFERENCE)
        checked.append(replace(line, needed_by=needed_by))
    sites = sites_by_code(session, [line.site for line in checked])
    items = items_by_sku(session, [line.sku for line in checked])
    for line in checked:
        if not sites[line.site].active:
            raise PoolingError(ErrorCode.INVALID_STATE, f"Site {sites[line.site].code} is not active.", "site")
    levels = lock_levels(session, [(sites[line.site].id, items[line.sku].id) for line in checked])
    now = utcnow()
    available = {pair: level.available for pair, level in levels.items()}  # less what the lines before took
    placed: list[tuple[Order, StockLevel]] = []
    for line in checked:
        site_row, item = sites[line.site], items[line.sku]
        pair = (site_row.id, item.id)
        filled = min(line.quantity, max(available[pair], 0))
        available[pair] -= filled
        level = levels[pair]
        order = Order(
            site_id=site_row.id,
            item_id=item.id,
            quantity=line.quantity,
            filled_quantity=filled,
            priority=line.priority,
            needed_by=line.needed_by,
            reference=line.reference,
            actor=actor,
            created_at=now,
        )
        placed.append((order, level))
    session.add_all([order for order, _ in placed])
    session.flush()
    backorders: list[Backorder | None] = []
    for order, level in placed:
        if order.filled_quantity:
            move(session, level, -order.filled_quantity, MovementReason.ORDER_FILL, actor, order_id=order.id)
        backorder = None
        if order.quantity > order.filled_quantity:
            backorder = Backorder(
                order_id=order.id,
                site_id=order.site_id,
                item_id=order.item_id,
                quantity=order.quantity - order.filled_quantity,
                fulfilled=0,
                covered=0,
                priority=order.priority,
                needed_by=order.needed_by,
                reference=order.reference,
                created_at=order.created_at,
                status=BackorderStatus.OPEN,
            )
            session.add(backorder)
        backorders.append(backorder)
    if any(backorders):
        session.flush()
    for backorder in backorders:
        if backorder is not None:
            record(session, Kind.BACKORDER, backorder.id, actor, "CREATED", f"{backorder.quantity} unit(s) backordered")
            events.about_backorder(session, backorder, EventKind.BACKORDER_CREATED, quantity=backorder.quantity)
    return [PlacedOrder(order, backorder) for (order, _), backorder in zip(placed, backorders, strict=True)]


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
