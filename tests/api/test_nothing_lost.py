"""Nothing lost, with real processes: `stockpool serve` killed (-9) between a commit and its delivery delivers it
after the restart; an event committed through one server reaches a subscriber of another (LISTEN/NOTIFY on
PostgreSQL, polling on SQLite)."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from models import EventKind, Role
from models.db import Database
from pooling import webhooks
from pooling.access import create_token
from tests.api.live import Subscription
from tests.api.receiver import Receiver
from tests.api.serving import stockpool_serve
from tests.factories import build_network

PLACE = """mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { backorder { id } errors { code } } }"""
ORDER = {"site": "N", "sku": "X", "quantity": 3}
SERVE = {"STOCKPOOL_DELIVER": "1", "STOCKPOOL_WEBHOOK_ALLOW_PRIVATE": "1", "STOCKPOOL_WEBHOOK_RETRY_BASE": "0.1"}


def admin_token(db: Database) -> str:
    build_network(db, {"N": "west", "S": "west"}, {"X": "1.00"})
    with db.transaction() as s:
        return create_token(s, "admin", Role.ADMIN)[1]


def place(base: str, token: str) -> str:
    answer = httpx.post(
        f"{base}/graphql",
        json={"query": PLACE, "variables": {"input": ORDER}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert answer["data"]["placeOrder"]["errors"] == [], answer
    return str(answer["data"]["placeOrder"]["backorder"]["id"])


@pytest.mark.slow
def test_killed_between_the_commit_and_the_delivery_it_is_delivered_after_restart(
    db: Database, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STOCKPOOL_WEBHOOK_ALLOW_PRIVATE", "1")  # the receiver is on 127.0.0.1
    token = admin_token(db)
    with Receiver() as receiver:
        with db.transaction() as s:
            webhooks.create_webhook(s, receiver.url, [EventKind.BACKORDER_CREATED], "west", None, "test")
        # The first server's worker runs once as it starts, then would wait an hour: the order commits after that.
        with stockpool_serve(
            tmp_path / "a", database_url, env={**SERVE, "STOCKPOOL_DELIVER_POLL_SECONDS": "3600"}
        ) as a:
            time.sleep(1.0)
            backorder = place(a.base, token)
            os.killpg(a.process.pid, signal.SIGKILL)
            a.process.wait(timeout=30)
        assert receiver.received == []
        with stockpool_serve(tmp_path / "b", database_url, env={**SERVE, "STOCKPOOL_DELIVER_POLL_SECONDS": "0.1"}):
            deadline = time.monotonic() + 30
            while not receiver.received and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # nothing more comes
        (got,) = receiver.received
        assert json.loads(got.body)["data"]["backorder"] == backorder


@pytest.mark.slow
def test_an_event_committed_through_one_server_reaches_a_subscriber_of_another(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    token = admin_token(db)
    quiet = {"STOCKPOOL_DELIVER": "0"}
    with (
        stockpool_serve(tmp_path / "a", database_url, env=quiet) as a,
        stockpool_serve(tmp_path / "b", database_url, env=quiet) as b,
        Subscription(a.base, token, "subscription { events { kind backorder { id } } }") as live,
    ):
        time.sleep(0.5)  # the subscription is registered
        backorder = place(b.base, token)
        assert live.next_event(timeout=30) == {"kind": "BACKORDER_CREATED", "backorder": {"id": backorder}}
