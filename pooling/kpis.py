"""The coordinator's figures for a region (or the whole network): backorders, fill, pooling and money saved."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, case, cast, func, select, true
from sqlalchemy.orm import Session

from models import Backorder, Item, Order, Reorder, ReorderStatus, Site, Transfer, TransferStatus
from pooling.backorders import HAS_OPEN

# Transfers that count as pooled for the savings: approved (committed), on their way, or arrived.
SAVING_TRANSFERS = (TransferStatus.APPROVED, TransferStatus.SHIPPED, TransferStatus.RECEIVED)


@dataclass(frozen=True)
class Kpis:
    """Figures over the orders, backorders, transfers and reorders of a scope (a region's sites, or all sites).

    - `orders_placed`: the number of orders placed at the sites.
    - `orders_backordered`: those of them that local stock could not fill entirely (filled_quantity < quantity).
    - `backorder_rate`: orders_backordered / orders_placed * 100, a percentage; 0.0 when no order was placed.
    - `fill_rate`: units filled from the shelf when ordered / units ordered, 0..1; 0.0 when no order was placed.
    - `open_backorder_units`: units of OPEN or PARTIALLY_COVERED backorders that are neither fulfilled nor
      covered by an approved transfer or an ordered reorder (quantity - fulfilled - covered).
    - `units_pooled`: units received by RECEIVED transfers into the sites (what arrived, not what was shipped).
    - `units_reordered`: units received by RECEIVED reorders at the sites.
    - `pooled_share`: units_pooled / (units_pooled + units_reordered), 0..1; 0.0 when both are 0.
    - `savings`: over transfers into the sites that are APPROVED, SHIPPED or RECEIVED, the sum of
      quantity * (the item's unit cost - the transfer's unit cost): what buying those units from the supplier
      would have cost, less what moving them cost; in the currency unit, 2 decimals (negative where a transfer
      cost more than buying).
    """

    orders_placed: int
    orders_backordered: int
    backorder_rate: float
    fill_rate: float
    open_backorder_units: int
    units_pooled: int
    units_reordered: int
    pooled_share: float
    savings: Decimal


def kpis(session: Session, region: str | None = None) -> Kpis:
    """The figures of the sites of `region` (all sites when None); a region without sites has all figures 0."""
    placed, backordered, filled_units, ordered_units = session.execute(
        select(
            func.count(Order.id),
            _total(case((Order.filled_quantity < Order.quantity, 1), else_=0)),
            _total(Order.filled_quantity),
            _total(Order.quantity),
        ).where(_in_scope(Order.site_id, region))
    ).one()
    open_units = session.scalar(
        select(_total(Backorder.quantity - Backorder.fulfilled - Backorder.covered)).where(
            _in_scope(Backorder.site_id, region), Backorder.status.in_(HAS_OPEN)
        )
    )
    pooled, saved_cents = session.execute(
        select(
            _total(case((Transfer.status == TransferStatus.RECEIVED, Transfer.quantity_received), else_=0)),
            _total(Transfer.quantity * (_cents(Item.unit_cost) - _cents(Transfer.unit_cost))),
        )
        .join(Item, Item.id == Transfer.item_id)
        .where(_in_scope(Transfer.to_site_id, region), Transfer.status.in_(SAVING_TRANSFERS))
    ).one()
    reordered = session.scalar(
        select(_total(Reorder.quantity_received)).where(
            _in_scope(Reorder.site_id, region), Reorder.status == ReorderStatus.RECEIVED
        )
    )
    # PostgreSQL sums integers to numeric (a Decimal): bring every total back to int before dividing.
    placed, backordered, filled_units, ordered_units = map(int, (placed, backordered, filled_units, ordered_units))
    pooled, reordered = int(pooled), int(reordered or 0)
    return Kpis(
        orders_placed=placed,
        orders_backordered=backordered,
        backorder_rate=backordered / placed * 100 if placed else 0.0,
        fill_rate=filled_units / ordered_units if ordered_units else 0.0,
        open_backorder_units=int(open_units or 0),
        units_pooled=pooled,
        units_reordered=reordered,
        pooled_share=pooled / (pooled + reordered) if pooled + reordered else 0.0,
        savings=(Decimal(int(saved_cents)) / 100).quantize(Decimal("0.01")),
    )


def _in_scope(site_column: Any, region: str | None) -> ColumnElement[bool]:
    if region is None:
        return true()
    return site_column.in_(select(Site.id).where(Site.region == region))  # type: ignore[no-any-return]


def _total(expression: Any) -> Any:
    """SUM that is 0, not NULL, over no rows."""
    return func.coalesce(func.sum(expression), 0)


def _cents(amount: Any) -> Any:
    """A money column as whole cents, exact on PostgreSQL (numeric) and SQLite (which stores a float)."""
    return cast(func.round(amount * 100), BigInteger)
