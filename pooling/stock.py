"""Operations on a site's stock: record a movement, set a stock policy."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import MovementReason, StockLevel
from pooling.backorders import fill_from_shelf
from pooling.errors import ErrorCode, PoolingError
from pooling.history import Kind, changes, record
from pooling.ledger import check_quantity, lock_levels, move
from pooling.limits import check_text
from pooling.lookup import item_by_sku, site_by_code

# Reasons a site may record itself, and the sign each takes (+1 in, -1 out, 0 either).
SITE_REASONS = {
    MovementReason.RECEIPT: 1,
    MovementReason.CONSUMPTION: -1,
    MovementReason.DAMAGE: -1,
    MovementReason.COUNT_ADJUSTMENT: 0,
}


def record_movement(
    session: Session,
    site: str,
    sku: str,
    quantity: int,
    reason: MovementReason,
    actor: str | None = None,
    note: str | None = None,
) -> StockLevel:
    """Record a receipt, consumption, damage or count adjustment; new stock first fills waiting backorders."""
    if reason not in SITE_REASONS:
        allowed = ", ".join(SITE_REASONS)
        raise PoolingError(
            ErrorCode.INVALID, f"{reason} movements are made by the service itself; use one of {allowed}.", "reason"
        )
    check_quantity(quantity, positive=False)
    check_text(note, "note")
    sign = SITE_REASONS[reason]
    if quantity == 0 or quantity * sign < 0:
        wanted = {1: "positive", -1: "negative", 0: "non-zero"}[sign]
        raise PoolingError(ErrorCode.INVALID_QUANTITY, f"A {reason} takes a {wanted} quantity.", "quantity")
    site_row, item = site_by_code(session, site), item_by_sku(session, sku)
    level = lock_levels(session, [(site_row.id, item.id)])[(site_row.id, item.id)]
    move(session, level, quantity, reason, actor, note=note)
    if quantity > 0:
        fill_from_shelf(session, level, actor)
    return level


def set_stock_policy(
    session: Session, site: str, sku: str, safety_stock: int, reorder_point: int, actor: str | None = None
) -> StockLevel:
    for field, value in (("safety_stock", safety_stock), ("reorder_point", reorder_point)):
        if value < 0:
            raise PoolingError(ErrorCode.INVALID_QUANTITY, "A stock policy cannot be negative.", field)
        check_quantity(value, field, positive=False)
    site_row, item = site_by_code(session, site), item_by_sku(session, sku)
    level = lock_levels(session, [(site_row.id, item.id)])[(site_row.id, item.id)]
    before = {"safety_stock": level.safety_stock, "reorder_point": level.reorder_point}
    old, new = changes(before, {"safety_stock": safety_stock, "reorder_point": reorder_point})
    level.safety_stock = safety_stock
    level.reorder_point = reorder_point
    if new:
        record(session, Kind.STOCK_LEVEL, level.id, actor, "POLICY_CHANGED", old=old, new=new)
    return level
