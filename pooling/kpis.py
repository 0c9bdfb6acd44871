"""The coordinator's figures for a region (or the whole network), in total and per site, over a period.

Each record counts when it happened: an order (and the backorder it opened) when it was placed, a transfer or a
reorder when it was received. `since` is inclusive, `until` exclusive; either may be left open.

- `orders_placed`: orders placed at the site(s).
- `orders_backordered`: those of them that local stock could not fill entirely (filled_quantity < quantity).
- `backorder_rate`: orders_backordered / orders_placed, a fraction 0..1; 0.0 when no order was placed.
- `fill_rate`: units filled from the shelf when ordered / units ordered, a fraction 0..1; 0.0 without orders.
- `open_backorder_units`: of the backorders those orders opened, the units open now: neither fulfilled nor
  covered by an approved transfer or an ordered reorder (quantity - fulfilled - covered of OPEN and
  PARTIALLY_COVERED backorders).
- `units_pooled`: units that arrived by RECEIVED transfers into the site(s): the received quantity, so a unit
  lost in transit is not pooled (and its replacement, when it arrives, is counted once).
- `units_reordered`: units that arrived by RECEIVED reorders at the site(s).
- `pooled_share`: units_pooled / (units_pooled + units_reordered), a fraction 0..1; 0.0 when both are 0.
- `savings`: over the RECEIVED transfers into the site(s): the units received times the item's unit cost (what
  buying them from the supplier would have cost), less the units shipped times the transfer's unit cost (moving
  costs the same whether a unit arrives or not). In the currency unit, 2 decimals; negative where pooling cost
  more than buying. An approved or shipped transfer saves nothing yet: it may still be cancelled or lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from models import Backorder, Item, Order, Reorder, ReorderStatus, Site, Transfer, TransferStatus
from pooling.backorders import HAS_OPEN
from pooling.errors import ErrorCode, PoolingError
from pooling.moments import in_utc
from pooling.money import cents_in_sql, from_cents


@dataclass(frozen=True)
class Kpis:
    """The figures of one site, or of several summed; see the module's docstring for each."""

    orders_placed: int
    orders_backordered: int
    backorder_rate: float
    fill_rate: float
    open_backorder_units: int
    units_pooled: int
    units_reordered: int
    pooled_share: float
    savings: Decimal


@dataclass(frozen=True)
class Scorecard:
    """The figures of a scope in total, and of each of its sites (every site of the scope, ordered by code)."""

    total: Kpis
    sites: list[tuple[Site, Kpis]]


@dataclass(frozen=True)
class _Counts:
    """What the figures are made of; counts add up across sites, rates do not."""

    orders_placed: int = 0
    orders_backordered: int = 0
    units_filled: int = 0
    units_ordered: int = 0
    open_backorder_units: int = 0
    units_pooled: int = 0
    units_reordered: int = 0
    saved_cents: int = 0

    def __add__(self, other: _Counts) -> _Counts:
        return _Counts(*(getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__))

    def figures(self) -> Kpis:
        moved = self.units_pooled + self.units_reordered
        return Kpis(
            orders_placed=self.orders_placed,
            orders_backordered=self.orders_backordered,
            backorder_rate=self.orders_backordered / self.orders_placed if self.orders_placed else 0.0,
            fill_rate=self.units_filled / self.units_ordered if self.units_ordered else 0.0,
            open_backorder_units=self.open_backorder_units,
            units_pooled=self.units_pooled,
            units_reordered=self.units_reordered,
            pooled_share=self.units_pooled / moved if moved else 0.0,
            savings=from_cents(self.saved_cents),
        )


# An order local stock could not fill entirely (`orders_backordered`), in SQL.
BACKORDERED = case((Order.filled_quantity < Order.quantity, 1), else_=0)


