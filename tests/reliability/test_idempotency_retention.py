"""Idempotency keys expire: kept for a retention window, never replayed after it (swept or not), and swept in
batches by the server and by `stockpool rebalance --commit`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from api import idempotency
from api.app import create_app
from api.cli import main as stockpool
from models import IdempotencyKey, Role, utcnow
from models.db import Database
from pooling.access import create_token
from tests.api.conftest import Client, operations, serving
from tests.factories import build_network, receive

RECEIPT = {"input": {"site": "N", "sku": "X", "quantity": 5, "reason": "RECEIPT"}}


def replayed(response: object) -> bool:
    return response.headers.get("idempotent-replayed") == "true"  # type: ignore[attr-defined]


def age(db: Database, by: timedelta, *keys: str) -> None:
    """Make keys look older than they are (the clock of the database, not of the test)."""
    with db.transaction() as s:
        s.execute(update(IdempotencyKey).where(IdempotencyKey.key.in_(keys)).values(created_at=utcnow() - by))


def keys(db: Database) -> list[str]:
    with db.reading() as s:
        return sorted(s.scalars(select(IdempotencyKey.key)))


@pytest.fixture
def site_n(db: Database, server: str) -> Client:
    build_network(db, {"N": "west"}, {"X": "10.00"})
    receive(db, "N", "X", 40)
    with db.transaction() as s:
        return Client(server, create_token(s, "n", Role.SITE, "N", None)[1])


def on_hand(response: object) -> int:
    return response.json()["data"]["recordMovement"]["stockLevel"]["onHand"]  # type: ignore[attr-defined,no-any-return]


def test_a_key_inside_the_window_replays(site_n: Client, db: Database) -> None:
    first = site_n.post(operations()["RecordMovement"], RECEIPT, key="night-1")
    assert on_hand(first) == 45
    age(db, timedelta(hours=23), "night-1")
    retry = site_n.post(operations()["RecordMovement"], RECEIPT, key="night-1")
    assert replayed(retry) and retry.content == first.content


def test_a_retry_after_the_window_runs_as_new_even_before_the_sweep(site_n: Client, db: Database) -> None:
    first = site_n.post(operations()["RecordMovement"], RECEIPT, key="night-1")
    assert on_hand(first) == 45
    age(db, timedelta(hours=25), "night-1")  # past the default 24 hours; the server has not swept it
    assert keys(db) == ["night-1"]
    retry = site_n.post(operations()["RecordMovement"], RECEIPT, key="night-1")
    assert not replayed(retry) and on_hand(retry) == 50
    # The key now holds the new answer, which replays.
    again = site_n.post(operations()["RecordMovement"], RECEIPT, key="night-1")
    assert replayed(again) and again.content == retry.content
    # An expired key sent with another request is not "reused": it runs as new too.
    age(db, timedelta(hours=25), "night-1")
    other = site_n.post(operations()["RecordMovement"], {"input": {**RECEIPT["input"], "quantity": 1}}, key="night-1")
    assert other.status_code == 200 and not replayed(other) and on_hand(other) == 51
    with db.reading() as s:
        assert s.scalar(select(func.count(IdempotencyKey.id))) == 1


def test_sweep_deletes_only_expired_keys_in_batches(site_n: Client, db: Database) -> None:
    for n in range(7):
        site_n.post(operations()["RecordMovement"], {"input": {**RECEIPT["input"], "quantity": n + 1}}, key=f"k{n}")
    age(db, timedelta(hours=30), "k0", "k1", "k2", "k3", "k4")
    age(db, timedelta(hours=23), "k5")
    assert idempotency.sweep(db, batch=2) == 5
    assert keys(db) == ["k5", "k6"]
    assert idempotency.sweep(db, window=timedelta(hours=1)) == 1  # a shorter window
    assert keys(db) == ["k6"]


def test_the_retention_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting, window in (("3600", 3600), ("90m", 5400), ("24h", 86400), ("7d", 604800), ("1.5h", 5400)):
        monkeypatch.setenv(idempotency.RETENTION_VARIABLE, setting)
        assert idempotency.Retention.from_environment().window == timedelta(seconds=window)
    monkeypatch.delenv(idempotency.RETENTION_VARIABLE)
    assert idempotency.Retention.from_environment().window == timedelta(hours=24)
    for bad in ("0", "-1h", "soon", "24 hours", ""):
        with pytest.raises(ValueError):
            idempotency.parse_retention(bad)


@pytest.fixture
def sweeping_server(db: Database) -> Iterator[str]:
    """A server of its own whose sweeper runs every 50 ms with a one-hour window."""
    retention = idempotency.Retention(window=timedelta(hours=1), sweep_every=0.05, batch=2)
    try:
        with serving(create_app(db, idempotency_retention=retention)) as base:
            yield base
    finally:
        idempotency.configure(idempotency.Retention.from_environment())  # this process's other servers


def test_the_server_sweeps_expired_keys(sweeping_server: str, db: Database) -> None:
    build_network(db, {"N": "west"}, {"X": "10.00"})
    with db.transaction() as s:
        client = Client(sweeping_server, create_token(s, "n", Role.SITE, "N", None)[1])
    for n in range(5):
        client.post(operations()["RecordMovement"], {"input": {**RECEIPT["input"], "quantity": n + 1}}, key=f"k{n}")
    age(db, timedelta(minutes=61), "k0", "k1", "k2")
    age(db, timedelta(minutes=59), "k3")
    deadline = time.monotonic() + 60
    while keys(db) != ["k3", "k4"]:
        assert time.monotonic() < deadline, keys(db)
        time.sleep(0.05)


def test_the_nightly_command_sweeps_when_it_commits(db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    build_network(db, {"N": "west"}, {"X": "10.00"})
    with db.transaction() as s:
        token_id = create_token(s, "n", Role.SITE, "N", None)[0].id
        for n in range(3):
            idempotency.store(s, token_id, f"k{n}", "hash", "{}")
    age(db, timedelta(hours=25), "k0", "k1")
    assert stockpool(["--database-url", db.url, "rebalance", "--all-regions"]) == 0  # a dry run saves nothing
    assert keys(db) == ["k0", "k1", "k2"]
    assert stockpool(["--database-url", db.url, "rebalance", "--all-regions", "--commit"]) == 0
    assert keys(db) == ["k2"]
    assert "2 expired idempotency keys deleted" in capsys.readouterr().err
