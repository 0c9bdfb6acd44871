"""Points in time that users give (a needed-by time, the ends of a period): aware, and stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from pooling.errors import ErrorCode, Field, PoolingError


def in_utc(moment: datetime, field: str) -> datetime:
    """The same instant in UTC; a time without a zone, or one outside the years 1..9999 in UTC, is INVALID."""
    if moment.tzinfo is None:
        raise PoolingError(ErrorCode.INVALID, "{name} needs a time zone (for example ...Z).", field, name=Field(field))
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before the year 1 in UTC
        raise PoolingError(ErrorCode.INVALID, "{name} is out of range.", field, name=Field(field)) from None
