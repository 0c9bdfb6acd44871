"""`history` on records: who changed them, when, and why (pooling/history.py writes it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

import models as rows
from api.graphql.base import api_field, global_id
from pooling.history import Kind


@strawberry.type(description="A value a change replaced: the field (as the API names it), old and new, as text.")
class HistoryChange:
    field: str
    old: str | None
    new: str | None


@strawberry.type(
    description="One change of a record: when, who (the token's name, or `nightly` or `system`), what and why. "
    "`action` is the record's new status (APPROVED, REJECTED, SUPERSEDED, SHIPPED, RECEIVED, CANCELLED, ORDERED, "
    "PARTIALLY_COVERED, COVERED, FULFILLED, OPEN), or CREATED, FILLED (a backorder served from stock), "
    "POLICY_CHANGED (a stock level), CHANGED (a lane), COVER_MOVED or COVER_RELEASED (a transfer's or reorder's "
    "units no longer needed by a backorder filled from the shelf or cancelled: re-pointed to the site's next "
    "waiting backorder, or arriving as plain stock)."
)
class HistoryEntry:
    at: datetime
    actor: str
    actor_token_id: strawberry.ID | None = strawberry.field(
        description="The ApiToken that acted; null for the nightly command and the system."
    )
    action: str
    note: str | None = strawberry.field(description="A reason, a loss, the quantities after the change.")
    changes: list[HistoryChange] = strawberry.field(description="Old and new values (policies and lanes).")

    @classmethod
    def of(cls, row: rows.HistoryEntry) -> HistoryEntry:
        old, new = row.old or {}, row.new or {}
        return cls(
            at=row.at,
            actor=row.actor,
            actor_token_id=global_id("ApiToken", row.actor_token_id) if row.actor_token_id else None,
            action=row.action,
            note=row.note,
            changes=[
                HistoryChange(field=api_field(name), old=_text(old.get(name)), new=_text(new[name])) for name in new
            ],
        )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


async def history_of(info: strawberry.Info, kind: Kind, pk: int | None) -> list[HistoryEntry]:
    """The record's history through the request's DataLoader; a dry run's suggestions have none."""
    if pk is None:
        return []
    return [HistoryEntry.of(row) for row in await info.context.loaders.history.load((kind, pk))]
