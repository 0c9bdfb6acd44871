"""A populated database of a previous release (revision 0001, 0002) upgrades to head whole, and the service works on it.

The old database is a separate SQLite file, or a throw-away PostgreSQL database beside the test database (the
shared test database stays at head for the other tests). It is filled with the rows a round of the previous release
leaves: the operations run on the test database, then every row of every table of that release is copied across,
column by column as it has them (rows of newer tables and newer columns have nowhere to go, as in a real database of
that release).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine, make_url, select, text
from sqlalchemy.engine import Engine

from api import cli
from models import PlanMode, Priority, Role
from models.db import Database, alembic_config
from pooling import access, orders, rebalance, reorders, stock, transfers
from pooling.audit import audit
from tests.api.conftest import Client, serving
from tests.factories import build_network, receive

KEY = "order-E-Y-1"
PLACE = 'mutation { placeOrder(input: {site: "E", sku: "Y", quantity: 1}) { backorder { id } errors { code } } }'


@pytest.fixture
def old_url(database_url: str, tmp_path: Any) -> Iterator[str]:
    """An empty database for an old revision: a SQLite file, or a PostgreSQL database created and dropped here."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'release.db'}"
        return
    url = make_url(database_url)
    name = f"{url.database}_upgrade"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


def fill(db: Database) -> dict[str, str]:
    """A round of the previous release: transfers in every state, reorders, backorders, policies, tokens."""
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {"X": "10.00", "Y": "3.00"}, [("N", "S", "1.00", 6)])
    receive(db, "N", "X", 60)
    receive(db, "S", "X", 2)
    with db.transaction() as s:
        stock.set_stock_policy(s, "N", "X", 5, 8)
        _, admin = access.create_token(s, "admin", Role.ADMIN)
        access.create_token(s, "west", Role.COORDINATOR, region="west")
        access.create_token(s, "n", Role.SITE, site="N")
        revoked, _ = access.create_token(s, "old", Role.SITE, site="S")
        access.revoke_token(s, revoked.id)

    def round_(order: int | None, then: str, sku: str = "X") -> None:
        with db.transaction() as s:
            if order:
                orders.place_order(s, "S", sku, order, Priority.HIGH, actor="s")
        with db.transaction() as s:
            plan = rebalance.rebalance(s, "west", PlanMode.POOL_FIRST, dry_run=False, actor="west")
            ids = [t.id for t in plan.transfers]
            bought = [r.id for r in plan.reorders]
        with db.transaction() as s:
            if then in ("approve", "ship", "receive", "cancel"):
                transfers.approve_transfers(s, ids, "west")
                if bought:
                    reorders.approve_reorders(s, bought, "west")
            if then in ("ship", "receive"):
                transfers.ship_transfer(s, ids[0], "n")
            if then == "receive":
                transfers.receive_transfer(s, ids[0], 2, "s")  # of 3: 1 lost
                for reorder in bought:
                    reorders.receive_reorder(s, reorder, 2, "s")
            if then == "cancel":
                transfers.cancel_transfer(s, ids[0], "van broke down", "west")
            if then == "reject":
                transfers.reject_transfers(s, ids, "too dear", "west")

    with db.transaction() as s:
        orders.place_order(s, "S", "Y", 2, actor="s")
    round_(5, "receive")  # RECEIVED (1 lost), a reorder RECEIVED
    round_(5, "ship")  # SHIPPED
    round_(5, "cancel")  # CANCELLED
    round_(None, "reject")  # REJECTED
    round_(None, "approve")  # APPROVED
    round_(3, "leave")  # SUGGESTED ...
    round_(2, "leave")  # ... SUPERSEDED by this one, SUGGESTED
    with db.transaction() as s:
        backorder = orders.place_order(s, "E", "X", 3, actor="e").backorder
        assert backorder is not None
        orders.cancel_backorder(s, backorder.id, "not needed", "e")
    return {"admin": admin}


