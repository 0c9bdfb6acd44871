"""The outbox: `record` writes an event in the caller's transaction, so it exists if and only if the change
it reports commits. Subscriptions and webhooks read the outbox; nothing else sends anything."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from models.enums import EventKind
from models.events import Event


def record(
    session: Session,
    kind: EventKind,
    *,
    region: str | None = None,
    site_id: int | None = None,
    item_id: int | None = None,
    backorder_id: int | None = None,
    transfer_id: int | None = None,
    reorder_id: int | None = None,
    plan_id: int | None = None,
    alert_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    event = Event(
        kind=kind,
        region=region,
        site_id=site_id,
        item_id=item_id,
        backorder_id=backorder_id,
        transfer_id=transfer_id,
        reorder_id=reorder_id,
        plan_id=plan_id,
        alert_id=alert_id,
        data=data,
    )
    session.add(event)
    return event
