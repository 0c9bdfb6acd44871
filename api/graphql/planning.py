"""Rebalancing and the transfer and reorder lifecycles, with who may do what to which record."""

from __future__ import annotations

import time

import strawberry
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import metrics
from api.auth import Caller
from api.graphql import preload
from api.graphql.base import (
    Connection,
    PlanModeEnum,
    ReorderStatusEnum,
    TransferStatusEnum,
    UserError,
    paginate,
)
from api.graphql.runner import mutate, read
from api.graphql.scope import (
    reorders_in_scope,
    require_coordinator,
    require_receiving_site,
    require_sending_site,
    transfers_in_scope,
    visible_plans,
    visible_reorders,
    visible_transfers,
)
from api.graphql.types import Plan, Reorder, Transfer
from models import Plan as PlanRow
from models import PlanMode, Site
from models import Reorder as ReorderRow
from models import Transfer as TransferRow
from pooling import rebalance as rebalancing
from pooling import reorders, transfers
from pooling.limits import check_ids


@strawberry.input
class RebalanceInput:
    region: str
    mode: PlanModeEnum = PlanMode.POOL_FIRST
    skus: list[str] | None = None
    dry_run: bool = True
    proactive: bool = strawberry.field(
        default=False,
        description="Also restore sites projected below their reorder point, after every backorder.",
    )


@strawberry.type
class RebalancePayload:
    plan: Plan | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ApproveTransfersInput:
    ids: list[strawberry.ID]


@strawberry.input
class RejectTransfersInput:
    ids: list[strawberry.ID]
    reason: str | None = None


@strawberry.type
class TransfersPayload:
    transfers: list[Transfer] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ShipTransferInput:
    id: strawberry.ID


@strawberry.input
class CancelTransferInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.input
class ReceiveTransferInput:
    id: strawberry.ID
    quantity_received: int


@strawberry.type
class TransferPayload:
    transfer: Transfer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ApproveReordersInput:
    ids: list[strawberry.ID]


@strawberry.input
class RejectReordersInput:
    ids: list[strawberry.ID]
    reason: str | None = None


@strawberry.type
class ReordersPayload:
    reorders: list[Reorder] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ReceiveReorderInput:
    id: strawberry.ID
    quantity_received: int


@strawberry.type
class ReorderPayload:
    reorder: Reorder | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PlanningQuery:
    @strawberry.field(description="Transfers the caller may see, newest first.")
    async def transfers(
        self,
        info: strawberry.Info,
        region: str | None = None,
        status: list[TransferStatusEnum] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Transfer]:
        wanted = preload.asked(info)

        def work(session: Session, caller: Caller) -> Connection[Transfer]:
            query = select(TransferRow).where(visible_transfers(caller))
            if region is not None:
                query = query.where(TransferRow.to_site_id.in_(select(Site.id).where(Site.region == region)))
            if status:
                query = query.where(TransferRow.status.in_(set(status)))  # repeats are one SQL parameter
            return paginate(
                session,
                query,
                TransferRow.id,
                first,
                after,
                descending=True,
                to_nodes=lambda rows: preload.transfers(session, caller, rows, wanted),
            )

        return await read(info, work)

    @strawberry.field(description="Reorders the caller may see, newest first.")
    async def reorders(
        self,
        info: strawberry.Info,
        region: str | None = None,
        status: list[ReorderStatusEnum] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Reorder]:
        def work(session: Session, caller: Caller) -> Connection[Reorder]:
            query = select(ReorderRow).where(visible_reorders(caller))
            if region is not None:
                query = query.where(ReorderRow.site_id.in_(select(Site.id).where(Site.region == region)))
            if status:
                query = query.where(ReorderRow.status.in_(set(status)))  # repeats are one SQL parameter
            return paginate(session, query, ReorderRow.id, first, after, Reorder.of, descending=True)

        return await read(info, work)

    @strawberry.field(description="Saved plans of a region the caller coordinates, newest first.")
    async def plans(
        self, info: strawberry.Info, region: str, first: int | None = None, after: str | None = None
    ) -> Connection[Plan]:
        def work(session: Session, caller: Caller) -> Connection[Plan]:
            query = select(PlanRow).where(PlanRow.region == region, visible_plans(caller))
            return paginate(session, query, PlanRow.id, first, after, Plan.of, descending=True)

        return await read(info, work)


