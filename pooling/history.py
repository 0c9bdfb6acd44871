"""Who changed what, and when: one `history` row per change of state, written in the caller's transaction.

Operations take an `actor`: the name the ledger records (`Movement.actor`). The GraphQL layer passes an `Actor`,
a name that also carries the id of the token that acted; the nightly command passes "nightly"; an operation called
without one (the service's own code, a Python script) is recorded as "system".

What is recorded (`action`, usually the record's new status):
- transfer: APPROVED, REJECTED (the reason), SUPERSEDED, SHIPPED, RECEIVED (what was lost), CANCELLED (the reason),
  COVER_MOVED / COVER_RELEASED (units that covered a backorder filled from the shelf or cancelled now cover the next
  waiting one, or no longer cover any: `pooling.backorders.move_covers`)
- reorder: ORDERED, REJECTED (the reason), SUPERSEDED, RECEIVED, COVER_MOVED / COVER_RELEASED
- backorder: CREATED, FILLED (units from the shelf), PARTIALLY_COVERED, COVERED, FULFILLED, OPEN (coverage lost),
  CANCELLED (the reason)
- plan: CREATED (a saved rebalance); its transfers and reorders show it as their own CREATED entry, so a plan of
  100,000 suggestions writes one history row, not 100,000
- stock_level: POLICY_CHANGED, lane: CREATED, CHANGED (with the old and new values)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, insert, literal, select
from sqlalchemy.orm import Session

from models import HistoryEntry, Reorder, Transfer, utcnow
from pooling import alerting as _alerting  # noqa: F401 - installs the alerts' commit hook with every operation

SYSTEM = "system"
MAX_NOTE = 2000


class Actor(str):
    """A caller's name, as movements and history record it, with the id of the API token behind it."""

    token_id: int | None

    def __new__(cls, name: str, token_id: int | None = None) -> Actor:
        actor = super().__new__(cls, name)
        actor.token_id = token_id
        return actor


class Kind(enum.StrEnum):
    TRANSFER = "transfer"
    REORDER = "reorder"
    BACKORDER = "backorder"
    PLAN = "plan"
    STOCK_LEVEL = "stock_level"
    LANE = "lane"


def _who(actor: str | None) -> tuple[str, int | None]:
    if not actor:
        return SYSTEM, None
    return str(actor), getattr(actor, "token_id", None)


def record(
    session: Session,
    kind: Kind,
    record_id: int,
    actor: str | None,
    action: str,
    note: str | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> None:
    """Add one entry to the caller's transaction: it commits or rolls back with the change it describes."""
    name, token_id = _who(actor)
    session.add(
        HistoryEntry(
            record_kind=kind.value,
            record_id=record_id,
            at=utcnow(),
            actor=name,
            actor_token_id=token_id,
            action=action,
            note=note[:MAX_NOTE] if note else None,
            old=old,
            new=new,
        )
    )


def record_all(
    session: Session,
    kind: Kind,
    model: type[Transfer] | type[Reorder],
    where: Iterable[ColumnElement[bool]],
    actor: str | None,
    action: str,
    note: str | None = None,
) -> None:
    """One entry for every row of `model` matching `where`, in a single INSERT … SELECT however many there are."""
    name, token_id = _who(actor)
    rows = select(
        literal(kind.value),
        model.id,
        literal(utcnow(), HistoryEntry.at.type),
        literal(name),
        literal(token_id, HistoryEntry.actor_token_id.type),
        literal(action),
        literal(note, HistoryEntry.note.type),
    ).where(*where)
    columns = ["record_kind", "record_id", "at", "actor", "actor_token_id", "action", "note"]
    session.execute(insert(HistoryEntry).from_select(columns, rows))


def changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields whose value changed: (old values, new values)."""
    changed = [key for key in new if old.get(key) != new[key]]
    return {k: old.get(k) for k in changed}, {k: new[k] for k in changed}


def entries(session: Session, kind: Kind, ids: Iterable[int]) -> dict[int, list[HistoryEntry]]:
    """The history of each record, oldest first; transfers and reorders begin with their plan's CREATED entry."""
    wanted = list(set(ids))
    found: dict[int, list[HistoryEntry]] = {i: [] for i in wanted}
    if not wanted:
        return found
    for entry in session.scalars(
        select(HistoryEntry).where(HistoryEntry.record_kind == kind.value, HistoryEntry.record_id.in_(wanted))
    ):
        found[entry.record_id].append(entry)
    if kind in (Kind.TRANSFER, Kind.REORDER):
        model = Transfer if kind == Kind.TRANSFER else Reorder
        made_by_plan = and_(
            HistoryEntry.record_kind == Kind.PLAN.value,
            HistoryEntry.record_id == model.plan_id,
            HistoryEntry.action == "CREATED",
        )
        for record_id, entry in session.execute(
            select(model.id, HistoryEntry).join(HistoryEntry, made_by_plan).where(model.id.in_(wanted))
        ):
            found[record_id].append(entry)
    for listed in found.values():
        listed.sort(key=lambda e: (e.at, e.id))
    return found
