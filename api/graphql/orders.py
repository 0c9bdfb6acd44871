"""Orders and backorders: a site orders; what its shelf cannot fill waits as a backorder."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Caller
from api.graphql.base import BackorderStatusEnum, Connection, PriorityEnum, UserError, paginate
from api.graphql.runner import mutate, read
from api.graphql.scope import backorder_in_scope, site_in_scope, visible_backorders
from api.graphql.types import Backorder
from models import Backorder as BackorderRow
from models import Priority, Site
from pooling import orders


@strawberry.input
class PlaceOrderInput:
    site: str
    sku: str
    quantity: int
    priority: PriorityEnum = Priority.NORMAL
    needed_by: datetime | None = None
    reference: str | None = None


@strawberry.type
class PlaceOrderPayload:
    filled_quantity: int | None = None
    backorder: Backorder | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CancelBackorderInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.type
class CancelBackorderPayload:
    backorder: Backorder | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class OrdersQuery:
    @strawberry.field(description="Backorders the caller may see, oldest first.")
    async def backorders(
        self,
        info: strawberry.Info,
        region: str | None = None,
        site: str | None = None,
        status: list[BackorderStatusEnum] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Backorder]:
        def work(session: Session, caller: Caller) -> Connection[Backorder]:
            query = select(BackorderRow).where(visible_backorders(caller))
            if region is not None:
                query = query.where(BackorderRow.site_id.in_(select(Site.id).where(Site.region == region)))
            if site is not None:
                query = query.where(BackorderRow.site_id == site_in_scope(session, caller, site).id)
            if status:
                query = query.where(BackorderRow.status.in_(set(status)))  # repeats are one SQL parameter
            return paginate(session, query, BackorderRow.id, first, after, Backorder.of)

        return await read(info, work)


@strawberry.type
class OrdersMutation:
    @strawberry.mutation(description="Fill from the site's available stock; backorder the rest.")
    async def place_order(self, info: strawberry.Info, input: PlaceOrderInput) -> PlaceOrderPayload:
        def work(session: Session, caller: Caller) -> PlaceOrderPayload:
            site_in_scope(session, caller, input.site)
            placed = orders.place_order(
                session,
                input.site,
                input.sku,
                input.quantity,
                Priority(input.priority),
                input.needed_by,
                input.reference,
                caller.actor,
            )
            backorder = Backorder.of(placed.backorder) if placed.backorder else None
            return PlaceOrderPayload(filled_quantity=placed.filled_quantity, backorder=backorder)

        return await mutate(info, PlaceOrderPayload, work)

    @strawberry.mutation
    async def cancel_backorder(self, info: strawberry.Info, input: CancelBackorderInput) -> CancelBackorderPayload:
        def work(session: Session, caller: Caller) -> CancelBackorderPayload:
            row = backorder_in_scope(session, caller, input.id)
            return CancelBackorderPayload(
                backorder=Backorder.of(orders.cancel_backorder(session, row.id, input.reason, caller.actor))
            )

        return await mutate(info, CancelBackorderPayload, work)
