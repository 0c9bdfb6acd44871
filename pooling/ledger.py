"""The only way on-hand changes: a movement row written with the stock level it changes, under a row lock.

Every operation that touches stock first locks the (site, item) levels it needs, all at once and in one order
(site id, item id), so two transactions never deadlock and never sell the same units. On SQLite the whole
transaction already holds the write lock (`BEGIN IMMEDIATE`); `FOR UPDATE` is a no-op there.

Loads too large for `move` row by row (a benchmark's millions of levels) use its bulk form, `open_levels`: new
levels written together with their movements, on-hand the sum of those movements by construction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, cast

import numpy as np
from sqlalchemy import ColumnElement, Executable, Table, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import Base, Movement, MovementReason, StockLevel
from models.bulk import Column, insert_columns
from pooling.errors import ErrorCode, PoolingError, Ref, not_found
from pooling.limits import check_ids

Pair = tuple[int, int]  # (site id, item id)

MAX_QUANTITY = 1_000_000_000  # the largest quantity one request may carry
MAX_ON_HAND = 2_000_000_000  # stays inside a 32-bit integer column


def check_quantity(quantity: int, field: str = "quantity", *, positive: bool = True) -> None:
    """Refuse zero, negative (where `positive`) and over-large quantities with a typed error."""
    if positive and quantity <= 0:
        raise PoolingError(ErrorCode.INVALID_QUANTITY, f"The quantity must be positive, not {quantity}.", field)
    if abs(quantity) > MAX_QUANTITY:
        raise PoolingError(ErrorCode.INVALID_QUANTITY, f"The quantity must be at most {MAX_QUANTITY:,} units.", field)


def check_received(quantity: int, field: str) -> None:
    """A delivery booked in: zero (nothing arrived) or more, never negative nor over-large; checked before any
    record is locked."""
    if quantity < 0:
        raise PoolingError(ErrorCode.INVALID_QUANTITY, "The received quantity cannot be negative.", field)
    check_quantity(quantity, field, positive=False)


Record = TypeVar("Record", bound=Base)


def lock_levels(session: Session, pairs: Iterable[Pair]) -> dict[Pair, StockLevel]:
    """Lock (creating where missing) the stock levels of these (site, item) pairs, in a fixed order."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    if len(wanted) == 1:
        # One level (an order): lock it if it exists (one statement); create it only when missing. With a single
        # row there is no order to keep; two creators meet in the INSERT ... ON CONFLICT below.
        found = _select_for_update(session, wanted)
        if found:
            return found
    # One statement compiled once and sent with a row of parameters per level (executemany): a VALUES list built
    # per call is compiled afresh every time, which cost more than everything else an approval of 10 did.
    session.execute(
        _create_missing(session.get_bind().dialect.name),
        [
            {
                "site_id": s,
                "item_id": i,
                "on_hand": 0,
                "reserved": 0,
                "safety_stock": 0,
                "reorder_point": 0,
                "version": 1,
            }
            for s, i in wanted
        ],
    )
    return _select_for_update(session, wanted)


@functools.cache
def _create_missing(dialect: str) -> Executable:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(_table(StockLevel)).on_conflict_do_nothing(index_elements=["site_id", "item_id"])


