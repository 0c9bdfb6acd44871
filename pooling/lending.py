"""Lending balances: what each site of a region gave to and took from its sister sites through received transfers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Item, Site, Transfer, TransferStatus
from pooling.errors import ErrorCode, PoolingError


@dataclass(frozen=True)
class Balance:
    site: Site
    units_lent: int
    units_borrowed: int
    value_lent: Decimal  # units at the item's price
    value_borrowed: Decimal


def lending(session: Session, region: str, since: datetime | None = None) -> list[Balance]:
    """One balance per site of the region (by code), counting the units received (a unit lost in transit was
    neither lent nor borrowed), from `since` on (received at or after it)."""
    sites = list(session.scalars(select(Site).where(Site.region == region).order_by(Site.code)))
    if not sites:
        raise PoolingError(ErrorCode.NOT_FOUND, f"No region {region!r}.", "region")
    ids = [s.id for s in sites]
    received = [Transfer.status == TransferStatus.RECEIVED, Transfer.quantity_received > 0]
    if since is not None:
        received.append(Transfer.received_at >= since)
    totals: dict[tuple[str, int], tuple[int, Decimal]] = {}
    for end, side in (("lent", Transfer.from_site_id), ("borrowed", Transfer.to_site_id)):
        rows = session.execute(
            select(side, func.sum(Transfer.quantity_received), func.sum(Transfer.quantity_received * Item.unit_cost))
            .join(Item, Item.id == Transfer.item_id)
            .where(side.in_(ids), *received)
            .group_by(side)
        )
        for site_id, units, value in rows:
            totals[(end, site_id)] = (int(units or 0), Decimal(value or 0).quantize(Decimal("0.01")))
    zero = (0, Decimal("0.00"))
    return [
        Balance(
            site=s,
            units_lent=totals.get(("lent", s.id), zero)[0],
            units_borrowed=totals.get(("borrowed", s.id), zero)[0],
            value_lent=totals.get(("lent", s.id), zero)[1],
            value_borrowed=totals.get(("borrowed", s.id), zero)[1],
        )
        for s in sites
    ]
