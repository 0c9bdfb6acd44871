"""Rebalancing and the transfer and reorder lifecycles, with who may do what to which record."""

from __future__ import annotations

import time
from collections.abc import Sequence

import strawberry
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api import metrics
from api.auth import Caller, may_coordinate, may_see_site, require_coordinator, visible_site_ids
from api.graphql.base import (
    Connection,
    PlanModeEnum,
    ReorderStatusEnum,
    TransferStatusEnum,
    UserError,
    paginate,
    pk_of,
)
from api.graphql.runner import mutate, read
from api.graphql.types import Plan, Reorder, Transfer
from models import Plan as PlanRow
from models import PlanMode, Role, Site
from models import Reorder as ReorderRow
from models import Transfer as TransferRow
from pooling import ledger, reorders, transfers
from pooling import rebalance as rebalancing
from pooling.errors import ErrorCode, PoolingError

MAX_IDS = ledger.MAX_IDS


@strawberry.input
class RebalanceInput:
    region: str
    mode: PlanModeEnum = PlanMode.POOL_FIRST
    skus: list[str] | None = None
    dry_run: bool = True


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


def _transfer_visible(caller: Caller, row: TransferRow) -> bool:
    return may_see_site(caller, row.from_site) or may_see_site(caller, row.to_site)


def transfers_in_scope(session: Session, caller: Caller, ids: Sequence[str], field: str = "ids") -> list[int]:
    """Primary keys of transfers the caller may see; any other id answers NOT_FOUND, as a missing one would."""
    if len(ids) > MAX_IDS:
        raise PoolingError(ErrorCode.INVALID, f"At most {MAX_IDS} ids per call.", field)
    pks = []
    for value in ids:
        row = session.get(TransferRow, pk_of(value, "Transfer", field))
        if row is None or not _transfer_visible(caller, row):
            raise PoolingError(ErrorCode.NOT_FOUND, f"No transfer with id {value!r}.", field)
        pks.append(row.id)
    return pks


def reorders_in_scope(session: Session, caller: Caller, ids: Sequence[str], field: str = "ids") -> list[int]:
    if len(ids) > MAX_IDS:
        raise PoolingError(ErrorCode.INVALID, f"At most {MAX_IDS} ids per call.", field)
    pks = []
    for value in ids:
        row = session.get(ReorderRow, pk_of(value, "Reorder", field))
        if row is None or not may_see_site(caller, row.site):
            raise PoolingError(ErrorCode.NOT_FOUND, f"No reorder with id {value!r}.", field)
        pks.append(row.id)
    return pks


def _coordinators_only(caller: Caller) -> None:
    if caller.role == Role.SITE:
        raise PoolingError(ErrorCode.FORBIDDEN, "A SITE token cannot do this; a COORDINATOR of the region can.")


def _at_site(session: Session, caller: Caller, pk: int, end: str) -> None:
    """A SITE token ships only from its own site and receives only into it."""
    row = session.get(TransferRow, pk)
    if caller.role == Role.SITE and row is not None and getattr(row, f"{end}_site_id") != caller.site_id:
        raise PoolingError(
            ErrorCode.FORBIDDEN,
            "Only the sending site ships a transfer." if end == "from" else "Only the receiving site receives it.",
        )


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
        def work(session: Session, caller: Caller) -> Connection[Transfer]:
            query = select(TransferRow)
            scope = visible_site_ids(caller)
            if scope is not None:
                query = query.where(or_(TransferRow.from_site_id.in_(scope), TransferRow.to_site_id.in_(scope)))
            if region is not None:
                query = query.where(TransferRow.to_site_id.in_(select(Site.id).where(Site.region == region)))
            if status:
                query = query.where(TransferRow.status.in_(set(status)))  # repeats are one SQL parameter
            return paginate(session, query, TransferRow.id, first, after, Transfer.of, descending=True)

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
            query = select(ReorderRow)
            scope = visible_site_ids(caller)
            if scope is not None:
                query = query.where(ReorderRow.site_id.in_(scope))
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
            if not may_coordinate(caller, region):
                return paginate(session, select(PlanRow).where(PlanRow.id < 0), PlanRow.id, first, after, Plan.of)
            query = select(PlanRow).where(PlanRow.region == region)
            return paginate(session, query, PlanRow.id, first, after, Plan.of, descending=True)

        return await read(info, work)


