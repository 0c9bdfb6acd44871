"""Derived figures of stock positions, for many (site, item) pairs in one query each."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from models import Reorder, ReorderStatus, Transfer
from pooling.backorders import waiting
from pooling.ledger import Pair
from pooling.transfers import COMMITTED

__all__ = ["incoming", "waiting"]  # waiting: pooling.backorders, beside the rule it reads


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
