"""`stockpool check` on a clean ledger and on one corrupted behind the service's back."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import delete, select, update

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
            select(Movement.id).where(Movement.site_id == select(StockLevel.site_id).where(
                StockLevel.id != a_x).scalar_subquery()).limit(1)
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
        env=env, capture_output=True, text=True, timeout=120,
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
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert bad.returncode == 2 and "NOPE" in bad.stderr
