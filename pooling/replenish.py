"""REPLENISH demand of a proactive rebalance: sites whose projected position is below their reorder point.

Projected position = available + incoming - open backorder units. A site below its reorder point asks for the
units that bring it up to its order-up-to level once its open backorders are served (which the same plan does
first): order_up_to - (available + incoming), or up to the reorder point when the level has no order-up-to.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import Backorder, Reorder, ReorderStatus, StockLevel, Transfer
from pooling.backorders import HAS_OPEN
from pooling.ledger import Pair
from pooling.transfers import COMMITTED

# Moving a unit to replenish a site pays when the lane costs less than this share of the item's price (an item's
# own `replenish_cost_share` wins).
DEFAULT_COST_SHARE = 0.5


def default_cost_share() -> float:
    """`STOCKPOOL_REPLENISH_COST_SHARE` (a fraction, 0..1) or 0.5."""
    value = float(os.environ.get("STOCKPOOL_REPLENISH_COST_SHARE", DEFAULT_COST_SHARE))
    if not 0 <= value <= 1:
        raise ValueError(f"STOCKPOOL_REPLENISH_COST_SHARE must be between 0 and 1, not {value}")
    return value


def replenishment(session: Session, region_sites: Select[Any], items: Sequence[int] | None) -> dict[Pair, int]:
    """(site, item) -> units wanted, for the region's stock levels projected below their reorder point."""
    scoped = (StockLevel.item_id.in_(list(items)),) if items is not None else ()
    levels = session.execute(
        select(
            StockLevel.site_id,
            StockLevel.item_id,
            StockLevel.on_hand - StockLevel.reserved,
            StockLevel.reorder_point,
            StockLevel.order_up_to,
        ).where(StockLevel.site_id.in_(region_sites), StockLevel.reorder_point > 0, *scoped)
    ).all()
    if not levels:
        return {}
    in_transit = session.execute(
        select(Transfer.to_site_id, Transfer.item_id, func.sum(Transfer.quantity))
        .where(Transfer.to_site_id.in_(region_sites), Transfer.status.in_(COMMITTED))
        .group_by(Transfer.to_site_id, Transfer.item_id)
    ).all()
    ordered = session.execute(
        select(Reorder.site_id, Reorder.item_id, func.sum(Reorder.quantity))
        .where(Reorder.site_id.in_(region_sites), Reorder.status == ReorderStatus.ORDERED)
        .group_by(Reorder.site_id, Reorder.item_id)
    ).all()
    waiting = session.execute(
        select(Backorder.site_id, Backorder.item_id, func.sum(Backorder.open))
        .where(Backorder.site_id.in_(region_sites), Backorder.status.in_(HAS_OPEN))
        .group_by(Backorder.site_id, Backorder.item_id)
    ).all()
    incoming: dict[Pair, int] = {}
    for site, item, units in (*in_transit, *ordered):
        incoming[(site, item)] = incoming.get((site, item), 0) + int(units)
    open_units = {(site, item): int(units) for site, item, units in waiting}
    wanted = {}
    for site, item, available, reorder_point, order_up_to in levels:
        stocked = available + incoming.get((site, item), 0)
        target = max(order_up_to, reorder_point)  # a policy without an order-up-to level restores its reorder point
        if stocked - open_units.get((site, item), 0) < reorder_point and target > stocked:
            wanted[(site, item)] = target - stocked
    return wanted
