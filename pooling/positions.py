"""Derived figures of stock positions, for many (site, item) pairs in one query each."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from models import Backorder, Reorder, ReorderStatus, Transfer
from pooling.backorders import WAITING
from pooling.ledger import Pair
from pooling.transfers import COMMITTED


def waiting(session: Session, pairs: Iterable[Pair]) -> set[Pair]:
    """The pairs whose site waits for the item (an unfulfilled, uncancelled backorder): they have no surplus."""
    wanted = list(set(pairs))
    if not wanted:
        return set()
    rows = session.execute(
        select(Backorder.site_id, Backorder.item_id)
        .distinct()
        .where(tuple_(Backorder.site_id, Backorder.item_id).in_(wanted), Backorder.status.in_(WAITING))
    )
    return {(s, i) for s, i in rows}


def incoming(session: Session, pairs: Iterable[Pair]) -> dict[Pair, int]:
    """Units on their way: approved or shipped transfers in, plus ordered reorders not yet received."""
    wanted = list(set(pairs))
    totals: dict[Pair, int] = dict.fromkeys(wanted, 0)
    if not wanted:
        return totals
    for site, item, quantity in session.execute(
        select(Transfer.to_site_id, Transfer.item_id, func.sum(Transfer.quantity))
        .where(tuple_(Transfer.to_site_id, Transfer.item_id).in_(wanted), Transfer.status.in_(COMMITTED))
        .group_by(Transfer.to_site_id, Transfer.item_id)
    ):
        totals[(site, item)] += int(quantity)
    for site, item, quantity in session.execute(
        select(Reorder.site_id, Reorder.item_id, func.sum(Reorder.quantity))
        .where(tuple_(Reorder.site_id, Reorder.item_id).in_(wanted), Reorder.status == ReorderStatus.ORDERED)
        .group_by(Reorder.site_id, Reorder.item_id)
    ):
        totals[(site, item)] += int(quantity)
    return totals