@strawberry.type
class PlanningMutation:
    @strawberry.mutation(description="Plan transfers (and reorders) that clear the region's backorders.")
    async def rebalance(self, info: strawberry.Info, input: RebalanceInput) -> RebalancePayload:
        def work(session: Session, caller: Caller) -> RebalancePayload:
            require_coordinator(caller, input.region)
            if input.skus is not None:
                check_ids(input.skus, "skus", "skus")
            started = time.perf_counter()
            row = rebalancing.rebalance(
                session,
                input.region,
                PlanMode(input.mode),
                input.skus,
                input.dry_run,
                caller.actor,
                proactive=input.proactive,
            )
            metrics.observe_rebalance(row, time.perf_counter() - started)
            return RebalancePayload(plan=Plan.of(row))

        return await mutate(info, RebalancePayload, work)

    @strawberry.mutation(description="Approve all of them or none: reserves at donors, covers backorders.")
    async def approve_transfers(self, info: strawberry.Info, input: ApproveTransfersInput) -> TransfersPayload:
        def work(session: Session, caller: Caller) -> TransfersPayload:
            pks = transfers_in_scope(session, caller, input.ids)
            require_coordinator(caller)
            done = transfers.approve_transfers(session, pks, caller.actor)
            return TransfersPayload(transfers=[Transfer.of(t) for t in done])

        return await mutate(info, TransfersPayload, work)

    @strawberry.mutation
    async def reject_transfers(self, info: strawberry.Info, input: RejectTransfersInput) -> TransfersPayload:
        def work(session: Session, caller: Caller) -> TransfersPayload:
            pks = transfers_in_scope(session, caller, input.ids)
            require_coordinator(caller)
            done = transfers.reject_transfers(session, pks, input.reason, caller.actor)
            return TransfersPayload(transfers=[Transfer.of(t) for t in done])

        return await mutate(info, TransfersPayload, work)

    @strawberry.mutation
    async def ship_transfer(self, info: strawberry.Info, input: ShipTransferInput) -> TransferPayload:
        def work(session: Session, caller: Caller) -> TransferPayload:
            (pk,) = transfers_in_scope(session, caller, [input.id], "id")
            require_sending_site(caller, session.get_one(TransferRow, pk))
            return TransferPayload(transfer=Transfer.of(transfers.ship_transfer(session, pk, caller.actor)))

        return await mutate(info, TransferPayload, work)

    @strawberry.mutation
    async def receive_transfer(self, info: strawberry.Info, input: ReceiveTransferInput) -> TransferPayload:
        def work(session: Session, caller: Caller) -> TransferPayload:
            (pk,) = transfers_in_scope(session, caller, [input.id], "id")
            require_receiving_site(caller, session.get_one(TransferRow, pk))
            row = transfers.receive_transfer(session, pk, input.quantity_received, caller.actor)
            return TransferPayload(transfer=Transfer.of(row))

        return await mutate(info, TransferPayload, work)

    @strawberry.mutation(description="Call off an approved transfer before it ships.")
    async def cancel_transfer(self, info: strawberry.Info, input: CancelTransferInput) -> TransferPayload:
        def work(session: Session, caller: Caller) -> TransferPayload:
            (pk,) = transfers_in_scope(session, caller, [input.id], "id")
            require_coordinator(caller)
            return TransferPayload(
                transfer=Transfer.of(transfers.cancel_transfer(session, pk, input.reason, caller.actor))
            )

        return await mutate(info, TransferPayload, work)

    @strawberry.mutation(description="Order from the supplier, all or none.")
    async def approve_reorders(self, info: strawberry.Info, input: ApproveReordersInput) -> ReordersPayload:
        def work(session: Session, caller: Caller) -> ReordersPayload:
            pks = reorders_in_scope(session, caller, input.ids)
            require_coordinator(caller)
            return ReordersPayload(
                reorders=[Reorder.of(r) for r in reorders.approve_reorders(session, pks, caller.actor)]
            )

        return await mutate(info, ReordersPayload, work)

    @strawberry.mutation
    async def reject_reorders(self, info: strawberry.Info, input: RejectReordersInput) -> ReordersPayload:
        def work(session: Session, caller: Caller) -> ReordersPayload:
            pks = reorders_in_scope(session, caller, input.ids)
            require_coordinator(caller)
            done = reorders.reject_reorders(session, pks, input.reason, caller.actor)
            return ReordersPayload(reorders=[Reorder.of(r) for r in done])

        return await mutate(info, ReordersPayload, work)

    @strawberry.mutation
    async def receive_reorder(self, info: strawberry.Info, input: ReceiveReorderInput) -> ReorderPayload:
        def work(session: Session, caller: Caller) -> ReorderPayload:
            (pk,) = reorders_in_scope(session, caller, [input.id], "id")
            row = reorders.receive_reorder(session, pk, input.quantity_received, caller.actor)
            return ReorderPayload(reorder=Reorder.of(row))

        return await mutate(info, ReorderPayload, work)
