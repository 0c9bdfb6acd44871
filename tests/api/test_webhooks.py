"""Webhooks over real HTTP: signed as Standard Webhooks 1.0 says, delivered at least once to a receiver that was
down, never claimed by two workers at once, given up (hook disabled, alert raised) after the retry window."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from api.delivery import Settings, claim, deliver_once, dispatch
from models import Alert, AlertKind, EventKind, Priority, Role, Webhook, WebhookDelivery
from models.db import Database
from models.events import Event
from pooling import orders, webhooks
from pooling.access import create_token
from tests.api.conftest import Client
from tests.api.receiver import Receiver
from tests.factories import build_network

FAST = Settings(retry_base=0.05, retry_for=600, timeout=2, poll_every=0.05)


@pytest.fixture(autouse=True)
def private_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STOCKPOOL_WEBHOOK_ALLOW_PRIVATE", "1")  # the receivers are on 127.0.0.1


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def verify(secret: str, headers: dict[str, str], body: str, tolerance: int = 300) -> bool:
    """Standard Webhooks 1.0, from the specification: the signed content is "{webhook-id}.{webhook-timestamp}.{body}",
    HMAC-SHA256 keyed by the base64-decoded secret after its "whsec_" prefix; webhook-signature is a space-separated
    list of "v1,<base64 signature>"; the timestamp (seconds) must be within the tolerance of now."""
    timestamp = int(headers["webhook-timestamp"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    content = f"{headers['webhook-id']}.{timestamp}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    for signature in headers["webhook-signature"].split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


def deliver(db: Database, settings: Settings = FAST) -> int:
    async def once() -> int:
        async with httpx.AsyncClient() as client:
            return await deliver_once(db, client, settings)

    return asyncio.run(once())


def network(db: Database) -> None:
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {"X": "1.00"})


def place(db: Database, site: str, quantity: int = 2) -> None:
    with db.transaction() as s:
        orders.place_order(s, site, "X", quantity, Priority.HIGH)


def deliveries(db: Database) -> list[WebhookDelivery]:
    with db.reading() as s:
        return list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_site_hook_gets_its_own_events_signed(db: Database, server: str, receiver: Receiver) -> None:
    network(db)
    with db.transaction() as s:
        _, token = create_token(s, "north", Role.SITE, "N", None)
    created = Client(server, token).op("CreateWebhook", input={"url": receiver.url, "kinds": ["BACKORDER_CREATED"]})
    created = created["createWebhook"]
    assert created["errors"] == [] and created["webhook"]["active"]
    place(db, "N")
    place(db, "S")  # another site's: not N's to read
    place(db, "E")
    assert deliver(db) == 1
    (got,) = receiver.received
    assert verify(created["secret"], got.headers, got.body)
    assert not verify(webhooks.new_secret(), got.headers, got.body)  # another secret does not verify
    assert not verify(created["secret"], got.headers, got.body.replace("N", "S"))  # nor another body
    body = json.loads(got.body)
    assert (body["type"], body["data"]["site"], body["data"]["item"]) == ("BACKORDER_CREATED", "N", "X")
    assert body["data"]["data"] == {"status": "OPEN", "quantity": 2}
    shown = Client(server, token).op("WebhookDeliveries", id=created["webhook"]["id"])["node"]
    (edge,) = shown["deliveries"]["edges"]
    assert edge["node"]["eventKind"] == "BACKORDER_CREATED" and edge["node"]["status"] == "DELIVERED"
    assert edge["node"]["attempts"] == 1 and edge["node"]["lastStatusCode"] == 200
    assert deliver(db) == 0  # once


def test_a_receiver_down_for_a_while_gets_it_once_back(db: Database, receiver: Receiver) -> None:
    network(db)
    with db.transaction() as s:
        webhooks.create_webhook(s, receiver.url, [EventKind.BACKORDER_CREATED], "west", None, "test")
    place(db, "N")
    receiver.status = 500
    # One attempt: with FAST's 0.05 s backoff a slow machine's round would retry the 500 before it ends.
    assert deliver(db, Settings(retry_base=1, retry_for=600, timeout=2, poll_every=0.05)) == 1
    receiver.stop()  # now refusing connections
    deadline = time.monotonic() + 30
    while deliveries(db)[0].attempts < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        deliver(db)
    (pending,) = deliveries(db)
    assert pending.status == "PENDING" and pending.attempts >= 2 and "ConnectError" in (pending.last_error or "")
    receiver.status = 200
    receiver.start()
    deadline = time.monotonic() + 30
    while deliveries(db)[0].status != "DELIVERED" and time.monotonic() < deadline:
        time.sleep(0.2)
        deliver(db)
    (done,) = deliveries(db)
    assert done.status == "DELIVERED" and done.attempts >= 3, (done.attempts, done.last_error, done.next_attempt_at)
    assert [r.answered for r in receiver.received] == [500, 200]  # the refused attempts never arrived
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # the same message id on every retry
    assert len({r.body for r in receiver.received}) == 1


def test_retries_run_out_then_the_hook_is_disabled_and_an_alert_raised(db: Database, receiver: Receiver) -> None:
    network(db)
    with db.transaction() as s:
        hook, _ = webhooks.create_webhook(s, receiver.url, [EventKind.BACKORDER_CREATED], "west", None, "test")
    place(db, "N")
    receiver.status = 503
    short = Settings(retry_base=0.05, retry_for=0.5, timeout=2, poll_every=0.05)
    deadline = time.monotonic() + 20
    deliver(db, short)
    while deliveries(db)[0].status == "PENDING" and time.monotonic() < deadline:
        deliver(db, short)
        time.sleep(0.1)
    (failed,) = deliveries(db)
    assert failed.status == "FAILED" and failed.last_status_code == 503 and failed.attempts >= 2
    with db.reading() as s:
        row = s.get_one(Webhook, hook.id)
        assert not row.active and "disabled" in (row.disabled_reason or "")
        alert = s.scalars(select(Alert).where(Alert.kind == AlertKind.WEBHOOK_DISABLED)).one()
        assert alert.region == "west" and alert.closed_at is None and hook.url in alert.message
        raised = s.scalars(select(Event).where(Event.kind == EventKind.ALERT_RAISED, Event.alert_id == alert.id))
        assert len(raised.all()) == 1


def test_two_workers_never_take_the_same_delivery(db: Database, receiver: Receiver) -> None:
    network(db)
    with db.transaction() as s:
        webhooks.create_webhook(s, receiver.url, [EventKind.BACKORDER_CREATED], None, None, "test")
    for _ in range(30):
        place(db, "N", 1)
    assert dispatch(db) == 30
    taken: list[list[int]] = [[], [], []]
    settings = Settings(retry_base=60, retry_for=600, timeout=30, batch=4)

    def work(mine: list[int]) -> None:
        while claimed := claim(db, settings):
            mine.extend(c.id for c in claimed)

    threads = [threading.Thread(target=work, args=(mine,)) for mine in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for mine in taken for i in mine]
    assert sorted(everything) == sorted(d.id for d in deliveries(db))  # each taken, and only once


@pytest.mark.parametrize(
    ("input_", "field", "code"),
    [
        ({"url": "ftp://127.0.0.1/x", "kinds": ["BACKORDER_CREATED"]}, "url", "INVALID"),
        ({"url": "javascript:alert(1)", "kinds": ["BACKORDER_CREATED"]}, "url", "INVALID"),
        ({"url": "https://a.example/" + "x" * 2000, "kinds": ["BACKORDER_CREATED"]}, "url", "INVALID"),
        ({"url": "https://a.example/h", "kinds": []}, "kinds", "INVALID"),
        ({"url": "https://a.example/h", "kinds": ["BACKORDER_CREATED"], "site": "S"}, "site", "NOT_FOUND"),
        ({"url": "https://a.example/h", "kinds": ["BACKORDER_CREATED"], "region": "east"}, None, "FORBIDDEN"),
    ],
    ids=["ftp", "javascript", "too long", "no kinds", "another site", "a region"],
)
def test_bad_input_is_a_typed_error_and_stores_nothing(
    db: Database, server: str, input_: dict[str, object], field: str | None, code: str
) -> None:
    network(db)
    with db.transaction() as s:
        _, token = create_token(s, "north", Role.SITE, "N", None)
    payload = Client(server, token).op("CreateWebhook", input=input_)["createWebhook"]
    assert payload["secret"] is None and payload["webhook"] is None
    ((error),) = payload["errors"]
    assert (error["field"], error["code"]) == (field, code)
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Webhook)) == 0


def test_unknown_kinds_and_private_targets_are_refused(
    db: Database, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    network(db)
    with db.transaction() as s:
        _, token = create_token(s, "admin", Role.ADMIN, None, None)
    client = Client(server, token)
    unknown = client.post(
        "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { secret } }",
        {"input": {"url": "https://a.example/h", "kinds": ["EVERYTHING"]}},
    ).json()
    assert unknown["data"] is None and "EVERYTHING" in unknown["errors"][0]["message"]
    monkeypatch.setenv("STOCKPOOL_WEBHOOK_ALLOW_PRIVATE", "0")
    for url in ("http://127.0.0.1:8080/h", "http://10.1.2.3/h", "http://[::1]/h", "http://localhost/h"):
        payload = client.op("CreateWebhook", input={"url": url, "kinds": ["PLAN_SAVED"]})["createWebhook"]
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [("url", "FORBIDDEN")], url
    with db.reading() as s:
        assert s.scalar(select(func.count()).select_from(Webhook)) == 0
