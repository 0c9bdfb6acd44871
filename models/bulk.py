"""Many rows at once, inside the caller's transaction: ids reserved up front, then one COPY (PostgreSQL) or one
`executemany` of plain tuples (SQLite), with no per-row work by the ORM.

Two shapes of input, one path: `insert_rows` (and `insert_records`, which reserves the ids) takes rows of any
column types (COPY's text format); `insert_columns` takes numpy integer columns beside repeated scalars (COPY's
binary format, built by numpy in one go: the tens of millions of stock levels a benchmark loads).
Values must already be what the column stores: ints, Decimals, enum members, aware datetimes, strings or None.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import repeat
from typing import Any

import numpy as np
from sqlalchemy import Connection, Table, func, select, text
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
    """Insert rows, each a tuple of values in the order of `columns`."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(_copy_text(value) for value in row))
            buffer.write("\n")
        _copy(connection, table, columns, buffer.getvalue(), binary=False)
        return
    _execute_many(connection, table, columns, (tuple(_sqlite_value(v) for v in row) for row in rows))


def insert_records(session: Session, table: Table, records: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert records given as mappings (the same keys in each), with ids reserved first; returns the ids in order."""
    if not records:
        return []
    ids = reserve_ids(session, table, len(records))
    names = list(records[0])
    rows = [(i, *(record[name] for name in names)) for i, record in zip(ids, records, strict=True)]
    insert_rows(session, table, ["id", *names], rows)
    return ids


Column = np.ndarray | int | str | enum.Enum | datetime | None


def insert_columns(session: Session, table: Table, columns: Mapping[str, Column]) -> None:
    """Insert column arrays of one length (integers, up to 32 bits); a scalar in place of an array repeats."""
    arrays = [value for value in columns.values() if isinstance(value, np.ndarray)]
    length = len(arrays[0]) if arrays else 0
    if not length:
        return
    if any(len(array) != length for array in arrays):
        raise ValueError("the columns differ in length")
    connection = session.connection()
    names = list(columns)
    if connection.dialect.name == "postgresql":
        _copy(connection, table, names, _binary_rows(list(columns.values()), length), binary=True)
        return
    values: list[Iterable[Any]] = [
        value.tolist() if isinstance(value, np.ndarray) else repeat(_sqlite_value(value), length)
        for value in columns.values()
    ]
    _execute_many(connection, table, names, zip(*values, strict=False))


def _copy(connection: Connection, table: Table, columns: Sequence[str], data: str | bytes, *, binary: bool) -> None:
    raw: Any = connection.connection.driver_connection  # psycopg's connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN" + (" WITH (FORMAT binary)" if binary else "")
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(data)


def _execute_many(connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Rows of values as SQLite stores them, streamed to the driver's cursor (not held in a list).

    The statement names the columns in the order given, as COPY does (a compiled `insert` would put its parameters
    in the table's order).
    """
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    statement = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join('?' * len(columns))})"
    connection.connection.cursor().executemany(statement, rows)  # type: ignore[arg-type]  # sqlite3 takes iterables


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


PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _binary_rows(columns: Sequence[Column], length: int) -> bytes:
    """COPY's binary format: per row a field count, then (length, value) per field (length -1 and no value: NULL).

    Arrays are int4 columns; scalars repeat: ints as int4, text and enums as bytes, datetimes as timestamptz
    (microseconds since 2000).
    """
    fields: list[tuple[str | None, Any]] = []
    for value in columns:
        if isinstance(value, np.ndarray) or (isinstance(value, int) and not isinstance(value, enum.Enum)):
            fields.append((">i4", value))
        elif isinstance(value, datetime):
            fields.append((">i8", (value - PG_EPOCH) // timedelta(microseconds=1)))
        elif value is None:
            fields.append((None, None))
        else:
            encoded = str(value.value if isinstance(value, enum.Enum) else value).encode()
            fields.append((f"S{len(encoded)}", encoded))
    dtype = [("fields", ">i2")]
    for k, (kind, _) in enumerate(fields):
        dtype += [(f"size{k}", ">i4")] + ([(f"value{k}", kind)] if kind else [])
    rows = np.empty(length, dtype=dtype)
    rows["fields"] = len(fields)
    for k, (kind, value) in enumerate(fields):
        rows[f"size{k}"] = np.dtype(kind).itemsize if kind else -1
        if kind:
            rows[f"value{k}"] = value
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    return header + rows.tobytes() + (-1).to_bytes(2, "big", signed=True)
