"""Sites, items and lanes: ADMIN sets them up; everyone reads them."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Caller
from api.graphql.base import Connection, UserError, paginate
from api.graphql.runner import mutate, read
from api.graphql.scope import require_admin
from api.graphql.types import Item, Lane, Site
from models import Item as ItemRow
from models import Lane as LaneRow
from models import Site as SiteRow
from models.network import DEFAULT_HANDLING_TIME_HOURS
from pooling import codes, network


@strawberry.input
class CreateSiteInput:
    code: str = strawberry.field(description="The site's code. " + codes.described(codes.SITE_CODE_LENGTH))
    name: str
    region: str = strawberry.field(description="The region's name. " + codes.described(codes.REGION_LENGTH))
    latitude: float | None = None
    longitude: float | None = None
    handling_time_hours: int = strawberry.field(
        default=DEFAULT_HANDLING_TIME_HOURS,
        description="Hours between a transfer's approval and its shipping from the site (expected times count it).",
    )


@strawberry.type
class CreateSitePayload:
    site: Site | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CreateItemInput:
    sku: str = strawberry.field(description="The item's SKU. " + codes.described(codes.SKU_LENGTH))
    name: str
    unit_cost: Decimal
    unit: str = "each"
    supplier_lead_time_days: int = 7
    purchasable: bool = True


@strawberry.type
class CreateItemPayload:
    item: Item | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class SetLaneInput:
    from_site: str
    to_site: str
    unit_cost: Decimal
    lead_time_hours: int
    capacity: int | None = None
    active: bool = True


@strawberry.type
class SetLanePayload:
    lane: Lane | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class NetworkQuery:
    @strawberry.field(description="Sites, optionally of one region.")
    async def sites(
        self, info: strawberry.Info, region: str | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[Site]:
        def work(session: Session, _: Caller) -> Connection[Site]:
            query = select(SiteRow)
            if region is not None:
                query = query.where(SiteRow.region == region)
            return paginate(session, query, SiteRow.id, first, after, Site.of)

        return await read(info, work)

    @strawberry.field
    async def items(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Item]:
        return await read(info, lambda s, _: paginate(s, select(ItemRow), ItemRow.id, first, after, Item.of))

    @strawberry.field(description="Lanes whose origin is in the region (or all).")
    async def lanes(self, info: strawberry.Info, region: str | None = None) -> list[Lane]:
        def work(session: Session, _: Caller) -> list[Lane]:
            query = select(LaneRow).order_by(LaneRow.id).limit(5000)
            if region is not None:
                query = query.where(LaneRow.from_site_id.in_(select(SiteRow.id).where(SiteRow.region == region)))
            return [Lane.of(row) for row in session.scalars(query)]

        return await read(info, work)


@strawberry.type
class NetworkMutation:
    @strawberry.mutation
    async def create_site(self, info: strawberry.Info, input: CreateSiteInput) -> CreateSitePayload:
        def work(session: Session, caller: Caller) -> CreateSitePayload:
            require_admin(caller)
            row = network.create_site(
                session,
                input.code,
                input.name,
                input.region,
                input.latitude,
                input.longitude,
                input.handling_time_hours,
            )
            return CreateSitePayload(site=Site.of(row))

        return await mutate(info, CreateSitePayload, work)

    @strawberry.mutation
    async def create_item(self, info: strawberry.Info, input: CreateItemInput) -> CreateItemPayload:
        def work(session: Session, caller: Caller) -> CreateItemPayload:
            require_admin(caller)
            row = network.create_item(
                session,
                input.sku,
                input.name,
                input.unit_cost,
                input.unit,
                input.supplier_lead_time_days,
                input.purchasable,
            )
            return CreateItemPayload(item=Item.of(row))

        return await mutate(info, CreateItemPayload, work)

    @strawberry.mutation
    async def set_lane(self, info: strawberry.Info, input: SetLaneInput) -> SetLanePayload:
        def work(session: Session, caller: Caller) -> SetLanePayload:
            require_admin(caller)
            row = network.set_lane(
                session,
                input.from_site,
                input.to_site,
                input.unit_cost,
                input.lead_time_hours,
                input.capacity,
                input.active,
                caller.actor,
            )
            return SetLanePayload(lane=Lane.of(row))

        return await mutate(info, SetLanePayload, work)
