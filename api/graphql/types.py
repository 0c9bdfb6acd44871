"""The GraphQL object types: snapshots of the domain's rows, with related records resolved by DataLoaders.

The ORM rows stay private: each type copies what it shows (so a stored answer replays unchanged) and keeps
the ids it needs to load its neighbours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeAlias, TypeVar

import strawberry
from strawberry import Private

import models as rows
from api.graphql.base import (
    DRY_RUN,
    BackorderStatusEnum,
    DemandClassEnum,
    LineReasonEnum,
    MovementReasonEnum,
    Node,
    PlanModeEnum,
    PlanStatusEnum,
    PolicyModeEnum,
    PriorityEnum,
    ReorderStatusEnum,
    RoleEnum,
    TransferStatusEnum,
    UnmetReasonEnum,
    global_id,
)
from api.graphql.history import HistoryEntry, history_of
from api.graphql.scope import may_see_backorder_id, may_see_site_id
from pooling import expected
from pooling.backorders import surplus as surplus_rule
from pooling.history import Kind


@strawberry.type
class Site(Node):
    id: strawberry.ID
    code: str
    name: str
    region: str
    latitude: float | None
    longitude: float | None
    active: bool
    handling_time_hours: int = strawberry.field(
        description="Hours between a transfer's approval and its shipping from this site (expected times count it)."
    )
    pk: Private[int]

    @classmethod
    def of(cls, row: rows.Site) -> Site:
        return cls(
            id=global_id("Site", row.id),
            code=row.code,
            name=row.name,
            region=row.region,
            latitude=row.latitude,
            longitude=row.longitude,
            active=row.active,
            handling_time_hours=row.handling_time_hours,
            pk=row.id,
        )


@strawberry.type
class Item(Node):
    id: strawberry.ID
    sku: str
    name: str
    unit: str
    unit_cost: Decimal
    supplier_lead_time_days: int
    purchasable: bool
    pk: Private[int]

    @classmethod
    def of(cls, row: rows.Item) -> Item:
        return cls(
            id=global_id("Item", row.id),
            sku=row.sku,
            name=row.name,
            unit=row.unit,
            unit_cost=row.unit_cost,
            supplier_lead_time_days=row.supplier_lead_time_days,
            purchasable=row.purchasable,
            pk=row.id,
        )


async def _site(info: strawberry.Info, site_id: int) -> Site:
    return Site.of(await info.context.loaders.site.load(site_id))


async def _item(info: strawberry.Info, item_id: int) -> Item:
    return Item.of(await info.context.loaders.item.load(item_id))


T = TypeVar("T")
# A resolver of the fast path answers what its record was given (`known_*`, preloaded with the page: see
# api.graphql.preload) as a plain value, and only otherwise an awaitable through the request's DataLoaders;
# graphql-core completes plain values without the cost of an awaitable. Such resolvers declare `graphql_type`.
Known: TypeAlias = T | Awaitable[T]


def site_of(root: Any, info: strawberry.Info) -> Known[Site]:
    """The `site` of any record with a `site_id`: preloaded, or through the request's DataLoader."""
    known: Site | None = getattr(root, "known_site", None)
    return known if known is not None else _site(info, root.site_id)


def item_of(root: Any, info: strawberry.Info) -> Known[Item]:
    """The `item` of any record with an `item_id`: preloaded, or through the request's DataLoader."""
    known: Item | None = getattr(root, "known_item", None)
    return known if known is not None else _item(info, root.item_id)


@strawberry.type
class Lane:
    unit_cost: Decimal
    lead_time_hours: int
    capacity: int | None
    active: bool
    from_site_id: Private[int]
    to_site_id: Private[int]
    pk: Private[int]

    @strawberry.field
    async def from_site(self, info: strawberry.Info) -> Site:
        return await _site(info, self.from_site_id)

    @strawberry.field
    async def to_site(self, info: strawberry.Info) -> Site:
        return await _site(info, self.to_site_id)

    @strawberry.field(description="Who changed it, when and why, oldest first.")
    async def history(self, info: strawberry.Info) -> list[HistoryEntry]:
        return await history_of(info, Kind.LANE, self.pk)

    @classmethod
    def of(cls, row: rows.Lane) -> Lane:
        return cls(
            pk=row.id,
            unit_cost=row.unit_cost,
            lead_time_hours=row.lead_time_hours,
            capacity=row.capacity,
            active=row.active,
            from_site_id=row.from_site_id,
            to_site_id=row.to_site_id,
        )


