"""Expected times: when a transfer, a reorder or the units covering a backorder are expected to arrive.

- A transfer: SUGGESTED, if approved now: now + the sending site's handling time + the lane's lead time;
  APPROVED: approved + handling time + lead time; SHIPPED (and RECEIVED): shipped + lead time; otherwise none.
- A reorder: SUGGESTED, if ordered now: now + the item's supplier lead time; ORDERED (and RECEIVED): ordered +
  supplier lead time; otherwise none.
- A backorder: `covered_by` lists what is on its way for it (allocations of approved or shipped transfers and of
  ordered reorders), each with its expected time; `expected_by` is the latest of them, none while any unit is
  uncovered (or once nothing is on its way).

The lane's lead time is the one the transfer was planned with (`Transfer.lead_time_hours`). Every function reads
in batches: a page of records costs a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    BackorderStatus,
    Item,
    Reorder,
    ReorderAllocation,
    ReorderStatus,
    Site,
    Transfer,
    TransferAllocation,
    TransferStatus,
    utcnow,
)
from models.orders import CLOSED

ON_THE_WAY_TRANSFERS = (TransferStatus.APPROVED, TransferStatus.SHIPPED)


def transfer_expected_at(
    status: TransferStatus,
    approved_at: datetime | None,
    shipped_at: datetime | None,
    handling_time_hours: int,
    lead_time_hours: int,
    now: datetime | None = None,
) -> datetime | None:
    lead = timedelta(hours=lead_time_hours)
    handling = timedelta(hours=handling_time_hours)
    if status == TransferStatus.SUGGESTED:
        return (now or utcnow()) + handling + lead
    if status == TransferStatus.APPROVED and approved_at is not None:
        return approved_at + handling + lead
    if status in (TransferStatus.SHIPPED, TransferStatus.RECEIVED) and shipped_at is not None:
        return shipped_at + lead
    return None


def transfer_expected(transfer: Transfer, handling_time_hours: int, now: datetime | None = None) -> datetime | None:
    return transfer_expected_at(
        transfer.status,
        transfer.approved_at,
        transfer.shipped_at,
        handling_time_hours,
        transfer.lead_time_hours,
        now,
    )


def reorder_expected_at(
    status: ReorderStatus, ordered_at: datetime | None, supplier_lead_time_days: int, now: datetime | None = None
) -> datetime | None:
    lead = timedelta(days=supplier_lead_time_days)
    if status == ReorderStatus.SUGGESTED:
        return (now or utcnow()) + lead
    if status in (ReorderStatus.ORDERED, ReorderStatus.RECEIVED) and ordered_at is not None:
        return ordered_at + lead
    return None


@dataclass(frozen=True)
class Cover:
    """Units on their way for a backorder: from a transfer or from a reorder, expected at a time."""

    backorder_id: int
    quantity: int
    expected_at: datetime | None
    transfer: Transfer | None = None
    reorder: Reorder | None = None


def coverage(session: Session, backorder_ids: Iterable[int], now: datetime | None = None) -> dict[int, list[Cover]]:
    """What is on its way for each backorder (two queries for any number of backorders), soonest first."""
    wanted = list(set(backorder_ids))
    found: dict[int, list[Cover]] = {pk: [] for pk in wanted}
    if not wanted:
        return found
    for allocation, transfer, handling in session.execute(
        select(TransferAllocation, Transfer, Site.handling_time_hours)
        .join(Transfer, Transfer.id == TransferAllocation.transfer_id)
        .join(Site, Site.id == Transfer.from_site_id)
        .where(TransferAllocation.backorder_id.in_(wanted), Transfer.status.in_(ON_THE_WAY_TRANSFERS))
        .order_by(TransferAllocation.id)
    ):
        expected = transfer_expected(transfer, handling, now)
        found[allocation.backorder_id].append(Cover(allocation.backorder_id, allocation.quantity, expected, transfer))
    for reorder_allocation, reorder, lead_days in session.execute(
        select(ReorderAllocation, Reorder, Item.supplier_lead_time_days)
        .join(Reorder, Reorder.id == ReorderAllocation.reorder_id)
        .join(Item, Item.id == Reorder.item_id)
        .where(ReorderAllocation.backorder_id.in_(wanted), Reorder.status == ReorderStatus.ORDERED)
        .order_by(ReorderAllocation.id)
    ):
        expected = reorder_expected_at(reorder.status, reorder.ordered_at, lead_days, now)
        pk = reorder_allocation.backorder_id
        found[pk].append(Cover(pk, reorder_allocation.quantity, expected, reorder=reorder))
    for covers in found.values():
        covers.sort(key=lambda c: (c.expected_at is None, c.expected_at))
    return found


def expected_by(status: BackorderStatus, open_units: int, covers: list[Cover]) -> datetime | None:
    """When the last covered unit arrives; None while any unit is uncovered, once closed, or with nothing coming."""
    if status in CLOSED or open_units > 0 or not covers:
        return None
    times = [c.expected_at for c in covers]
    return None if any(t is None for t in times) else max(t for t in times if t is not None)
