"""Proactive pooling's API: donors' sharing rules and the lending balances between sister sites."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from sqlalchemy.orm import Session
from strawberry import Private

from api.auth import Caller
from api.graphql.base import ShareRuleEnum, UserError
from api.graphql.runner import mutate, read
from api.graphql.scope import figures_scope, may_see_site, sharing_site_in_scope
from api.graphql.types import Item, Known, Site, site_of
from models import SharingPolicy as SharingPolicyRow
from pooling import lending, sharing


@strawberry.type
class SharingPolicy:
    share: ShareRuleEnum
    keep_days_of_cover: int | None = strawberry.field(description="Days of forecast demand the site always keeps.")
    max_units_per_plan: int | None = strawberry.field(description="The most units it gives in one plan.")
    site_id: Private[int]
    item_row: Private[object | None]

    @strawberry.field(graphql_type=Site)
    def site(self, info: strawberry.Info) -> Known[Site]:
        return site_of(self, info)

    @strawberry.field(description="The item the rule is for; null for the site's default.")
    def item(self) -> Item | None:
        return Item.of(self.item_row) if self.item_row is not None else None  # type: ignore[arg-type]

    @classmethod
    def of(cls, row: SharingPolicyRow) -> SharingPolicy:
        return cls(
            share=row.share,
            keep_days_of_cover=row.keep_days_of_cover,
            max_units_per_plan=row.max_units_per_plan,
            site_id=row.site_id,
            item_row=row.item,
        )


@strawberry.input
class SetSharingPolicyInput:
    site: str
    share: ShareRuleEnum
    sku: str | None = strawberry.field(default=None, description="null: the site's default for every item.")
    keep_days_of_cover: int | None = None
    max_units_per_plan: int | None = None


@strawberry.type
class SetSharingPolicyPayload:
    sharing_policy: SharingPolicy | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LendingBalance:
    units_lent: int
    units_borrowed: int
    value_lent: Decimal
    value_borrowed: Decimal
    site_id: Private[int]

    @strawberry.field(graphql_type=Site)
    def site(self, info: strawberry.Info) -> Known[Site]:
        return site_of(self, info)


@strawberry.type
class SharingQuery:
    @strawberry.field(
        description="Per site of the region: units and value lent and borrowed through received transfers."
    )
    async def lending(self, info: strawberry.Info, region: str, since: datetime | None = None) -> list[LendingBalance]:
        def work(session: Session, caller: Caller) -> list[LendingBalance]:
            scope = figures_scope(caller, region)
            assert scope is not None
            return [
                LendingBalance(
                    units_lent=b.units_lent,
                    units_borrowed=b.units_borrowed,
                    value_lent=b.value_lent,
                    value_borrowed=b.value_borrowed,
                    site_id=b.site.id,
                )
                for b in lending.lending(session, scope, since)
                if may_see_site(caller, b.site)
            ]

        return await read(info, work)


@strawberry.type
class SharingMutation:
    @strawberry.mutation(description="Set a site's rule for giving an item (or, without sku, every item) away.")
    async def set_sharing_policy(self, info: strawberry.Info, input: SetSharingPolicyInput) -> SetSharingPolicyPayload:
        def work(session: Session, caller: Caller) -> SetSharingPolicyPayload:
            sharing_site_in_scope(session, caller, input.site)
            row = sharing.set_sharing_policy(
                session,
                input.site,
                input.sku,
                input.share,
                input.keep_days_of_cover,
                input.max_units_per_plan,
                caller.actor,
            )
            return SetSharingPolicyPayload(sharing_policy=SharingPolicy.of(row))

        return await mutate(info, SetSharingPolicyPayload, work)