@strawberry.type(
    description="The forecast stored for a (site, item) by the last recompute (the nightly job or `stockpool "
    "forecast`): its demand class, method, daily demand and the policy it suggested. `forecast(site, sku)` computes "
    "one from the history now instead."
)
class StoredForecast:
    demand_class: DemandClassEnum
    method: str = strawberry.field(description="ZERO, SES, CROSTON_SBA or TSB.")
    history_days: int
    daily_mean: float = strawberry.field(description="Forecast units per day.")
    daily_std_dev: float
    backtest_error: float | None
    lead_time_days: int
    service_level: float
    suggested_safety_stock: int
    suggested_reorder_point: int
    suggested_order_up_to: int
    computed_at: datetime

    @classmethod
    def of(cls, row: rows.Forecast) -> StoredForecast:
        return cls(
            demand_class=row.demand_class,
            method=row.method,
            history_days=row.history_days,
            daily_mean=row.daily_mean,
            daily_std_dev=row.daily_std_dev,
            backtest_error=row.backtest_error,
            lead_time_days=row.lead_time_days,
            service_level=row.service_level,
            suggested_safety_stock=row.safety_stock,
            suggested_reorder_point=row.reorder_point,
            suggested_order_up_to=row.order_up_to,
            computed_at=row.computed_at,
        )


@strawberry.type
class StockLevel(Node):
    id: strawberry.ID
    on_hand: int
    reserved: int
    available: int
    safety_stock: int
    reorder_point: int
    order_up_to: int
    policy_mode: PolicyModeEnum
    service_level: float
    site_id: Private[int]
    item_id: Private[int]
    pk: Private[int]
    known_site: Private[Site | None] = None
    known_item: Private[Item | None] = None
    known_incoming: Private[int | None] = None
    known_surplus: Private[int | None] = None
    known_forecast: Private[StoredForecast | None] = None
    forecast_known: Private[bool] = False  # known_forecast was preloaded (None then means: none to show)

    site: Known[Site] = strawberry.field(resolver=site_of, graphql_type=Site)
    item: Known[Item] = strawberry.field(resolver=item_of, graphql_type=Item)

    @strawberry.field(
        description="The stored forecast of its (site, item); null when none is stored, or for a caller who may not "
        "see the site's own records (like `forecast(site, sku)`: the site's own token and its region's).",
        graphql_type=StoredForecast | None,
    )
    def forecast(self, info: strawberry.Info) -> Known[StoredForecast | None]:
        if self.forecast_known:
            return self.known_forecast
        return self._forecast(info)

    async def _forecast(self, info: strawberry.Info) -> StoredForecast | None:
        if not await may_see_site_id(info, self.site_id):
            return None
        row = await info.context.loaders.forecast.load((self.site_id, self.item_id))
        return None if row is None else StoredForecast.of(row)

    @strawberry.field(
        description="Who changed its policy, when and why, oldest first; empty for a caller who may not see the "
        "site's own records (every token sees the network's stock levels, only the site's own and its "
        "region's see who manages them)."
    )
    async def history(self, info: strawberry.Info) -> list[HistoryEntry]:
        if not await may_see_site_id(info, self.site_id):
            return []
        return await history_of(info, Kind.STOCK_LEVEL, self.pk)

    @strawberry.field(
        description="Units on their way: approved or shipped transfers in, ordered reorders.", graphql_type=int
    )
    def incoming(self, info: strawberry.Info) -> Known[int]:
        if self.known_incoming is not None:
            return self.known_incoming
        return self._incoming(info)

    async def _incoming(self, info: strawberry.Info) -> int:
        return int(await info.context.loaders.incoming.load((self.site_id, self.item_id)) or 0)

    @strawberry.field(
        description="Available above safety stock; 0 while the site waits for the item itself.", graphql_type=int
    )
    def surplus(self, info: strawberry.Info) -> Known[int]:
        return self.known_surplus if self.known_surplus is not None else self._surplus(info)

    async def _surplus(self, info: strawberry.Info) -> int:
        waiting = bool(await info.context.loaders.waiting.load((self.site_id, self.item_id)))
        return surplus_rule(self._as_row(), waiting)

    def _as_row(self) -> rows.StockLevel:
        return rows.StockLevel(on_hand=self.on_hand, reserved=self.reserved, safety_stock=self.safety_stock)

    @classmethod
    def of(cls, row: rows.StockLevel, **known: Any) -> StockLevel:
        """`known`: what api.graphql.preload loaded for it (`known_site`, `known_item`, ...)."""
        return cls(
            **known,
            id=global_id("StockLevel", row.id),
            on_hand=row.on_hand,
            reserved=row.reserved,
            available=row.available,
            safety_stock=row.safety_stock,
            reorder_point=row.reorder_point,
            order_up_to=row.order_up_to,
            policy_mode=row.policy_mode,
            service_level=row.service_level,
            site_id=row.site_id,
            item_id=row.item_id,
            pk=row.id,
        )


