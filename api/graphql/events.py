"""`subscription events(...)`: the outbox, live, scoped like the records (graphql-transport-ws on /graphql).

A client that reconnects passes `after`, the id of the last event it saw: the events since are sent first (once
each, oldest first), then the live ones. A client that loads what it shows and then follows the changes reads
`eventCursor` first and subscribes after it, so that what commits while it loads comes too."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session
from strawberry.scalars import JSON

from api.auth import Caller
from api.graphql.alerts import Alert
from api.graphql.base import global_id, pk_of
from api.graphql.runner import QueryError, caller, read
from api.graphql.scope import may_coordinate, may_see_event, site_in_scope, visible_events
from api.graphql.types import Backorder, Item, Known, Reorder, Site, Transfer, item_of, site_of
from models import Alert as AlertRow
from models import Backorder as BackorderRow
from models import EventKind
from models import Reorder as ReorderRow
from models import Transfer as TransferRow
from models.events import Event as EventRow
from pooling import events
from pooling.errors import ErrorCode, PoolingError

EventKindEnum = Annotated[EventKind, strawberry.enum(name="EventKind")]
CATCH_UP_BATCH = 200
START = global_id("Event", 0)  # the cursor of an empty outbox: every event that ever commits comes after it


@strawberry.type(description="Something that happened, written in the transaction of the change it reports.")
class Event:
    id: strawberry.ID
    kind: EventKindEnum
    occurred_at: datetime
    data: JSON | None = strawberry.field(description="What changed (quantities, the new status, counts).")
    backorder: Backorder | None
    transfer: Transfer | None
    reorder: Reorder | None
    alert: Alert | None = strawberry.field(description="The alert an ALERT_RAISED or ALERT_CLOSED event is about.")
    region: str | None
    site_id: strawberry.Private[int | None]
    item_id: strawberry.Private[int | None]

    @strawberry.field(graphql_type=Site | None)
    def site(self, info: strawberry.Info) -> Known[Site] | None:
        return None if self.site_id is None else site_of(self, info)

    @strawberry.field(graphql_type=Item | None)
    def item(self, info: strawberry.Info) -> Known[Item] | None:
        return None if self.item_id is None else item_of(self, info)


def event_id(pk: int) -> strawberry.ID:
    return global_id("Event", pk)


def _resolved(session: Session, found: Any) -> Event:
    """The event with its records as they are now."""
    backorder = session.get(BackorderRow, found.backorder_id) if found.backorder_id else None
    transfer = session.get(TransferRow, found.transfer_id) if found.transfer_id else None
    reorder = session.get(ReorderRow, found.reorder_id) if found.reorder_id else None
    alert = session.get(AlertRow, found.alert_id) if found.alert_id else None
    return Event(
        id=event_id(found.id),
        kind=found.kind,
        occurred_at=found.occurred_at,
        data=found.data,
        backorder=Backorder.of(backorder) if backorder else None,
        transfer=Transfer.of(transfer) if transfer else None,
        reorder=Reorder.of(reorder) if reorder else None,
        alert=Alert.of(alert) if alert else None,
        region=found.region,
        site_id=found.site_id,
        item_id=found.item_id,
    )


class Filter:
    """The subscriber's own filters, as SQL (catching up) and in Python (live)."""

    def __init__(self, who: Caller, region: str | None, site_id: int | None, kinds: list[EventKind] | None) -> None:
        self.who, self.region, self.site_id, self.kinds = who, region, site_id, kinds

    def sql(self) -> list[ColumnElement[bool]]:
        where = [visible_events(self.who)]
        if self.region is not None:
            where.append((EventRow.region == self.region) | (EventRow.to_region == self.region))
        if self.site_id is not None:
            where.append((EventRow.site_id == self.site_id) | (EventRow.to_site_id == self.site_id))
        if self.kinds:
            where.append(EventRow.kind.in_(self.kinds))
        return where

    def wants(self, found: Any) -> bool:
        return (
            may_see_event(self.who, found)
            and (self.region is None or self.region in (found.region, found.to_region))
            and (self.site_id is None or self.site_id in (found.site_id, found.to_site_id))
            and (not self.kinds or found.kind in self.kinds)
        )


def _filter(session: Session, who: Caller, region: str | None, site: str | None, kinds: Any) -> Filter:
    if region is not None and not (may_coordinate(who, region) or who.region == region):
        raise PoolingError(ErrorCode.NOT_FOUND, f"No region {region!r}.", "region")
    site_id = None if site is None else site_in_scope(session, who, site).id
    return Filter(who, region, site_id, list(kinds) if kinds else None)


def _position(after: str) -> int:
    """The event id a subscriber resumes after: an event's id, or `eventCursor`'s answer (which may be `START`)."""
    return 0 if after == START else pk_of(after, "Event", "after")


@strawberry.type
class EventsQuery:
    @strawberry.field(
        description="Where the event stream stands now: subscribe with `events(after:)` set to it, and every event "
        "that commits from now on comes, including those that commit while the client loads what it shows "
        "(read the cursor first, then load, then subscribe)."
    )
    async def event_cursor(self, info: strawberry.Info) -> strawberry.ID:
        return global_id("Event", await read(info, lambda s, _caller: events.cursor(s)))  # START when empty


@strawberry.type
class EventsSubscription:
    @strawberry.subscription(
        description="Events about records the caller may read, as they commit. `after`: the id of the last event "
        "seen, or the `eventCursor` read before loading (a reconnecting client misses nothing: the events since "
        "come first, once each)."
    )
    async def events(
        self,
        info: strawberry.Info,
        region: str | None = None,
        site: str | None = None,
        kinds: list[EventKindEnum] | None = None,
        after: strawberry.ID | None = None,
    ) -> AsyncGenerator[Event, None]:
        live = info.context
        hub = getattr(live, "hub", None)
        if hub is None:
            raise QueryError("Subscribe over graphql-transport-ws (a websocket on /graphql).", "BAD_REQUEST")
        who = caller(info)
        try:
            last = 0 if after is None else _position(after)
            wanted = await live.run(lambda s: _filter(s, who, region, site, kinds))
        except PoolingError as error:
            raise QueryError(error.message, error.code.value) from None
        subscriber = hub.subscribe(live.close_too_slow)
        try:
            if after is None:  # from now on
                last = await live.run(events.last_id)
            while True:  # catching up from the outbox
                before = last

                def read(session: Session, since: int = last) -> tuple[list[Event], int]:
                    rows, safe = events.after(session, since, wanted.sql(), CATCH_UP_BATCH)
                    return [_resolved(session, row) for row in rows], safe

                found, last = await live.run(read)
                for event in found:
                    live.fresh_loaders()
                    yield event
                if last == before:
                    break
            while not subscriber.dropped:  # live
                item = await subscriber.queue.get()
                if item.id <= last:
                    continue
                last = item.id
                if wanted.wants(item):
                    live.fresh_loaders()
                    yield await live.run(lambda s, item=item: _resolved(s, item))
        finally:
            hub.unsubscribe(subscriber)
