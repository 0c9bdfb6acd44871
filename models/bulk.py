"""Many rows at once, inside the caller's transaction: ids reserved up front, then one COPY (PostgreSQL) or one
`executemany` of plain tuples (SQLite), with no per-row work by the ORM.

Values must already be what the column stores: ints, Decimals, enum members, aware datetimes, strings or None.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` new ids for `table`: from its sequence on PostgreSQL; past the largest id on SQLite, whose write
    transactions (BEGIN IMMEDIATE) hold the database's only write lock until they end."""
    if count == 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
                {"table": table.name, "count": count},
            )
        )
    largest = session.scalar(select(func.max(table.c.id))) or 0
    return list(range(largest + 1, largest + count + 1))


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(_copy_text(value) for value in row))
            buffer.write("\n")
        raw: Any = connection.connection.driver_connection  # psycopg's connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        return
    statement = str(insert(table).compile(connection, column_keys=list(columns)))
    connection.exec_driver_sql(statement, [tuple(_sqlite_value(v) for v in row) for row in rows])


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return str(value)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):  # as models.base.UTCDateTime stores it: naive UTC text
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, Decimal):
        return str(value)
    return value