@strawberry.type
class Movement:
    quantity: int
    reason: MovementReasonEnum
    note: str | None
    actor: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: rows.Movement) -> Movement:
        return cls(quantity=row.quantity, reason=row.reason, note=row.note, actor=row.actor, created_at=row.created_at)


@strawberry.type
class Backorder(Node):
    id: strawberry.ID
    quantity: int
    fulfilled: int
    covered: int
    open: int
    priority: PriorityEnum
    status: BackorderStatusEnum
    needed_by: datetime | None
    reference: str | None
    created_at: datetime
    site_id: Private[int]
    item_id: Private[int]
    pk: Private[int]
    known_site: Private[Site | None] = None
    known_item: Private[Item | None] = None

    site: Known[Site] = strawberry.field(resolver=site_of, graphql_type=Site)
    item: Known[Item] = strawberry.field(resolver=item_of, graphql_type=Item)

    @strawberry.field(description="Who changed it, when and why, oldest first.")
    async def history(self, info: strawberry.Info) -> list[HistoryEntry]:
        return await history_of(info, Kind.BACKORDER, self.pk)

    @strawberry.field(
        description="What is on its way for it: approved or shipped transfers and ordered reorders, soonest first."
    )
    async def covered_by(self, info: strawberry.Info) -> list[Coverage]:
        covers = await info.context.loaders.coverage.load(self.pk)
        return [Coverage.of(cover) for cover in covers or []]

    @strawberry.field(
        description="When the last covered unit is expected to arrive; null while any unit is uncovered (or once "
        "nothing is on its way)."
    )
    async def expected_by(self, info: strawberry.Info) -> datetime | None:
        covers = await info.context.loaders.coverage.load(self.pk)
        return expected.expected_by(self.status, self.open, covers or [])

    @classmethod
    def of(cls, row: rows.Backorder) -> Backorder:
        return cls(
            id=global_id("Backorder", row.id),
            quantity=row.quantity,
            fulfilled=row.fulfilled,
            covered=row.covered,
            open=row.open,
            priority=row.priority,
            status=row.status,
            needed_by=row.needed_by,
            reference=row.reference,
            created_at=row.created_at,
            site_id=row.site_id,
            item_id=row.item_id,
            pk=row.id,
        )


@strawberry.type
class Allocation:
    quantity: int
    backorder_id: Private[int]
    known_backorder: Private[Backorder | None] = None

    @strawberry.field(graphql_type=Backorder)
    def backorder(self, info: strawberry.Info) -> Known[Backorder]:
        return self.known_backorder if self.known_backorder is not None else self._backorder(info)

    async def _backorder(self, info: strawberry.Info) -> Backorder:
        return Backorder.of(await info.context.loaders.backorder.load(self.backorder_id))


