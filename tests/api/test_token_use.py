"""A token's last use is written down (at most every 10 minutes, so reads stay reads), shown by `ApiToken.lastUsedAt`
and by `stockpool token list`, which never shows a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update

from api import cli
from models import ApiToken, Role, utcnow
from models.db import Database
from pooling.access import LAST_USE_EVERY, create_token, revoke_token
from tests.api.conftest import Client
from tests.factories import build_network

ME = "{ me { name lastUsedAt } }"


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements the server sends to the database while the block runs."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)


def last_used(db: Database, name: str) -> Any:
    with db.reading() as s:
        return s.scalar(select(ApiToken.last_used_at).where(ApiToken.name == name))


def test_a_request_marks_the_token_used_at_most_every_ten_minutes(db: Database, server: str) -> None:
    with db.transaction() as s:
        _, secret = create_token(s, "reader", Role.ADMIN)
    reader = Client(server, secret)
    assert last_used(db, "reader") is None
    before = utcnow()
    assert reader.gql(ME)["me"]["name"] == "reader"
    marked = last_used(db, "reader")
    assert marked is not None and marked >= before - timedelta(seconds=1)
    assert reader.gql(ME)["me"]["lastUsedAt"] is not None

    with statements(db) as sent:
        reader.gql(ME)
        reader.gql("{ items(first: 1) { edges { node { sku } } } }")
    assert last_used(db, "reader") == marked  # a fresh mark is not rewritten...
    assert not [q for q in sent if q.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
    if db.is_sqlite:  # ... and a read request never asks for SQLite's write lock
        assert not [q for q in sent if "IMMEDIATE" in q.upper()]

    long_ago = utcnow() - LAST_USE_EVERY - timedelta(minutes=1)
    with db.transaction() as s:
        s.execute(update(ApiToken).where(ApiToken.name == "reader").values(last_used_at=long_ago))
    reader.gql(ME)  # a read: marked in a short write transaction of its own
    assert last_used(db, "reader") > long_ago + LAST_USE_EVERY

    with db.transaction() as s:
        s.execute(update(ApiToken).where(ApiToken.name == "reader").values(last_used_at=long_ago))
    created = reader.gql('mutation { createSite(input: {code: "B", name: "B", region: "west"}) { errors { code } } }')
    assert created["createSite"]["errors"] == []  # a mutation: marked in its own transaction
    assert last_used(db, "reader") > long_ago + LAST_USE_EVERY


def test_token_list_shows_role_scope_and_use_but_never_a_secret(
    db: Database, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    build_network(db, {"N": "west"}, {"X": "1.00"})
    with db.transaction() as s:
        _, admin = create_token(s, "ops admin", Role.ADMIN)
        _, coordinator = create_token(s, "nightly", Role.COORDINATOR, region="west")
        _, site = create_token(s, "lab n", Role.SITE, site="N")
        revoke_token(s, create_token(s, "old laptop", Role.SITE, site="N")[0].id)
    Client(server, site).gql(ME)

    assert cli.main(["--database-url", db.url, "token", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(t["name"], t["role"], t["site"], t["region"]) for t in listed] == [
        ("ops admin", "ADMIN", None, None),
        ("nightly", "COORDINATOR", None, "west"),
        ("lab n", "SITE", "N", None),
        ("old laptop", "SITE", "N", None),
    ]
    assert [t["last_used"] is not None for t in listed] == [False, False, True, False]
    assert [t["revoked"] is not None for t in listed] == [False, False, False, True]
    assert all(t["created"] for t in listed)

    assert cli.main(["--database-url", db.url, "token", "list"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == ["ID", "NAME", "ROLE", "SCOPE", "CREATED", "LAST", "USED", "REVOKED"]
    assert "region west" in text and "site N" in text and "old laptop" in text
    with db.reading() as s:
        hashes = list(s.scalars(select(ApiToken.token_hash)))
    for secret in [admin, coordinator, site, *hashes]:
        assert secret not in text and secret not in json.dumps(listed)