def rows_of(engine: Engine, metadata: MetaData) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of `metadata`, by primary key."""
    with engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key))]
            for table in metadata.sorted_tables
        }


def copy_rows(source: Engine, target: Engine, metadata: MetaData) -> None:
    with source.connect() as reading, target.begin() as writing:
        for table in metadata.sorted_tables:
            rows = [dict(row._mapping) for row in reading.execute(select(table))]
            if rows:
                writing.execute(table.insert(), rows)
            if target.dialect.name == "postgresql" and "id" in table.c:
                writing.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), coalesce(max(id), 1)) "
                        f"FROM {table.name}"
                    )
                )


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


@pytest.mark.parametrize("release_revision", ["0001", "0002"])
def test_a_populated_database_of_a_previous_release_upgrades_whole(
    db: Database, server: str, old_url: str, release_revision: str
) -> None:
    tokens = fill(db)
    admin_client = Client(server, tokens["admin"])
    first = admin_client.post(PLACE, key=KEY)
    assert first.status_code == 200 and first.json()["data"]["placeOrder"]["errors"] == []

    old = Database(old_url)
    try:
        config = alembic_config(old.url)
        with old.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, release_revision)
        release = MetaData()
        release.reflect(old.engine)
        release.remove(release.tables["alembic_version"])
        copy_rows(db.engine, old.engine, release)
        before = rows_of(old.engine, release)
        counts = {name: len(rows) for name, rows in before.items()}
        assert all(counts[t] > 0 for t in ("transfers", "reorders", "backorders", "idempotency_keys", "plans"))
        assert before == rows_of(db.engine, release)  # the copy holds what the operations wrote

        assert cli.main(["--database-url", old.url, "migrate"]) == 0  # what every command does first
        with old.engine.connect() as connection:
            assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
            if release_revision == "0001":
                assert connection.execute(text("SELECT count(*) FROM history")).scalar() == 0
                used = text("SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT NULL")
                assert connection.execute(used).scalar() == 0
            # 0003: every stock level keeps the numbers a person typed
            policies = text("SELECT DISTINCT policy_mode, order_up_to, service_level FROM stock_levels")
            assert connection.execute(policies).all() == [("MANUAL", 0, 0.95)]
            # 0004: old suggestions served backorders, old plans moved nothing proactively, nobody has a sharing rule
            reasons = text("SELECT DISTINCT reason FROM transfers UNION SELECT DISTINCT reason FROM reorders")
            assert connection.execute(reasons).all() == [("BACKORDER",)]
            assert connection.execute(text("SELECT DISTINCT units_proactive FROM plans")).all() == [(0,)]
            assert connection.execute(text("SELECT count(*) FROM sharing_policies")).scalar() == 0
            # 0005: every site gets the default handling time; no alert is open before anything evaluates one
            handling = text("SELECT DISTINCT handling_time_hours FROM sites")
            assert connection.execute(handling).all() == [(4,)]
            assert connection.execute(text("SELECT count(*) FROM alerts")).scalar() == 0
            # 0006: no webhooks yet; no event names another end
            assert connection.execute(text("SELECT count(*) FROM webhooks")).scalar() == 0
            assert connection.execute(text("SELECT count(*) FROM events WHERE to_site_id IS NOT NULL")).scalar() == 0
        assert rows_of(old.engine, release) == before  # every old row, every old column, unchanged
        with old.reading() as s:
            assert audit(s) == []
        assert cli.main(["--database-url", old.url, "check"]) == 0

        with serving(old) as base:
            admin = Client(base, tokens["admin"])
            replay = admin.post(PLACE, key=KEY)  # the stored answer of the previous release, byte for byte
            assert replay.headers.get("Idempotent-Replayed") == "true" and replay.content == first.content
            listed = admin.gql("{ transfers(first: 100) { edges { node { id status history { action } } } } }")
            statuses = sorted(e["node"]["status"] for e in listed["transfers"]["edges"])
            assert statuses == sorted(
                ["RECEIVED", "SHIPPED", "CANCELLED", "REJECTED", "APPROVED", "SUPERSEDED", "SUGGESTED"]
            )
            if release_revision == "0001":
                assert all(e["node"]["history"] == [] for e in listed["transfers"]["edges"])  # made before 0002
            (suggested,) = [e["node"]["id"] for e in listed["transfers"]["edges"] if e["node"]["status"] == "SUGGESTED"]
            approved = admin.gql(
                "mutation ($ids: [ID!]!) { approveTransfers(input: {ids: $ids}) "
                "{ transfers { status history { action actor actorTokenId } } errors { code } } }",
                {"ids": [suggested]},
            )["approveTransfers"]
            assert approved["errors"] == []
            me = admin.gql("{ me { id } }")["me"]["id"]
            assert approved["transfers"][0]["history"][-1] == {
                "action": "APPROVED",
                "actor": "admin",
                "actorTokenId": me,
            }
            with httpx.Client(base_url=base) as anonymous:
                assert anonymous.post("/graphql", json={"query": "{ me { id } }"}).status_code == 401
        with old.reading() as s:
            assert audit(s) == []
    finally:
        old.dispose()
