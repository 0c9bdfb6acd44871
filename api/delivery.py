"""The webhook delivery worker: turns outbox events into deliveries, then sends them, signed (Standard Webhooks).

- Dispatch: for each active hook, the events after its `last_event_id` that it may read (the scope rules of its
  site or region, `api.graphql.scope`) and of its kinds become deliveries, and the cursor moves, in one transaction.
- Claim: a worker takes due deliveries by moving `next_attempt_at` past the attempt's lease (PostgreSQL: rows
  picked FOR UPDATE SKIP LOCKED; both: an UPDATE that only succeeds on a row still due), so two workers never send
  one delivery at the same time, and a worker killed mid-attempt leaves it due again when the lease ends.
- Send: POST with `webhook-id` (the same on every retry), `webhook-timestamp`, `webhook-signature`
  (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed by the base64 part of the `whsec_` secret).
  A 2xx answer delivers it; anything else retries with exponential backoff and jitter, for
  `STOCKPOOL_WEBHOOK_RETRY_FOR` seconds (a day by default); then the hook is disabled and an ALERT_RAISED event
  written.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import random
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.graphql.base import global_id
from api.graphql.scope import visible_events, webhook_reader
from models import AlertKind, EventKind, Item, Site, Webhook, WebhookDelivery, utcnow
from models.db import Database
from models.events import Event
from pooling import alerts, events, webhooks

log = logging.getLogger("stockpool.webhooks")
PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"
USER_AGENT = "stockpool-webhooks/1"


@dataclass(frozen=True)
class Settings:
    retry_base: float = 30.0  # seconds before the first retry; doubled each time (with jitter)
    retry_for: float = 86400.0  # give up (and disable the hook) once a delivery has failed for this long
    timeout: float = 10.0  # one attempt
    poll_every: float = 1.0
    batch: int = 50

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery is not due again: past any attempt, so a dead worker's claim expires."""
        return timedelta(seconds=2 * self.timeout + 1)

    @classmethod
    def from_environment(cls) -> Settings:
        def number(name: str, default: float) -> float:
            return float(os.environ.get(name, "").strip() or default)

        return cls(
            retry_base=number("STOCKPOOL_WEBHOOK_RETRY_BASE", cls.retry_base),
            retry_for=number("STOCKPOOL_WEBHOOK_RETRY_FOR", cls.retry_for),
            timeout=number("STOCKPOOL_WEBHOOK_TIMEOUT", cls.timeout),
            poll_every=number("STOCKPOOL_DELIVER_POLL_SECONDS", cls.poll_every),
        )

    def delay(self, attempts: int) -> float:
        """Exponential backoff with jitter: base * 2^(n-1), each between half and all of it."""
        ceiling = min(self.retry_base * 2 ** max(attempts - 1, 0), max(self.retry_for / 4, self.retry_base))
        return float(ceiling) * random.uniform(0.5, 1.0)


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The Standard Webhooks signature header value: v1,<base64 HMAC-SHA256 of "id.timestamp.body">."""
    key = base64.b64decode(secret.removeprefix(webhooks.SECRET_PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


# Dispatch: events -> deliveries


def _payload(session: Session, event: Event) -> str:
    site = session.get(Site, event.site_id) if event.site_id else None
    to_site = session.get(Site, event.to_site_id) if event.to_site_id else None
    item = session.get(Item, event.item_id) if event.item_id else None

    def gid(kind: str, pk: int | None) -> str | None:
        return None if pk is None else str(global_id(kind, pk))

    data = {
        "id": gid("Event", event.id),
        "kind": event.kind.value,
        "occurredAt": event.occurred_at.isoformat(),
        "region": event.region,
        "site": site.code if site else None,
        "toSite": to_site.code if to_site else None,
        "item": item.sku if item else None,
        "backorder": gid("Backorder", event.backorder_id),
        "transfer": gid("Transfer", event.transfer_id),
        "reorder": gid("Reorder", event.reorder_id),
        "plan": gid("Plan", event.plan_id),
        "alert": gid("Alert", event.alert_id),
        "data": event.data,
    }
    body = {"type": event.kind.value, "timestamp": event.occurred_at.isoformat(), "data": data}
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def dispatch(db: Database, batch: int = 500) -> int:
    """Turn new events into deliveries for every active hook; how many deliveries were made."""
    with db.reading() as session:
        hook_ids = list(session.scalars(select(Webhook.id).where(Webhook.active).order_by(Webhook.id)))
    made = 0
    for hook_id in hook_ids:
        while True:
            with db.transaction() as session:
                locking = select(Webhook).where(Webhook.id == hook_id, Webhook.active)
                if not db.is_sqlite:
                    locking = locking.with_for_update(skip_locked=True)
                hook = session.scalar(locking)
                if hook is None:
                    break
                reader = webhook_reader(hook.site_id, hook.region)
                kinds = [EventKind(kind) for kind in hook.kinds]
                found, safe = events.after(
                    session, hook.last_event_id, [visible_events(reader), Event.kind.in_(kinds)], batch
                )
                now = utcnow()
                for event in found:
                    session.add(
                        WebhookDelivery(
                            webhook_id=hook.id,
                            event_id=event.id,
                            event_kind=event.kind,
                            message_id=f"msg_{event.id}",
                            body=_payload(session, event),
                            status=PENDING,
                            attempts=0,
                            created_at=now,
                            next_attempt_at=now,
                        )
                    )
                moved = safe != hook.last_event_id
                hook.last_event_id = safe
                made += len(found)
            if not moved:
                break
    return made


# Claim and send


@dataclass(frozen=True)
class Claimed:
    id: int
    webhook_id: int
    url: str
    secret: str
    message_id: str
    body: str
    attempts: int
    created_at: datetime


def claim(db: Database, settings: Settings) -> list[Claimed]:
    """Take up to `settings.batch` due deliveries for this worker (nobody else takes them during the lease)."""
    with db.transaction() as session:
        now = utcnow()
        due = (
            select(WebhookDelivery.id)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now, Webhook.active)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(settings.batch)
        )
        if not db.is_sqlite:
            due = due.with_for_update(skip_locked=True, of=WebhookDelivery)
        taken = []
        for delivery_id in list(session.scalars(due)):
            result = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery_id,
                    WebhookDelivery.status == PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                )
                .values(next_attempt_at=now + settings.lease, attempts=WebhookDelivery.attempts + 1)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                taken.append(delivery_id)
        if not taken:
            return []
        rows = session.execute(
            select(WebhookDelivery, Webhook.url, Webhook.secret)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(WebhookDelivery.id.in_(taken))
        ).all()
        return [
            Claimed(d.id, d.webhook_id, url, secret, d.message_id, d.body, d.attempts, d.created_at)
            for d, url, secret in rows
        ]


async def _refused_address(url: str) -> str | None:
    """Why the target may not be called (a private address), or None."""
    if webhooks.private_allowed():
        return None
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as error:
        return f"cannot resolve {host}: {error}"
    if any(webhooks.is_private(str(info[4][0])) for info in infos):
        return f"{host} resolves to a private or loopback address"
    return None


async def send(client: httpx.AsyncClient, delivery: Claimed, settings: Settings) -> tuple[int | None, str | None]:
    """(HTTP status, error) of one attempt."""
    refused = await _refused_address(delivery.url)
    if refused:
        return None, refused
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(delivery.secret, delivery.message_id, timestamp, delivery.body),
    }
    try:
        response = await client.post(delivery.url, content=delivery.body, headers=headers, timeout=settings.timeout)
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {error}"[:500]
    return response.status_code, None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


def settle(db: Database, delivery: Claimed, status: int | None, error: str | None, settings: Settings) -> None:
    """Write down the attempt's outcome (only while the claim is still ours)."""
    with db.transaction() as session:
        row = session.get(WebhookDelivery, delivery.id, with_for_update=not db.is_sqlite)
        if row is None or row.status != PENDING or row.attempts != delivery.attempts:
            return
        now = utcnow()
        row.last_status_code, row.last_error = status, error
        if error is None:
            row.status, row.delivered_at, row.next_attempt_at = DELIVERED, now, None
            return
        if (now - row.created_at).total_seconds() + settings.delay(row.attempts + 1) / 2 < settings.retry_for:
            row.next_attempt_at = now + timedelta(seconds=settings.delay(row.attempts))
            return
        row.status, row.next_attempt_at = FAILED, None
        hook = session.get(Webhook, delivery.webhook_id, with_for_update=not db.is_sqlite)
        if hook is not None and hook.active:
            _give_up(session, hook, row)


