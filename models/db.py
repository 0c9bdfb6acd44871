"""Engine and session set-up for SQLite (embedded default) and PostgreSQL, and schema migration.

Write transactions take the database's write lock up front: on SQLite `BEGIN IMMEDIATE` (SQLAlchemy ignores
`FOR UPDATE` there); on PostgreSQL the operations lock the rows they change, in a fixed order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///stockpool.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_HOLDS_WRITER = "stockpool_holds_writer"
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url() -> str:
    return os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)


def normalized_url(url: str) -> str:
    """`postgres://` and `postgresql://` (as hosting providers hand them out) mean the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def masked_url(url: str) -> str:
    """The URL as it may be printed or logged: the password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return "<an unreadable database URL>"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite:/"):
            raise ValueError("stockpool needs a SQLite file (separate connections must see one database)")
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _take_over_sqlite_transactions(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _take_over_sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, emit BEGIN, so that writers can ask for `BEGIN IMMEDIATE`."""

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # The writers of this process queue here for SQLite's one write lock: otherwise each waits in SQLite's busy
    # handler, which polls with sleeps of up to 100 ms, and a burst of writers mostly sleeps (2-3 requests a second
    # under 64 clients). Bounded by the busy timeout: past it, SQLite's own wait decides, as before.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        if immediate and writer.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            connection.info[_HOLDS_WRITER] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        except BaseException:
            release(connection.info)
            raise

    def release(info: dict[Any, Any]) -> None:
        if info.pop(_HOLDS_WRITER, False):
            writer.release()

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def on_end(connection: Any) -> None:
        release(connection.info)

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:  # a connection handed back mid-transaction
        release(record.info)


class Database:
    """One engine and its sessions; callers own each session's lifecycle."""

    def __init__(self, url: str | None = None) -> None:
        self.url = normalized_url(url or database_url())
        self.engine = make_engine(self.url)
        writer = self.engine.execution_options(sqlite_immediate=True)
        self._read_sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(writer, expire_on_commit=False)

    @property
    def display_url(self) -> str:
        """The URL without its password: the only form that is printed or logged."""
        return masked_url(self.url)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self._write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reading: never commits; its objects stay readable (detached) after the block."""
        with self._read_sessions() as session:
            yield session

    def new_session(self, write: bool = False) -> Session:
        """A session the caller begins, commits or rolls back, and closes itself (the GraphQL request does)."""
        return (self._write_sessions if write else self._read_sessions)()

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        with self.engine.begin() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
