"""The sweep runs by itself: in the server (a background task, interval from the settings) and in the nightly
command; a suggestion left unapproved past the configured age gets its alert from either."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from api.app import create_app
from api.cli import main as stockpool
from models import Alert, AlertKind, Priority, Transfer, utcnow
from models.db import Database
from pooling import alerts, orders, rebalance
from pooling.alerts import AlertSettings
from tests.api.conftest import serving
from tests.factories import build_network, receive


@pytest.fixture
def stale_suggestion(db: Database) -> int:
    """A west transfer suggested two days ago (older than the default age of 24 hours) and never approved."""
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {"X": "10.00"}, [("N", "S", "1.00", 6)])
    receive(db, "N", "X", 10)
    with db.transaction() as s:
        orders.place_order(s, "S", "X", 4, Priority.NORMAL)
    with db.transaction() as s:
        (transfer_id,) = [t.id for t in rebalance.rebalance(s, "west", dry_run=False).transfers]
        s.flush()
        s.execute(update(Transfer).values(created_at=utcnow() - timedelta(days=2)))
    assert awaiting(db) == []
    return transfer_id


def awaiting(db: Database) -> list[int | None]:
    with db.reading() as s:
        return list(
            s.scalars(
                select(Alert.transfer_id).where(
                    Alert.kind == AlertKind.SUGGESTION_AWAITING_APPROVAL, Alert.closed_at.is_(None)
                )
            )
        )


def test_the_server_sweeps_in_the_background(db: Database, stale_suggestion: int) -> None:
    alerts.configure(AlertSettings(sweep_every=timedelta(seconds=0.2)))
    try:
        app = create_app(db)
    finally:
        alerts.configure(None)
    with serving(app):
        deadline = time.monotonic() + 20
        while not awaiting(db) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert awaiting(db) == [stale_suggestion]


def test_the_nightly_command_sweeps_after_its_commits(db: Database, stale_suggestion: int) -> None:
    # east has nothing to plan; west's stale suggestion is not superseded, and the sweep finds it
    assert stockpool(["--database-url", db.url, "rebalance", "--region", "east", "--commit", "--json"]) == 0
    assert awaiting(db) == [stale_suggestion]
