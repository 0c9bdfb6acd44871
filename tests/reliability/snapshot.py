"""A content hash of the whole database: equal before and after means nothing changed."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from models import Base
from models.db import Database


def snapshot(db: Database) -> str:
    """sha256 over every row of every table, in primary-key order.

    A token's `last_used_at` is left out: it records that a request came (refused or not), not a change it made.
    """
    digest = hashlib.sha256()
    with db.reading() as s:
        for table in Base.metadata.sorted_tables:
            digest.update(table.name.encode())
            columns = [c for c in table.columns if (table.name, c.name) != ("api_tokens", "last_used_at")]
            rows = s.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            for row in rows:
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()
