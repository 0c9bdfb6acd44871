"""The coordinator's figures (`kpis`): for a region or the network, over a period, in total and per site.

Scope: an ADMIN asks any region (or, without one, the network); a COORDINATOR its region, a SITE its site's
region (without one, theirs is meant). Any other region answers NOT_FOUND, exactly like one that does not
exist. The per-site list holds the sites the caller may see: all of the region's, or a SITE's own.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy.orm import Session
from strawberry import Private

from api.auth import Caller
from api.graphql.scope import figures_scope, may_see_site
from api.graphql.types import Site
from models import Site as SiteRow
from pooling import kpis as figures

PERIOD = (
    "Records count when they happened: orders (and the backorders they opened) when placed, transfers and "
    "reorders when received."
)


@strawberry.type
class Figures:
    orders_placed: int = strawberry.field(description="Orders placed in the period.")
    orders_backordered: int = strawberry.field(
        description="Orders of the period that the shelf could not fill entirely when placed."
    )
    backorder_rate: float = strawberry.field(
        description="ordersBackordered / ordersPlaced: a fraction from 0 to 1 (0.25 is 25 %); 0 without orders."
    )
    fill_rate: float = strawberry.field(
        description="Units filled from the shelf when ordered / units ordered: a fraction from 0 to 1; 0 without "
        "orders."
    )
    open_backorder_units: int = strawberry.field(
        description="Units still open now (neither fulfilled nor covered) of the backorders opened in the period."
    )
    units_pooled: int = strawberry.field(
        description="Units received by transfers from sister sites in the period (what arrived, not what was shipped)."
    )
    units_reordered: int = strawberry.field(description="Units received from the supplier by reorders in the period.")
    pooled_share: float = strawberry.field(
        description="unitsPooled / (unitsPooled + unitsReordered): a fraction from 0 to 1; 0 when both are 0."
    )
    savings: Decimal = strawberry.field(
        description="Over the transfers received in the period: units received times the item's unit cost, less "
        "units shipped times the transfer's unit cost, in the currency unit. Approved or shipped transfers count "
        "once received."
    )

    @staticmethod
    def values(kpis: figures.Kpis) -> dict[str, Any]:
        return {name: getattr(kpis, name) for name in figures.Kpis.__dataclass_fields__}


@strawberry.type(description="The figures of one site.")
class SiteKpis(Figures):
    site_row: Private[SiteRow]

    @strawberry.field
    def site(self) -> Site:
        return Site.of(self.site_row)


@strawberry.type(description="Backorder rate, fill rate, pooling and savings of a region or the network. " + PERIOD)
class Kpis(Figures):
    sites: list[SiteKpis] = strawberry.field(
        description="The same figures per site, for the sites of the scope the caller may see, by code."
    )


def kpis_for(
    session: Session, caller: Caller, region: str | None, since: datetime | None, until: datetime | None
) -> Kpis:
    card = figures.scorecard(session, figures_scope(caller, region), since, until)
    return Kpis(
        **Figures.values(card.total),
        sites=[
            SiteKpis(site_row=site, **Figures.values(kpis)) for site, kpis in card.sites if may_see_site(caller, site)
        ],
    )
