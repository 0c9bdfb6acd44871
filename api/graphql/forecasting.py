"""Demand forecasts: `forecast(site, sku)`, the forecast and suggested policy of one (site, item)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy.orm import Session

from api.auth import Caller
from api.graphql.base import DemandClassEnum
from api.graphql.runner import read
from api.graphql.scope import site_in_scope
from api.graphql.types import Item, Site
from pooling import forecasts
from pooling.lookup import item_by_sku


@strawberry.type(
    description="Daily demand of a (site, item) from its history (orders asked and consumption; stock-out days "
    "without demand left out), the method chosen by backtest, and the policy it suggests for the item's supplier "
    "lead time at the stock level's service level."
)
class Forecast:
    site: Site
    item: Item
    demand_class: DemandClassEnum = strawberry.field(
        description="Syntetos-Boylan class by ADI and CV²: NO_DEMAND, SMOOTH, INTERMITTENT, ERRATIC, LUMPY."
    )
    method: str = strawberry.field(description="ZERO, SES, CROSTON_SBA or TSB.")
    history_days: int = strawberry.field(description="Days of history used (stock-out days without demand left out).")
    daily_mean: float = strawberry.field(description="Forecast units per day.")
    daily_std_dev: float = strawberry.field(description="Spread of the one-day-ahead forecast errors.")
    adi: float | None = strawberry.field(description="Average days between demand days; null without demand.")
    cv2: float | None = strawberry.field(description="Squared coefficient of variation of demand sizes.")
    lead_time_days: int
    service_level: float = strawberry.field(description="Target cycle service level, 0..1.")
    suggested_safety_stock: int
    suggested_reorder_point: int
    suggested_order_up_to: int
    backtest_error: float | None = strawberry.field(
        description="Mean absolute error on held-out history over the naive forecast's in-sample error (MASE); "
        "null without history."
    )
    computed_at: datetime
    projected_stockout_at: datetime | None = strawberry.field(
        description="When available + incoming runs out at the forecast rate; null beyond 90 days or without demand."
    )

    @classmethod
    def of(cls, f: forecasts.SeriesForecast) -> Forecast:
        return cls(
            site=Site.of(f.site),
            item=Item.of(f.item),
            demand_class=f.demand_class,
            method=f.method,
            history_days=f.history_days,
            daily_mean=f.daily_mean,
            daily_std_dev=f.daily_std_dev,
            adi=f.adi,
            cv2=f.cv2,
            lead_time_days=f.lead_time_days,
            service_level=f.service_level,
            suggested_safety_stock=f.safety_stock,
            suggested_reorder_point=f.reorder_point,
            suggested_order_up_to=f.order_up_to,
            backtest_error=f.backtest_error,
            computed_at=f.computed_at,
            projected_stockout_at=f.projected_stockout_at,
        )


@strawberry.type
class ForecastQuery:
    @strawberry.field(
        description="The demand forecast of a (site, sku), computed from its history now; a SITE reads its own site, "
        "a COORDINATOR its region."
    )
    async def forecast(self, info: strawberry.Info, site: str, sku: str) -> Forecast:
        def work(session: Session, caller: Caller) -> Forecast:
            site_row, item = site_in_scope(session, caller, site), item_by_sku(session, sku)
            return Forecast.of(forecasts.series_forecast(session, site_row, item))

        return await read(info, work)
