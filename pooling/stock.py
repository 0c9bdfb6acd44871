"""Operations on a site's stock: record a movement, set a stock policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from models import EventKind, MovementReason, PolicyMode, StockLevel
from pooling import events, forecasts
from pooling.backorders import fill_from_shelves
from pooling.errors import ErrorCode, PoolingError
from pooling.history import Kind, changes, record
from pooling.ledger import Pair, check_quantity, lock_levels, move
from pooling.limits import check_text
from pooling.lookup import item_by_sku, items_by_sku, site_by_code, sites_by_code

# Reasons a site may record itself, and the sign each takes (+1 in, -1 out, 0 either).
SITE_REASONS = {
    MovementReason.RECEIPT: 1,
    MovementReason.CONSUMPTION: -1,
    MovementReason.DAMAGE: -1,
    MovementReason.COUNT_ADJUSTMENT: 0,
}


@dataclass(frozen=True)
class MovementLine:
    """One movement a site records: what `record_movement` takes, as a value (`record_movements` takes many)."""

    site: str
    sku: str
    quantity: int
    reason: MovementReason
    note: str | None = None


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
    (level,) = record_movements(session, [MovementLine(site, sku, quantity, reason, note)], actor)
    return level


def record_movements(session: Session, lines: Sequence[MovementLine], actor: str | None = None) -> list[StockLevel]:
    """Record movements in the order given, all or none (`record_movement`'s rule, line by line); the sites and
    items are looked up once and the levels locked together. Returns each line's level."""
    for line in lines:
        if line.reason not in SITE_REASONS:
            allowed = ", ".join(SITE_REASONS)
            raise PoolingError(
                ErrorCode.INVALID,
                f"{line.reason} movements are made by the service itself; use one of {allowed}.",
                "reason",
            )
        check_quantity(line.quantity, positive=False)
        check_text(line.note, "note")
        sign = SITE_REASONS[line.reason]
        if line.quantity == 0 or line.quantity * sign < 0:
            wanted = {1: "positive", -1: "negative", 0: "non-zero"}[sign]
            raise PoolingError(ErrorCode.INVALID_QUANTITY, f"A {line.reason} takes a {wanted} quantity.", "quantity")
    sites = sites_by_code(session, [line.site for line in lines])
    items = items_by_sku(session, [line.sku for line in lines])
    pairs = [(sites[line.site].id, items[line.sku].id) for line in lines]
    levels = lock_levels(session, pairs)
    # New stock first fills waiting backorders: the fills of a run of receipts are made together (one read of the
    # waiting backorders), before any later line takes stock from one of their levels.
    stocked: dict[Pair, StockLevel] = {}
    for line, pair in zip(lines, pairs, strict=True):
        if line.quantity < 0 and pair in stocked:
            fill_from_shelves(session, stocked.values(), actor)
            stocked.clear()
        move(session, levels[pair], line.quantity, line.reason, actor, note=line.note)
        if line.quantity > 0:
            stocked[pair] = levels[pair]
    fill_from_shelves(session, stocked.values(), actor)
    return [levels[pair] for pair in pairs]


def set_stock_policy(
    session: Session,
    site: str,
    sku: str,
    safety_stock: int | None = None,
    reorder_point: int | None = None,
    actor: str | None = None,
    *,
    mode: PolicyMode = PolicyMode.MANUAL,
    service_level: float | None = None,
    order_up_to: int | None = None,
) -> StockLevel:
    """MANUAL: the numbers given (safety stock and reorder point required, order-up-to kept when not given).
    FORECAST: the numbers follow the forecast at the service level from now on (set at once when the series has
    demand; a series without any keeps its numbers until demand shows up)."""
    if service_level is not None:
        forecasts.check_service_level(service_level)
    numbers = {"safety_stock": safety_stock, "reorder_point": reorder_point, "order_up_to": order_up_to}
    for name, value in numbers.items():
        if value is not None:
            if value < 0:
                raise PoolingError(ErrorCode.INVALID_QUANTITY, "A stock policy cannot be negative.", name)
            check_quantity(value, name, positive=False)
    if mode == PolicyMode.MANUAL:
        for name in ("safety_stock", "reorder_point"):
            if numbers[name] is None:
                raise PoolingError(ErrorCode.INVALID, "A MANUAL policy needs a safety stock and a reorder point.", name)
        if order_up_to is not None and reorder_point is not None and order_up_to < reorder_point:
            raise PoolingError(ErrorCode.INVALID, "Order-up-to cannot be below the reorder point.", "order_up_to")
    else:
        for name, value in numbers.items():
            if value is not None:
                raise PoolingError(
                    ErrorCode.INVALID, "A FORECAST policy computes its numbers; leave them out or use MANUAL.", name
                )
    site_row, item = site_by_code(session, site), item_by_sku(session, sku)
    level = lock_levels(session, [(site_row.id, item.id)])[(site_row.id, item.id)]
    before = {name: getattr(level, name) for name in forecasts.POLICY_FIELDS}
    after = dict(before, policy_mode=mode)
    if service_level is not None:
        after["service_level"] = service_level
    if mode == PolicyMode.MANUAL:
        after.update({k: v for k, v in numbers.items() if v is not None})
    else:
        computed = forecasts.one_series(session, site_row, item, float(after["service_level"]))
        if computed.found.demand_class[0] != 0:
            after["safety_stock"] = int(computed.policy.safety_stock[0])
            after["reorder_point"] = int(computed.policy.reorder_point[0])
            after["order_up_to"] = int(computed.policy.order_up_to[0])
    old, new = changes(_plain(before), _plain(after))
    for name in forecasts.POLICY_FIELDS:
        setattr(level, name, after[name])
    if new:
        record(session, Kind.STOCK_LEVEL, level.id, actor, "POLICY_CHANGED", old=old, new=new)
        events.record(
            session,
            EventKind.STOCK_POLICY_CHANGED,
            region=site_row.region,
            site_id=site_row.id,
            item_id=item.id,
            data={"old": old, "new": new, "source": mode.value},
        )
    return level


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.value if isinstance(v, PolicyMode) else v for k, v in values.items()}
