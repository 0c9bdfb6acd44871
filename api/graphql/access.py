"""The caller (`me`), tokens (ADMIN), figures (`kpis`) and `node(id)`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from sqlalchemy.orm import Session

from api.auth import Caller
from api.graphql.alerts import Alert
from api.graphql.base import Node, RoleEnum, UserError, parse_global_id, pk_of
from api.graphql.kpis import Kpis, kpis_for
from api.graphql.runner import mutate, read
from api.graphql.scope import (
    may_see_alert,
    may_see_backorder,
    may_see_plan,
    may_see_reorder,
    may_see_stock_level,
    may_see_token,
    may_see_transfer,
    require_admin,
)
from api.graphql.types import ApiToken, Backorder, Item, Plan, Reorder, Site, StockLevel, Transfer
from api.graphql.webhooks import webhook_node
from models import Alert as AlertRow
from models import ApiToken as ApiTokenRow
from models import Backorder as BackorderRow
from models import Item as ItemRow
from models import Plan as PlanRow
from models import Reorder as ReorderRow
from models import Role
from models import Site as SiteRow
from models import StockLevel as StockLevelRow
from models import Transfer as TransferRow
from pooling import access


@strawberry.input
class CreateApiTokenInput:
    name: str
    role: RoleEnum
    site: str | None = None
    region: str | None = None


@strawberry.input
class RevokeApiTokenInput:
    id: strawberry.ID


@strawberry.type
class RevokeApiTokenPayload:
    api_token: ApiToken | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreateApiTokenPayload:
    token: str | None = strawberry.field(default=None, description="The token itself: shown this once, stored hashed.")
    api_token: ApiToken | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _node(session: Session, caller: Caller, value: str) -> Node | None:
    """Any record by its opaque id, if the caller may see it; otherwise null, as for a missing one."""
    parsed = parse_global_id(value)
    if parsed is None:
        return None
    kind, pk = parsed
    if kind == "Site" and (row := session.get(SiteRow, pk)):
        return Site.of(row)
    if kind == "Item" and (item := session.get(ItemRow, pk)):
        return Item.of(item)
    if kind == "StockLevel" and (level := session.get(StockLevelRow, pk)) and may_see_stock_level(caller, level):
        return StockLevel.of(level)
    if kind == "Backorder" and (bo := session.get(BackorderRow, pk)) and may_see_backorder(caller, bo):
        return Backorder.of(bo)
    if kind == "Transfer" and (t := session.get(TransferRow, pk)) and may_see_transfer(caller, t):
        return Transfer.of(t)
    if kind == "Reorder" and (r := session.get(ReorderRow, pk)) and may_see_reorder(caller, r):
        return Reorder.of(r)
    if kind == "Plan" and (p := session.get(PlanRow, pk)) and may_see_plan(caller, p):
        return Plan.of(p)
    if kind == "Alert" and (alert := session.get(AlertRow, pk)) and may_see_alert(session, caller, alert):
        return Alert.of(alert)
    if kind == "ApiToken" and (tok := session.get(ApiTokenRow, pk)) and may_see_token(caller, tok):
        return ApiToken.of(tok)
    if kind == "Webhook":
        return webhook_node(session, caller, pk)
    return None


@strawberry.type
class AccessQuery:
    @strawberry.field(description="The token making this request.")
    async def me(self, info: strawberry.Info) -> ApiToken:
        return await read(info, lambda s, caller: ApiToken.of(s.get_one(ApiTokenRow, caller.token_id)))

    @strawberry.field
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        return await read(info, lambda s, caller: _node(s, caller, id))

    @strawberry.field(
        description="Backorder rate, fill rate, pooling and savings, for a region or the network, over a period. "
        "Without a region: the network for an ADMIN, the caller's own region otherwise. A region outside the "
        "caller's scope is NOT_FOUND, like one that no site is in."
    )
    async def kpis(
        self,
        info: strawberry.Info,
        region: str | None = None,
        since: Annotated[datetime | None, strawberry.argument(description="From this time on (inclusive).")] = None,
        until: Annotated[datetime | None, strawberry.argument(description="Before this time (exclusive).")] = None,
    ) -> Kpis:
        return await read(info, lambda session, caller: kpis_for(session, caller, region, since, until))


@strawberry.type
class AccessMutation:
    @strawberry.mutation
    async def create_api_token(self, info: strawberry.Info, input: CreateApiTokenInput) -> CreateApiTokenPayload:
        def work(session: Session, caller: Caller) -> CreateApiTokenPayload:
            require_admin(caller)
            row, token = access.create_token(session, input.name, Role(input.role), input.site, input.region)
            session.flush()
            return CreateApiTokenPayload(token=token, api_token=ApiToken.of(row))

        return await mutate(info, CreateApiTokenPayload, work)

    @strawberry.mutation(description="Revoke a token: its requests are refused from now on.")
    async def revoke_api_token(self, info: strawberry.Info, input: RevokeApiTokenInput) -> RevokeApiTokenPayload:
        def work(session: Session, caller: Caller) -> RevokeApiTokenPayload:
            require_admin(caller)
            row = access.revoke_token(session, pk_of(input.id, "ApiToken"))
            return RevokeApiTokenPayload(api_token=ApiToken.of(row))

        return await mutate(info, RevokeApiTokenPayload, work)
