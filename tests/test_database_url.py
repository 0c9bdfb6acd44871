"""Database URLs as users hand them over: `postgres://` accepted, a password never shown."""

from __future__ import annotations

from sqlalchemy import text

from models.db import Database, masked_url, normalized_url


def test_postgres_scheme_means_the_psycopg_driver() -> None:
    for given in ("postgres://u:p@db:5432/stock", "postgresql://u:p@db:5432/stock"):
        assert normalized_url(given) == "postgresql+psycopg://u:p@db:5432/stock"
    for kept in ("postgresql+psycopg://u@db/stock", "sqlite:///stockpool.db"):
        assert normalized_url(kept) == kept


def test_a_postgres_url_connects(database_url: str) -> None:
    """On the PostgreSQL run, the same database reached through the `postgres://` spelling."""
    short = database_url.replace("postgresql+psycopg://", "postgres://", 1)
    database = Database(short)
    try:
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        database.dispose()


def test_the_password_is_masked() -> None:
    assert masked_url("postgresql+psycopg://stock:s3cret@db/stock") == "postgresql+psycopg://stock:***@db/stock"
    assert "s3cret" not in Database("postgres://stock:s3cret@127.0.0.1:1/stock").display_url
    assert masked_url("not a url") == "<an unreadable database URL>"
