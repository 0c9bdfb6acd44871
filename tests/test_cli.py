"""`stockpool check` on a clean ledger and on one corrupted behind the service's back."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import delete, make_url, select, update

from models import Movement, StockLevel
from models.db import Database
from tests.factories import build_network, receive


def run_check(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db.url}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "check", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_check_is_clean_then_names_exactly_the_corrupted_pairs(db: Database) -> None:
    build_network(db, {"A": "west", "B": "west"}, {"X": "1.00", "Y": "2.00"})
    receive(db, "A", "X", 10)
    receive(db, "B", "Y", 3)
    receive(db, "B", "Y", 4)
    clean = run_check(db)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    with db.engine.begin() as connection:
        a_x = connection.execute(select(StockLevel.id).where(StockLevel.site.has(code="A"))).scalar_one()
        connection.execute(update(StockLevel).where(StockLevel.id == a_x).values(on_hand=StockLevel.on_hand + 5))
        b_y_movement = connection.execute(
            select(Movement.id)
            .where(Movement.site_id == select(StockLevel.site_id).where(StockLevel.id != a_x).scalar_subquery())
            .limit(1)
        ).scalar_one()
        connection.execute(delete(Movement).where(Movement.id == b_y_movement))

    broken = run_check(db)
    assert broken.returncode == 1
    lines = [line for line in broken.stdout.splitlines() if line.strip()]
    assert len(lines) == 2
    assert lines[0].startswith("A X: on hand 15 but the movements sum to 10")
    assert lines[1].startswith("B Y: on hand 7 but the movements sum to")

    as_json = json.loads(run_check(db, "--json").stdout)
    assert as_json["ok"] is False
    assert {(b["site"], b["sku"]) for b in as_json["breaches"]} == {("A", "X"), ("B", "Y")}


def test_token_create_prints_the_token_alone_on_its_last_line(db: Database) -> None:
    build_network(db, {"LAB-N": "west"}, {"X": "1.00"})
    env = {**os.environ, "DATABASE_URL": db.url}
    made = subprocess.run(
        [sys.executable, "-m", "api.cli", "token", "create", "--role", "SITE", "--site", "LAB-N", "--name", "lims"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("sp_") and " " not in token
    from pooling.access import authenticate

    with db.reading() as s:
        row = authenticate(s, token)
        assert row is not None and row.role == "SITE" and row.token_hash != token
    bad = subprocess.run(
        [sys.executable, "-m", "api.cli", "token", "create", "--role", "SITE", "--site", "NOPE", "--name", "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "NOPE" in bad.stderr


def test_output_into_a_closed_pipe_ends_quietly(db: Database) -> None:
    """`stockpool check --json | head -0`: no BrokenPipeError traceback, exit 1 (the Python recipe)."""
    build_network(db, {"A": "west"}, {"X": "1.00"})
    receive(db, "A", "X", 10)
    for command in (["check", "--json"], ["rebalance", "--all-regions", "--json"], ["check"]):
        reader, writer = os.pipe()
        os.close(reader)  # the reader is gone before anything is written
        try:
            ran = subprocess.run(
                [sys.executable, "-m", "api.cli", "--database-url", db.url, *command],
                stdout=writer,
                stderr=subprocess.PIPE,
                text=True,
                timeout=120,
            )
        finally:
            os.close(writer)
        assert ran.returncode == 1, (command, ran.stderr)
        assert "Traceback" not in ran.stderr and "BrokenPipeError" not in ran.stderr, ran.stderr


PASSWORD = "s3cret-Pa55"


def stockpool_with(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "--database-url", url, *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_error_messages_name_the_database_without_its_password() -> None:
    for url, code, says in (
        (
            f"postgresql://nightly:{PASSWORD}@127.0.0.1:1/pool?connect_timeout=2",
            4,
            "error: database postgresql+psycopg://nightly:***@127.0.0.1:1/pool?connect_timeout=2 unreachable",
        ),
        (f"postgres://nightly:{PASSWORD}@db.example:notaport/pool", 2, "error: cannot use the database URL"),
        (f"mysql://nightly:{PASSWORD}@db.example/pool", 2, "error: cannot use the database URL mysql://nightly:***@"),
        (f"nonsense:{PASSWORD}@", 2, "error: cannot use the database URL"),
    ):
        for command in (["check"], ["rebalance", "--all-regions", "--json"]):
            ran = stockpool_with(url, *command)
            assert ran.returncode == code, (url, ran.stderr)
            assert says in ran.stderr and "Traceback" not in ran.stderr, ran.stderr
            assert PASSWORD not in ran.stdout + ran.stderr


def test_no_password_reaches_the_output_of_commands_on_a_database_with_one(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("a SQLite URL has no password (the PostgreSQL run of the suite covers this)")
    url = make_url(db.url).set(password=PASSWORD).render_as_string(hide_password=False)  # trust ignores it
    build_network(db, {"A": "west", "B": "west"}, {"X": "1.00"}, [("A", "B", "1.00", 6)])
    receive(db, "A", "X", 10)
    outputs = [
        stockpool_with(url, "check"),
        stockpool_with(url, "check", "--json"),
        stockpool_with(url, "rebalance", "--all-regions", "--commit", "--json"),
        stockpool_with(url, "rebalance", "--region", "nowhere"),  # a failure
        stockpool_with(url, "token", "create", "--role", "SITE", "--site", "NOPE", "--name", "x"),
    ]
    assert [o.returncode for o in outputs] == [0, 0, 0, 4, 2]
    for output in outputs:
        assert PASSWORD not in output.stdout + output.stderr
