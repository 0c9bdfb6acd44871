"""API tokens: made for a role and scope, shown once and stored hashed, found by authenticate, revoked for good."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from models import ApiToken, Role, Site
from models.db import Database
from pooling.access import authenticate, create_token, hash_token, revoke_token
from pooling.errors import ErrorCode, PoolingError
from tests.factories import build_network


@pytest.fixture
def sites(db: Database) -> Database:
    build_network(db, {"A": "west", "B": "west", "C": "east"}, {"X": "10.00"})
    return db


def test_each_role_gets_a_token_that_authenticates(sites: Database) -> None:
    with sites.transaction() as s:
        admin, admin_token = create_token(s, "ops admin", Role.ADMIN)
        coordinator, coordinator_token = create_token(s, " west coordinator ", Role.COORDINATOR, region="west")
        site, site_token = create_token(s, "lab A bench", Role.SITE, site="A")
        ids = (admin.id, coordinator.id, site.id)
    tokens = (admin_token, coordinator_token, site_token)
    assert all(t.startswith("sp_") and len(t) >= 40 for t in tokens) and len(set(tokens)) == 3
    with sites.reading() as s:
        found = [authenticate(s, token) for token in tokens]
        assert [row.id for row in found if row] == list(ids)
        a_site = s.scalar(select(Site.id).where(Site.code == "A"))
        assert [(r.role, r.site_id, r.region) for r in found if r] == [
            (Role.ADMIN, None, None),
            (Role.COORDINATOR, None, "west"),
            (Role.SITE, a_site, None),
        ]
        assert found[1] is not None and found[1].name == "west coordinator"
        assert authenticate(s, "sp_" + "x" * 43) is None
        assert authenticate(s, "") is None
        assert authenticate(s, admin_token + "x") is None


def test_only_the_hash_is_stored(sites: Database) -> None:
    with sites.transaction() as s:
        row, token = create_token(s, "admin", Role.ADMIN)
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    with sites.reading() as s:
        stored = s.scalar(select(ApiToken.token_hash).where(ApiToken.id == row.id))
    assert stored == hash_token(token) and stored != token and len(stored) == 64
    with sites.engine.connect() as connection:
        for table_row in connection.execute(ApiToken.__table__.select()):
            assert token not in repr(tuple(table_row))


def test_a_revoked_token_no_longer_authenticates(sites: Database) -> None:
    with sites.transaction() as s:
        row, token = create_token(s, "lab B", Role.SITE, site="B")
        _, other = create_token(s, "admin", Role.ADMIN)
    with sites.transaction() as s:
        revoked = revoke_token(s, row.id)
        assert revoked.revoked_at is not None
    with sites.reading() as s:
        assert authenticate(s, token) is None
        assert authenticate(s, other) is not None
    with pytest.raises(PoolingError) as caught, sites.transaction() as s:
        revoke_token(s, row.id)
    assert (caught.value.code, caught.value.field) == (ErrorCode.INVALID_STATE, "id")
    with pytest.raises(PoolingError) as caught, sites.transaction() as s:
        revoke_token(s, 999_999)
    assert (caught.value.code, caught.value.field) == (ErrorCode.NOT_FOUND, "id")


@pytest.mark.parametrize(
    ("name", "role", "site", "region", "code", "field"),
    [
        ("", Role.ADMIN, None, None, ErrorCode.INVALID, "name"),
        ("   ", Role.ADMIN, None, None, ErrorCode.INVALID, "name"),
        ("x" * 201, Role.ADMIN, None, None, ErrorCode.INVALID, "name"),
        ("admin", Role.ADMIN, "A", None, ErrorCode.INVALID, "site"),
        ("admin", Role.ADMIN, None, "west", ErrorCode.INVALID, "region"),
        ("coordinator", Role.COORDINATOR, None, None, ErrorCode.INVALID, "region"),
        ("coordinator", Role.COORDINATOR, None, "nowhere", ErrorCode.NOT_FOUND, "region"),
        ("coordinator", Role.COORDINATOR, "A", "west", ErrorCode.INVALID, "site"),
        ("site", Role.SITE, None, None, ErrorCode.INVALID, "site"),
        ("site", Role.SITE, "NOPE", None, ErrorCode.NOT_FOUND, "site"),
        ("site", Role.SITE, "A", "west", ErrorCode.INVALID, "region"),
        ("site", "OWNER", None, None, ErrorCode.INVALID, "role"),
    ],
)
def test_bad_input_is_refused_with_its_field(
    sites: Database, name: str, role: Role, site: str | None, region: str | None, code: ErrorCode, field: str
) -> None:
    with pytest.raises(PoolingError) as caught, sites.transaction() as s:
        create_token(s, name, role, site, region)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert caught.value.message
    with sites.reading() as s:
        assert s.scalar(select(func.count(ApiToken.id))) == 0


def test_a_name_of_200_characters_is_fine(sites: Database) -> None:
    with sites.transaction() as s:
        row, _ = create_token(s, "n" * 200, Role.COORDINATOR, region="east")
    assert (row.name, row.region) == ("n" * 200, "east")
