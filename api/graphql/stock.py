"""Stock levels (network availability, readable by every caller), the ledger, and a site's own movements."""

from __future__ import annotations

import strawberry
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Caller
from api.graphql import preload
from api.graphql.base import Connection, MovementReasonEnum, PolicyModeEnum, UserError, paginate
from api.graphql.runner import mutate, read
from api.graphql.scope import site_in_scope
from api.graphql.types import Movement, StockLevel
from models import Movement as MovementRow
from models import MovementReason, PolicyMode
from models import StockLevel as StockLevelRow
from pooling import stock
from pooling.lookup import item_by_sku, site_by_code


@strawberry.input(
    description="MANUAL (the default): safetyStock and reorderPoint (orderUpTo kept when left out) stay until "
    "changed. FORECAST: the numbers follow the forecast at serviceLevel (0.5 < level <= 0.9999), set now and by "
    "the nightly job or `stockpool policies --apply`; leave the numbers out."
)
class SetStockPolicyInput:
    site: str
    sku: str
    safety_stock: int | None = None
    reorder_point: int | None = None
    order_up_to: int | None = None
    mode: PolicyModeEnum | None = None
    service_level: float | None = None


@strawberry.type
class SetStockPolicyPayload:
    stock_level: StockLevel | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(description="quantity is signed: CONSUMPTION and DAMAGE negative, COUNT_ADJUSTMENT either.")
class RecordMovementInput:
    site: str
    sku: str
    quantity: int
    reason: MovementReasonEnum
    note: str | None = None


@strawberry.type
class RecordMovementPayload:
    stock_level: StockLevel | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class StockQuery:
    @strawberry.field(description="Stock positions by site and/or sku: the network's availability.")
    async def stock_levels(
        self,
        info: strawberry.Info,
        site: str | None = None,
        sku: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[StockLevel]:
        wanted = preload.asked(info)

        def work(session: Session, caller: Caller) -> Connection[StockLevel]:
            query = select(StockLevelRow)
            if site is not None:
                query = query.where(StockLevelRow.site_id == site_by_code(session, site).id)
            if sku is not None:
                query = query.where(StockLevelRow.item_id == item_by_sku(session, sku).id)
            return paginate(
                session,
                query,
                StockLevelRow.id,
                first,
                after,
                to_nodes=lambda rows: preload.stock_levels(session, caller, rows, wanted),
            )

        return await read(info, work)

    @strawberry.field(description="The ledger of one (site, sku), newest first.")
    async def movements(
        self, info: strawberry.Info, site: str, sku: str, first: int | None = None, after: str | None = None
    ) -> Connection[Movement]:
        def work(session: Session, caller: Caller) -> Connection[Movement]:
            site_row, item = site_in_scope(session, caller, site), item_by_sku(session, sku)
            query = select(MovementRow).where(MovementRow.site_id == site_row.id, MovementRow.item_id == item.id)
            return paginate(session, query, MovementRow.id, first, after, Movement.of, descending=True)

        return await read(info, work)


@strawberry.type
class StockMutation:
    @strawberry.mutation
    async def set_stock_policy(self, info: strawberry.Info, input: SetStockPolicyInput) -> SetStockPolicyPayload:
        def work(session: Session, caller: Caller) -> SetStockPolicyPayload:
            site_in_scope(session, caller, input.site)
            level = stock.set_stock_policy(
                session,
                input.site,
                input.sku,
                input.safety_stock,
                input.reorder_point,
                caller.actor,
                mode=PolicyMode(input.mode or PolicyMode.MANUAL),
                service_level=input.service_level,
                order_up_to=input.order_up_to,
            )
            session.flush()
            return SetStockPolicyPayload(stock_level=StockLevel.of(level))

        return await mutate(info, SetStockPolicyPayload, work)

    @strawberry.mutation
    async def record_movement(self, info: strawberry.Info, input: RecordMovementInput) -> RecordMovementPayload:
        def work(session: Session, caller: Caller) -> RecordMovementPayload:
            site_in_scope(session, caller, input.site)
            level = stock.record_movement(
                session, input.site, input.sku, input.quantity, MovementReason(input.reason), caller.actor, input.note
            )
            session.flush()
            return RecordMovementPayload(stock_level=StockLevel.of(level))

        return await mutate(info, RecordMovementPayload, work)