@strawberry.type
class PlanningMutation:
    @strawberry.mutation(description="Plan transfers (and reorders) that clear the region's backorders.")
    async def rebalance(self, info: strawberry.Info, input: RebalanceInput) -> RebalancePayload:
        def work(session: Session, caller: Caller) -> RebalancePayload:
            require_coordinator(caller, input.region)
            if input.skus is not None and len(input.skus) > MAX_IDS:
                raise PoolingError(ErrorCode.INVALID, f"At most {MAX_IDS} skus per call.", "skus")
            started = time.perf_counter()
            row = rebalancing.rebalance(
                session, input.region, PlanMode(input.mode), input.skus, input.dry_run, caller.actor
            )
            metrics.observe_rebalance(row, time.perf_counter() - started)
            return RebalancePayload(plan=Plan.of(row))

        return await mutate(info, RebalancePayload, work)

    @strawberry.mutation(description="Approve all of them or none: reserves at donors, covers backorders.")
    async def approve_transfers(self, info: strawberry.Info, input: ApproveTransfersInput) -> TransfersPayload:
        def work(session: Session, caller: Caller) -> TransfersPayload:
            pks = transfers_in_scope(session, caller, input.ids)
            _coordinators_only(caller)
            done = transfers.approve_transfers(session, pks, caller.actor)
            return TransfersPayload(transfers=[Transfer.of(t) for t in done])

        return await mutate(info, TransfersPayload, work)

    @strawberry.mutation
    async def reject_transfers(self, info: strawberry.Info, input: RejectTransfersInput) -> TransfersPayload:
        def work(session: Session, caller: Caller) -> TransfersPayload:
            pks = transfers_in_scope(session, caller, input.ids)
            _coordinators_only(caller)
            done = transfers.reject_transfers(session, pks, input.reason, caller.actor)
            return TransfersPayload(transfers=[Transfer.of(t) for t in done])

        return await mutate(info, TransfersPayload, work)

    @strawberry.mutation
    async def ship_transfer(self, info: strawberry.Info, input: ShipTransferInput) -> TransferPayload:
        def work(session: Session, caller: Caller) -> TransferPayload:
            (pk,) = transfers_in_scope(session, caller, [input.id], "id")
            _at_site(session, caller, pk, "from")
            return TransferPayload(transfer=Transfer.of(transfers.ship_transfer(session, pk, caller.actor)))

        return await mutate(info, TransferPayload, work)

    @strawberry.mutation
    async def receive_transfer(self, info: strawberry.Info, input: ReceiveTransferInput) -> TransferPayload:
        def work(session: Session, caller: Caller) -> TransferPayload:
            (pk,) = transfers_in_scope(session, caller, [input.id], "id")
            _at_site(session, caller, pk, "to")
            row = transfers.receive_transfer(session, pk, input.quantity_received, caller.actor)
            return TransferPayload(transfer=Transfer.of(row))

        return await mutate(info, TransferPayload, work)

    @strawberry.mutation(description="Call off an approved transfer before it ships.")
    async def cancel_transfer(self, info: strawberry.Info, input: CancelTransferInput) -> TransferPayload:
        def work(session: Session, caller: Caller) -> TransferPayload:
            (pk,) = transfers_in_scope(session, caller, [input.id], "id")
            _coordinators_only(caller)
            return TransferPayload(
                transfer=Transfer.of(transfers.cancel_transfer(session, pk, input.reason, caller.actor))
            )

        return await mutate(info, TransferPayload, work)

    @strawberry.mutation(description="Order from the supplier, all or none.")
    async def approve_reorders(self, info: strawberry.Info, input: ApproveReordersInput) -> ReordersPayload:
        def work(session: Session, caller: Caller) -> ReordersPayload:
            pks = reorders_in_scope(session, caller, input.ids)
            _coordinators_only(caller)
            return ReordersPayload(
                reorders=[Reorder.of(r) for r in reorders.approve_reorders(session, pks, caller.actor)]
            )

        return await mutate(info, ReordersPayload, work)

    @strawberry.mutation
    async def reject_reorders(self, info: strawberry.Info, input: RejectReordersInput) -> ReordersPayload:
        def work(session: Session, caller: Caller) -> ReordersPayload:
            pks = reorders_in_scope(session, caller, input.ids)
            _coordinators_only(caller)
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
