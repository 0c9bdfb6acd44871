"""The transfer lifecycle: approve or reject a suggestion, ship, receive (with loss), cancel.

SUGGESTED -> APPROVED (reserves at the donor, covers the backorders) | REJECTED | SUPERSEDED;
APPROVED -> SHIPPED (TRANSFER_OUT, in transit) | CANCELLED (reservation released);
SHIPPED -> RECEIVED (TRANSFER_IN; a shortfall is a TRANSFER_LOSS and reopens that much backorder).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from models import (
    EventKind,
    Lane,
    MovementReason,
    Site,
    StockLevel,
    Transfer,
    TransferAllocation,
    TransferStatus,
    utcnow,
)
from pooling import events
from pooling.backorders import (
    cover,
    fill_from_shelf,
    fill_from_shelves,
    serve_earmarked,
    surplus,
    uncover,
    waiting,
)
from pooling.errors import ErrorCode, PoolingError, Ref, expect_status
from pooling.history import Kind, record
from pooling.ledger import Pair, check_received, lock_with_levels, move
from pooling.limits import check_text

# Approved or in transit: the units use lane capacity, cover backorders and are on their way to the recipient.
COMMITTED = (TransferStatus.APPROVED, TransferStatus.SHIPPED)


def _locked(session: Session, ids: Sequence[int]) -> tuple[list[Transfer], dict[Pair, StockLevel]]:
    """Lock the stock levels the transfers touch (both ends), then the transfers."""
    return lock_with_levels(session, Transfer, ids, lambda t: [(t.from_site_id, t.item_id), (t.to_site_id, t.item_id)])


def approve_transfers(session: Session, ids: Sequence[int], actor: str | None = None) -> list[Transfer]:
    """Approve all of them or none, checked against the stock, backorders and lanes as they are now."""
    transfers, levels = _locked(session, ids)
    neighbours = _load_neighbours(session, transfers)  # held: the session keeps rows only while referenced
    # Covering backorders keeps them waiting (OPEN, PARTIALLY_COVERED, COVERED), so which donors wait is the same
    # before the first approval and after the last: read once for all of them.
    donors_waiting = waiting(session, [(t.from_site_id, t.item_id) for t in transfers])
    for transfer in transfers:
        expect_status(transfer, TransferStatus.SUGGESTED, "approved", "ids")
        _check_lane(session, transfer)
        for allocation in transfer.allocations:
            backorder = allocation.backorder
            if allocation.quantity > backorder.open:
                raise PoolingError(
                    ErrorCode.STALE_SUGGESTION,
                    "Transfer {transfer} covers {quantity} unit(s) of backorder {backorder}, "
                    "which now has {open} open ({status}). Run a new rebalance.",
                    "ids",
                    transfer=Ref.of(transfer),
                    quantity=allocation.quantity,
                    backorder=Ref.of(backorder),
                    open=backorder.open,
                    status=backorder.status.lower().replace("_", " "),
                )
        donor = levels[(transfer.from_site_id, transfer.item_id)]
        spare = surplus(donor, (transfer.from_site_id, transfer.item_id) in donors_waiting)
        if spare < transfer.quantity:
            raise PoolingError(
                ErrorCode.INSUFFICIENT_STOCK,
                "Transfer {transfer} needs {quantity} unit(s) of {sku} from {site}, which has {spare} to spare now.",
                "ids",
                transfer=Ref.of(transfer),
                quantity=transfer.quantity,
                sku=transfer.item.sku,
                site=transfer.from_site.code,
                spare=spare,
            )
        donor.reserved += transfer.quantity
        for allocation in transfer.allocations:
            cover(allocation.backorder, allocation.quantity, actor)
        transfer.status = TransferStatus.APPROVED
        transfer.approved_at = utcnow()
        record(session, Kind.TRANSFER, transfer.id, actor, "APPROVED")
        events.about_transfer(session, transfer, EventKind.TRANSFER_APPROVED)
    session.flush()  # one unit of work for all of them: the updates and the inserts go in batches
    del neighbours
    return transfers


def _load_neighbours(session: Session, transfers: Sequence[Transfer]) -> list[object]:
    """What checking and approving the transfers reads, in three queries whatever their number (instead of one per
    transfer and relationship): their lanes and sites (into the session, where `get` and the relationships find
    them) and their allocations with the backorders they serve."""
    loaded: list[object] = []
    lanes = _missing(session, Lane, {t.lane_id for t in transfers})
    if lanes:
        loaded += session.scalars(select(Lane).where(Lane.id.in_(lanes))).all()
    sites = _missing(session, Site, {pk for t in transfers for pk in (t.from_site_id, t.to_site_id)})
    if sites:
        loaded += session.scalars(select(Site).where(Site.id.in_(sites))).all()
    allocations: dict[int, list[TransferAllocation]] = {t.id: [] for t in transfers}
    for allocation in session.scalars(
        select(TransferAllocation)
        .where(TransferAllocation.transfer_id.in_(list(allocations)))
        .options(joinedload(TransferAllocation.backorder))
        .order_by(TransferAllocation.id)
    ):
        allocations[allocation.transfer_id].append(allocation)
    for transfer in transfers:
        set_committed_value(transfer, "allocations", allocations[transfer.id])
    return loaded


def _missing(session: Session, model: type[Lane] | type[Site], ids: set[int]) -> list[int]:
    """The ids of rows the session has not loaded."""
    return [pk for pk in ids if identity_key(model, pk) not in session.identity_map]


def _check_lane(session: Session, transfer: Transfer) -> None:
    lane = session.get(Lane, transfer.lane_id)
    if lane is None or not lane.active or not (transfer.from_site.active and transfer.to_site.active):
        raise PoolingError(
            ErrorCode.STALE_SUGGESTION,
            "The lane or a site of transfer {transfer} is no longer active.",
            "ids",
            transfer=Ref.of(transfer),
        )
    if lane.capacity is None:
        return
    committed: int = (
        session.scalar(
            select(func.coalesce(func.sum(Transfer.quantity), 0)).where(
                Transfer.lane_id == lane.id, Transfer.item_id == transfer.item_id, Transfer.status.in_(COMMITTED)
            )
        )
        or 0
    )
    if committed + transfer.quantity > lane.capacity:
        raise PoolingError(
            ErrorCode.LANE_CAPACITY_EXCEEDED,
            "Transfer {transfer} needs {quantity} unit(s) of lane capacity; {left} of {capacity} are left for this "
            "item.",
            "ids",
            transfer=Ref.of(transfer),
            quantity=transfer.quantity,
            left=max(lane.capacity - committed, 0),
            capacity=lane.capacity,
        )


def reject_transfers(
    session: Session, ids: Sequence[int], reason: str | None = None, actor: str | None = None
) -> list[Transfer]:
    check_text(reason, "reason")
    transfers, _ = _locked(session, ids)
    for transfer in transfers:
        expect_status(transfer, TransferStatus.SUGGESTED, "rejected", "ids")
        transfer.status = TransferStatus.REJECTED
        transfer.note = reason
        transfer.closed_at = utcnow()
        record(session, Kind.TRANSFER, transfer.id, actor, "REJECTED", reason)
        events.about_transfer(session, transfer, EventKind.TRANSFER_REJECTED)
    return transfers


def ship_transfer(session: Session, transfer_id: int, actor: str | None = None) -> Transfer:
    (transfer,) = ship_transfers(session, [transfer_id], actor, field="id")
    return transfer


def ship_transfers(
    session: Session, ids: Sequence[int], actor: str | None = None, *, field: str = "ids"
) -> list[Transfer]:
    """Ship approved transfers, all or none: TRANSFER_OUT at each donor, the reservation used up, in transit."""
    transfers, levels = _locked(session, ids)
    for transfer in transfers:
        expect_status(transfer, TransferStatus.APPROVED, "shipped", field)
    for transfer in transfers:
        donor = levels[(transfer.from_site_id, transfer.item_id)]
        donor.reserved -= transfer.quantity
        move(session, donor, -transfer.quantity, MovementReason.TRANSFER_OUT, actor, transfer_id=transfer.id)
        transfer.status = TransferStatus.SHIPPED
        transfer.shipped_at = utcnow()
        record(session, Kind.TRANSFER, transfer.id, actor, "SHIPPED")
        events.about_transfer(session, transfer, EventKind.TRANSFER_SHIPPED)
    return transfers


def receive_transfer(session: Session, transfer_id: int, quantity_received: int, actor: str | None = None) -> Transfer:
    """Book the shipment in; what did not arrive is written off as a loss and its backorders reopen."""
    (transfer,) = receive_transfers(session, [(transfer_id, quantity_received)], actor, field="id")
    return transfer


def receive_transfers(
    session: Session, received: Sequence[tuple[int, int]], actor: str | None = None, *, field: str = "ids"
) -> list[Transfer]:
    """Book shipments in, all or none, given (transfer id, quantity received): `receive_transfer`'s rule for each,
    in the order given, their levels locked together. Each shipment serves its own backorders first; then what is
    left on the recipients' shelves serves their other waiting backorders, once for all
    (`pooling.backorders.serve_earmarked`)."""
    for _, quantity_received in received:
        check_received(quantity_received, "quantity_received")
    transfers, levels = _locked(session, [transfer_id for transfer_id, _ in received])
    _with_allocations(session, transfers)
    quantities = dict(received)
    for transfer in transfers:
        expect_status(transfer, TransferStatus.SHIPPED, "received", field)
        if quantities[transfer.id] > transfer.quantity:
            raise PoolingError(
                ErrorCode.INVALID_QUANTITY,
                "Transfer {transfer} shipped {quantity} unit(s); received must be 0 to {quantity}.",
                "quantity_received",
                transfer=Ref.of(transfer),
                quantity=transfer.quantity,
            )
    for transfer in transfers:
        quantity_received = quantities[transfer.id]
        recipient = levels[(transfer.to_site_id, transfer.item_id)]
        move(session, recipient, transfer.quantity, MovementReason.TRANSFER_IN, actor, transfer_id=transfer.id)
        lost = transfer.quantity - quantity_received
        if lost:
            move(session, recipient, -lost, MovementReason.TRANSFER_LOSS, actor, transfer_id=transfer.id)
        transfer.status = TransferStatus.RECEIVED  # first: its allocations no longer cover anything once it is here
        transfer.quantity_received = quantity_received
        transfer.received_at = transfer.closed_at = utcnow()
        earmarked = [(a.backorder, a.quantity) for a in transfer.allocations]
        serve_earmarked(session, recipient, quantity_received, earmarked, actor)  # then the shelves, once below
        note = f"received {quantity_received} of {transfer.quantity}; {lost} lost" if lost else None
        record(session, Kind.TRANSFER, transfer.id, actor, "RECEIVED", note)
        events.about_transfer(session, transfer, EventKind.TRANSFER_RECEIVED, received=quantity_received)
    fill_from_shelves(session, [levels[(t.to_site_id, t.item_id)] for t in transfers], actor)
    return transfers


def _with_allocations(session: Session, transfers: Sequence[Transfer]) -> None:
    """Load the transfers' allocations and their backorders in two queries, not two per transfer."""
    session.scalars(
        select(Transfer)
        .where(Transfer.id.in_([t.id for t in transfers]))
        .options(selectinload(Transfer.allocations).joinedload(TransferAllocation.backorder))
    ).all()


def cancel_transfer(
    session: Session, transfer_id: int, reason: str | None = None, actor: str | None = None
) -> Transfer:
    """Call off an approved transfer before it ships: the donor's units and the backorders are free again."""
    check_text(reason, "reason")
    (transfer,), levels = _locked(session, [transfer_id])
    expect_status(transfer, TransferStatus.APPROVED, "cancelled", "id")
    donor = levels[(transfer.from_site_id, transfer.item_id)]
    donor.reserved -= transfer.quantity
    for allocation in transfer.allocations:
        uncover(allocation.backorder, allocation.quantity, actor)
    transfer.status = TransferStatus.CANCELLED
    transfer.note = reason
    transfer.closed_at = utcnow()
    record(session, Kind.TRANSFER, transfer.id, actor, "CANCELLED", reason)
    events.about_transfer(session, transfer, EventKind.TRANSFER_CANCELLED)
    fill_from_shelf(session, donor, actor)
    return transfer