@strawberry.type
class Transfer(Node):
    id: strawberry.ID
    status: TransferStatusEnum
    quantity: int
    unit_cost: Decimal
    lead_time_hours: int
    reason: LineReasonEnum
    quantity_received: int | None
    created_at: datetime
    approved_at: datetime | None
    shipped_at: datetime | None
    received_at: datetime | None
    pk: Private[int | None]
    from_site_id: Private[int]
    to_site_id: Private[int]
    item_id: Private[int]
    known_allocations: Private[list[Allocation] | None]
    known_from_site: Private[Site | None] = None
    known_to_site: Private[Site | None] = None
    known_item: Private[Item | None] = None
    visible_allocations: Private[list[Allocation] | None] = None  # preloaded and already filtered by scope

    @strawberry.field
    def quantity_lost(self) -> int | None:
        return None if self.quantity_received is None else self.quantity - self.quantity_received

    @strawberry.field(description="What buying these units outside would cost, less what this transfer costs.")
    async def savings_vs_buying(self, info: strawberry.Info) -> Decimal:
        item: rows.Item = await info.context.loaders.item.load(self.item_id)
        return self.quantity * (item.unit_cost - self.unit_cost)

    @strawberry.field(graphql_type=Site)
    def from_site(self, info: strawberry.Info) -> Known[Site]:
        return self.known_from_site if self.known_from_site is not None else _site(info, self.from_site_id)

    @strawberry.field(graphql_type=Site)
    def to_site(self, info: strawberry.Info) -> Known[Site]:
        return self.known_to_site if self.known_to_site is not None else _site(info, self.to_site_id)

    @strawberry.field(graphql_type=Item)
    def item(self, info: strawberry.Info) -> Known[Item]:
        return item_of(self, info)

    @strawberry.field(
        description="The backorders this transfer serves, and how many units each (those the caller may see).",
        graphql_type=list[Allocation],
    )
    def allocations(self, info: strawberry.Info) -> Known[list[Allocation]]:
        if self.visible_allocations is not None:
            return self.visible_allocations
        return self._allocations(info)

    async def _allocations(self, info: strawberry.Info) -> list[Allocation]:
        if self.known_allocations is not None:
            allocations = self.known_allocations
        else:
            stored = await info.context.loaders.transfer_allocations.load(self.pk)
            allocations = [Allocation(quantity=a.quantity, backorder_id=a.backorder_id) for a in stored]
        # The receiving site's backorders are its own records: the sending site sees the transfer, not them.
        seen = await asyncio.gather(*(may_see_backorder_id(info, a.backorder_id) for a in allocations))
        return [a for a, visible in zip(allocations, seen, strict=True) if visible]

    @strawberry.field(description="Who changed it, when and why, oldest first.")
    async def history(self, info: strawberry.Info) -> list[HistoryEntry]:
        return await history_of(info, Kind.TRANSFER, self.pk)

    @strawberry.field(
        description="When it is expected to arrive: approved + the sending site's handling time + the lane's lead "
        "time; shipped + the lead time once shipped; for a suggestion, if it were approved now."
    )
    async def expected_at(self, info: strawberry.Info) -> datetime | None:
        sender = await info.context.loaders.site.load(self.from_site_id)
        return expected.transfer_expected_at(
            self.status, self.approved_at, self.shipped_at, sender.handling_time_hours, self.lead_time_hours
        )

    @classmethod
    def of(cls, row: rows.Transfer, number: int = 0, with_allocations: bool = False, **known: Any) -> Transfer:
        """`number` names a transfer of a dry run, which has no row id; `known`: what api.graphql.preload loaded."""
        allocations = (
            [Allocation(quantity=a.quantity, backorder_id=a.backorder_id) for a in row.allocations]
            if with_allocations
            else None
        )
        return cls(
            id=global_id("Transfer", row.id) if row.id else global_id(DRY_RUN + "Transfer", number),
            status=row.status,
            quantity=row.quantity,
            unit_cost=row.unit_cost,
            lead_time_hours=row.lead_time_hours,
            reason=row.reason,
            quantity_received=row.quantity_received,
            created_at=row.created_at,
            approved_at=row.approved_at,
            shipped_at=row.shipped_at,
            received_at=row.received_at,
            pk=row.id,
            from_site_id=row.from_site_id or row.from_site.id,
            to_site_id=row.to_site_id or row.to_site.id,
            item_id=row.item_id or row.item.id,
            known_allocations=allocations,
            **known,
        )


@strawberry.type
class Reorder(Node):
    id: strawberry.ID
    status: ReorderStatusEnum
    quantity: int
    unit_cost: Decimal
    reason: LineReasonEnum
    quantity_received: int | None
    created_at: datetime
    ordered_at: datetime | None
    received_at: datetime | None
    site_id: Private[int]
    item_id: Private[int]
    pk: Private[int | None]

    site: Known[Site] = strawberry.field(resolver=site_of, graphql_type=Site)
    item: Known[Item] = strawberry.field(resolver=item_of, graphql_type=Item)

    @strawberry.field(description="Who changed it, when and why, oldest first.")
    async def history(self, info: strawberry.Info) -> list[HistoryEntry]:
        return await history_of(info, Kind.REORDER, self.pk)

    @strawberry.field(
        description="When it is expected to arrive: ordered + the item's supplier lead time; for a suggestion, if it "
        "were ordered now."
    )
    async def expected_at(self, info: strawberry.Info) -> datetime | None:
        item = await info.context.loaders.item.load(self.item_id)
        return expected.reorder_expected_at(self.status, self.ordered_at, item.supplier_lead_time_days)

    @classmethod
    def of(cls, row: rows.Reorder, number: int = 0) -> Reorder:
        return cls(
            id=global_id("Reorder", row.id) if row.id else global_id(DRY_RUN + "Reorder", number),
            status=row.status,
            quantity=row.quantity,
            unit_cost=row.unit_cost,
            reason=row.reason,
            quantity_received=row.quantity_received,
            created_at=row.created_at,
            ordered_at=row.ordered_at,
            received_at=row.received_at,
            pk=row.id,
            site_id=row.site_id or row.site.id,
            item_id=row.item_id or row.item.id,
        )