def _select_for_update(session: Session, wanted: list[Pair]) -> dict[Pair, StockLevel]:
    where: ColumnElement[bool]
    if len(wanted) == 1:
        ((site_id, item_id),) = wanted
        where = (StockLevel.site_id == site_id) & (StockLevel.item_id == item_id)
    else:
        where = tuple_(StockLevel.site_id, StockLevel.item_id).in_(wanted)
    levels = session.scalars(
        select(StockLevel)
        .where(where)
        .order_by(StockLevel.site_id, StockLevel.item_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    return {(level.site_id, level.item_id): level for level in levels}


def lock_records(session: Session, model: type[Record], ids: Sequence[int]) -> dict[int, Record]:
    """Lock rows of one table by id, in id order, and reload them as they are now.

    Locks here and in `lock_levels` are FOR NO KEY UPDATE on PostgreSQL (no id ever changes): they exclude each
    other as FOR UPDATE does, but not the KEY SHARE lock that a foreign key check takes. With FOR UPDATE, a
    cancellation re-pointing a transfer's allocation (an INSERT that checks the transfer's row) while a shipment
    held that transfer and waited for the cancelled backorder deadlocked (test_conservation on PostgreSQL)."""
    rows = session.scalars(
        select(model)
        .where(model.id.in_(sorted(set(ids))))  # type: ignore[attr-defined]
        .order_by(model.id)  # type: ignore[attr-defined]
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    return {row.id: row for row in rows}  # type: ignore[attr-defined]


def lock_with_levels(
    session: Session, model: type[Record], ids: Sequence[int], pairs_of: Callable[[Record], Iterable[Pair]]
) -> tuple[list[Record], dict[Pair, StockLevel]]:
    """Lock the stock levels some records touch, then the records, in that fixed order; NOT_FOUND for a missing id.

    Returns the records in the order asked (duplicates once) and the locked levels by (site, item).
    """
    kind = model.__name__.lower()
    if not ids:
        raise PoolingError(ErrorCode.INVALID, f"Give at least one {kind} id.", "ids")
    check_ids(ids, "ids", f"{kind}s")
    found = {r.id: r for r in session.scalars(select(model).where(model.id.in_(list(ids))))}  # type: ignore[attr-defined]
    for record_id in ids:
        if record_id not in found:
            raise not_found(kind, Ref(model.__name__, record_id), "ids")
    levels = lock_levels(session, [pair for record in found.values() for pair in pairs_of(record)])
    locked = lock_records(session, model, list(found))
    return [locked[i] for i in dict.fromkeys(ids)], levels


def move(
    session: Session,
    level: StockLevel,
    quantity: int,
    reason: MovementReason,
    actor: str | None,
    *,
    note: str | None = None,
    order_id: int | None = None,
    backorder_id: int | None = None,
    transfer_id: int | None = None,
    reorder_id: int | None = None,
) -> Movement:
    """Change a locked level's on-hand by `quantity` and write the movement that says why."""
    if quantity == 0:
        raise PoolingError(ErrorCode.INVALID_QUANTITY, "A movement needs a quantity other than zero.", "quantity")
    if level.on_hand + quantity < level.reserved:
        raise PoolingError(
            ErrorCode.INSUFFICIENT_STOCK,
            f"Only {level.on_hand - level.reserved} unit(s) are available (on hand {level.on_hand}, "
            f"reserved {level.reserved}); {-quantity} requested.",
            "quantity",
        )
    if level.on_hand + quantity > MAX_ON_HAND:
        raise PoolingError(ErrorCode.INVALID_QUANTITY, f"On hand would exceed {MAX_ON_HAND:,} units.", "quantity")
    level.on_hand += quantity
    movement = Movement(
        site_id=level.site_id,
        item_id=level.item_id,
        quantity=quantity,
        reason=reason,
        actor=actor,
        note=note,
        order_id=order_id,
        backorder_id=backorder_id,
        transfer_id=transfer_id,
        reorder_id=reorder_id,
    )
    session.add(movement)
    return movement


@dataclass(frozen=True)
class MovementBatch:
    """Movements of one reason in bulk, for `open_levels`: `level` indexes its levels, one quantity each."""

    level: np.ndarray
    quantity: np.ndarray
    reason: MovementReason = MovementReason.RECEIPT
    transfer_id: np.ndarray | None = None


def open_levels(
    session: Session,
    site_id: np.ndarray,
    item_id: np.ndarray,
    movements: Sequence[MovementBatch],
    actor: str,
    at: datetime,
    *,
    safety_stock: np.ndarray | int = 0,
    note: str | None = None,
) -> None:
    """New stock levels written in bulk together with the movements that fill them, for loads too large for `move`.

    Each level's on-hand is the sum of its movements, by construction; the movements apply in the order given, and
    on-hand may never go below zero nor above MAX_ON_HAND along the way. The (site, item) pairs must have no level
    yet (the unique constraint refuses them otherwise).
    """
    on_hand = np.zeros(len(site_id), dtype=np.int64)
    for batch in movements:
        if not batch.quantity.all():
            raise PoolingError(ErrorCode.INVALID_QUANTITY, "A movement needs a quantity other than zero.", "quantity")
        np.add.at(on_hand, batch.level, batch.quantity)
        if on_hand.min(initial=0) < 0 or on_hand.max(initial=0) > MAX_ON_HAND:
            raise PoolingError(
                ErrorCode.INVALID_QUANTITY, f"On hand must stay within 0 and {MAX_ON_HAND:,} units.", "quantity"
            )
    insert_columns(
        session,
        _table(StockLevel),
        {
            "site_id": site_id,
            "item_id": item_id,
            "on_hand": on_hand,
            "reserved": 0,
            "safety_stock": safety_stock,
            "reorder_point": 0,
            "version": 1,
        },
    )
    for batch in movements:
        columns: dict[str, Column] = {
            "site_id": site_id[batch.level],
            "item_id": item_id[batch.level],
            "quantity": batch.quantity,
            "reason": batch.reason,
            "actor": actor,
            "note": note,
            "created_at": at,
        }
        if batch.transfer_id is not None:
            columns["transfer_id"] = batch.transfer_id
        insert_columns(session, _table(Movement), columns)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)