def backorder_rates(session: Session, regions: Iterable[str], since: datetime) -> dict[str, Kpis]:
    """Per region, the figures of its orders placed since `since` (orders_placed, orders_backordered and
    backorder_rate; the other figures are 0): one grouped query, for the BACKORDER_RATE_HIGH alert that every
    order re-evaluates. A region without orders in the period is absent."""
    names = sorted(set(regions))
    if not names:
        return {}
    rows = session.execute(
        select(Site.region, func.count(Order.id), _total(BACKORDERED))
        .join(Site, Site.id == Order.site_id)
        .where(Site.region.in_(names), Order.created_at >= in_utc(since, "since"))
        .group_by(Site.region)
    )
    return {
        region: _Counts(orders_placed=int(placed), orders_backordered=int(backordered)).figures()
        for region, placed, backordered in rows
    }


def kpis(
    session: Session, region: str | None = None, since: datetime | None = None, until: datetime | None = None
) -> Kpis:
    """The figures of the sites of `region` (all sites when None) over the period, in total."""
    return scorecard(session, region, since, until).total


def scorecard(
    session: Session, region: str | None = None, since: datetime | None = None, until: datetime | None = None
) -> Scorecard:
    """The figures of the sites of `region` (all sites when None) over the period, in total and per site.

    A region that no site is in is NOT_FOUND; `since` must come before `until`, both with a time zone.
    """
    since = None if since is None else in_utc(since, "since")
    until = None if until is None else in_utc(until, "until")
    if since is not None and until is not None and since >= until:
        raise PoolingError(ErrorCode.INVALID, "until must be later than since.", "until")
    scope = select(Site).order_by(Site.code)
    if region is not None:
        scope = scope.where(Site.region == region)
    sites = session.scalars(scope).all()
    if region is not None and not sites:
        raise PoolingError(ErrorCode.NOT_FOUND, f"No region {region!r}.", "region")
    site_ids = select(Site.id).where(Site.region == region) if region is not None else None

    def per_site(site_column: Any, time_column: Any, query: Select[Any]) -> Select[Any]:
        if site_ids is not None:
            query = query.where(site_column.in_(site_ids))
        if since is not None:
            query = query.where(time_column >= since)
        if until is not None:
            query = query.where(time_column < until)
        return query.group_by(site_column)

    counts: dict[int, dict[str, int]] = {site.id: {} for site in sites}

    def gather(query: Select[Any], names: tuple[str, ...]) -> None:
        # PostgreSQL sums integers to numeric (a Decimal): every total comes back to int.
        for site_id, *values in session.execute(query):
            counts[site_id].update({name: int(value) for name, value in zip(names, values, strict=True)})

    gather(
        per_site(
            Order.site_id,
            Order.created_at,
            select(
                Order.site_id,
                func.count(Order.id),
                _total(BACKORDERED),
                _total(Order.filled_quantity),
                _total(Order.quantity),
            ),
        ),
        ("orders_placed", "orders_backordered", "units_filled", "units_ordered"),
    )
    gather(
        per_site(
            Backorder.site_id,
            Backorder.created_at,
            select(Backorder.site_id, _total(Backorder.open)).where(Backorder.status.in_(HAS_OPEN)),
        ),
        ("open_backorder_units",),
    )
    received = func.coalesce(Transfer.quantity_received, 0)
    gather(
        per_site(
            Transfer.to_site_id,
            Transfer.received_at,
            select(
                Transfer.to_site_id,
                _total(received),
                _total(received * cents_in_sql(Item.unit_cost) - Transfer.quantity * cents_in_sql(Transfer.unit_cost)),
            )
            .join(Item, Item.id == Transfer.item_id)
            .where(Transfer.status == TransferStatus.RECEIVED),
        ),
        ("units_pooled", "saved_cents"),
    )
    gather(
        per_site(
            Reorder.site_id,
            Reorder.received_at,
            select(Reorder.site_id, _total(Reorder.quantity_received)).where(Reorder.status == ReorderStatus.RECEIVED),
        ),
        ("units_reordered",),
    )
    by_site = [(site, _Counts(**counts[site.id])) for site in sites]
    total = sum((c for _, c in by_site), _Counts())
    return Scorecard(total=total.figures(), sites=[(site, c.figures()) for site, c in by_site])


def _total(expression: Any) -> Any:
    """SUM that is 0, not NULL, over no rows."""
    return func.coalesce(func.sum(expression), 0)