@strawberry.type(description="Units on their way for a backorder, from a transfer or a reorder.")
class Coverage:
    quantity: int
    expected_at: datetime | None
    transfer: Transfer | None
    reorder: Reorder | None

    @classmethod
    def of(cls, cover: expected.Cover) -> Coverage:
        return cls(
            quantity=cover.quantity,
            expected_at=cover.expected_at,
            transfer=None if cover.transfer is None else Transfer.of(cover.transfer),
            reorder=None if cover.reorder is None else Reorder.of(cover.reorder),
        )


@strawberry.type
class Unmet:
    quantity: int
    demand: LineReasonEnum
    reason: UnmetReasonEnum = strawberry.field(description="Which constraint of the model left it unmet.")
    site_id: Private[int]
    item_id: Private[int]

    site: Known[Site] = strawberry.field(resolver=site_of, graphql_type=Site)
    item: Known[Item] = strawberry.field(resolver=item_of, graphql_type=Item)


@strawberry.type
class PlanSummary:
    units_requested: int
    units_by_transfer: int
    units_by_reorder: int
    units_unmet: int
    units_proactive: int = strawberry.field(
        description="Units moved or reordered to restore sites below their reorder point."
    )
    transfer_cost: Decimal
    reorder_cost: Decimal
    total_cost: Decimal
    all_external_cost: Decimal
    savings: Decimal
    solve_millis: int
    nodes: int
    arcs: int


@strawberry.type
class Plan(Node):
    id: strawberry.ID
    region: str
    status: PlanStatusEnum
    mode: PlanModeEnum
    created_at: datetime
    summary: PlanSummary
    transfers: list[Transfer]
    reorders: list[Reorder]
    unmet: list[Unmet]

    @classmethod
    def of(cls, row: rows.Plan) -> Plan:
        return cls(
            id=global_id("Plan", row.id) if row.id else global_id(DRY_RUN + "Plan", 1),
            region=row.region,
            status=row.status,
            mode=row.mode,
            created_at=row.created_at,
            summary=PlanSummary(
                units_requested=row.units_requested,
                units_by_transfer=row.units_by_transfer,
                units_by_reorder=row.units_by_reorder,
                units_unmet=row.units_unmet,
                units_proactive=row.units_proactive,
                transfer_cost=row.transfer_cost,
                reorder_cost=row.reorder_cost,
                total_cost=row.total_cost,
                all_external_cost=row.all_external_cost,
                savings=row.savings,
                solve_millis=row.solve_millis,
                nodes=row.nodes,
                arcs=row.arcs,
            ),
            transfers=[Transfer.of(t, n, with_allocations=True) for n, t in enumerate(row.transfers, 1)],
            reorders=[Reorder.of(r, n) for n, r in enumerate(row.reorders, 1)],
            unmet=[
                Unmet(quantity=u.quantity, demand=u.demand, reason=u.reason, site_id=u.site.id, item_id=u.item.id)
                for u in row.unmet
            ],
        )


@strawberry.type
class ApiToken(Node):
    id: strawberry.ID
    name: str
    role: RoleEnum
    region: str | None
    created_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = strawberry.field(
        description="When a request last came with this token (marked at most every 10 minutes)."
    )
    site_id: Private[int | None]

    @strawberry.field
    async def site(self, info: strawberry.Info) -> Site | None:
        return await _site(info, self.site_id) if self.site_id else None

    @classmethod
    def of(cls, row: rows.ApiToken) -> ApiToken:
        return cls(
            id=global_id("ApiToken", row.id),
            name=row.name,
            role=row.role,
            region=row.region,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
            site_id=row.site_id,
        )
