"""The Alembic migrations create exactly what the models declare, and the CHECKs refuse what must never be."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from models import Base, StockLevel
from models.db import Database
from tests.factories import build_network, receive


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


@pytest.mark.parametrize(
    "values",
    [{"on_hand": -1}, {"reserved": -1}, {"reserved": 11}],
    ids=["on hand below zero", "reserved below zero", "reserved above on hand"],
)
def test_checks_refuse_impossible_stock(db: Database, values: dict[str, int]) -> None:
    build_network(db, {"A": "west"}, {"X": "1.00"})
    receive(db, "A", "X", 10)
    with pytest.raises(IntegrityError), db.transaction() as s:
        s.execute(update(StockLevel).values(**values))