def _give_up(session: Session, hook: Webhook, failed: WebhookDelivery) -> None:
    """Disable the hook and raise its WEBHOOK_DISABLED alert (with its ALERT_RAISED event); enabling the hook
    again closes it."""
    message = (
        f"Webhook {hook.url} was disabled: a delivery failed for a day ({failed.last_error or 'no answer'}). "
        "Fix the receiver, then enable the webhook again."
    )
    webhooks.set_active(session, hook, False, message)
    site = session.get(Site, hook.site_id) if hook.site_id else None
    alerts.raise_alert(
        session,
        AlertKind.WEBHOOK_DISABLED,
        webhooks.alert_subject(hook),
        message,
        region=site.region if site else hook.region,
        site_id=site.id if site else None,
        data={"webhook": str(global_id("Webhook", hook.id))},
    )


async def deliver_once(db: Database, client: httpx.AsyncClient, settings: Settings) -> int:
    """One round: dispatch, then claim and send until nothing is due; how many attempts were made."""
    await run_in_threadpool(dispatch, db)
    attempts = 0
    while True:
        claimed = await run_in_threadpool(claim, db, settings)
        if not claimed:
            return attempts
        outcomes = await asyncio.gather(*(send(client, d, settings) for d in claimed))
        for delivery, (status, error) in zip(claimed, outcomes, strict=True):
            await run_in_threadpool(settle, db, delivery, status, error, settings)
        attempts += len(claimed)


async def deliver_forever(db: Database, settings: Settings | None = None) -> None:
    settings = settings or Settings.from_environment()
    async with httpx.AsyncClient(follow_redirects=False) as client:
        while True:
            try:
                await deliver_once(db, client, settings)
            except Exception as error:
                reason = str(getattr(error, "orig", None) or error).splitlines()[0]
                log.warning("webhook deliveries paused (trying again): %s", reason)
            await asyncio.sleep(settings.poll_every)


@asynccontextmanager
async def delivering(db: Database) -> AsyncIterator[None]:
    task = asyncio.create_task(deliver_forever(db))
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


__all__ = ["Settings", "claim", "deliver_forever", "delivering", "dispatch", "sign"]
