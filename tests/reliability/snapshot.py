"""A content hash of the whole database: equal before and after means nothing changed."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from models import Base
from models.db import Database


def snapshot(db: Database) -> str:
    """sha256 over every row of every table, in primary-key order."""
    digest = hashlib.sha256()
    with db.reading() as s:
        for table in Base.metadata.sorted_tables:
            digest.update(table.name.encode())
            rows = s.execute(select(table).order_by(*table.primary_key.columns)).all()
            for row in rows:
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()
