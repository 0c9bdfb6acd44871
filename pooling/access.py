"""API tokens (ADMIN): create one for a role and scope, find the token a request presents, revoke one.

A token is a long random string (`sp_` + 32 random bytes, URL-safe) shown once when it is made; only its SHA-256
is stored. A fast hash is right for a secret with 256 bits of entropy (nobody can guess or brute-force it), and it
lets `authenticate` find the row by an exact match on the unique hash index instead of comparing secrets in Python.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from models import ApiToken, Role, Site, utcnow
from pooling.codes import normal
from pooling.errors import ErrorCode, PoolingError, Ref
from pooling.ledger import lock_records
from pooling.lookup import by_id, site_by_code

TOKEN_PREFIX = "sp_"
TOKEN_BYTES = 32
MAX_NAME = 200
# How stale `last_used_at` may get: marking every request would turn every read into a write (and on SQLite take
# the database's one write lock per request); once per token per 10 minutes is enough to tell live tokens from dead.
LAST_USE_EVERY = timedelta(minutes=10)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored for a token (64 characters)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session, name: str, role: Role, site: str | None = None, region: str | None = None
) -> tuple[ApiToken, str]:
    """Make a token; returns the stored row and the plain token, which is never stored nor shown again.

    SITE needs the code of an existing site and no region; COORDINATOR a region that has at least one site and no
    site; ADMIN neither.
    """
    name = name.strip()
    if not name:
        raise PoolingError(ErrorCode.INVALID, "name cannot be empty.", "name")
    if len(name) > MAX_NAME:
        raise PoolingError(ErrorCode.INVALID, f"name is longer than {MAX_NAME} characters.", "name")
    try:
        role = Role(role)
    except ValueError:
        allowed = ", ".join(Role)
        raise PoolingError(ErrorCode.INVALID, f"role must be one of {allowed}.", "role") from None
    site = site.strip() if site is not None and site.strip() else None
    region = normal(region) if region is not None and region.strip() else None

    site_id: int | None = None
    if role == Role.SITE:
        if site is None:
            raise PoolingError(ErrorCode.INVALID, "A SITE token needs the site it acts for.", "site")
        if region is not None:
            raise PoolingError(
                ErrorCode.INVALID, "A SITE token takes its region from its site; give no region.", "region"
            )
        site_id = site_by_code(session, site).id
    elif role == Role.COORDINATOR:
        if site is not None:
            raise PoolingError(ErrorCode.INVALID, "A COORDINATOR token acts for a region, not a site.", "site")
        if region is None:
            raise PoolingError(ErrorCode.INVALID, "A COORDINATOR token needs the region it coordinates.", "region")
        if session.scalar(select(Site.id).where(Site.region == region).limit(1)) is None:
            raise PoolingError(ErrorCode.NOT_FOUND, f"No site is in region {region!r}.", "region")
    else:
        if site is not None:
            raise PoolingError(ErrorCode.INVALID, "An ADMIN token acts everywhere; give no site.", "site")
        if region is not None:
            raise PoolingError(ErrorCode.INVALID, "An ADMIN token acts everywhere; give no region.", "region")

    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    row = ApiToken(
        name=name,
        role=role,
        site_id=site_id,
        region=region if role == Role.COORDINATOR else None,
        token_hash=hash_token(token),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row, token


def authenticate(session: Session, token: str) -> ApiToken | None:
    """The live token row for a presented token; None when it is unknown or revoked."""
    if not token:
        return None
    return session.scalar(live_token(token))


def live_token(token: str) -> Select[ApiToken]:
    """The query for the live token row of a presented token (callers may join what they need to it)."""
    return select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))


def use_is_due(last_used_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a token's last use is worth writing down now (never marked, or longer ago than LAST_USE_EVERY)."""
    return last_used_at is None or last_used_at < (now or utcnow()) - LAST_USE_EVERY


def note_use(session: Session, token_id: int) -> None:
    """Mark the token used now, unless someone marked it within LAST_USE_EVERY (a concurrent request may have)."""
    now = utcnow()
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USE_EVERY),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def list_tokens(session: Session) -> list[tuple[ApiToken, str | None]]:
    """Every token, oldest first, with the code of its site (SITE tokens)."""
    query = select(ApiToken, Site.code).outerjoin(Site, Site.id == ApiToken.site_id).order_by(ApiToken.id)
    return [(row, code) for row, code in session.execute(query)]


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Revoke a token for good: it authenticates no more."""
    by_id(session, ApiToken, token_id)
    row = lock_records(session, ApiToken, [token_id])[token_id]
    if row.revoked_at is not None:
        raise PoolingError(ErrorCode.INVALID_STATE, "Token {token} is already revoked.", "id", token=Ref.of(row))
    row.revoked_at = utcnow()
    session.flush()
    return row
