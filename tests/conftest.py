"""Test databases: a SQLite file by default, PostgreSQL when STOCKPOOL_TEST_DATABASE_URL says so.

CI runs the whole suite once on each. A PostgreSQL URL that cannot be reached is an error, never a skip. A test
that never asks for the test database (the pure solver, forecasting, files, commands on their own SQLite file) runs
on the SQLite pass only: the database cannot change its result, and CI time is spent once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from models import Base
from models.db import Database

# The servers the tests start send no webhooks unless a test says so: the webhook tests drive the worker themselves.
os.environ.setdefault("STOCKPOOL_DELIVER", "0")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not os.environ.get("STOCKPOOL_TEST_DATABASE_URL"):
        return
    once = pytest.mark.skip(reason="uses no test database: runs once, on the SQLite pass")
    for item in items:
        if "database_url" not in getattr(item, "fixturenames", ()):
            item.add_marker(once)


def pytest_report_header() -> str:
    return f"stockpool test database: {os.environ.get('STOCKPOOL_TEST_DATABASE_URL') or 'SQLite file (tmp)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("STOCKPOOL_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'stockpool.db'}"


@pytest.fixture(scope="session")
def migrated(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()  # fails loudly when the database cannot be reached
    yield database
    database.dispose()


@pytest.fixture
def db(migrated: Database) -> Database:
    """The migrated test database, emptied before each test."""
    empty(migrated)
    return migrated


def empty(database: Database) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    if database.is_sqlite:
        with database.engine.begin() as connection:
            for table in tables:
                connection.execute(table.delete())
        return
    names = ", ".join(table.name for table in tables)
    # A running test server reads meanwhile (its events hub polls the outbox every few seconds): PostgreSQL may
    # pick this TRUNCATE as a deadlock's victim. Nothing was emptied then; it is tried again.
    for attempt in range(1, 4):
        try:
            with database.engine.begin() as connection:
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        except OperationalError as error:
            if attempt == 3 or "deadlock detected" not in str(error):
                raise


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'other.db'}"
