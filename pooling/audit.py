"""The ledger's invariants, checked over the whole database: what `stockpool check` reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Backorder, Item, Movement, MovementReason, Site, StockLevel, Transfer, TransferStatus

# A broken invariant before its ids are named: (site id, item id, problem).
_Finding = tuple[int, int, str]


@dataclass(frozen=True)
class Breach:
    site: str
    sku: str
    problem: str

    def __str__(self) -> str:
        return f"{self.site} {self.sku}: {self.problem}"


def audit(session: Session) -> list[Breach]:
    """Every broken invariant, one entry per (site, item) and problem; an empty list when the ledger holds."""
    sites = dict(session.execute(select(Site.id, Site.code)).all())
    skus = dict(session.execute(select(Item.id, Item.sku)).all())
    breaches = [
        Breach(sites.get(site_id, f"site#{site_id}"), skus.get(item_id, f"item#{item_id}"), problem)
        for check in (_stock_level_findings, _backorder_findings, _transfer_findings)
        for site_id, item_id, problem in check(session)
    ]
    return sorted(breaches, key=lambda b: (b.site, b.sku, b.problem))


def _stock_level_findings(session: Session) -> Iterator[_Finding]:
    """Each stock level matches its movements and the approved transfers reserving from it."""
    ledger = {
        (s, i): int(total)
        for s, i, total in session.execute(
            select(Movement.site_id, Movement.item_id, func.sum(Movement.quantity)).group_by(
                Movement.site_id, Movement.item_id
            )
        )
    }
    reserved_by_transfers = {
        (s, i): int(total)
        for s, i, total in session.execute(
            select(Transfer.from_site_id, Transfer.item_id, func.sum(Transfer.quantity))
            .where(Transfer.status == TransferStatus.APPROVED)
            .group_by(Transfer.from_site_id, Transfer.item_id)
        )
    }
    levels = session.execute(
        select(StockLevel.site_id, StockLevel.item_id, StockLevel.on_hand, StockLevel.reserved)
    ).all()
    seen = set()
    for site_id, item_id, on_hand, reserved in levels:
        pair = (site_id, item_id)
        seen.add(pair)
        if on_hand != ledger.get(pair, 0):
            yield site_id, item_id, f"on hand {on_hand} but the movements sum to {ledger.get(pair, 0)}"
        if on_hand < 0 or reserved < 0 or reserved > on_hand:
            yield site_id, item_id, f"on hand {on_hand}, reserved {reserved}: need 0 <= reserved <= on hand"
        if reserved != reserved_by_transfers.get(pair, 0):
            held = reserved_by_transfers.get(pair, 0)
            yield site_id, item_id, f"reserved {reserved} but approved transfers out hold {held}"
    for (site_id, item_id), total in ledger.items():
        if (site_id, item_id) not in seen:
            yield site_id, item_id, f"movements sum to {total} but there is no stock level"


def _backorder_findings(session: Session) -> Iterator[_Finding]:
    """Each backorder's fulfilled and covered units stay within its quantity."""
    for row in session.execute(
        select(
            Backorder.id,
            Backorder.site_id,
            Backorder.item_id,
            Backorder.quantity,
            Backorder.fulfilled,
            Backorder.covered,
        ).where(
            (Backorder.fulfilled < 0)
            | (Backorder.covered < 0)
            | (Backorder.fulfilled + Backorder.covered > Backorder.quantity)
        )
    ):
        yield (
            row.site_id,
            row.item_id,
            f"backorder {row.id} fulfilled {row.fulfilled} + covered {row.covered} outside 0..{row.quantity}",
        )


def _transfer_findings(session: Session) -> Iterator[_Finding]:
    """Each shipped or received transfer's movements account for its quantities."""
    moved: dict[int, dict[MovementReason, int]] = defaultdict(lambda: defaultdict(int))
    for transfer_id, reason, total in session.execute(
        select(Movement.transfer_id, Movement.reason, func.sum(Movement.quantity))
        .where(Movement.transfer_id.is_not(None))
        .group_by(Movement.transfer_id, Movement.reason)
    ):
        if transfer_id is not None:
            moved[transfer_id][reason] = int(total)
    for t in session.scalars(
        select(Transfer).where(Transfer.status.in_([TransferStatus.SHIPPED, TransferStatus.RECEIVED]))
    ):
        out, came, lost = (
            moved[t.id][r]
            for r in (MovementReason.TRANSFER_OUT, MovementReason.TRANSFER_IN, MovementReason.TRANSFER_LOSS)
        )
        if -out != t.quantity:
            yield t.from_site_id, t.item_id, f"transfer {t.id} shipped {t.quantity} but TRANSFER_OUT is {-out}"
        if t.status == TransferStatus.RECEIVED:
            received = t.quantity_received or 0
            if came != t.quantity or came + lost != received or t.quantity != received + (t.quantity_lost or 0):
                yield (
                    t.to_site_id,
                    t.item_id,
                    f"transfer {t.id} shipped {t.quantity} != received {received} + lost {-lost} (TRANSFER_IN {came})",
                )
