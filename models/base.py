"""Declarative base, naming convention and the column types every model shares."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Enum, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_clock: ContextVar[datetime | None] = ContextVar("stockpool_clock", default=None)


def utcnow() -> datetime:
    """Now, or the moment `clock_at` set: every record the operations stamp takes its time from here."""
    return _clock.get() or datetime.now(UTC)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Run the operations as if it were `moment` (aware UTC): `stockpool simulate` replays months this way."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; use an aware UTC datetime")
    token = _clock.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _clock.reset(token)


def enum_column(enum_class: type[enum.Enum]) -> Any:
    """A portable enum column: VARCHAR plus a named CHECK constraint listing the allowed values."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        length=24,
        name=enum_class.__name__.lower(),
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
