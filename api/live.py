"""Live events for subscriptions: one hub per server process reads the outbox and hands each new event to every
subscriber's bounded queue.

The hub wakes on PostgreSQL's NOTIFY (sent by the database when an event's transaction commits, to every process
and host listening) and also polls every `poll_every` seconds (the only way with SQLite, a safety net with
PostgreSQL). It reads the outbox in id order (`pooling.events.after`), so it never skips a committed event.
A subscriber that does not keep up never slows the hub: its queue is bounded, and when it overflows the
subscriber is dropped and its websocket closed with code 4429 ("too slow"); the client reconnects with `after`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api.auth import Caller, caller_for
from api.context import Context
from api.graphiql import GraphQLView
from models import EventKind
from models.db import Database
from models.events import Event
from pooling import events

log = logging.getLogger("stockpool.live")
TOO_SLOW = 4429  # the close code for a subscriber that stopped reading
DEFAULT_QUEUE = 1000


@dataclass(frozen=True)
class LiveEvent:
    """An outbox row, detached from any session."""

    id: int
    kind: EventKind
    occurred_at: datetime
    region: str | None
    to_region: str | None
    site_id: int | None
    to_site_id: int | None
    item_id: int | None
    backorder_id: int | None
    transfer_id: int | None
    reorder_id: int | None
    plan_id: int | None
    alert_id: int | None
    data: dict[str, Any] | None

    @classmethod
    def of(cls, row: Event) -> LiveEvent:
        return cls(
            id=row.id,
            kind=row.kind,
            occurred_at=row.occurred_at,
            region=row.region,
            to_region=row.to_region,
            site_id=row.site_id,
            to_site_id=row.to_site_id,
            item_id=row.item_id,
            backorder_id=row.backorder_id,
            transfer_id=row.transfer_id,
            reorder_id=row.reorder_id,
            plan_id=row.plan_id,
            alert_id=row.alert_id,
            data=row.data,
        )


class Subscriber:
    def __init__(self, size: int, on_overflow: Callable[[], None]) -> None:
        self.queue: asyncio.Queue[LiveEvent] = asyncio.Queue(maxsize=size)
        self.on_overflow = on_overflow
        self.dropped = False


class Hub:
    def __init__(self, db: Database, poll_every: float | None = None, queue_size: int | None = None) -> None:
        self.db = Database(db.url)  # an engine of its own: its polls never wait for (nor count as) a request's
        default_poll = 0.25 if db.is_sqlite else 2.0
        self.poll_every = poll_every or float(os.environ.get("STOCKPOOL_EVENTS_POLL_SECONDS", default_poll))
        self.queue_size = queue_size or int(os.environ.get("STOCKPOOL_SUBSCRIBER_QUEUE", DEFAULT_QUEUE))
        self.subscribers: set[Subscriber] = set()
        self.cursor = 0
        self._cursor_time: datetime | None = None
        self._wake = asyncio.Event()
        self._stop = threading.Event()

    def subscribe(self, on_overflow: Callable[[], None]) -> Subscriber:
        subscriber = Subscriber(self.queue_size, on_overflow)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def _publish(self, found: list[LiveEvent]) -> None:
        for subscriber in list(self.subscribers):
            for event in found:
                try:
                    subscriber.queue.put_nowait(event)
                except asyncio.QueueFull:
                    subscriber.dropped = True
                    self.subscribers.discard(subscriber)
                    subscriber.on_overflow()
                    break

    def _read(self) -> tuple[list[LiveEvent], int]:
        with self.db.reading() as session:
            if self.cursor and events.was_reset(session, self.cursor, self._cursor_time):
                self.cursor = 0  # the outbox was emptied and began again (a test database's reset)
            rows, safe = events.after(session, self.cursor)
            if rows:
                self._cursor_time = rows[-1].occurred_at if rows[-1].id == safe else None
            elif safe != self.cursor:
                self._cursor_time = None
            if self._cursor_time is None and safe:
                found = session.get(Event, safe)
                self._cursor_time = found.occurred_at if found else None
            return [LiveEvent.of(row) for row in rows], safe

    async def run(self) -> None:
        self.cursor = await run_in_threadpool(self._last_id)
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_every)
            self._wake.clear()
            try:
                while True:
                    before = self.cursor
                    found, self.cursor = await run_in_threadpool(self._read)
                    self._publish(found)
                    if self.cursor == before:
                        break
            except Exception as error:
                reason = str(getattr(error, "orig", None) or error).splitlines()[0]
                log.warning("events not read (trying again): %s", reason)

    def _last_id(self) -> int:
        with self.db.reading() as session:
            return events.last_id(session)

    def _listen(self, loop: asyncio.AbstractEventLoop) -> None:
        """PostgreSQL: LISTEN on its own connection, waking the hub on each NOTIFY (reconnects after a failure)."""
        while not self._stop.is_set():
            try:
                import psycopg

                url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
                connection = psycopg.connect(url, autocommit=True)
                connection.execute(f"LISTEN {events.CHANNEL}")
                try:
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=1.0, stop_after=1):
                            loop.call_soon_threadsafe(self._wake.set)
                finally:
                    connection.close()
            except Exception as error:
                log.warning("LISTEN failed (polling meanwhile): %s", str(error).splitlines()[0])
                self._stop.wait(self.poll_every)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self.run())
        listener = None
        if not self.db.is_sqlite:
            listener = threading.Thread(
                target=self._listen, args=(asyncio.get_running_loop(),), name="events-listen", daemon=True
            )
            listener.start()
        try:
            yield
        finally:
            self._stop.set()
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            if listener is not None:
                await run_in_threadpool(listener.join, 5)
            await run_in_threadpool(self.db.dispose)


class LiveContext(Context):
    """The context of one websocket: the caller (from connection_init), the hub, and short reads of their own
    (a subscription lives for hours; it holds no transaction open between events)."""

    def __init__(self, db: Database, hub: Hub, websocket: WebSocket) -> None:
        super().__init__(db, None, write=False)
        self.hub = hub
        self.websocket = websocket
        self.connection_params: dict[str, Any] | None = None

    async def run(self, work: Callable[[Session], Any]) -> Any:
        def short() -> Any:
            with self.db.reading() as session:
                return work(session)

        return await run_in_threadpool(short)

    def fresh_loaders(self) -> None:
        """Rows change between events: each event is resolved with loaders of its own."""
        from api.context import Loaders

        self.loaders = Loaders(self)

    def close_too_slow(self) -> None:
        async def close() -> None:
            with suppress(Exception):
                await asyncio.wait_for(
                    self.websocket.close(TOO_SLOW, "Too many events not read: reconnect with after."), 5
                )

        asyncio.get_running_loop().create_task(close())


class LiveView(GraphQLView):
    """graphql-transport-ws only (the legacy graphql-ws protocol is refused); the token in connection_init."""

    def __init__(self, schema: Any, db: Database, hub: Hub) -> None:
        super().__init__(schema, graphql_ide=None, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        self.db = db
        self.hub = hub

    def encode_json(self, data: object) -> str:  # type: ignore[override]
        """Text frames: the protocol's messages are JSON text, and a browser hands binary frames to graphql-ws as
        Blobs it cannot parse (Strawberry sends bytes as binary frames). Found by the board's browser tests."""
        return orjson.dumps(data).decode()

    async def get_context(self, request: Any, response: Any) -> Any:
        return LiveContext(self.db, self.hub, request)

    async def on_ws_connect(self, context: Any) -> Any:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        authorization = params.get("Authorization") or params.get("authorization")
        caller = await run_in_threadpool(self._caller, authorization if isinstance(authorization, str) else None)
        if caller is None:
            raise ConnectionRejectionError({"message": 'Send a valid token: {"Authorization": "Bearer ..."}.'})
        context.caller = caller
        return await super().on_ws_connect(context)

    def _caller(self, authorization: str | None) -> Caller | None:
        with self.db.reading() as session:
            return caller_for(session, authorization)
