"""Who is calling, and what each role may do: the one place where scope is decided.

SITE acts only on its own site (its stock, orders, shipping from it, receiving into it) and reads the network's
availability; COORDINATOR acts on its region; ADMIN on everything. A record outside the caller's scope answers
exactly like a missing one (NOT_FOUND), so scope never leaks what exists elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiToken, Role, Site
from pooling.access import authenticate
from pooling.codes import normal
from pooling.errors import ErrorCode, PoolingError
from pooling.history import Actor


@dataclass(frozen=True)
class Caller:
    token_id: int
    name: str
    role: Role
    site_id: int | None = None
    site_code: str | None = None
    region: str | None = None  # a coordinator's region, or a site token's site's region
    last_used_at: datetime | None = None  # as it was when the request began

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def actor(self) -> Actor:
        """Who the operations record as acting: the token's name and id."""
        return Actor(self.name, self.token_id)


def caller_for(session: Session, authorization: str | None) -> Caller | None:
    """The caller named by an `Authorization: Bearer <token>` header, or None."""
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    token = authorization[7:].strip()
    if not token or len(token) > 200:
        return None
    row: ApiToken | None = authenticate(session, token)
    if row is None:
        return None
    site = session.get(Site, row.site_id) if row.site_id else None
    return Caller(
        token_id=row.id,
        name=row.name,
        role=row.role,
        site_id=row.site_id,
        site_code=site.code if site else None,
        region=site.region if site else row.region,
        last_used_at=row.last_used_at,
    )


def may_see_site(caller: Caller, site: Site) -> bool:
    """Records of a site (its ledger, backorders, transfers) are visible to its own token and its region's."""
    if caller.role == Role.ADMIN:
        return True
    if caller.role == Role.COORDINATOR:
        return site.region == caller.region
    return site.id == caller.site_id


def may_coordinate(caller: Caller, region: str) -> bool:
    return caller.role == Role.ADMIN or (caller.role == Role.COORDINATOR and caller.region == region)


def visible_site_ids(caller: Caller):  # type: ignore[no-untyped-def]
    """A SQL condition on Site for what the caller may see, or None for everything."""
    if caller.role == Role.ADMIN:
        return None
    if caller.role == Role.COORDINATOR:
        return select(Site.id).where(Site.region == caller.region)
    return select(Site.id).where(Site.id == caller.site_id)


def require_admin(caller: Caller) -> None:
    if caller.role != Role.ADMIN:
        raise PoolingError(ErrorCode.FORBIDDEN, "Only an ADMIN token may do this.")


def require_coordinator(caller: Caller, region: str, field: str = "region") -> None:
    if caller.role == Role.SITE:
        raise PoolingError(ErrorCode.FORBIDDEN, "A SITE token cannot do this; a COORDINATOR of the region can.")
    if not may_coordinate(caller, region):
        raise PoolingError(ErrorCode.NOT_FOUND, f"No region {region!r}.", field)


def site_in_scope(session: Session, caller: Caller, code: str, field: str = "site") -> Site:
    """The site a caller acts at, by code; outside the caller's scope it is NOT_FOUND, like a missing one."""
    site = session.scalar(select(Site).where(Site.code == normal(code)))
    if site is None or not may_see_site(caller, site):
        raise PoolingError(ErrorCode.NOT_FOUND, f"No site {code!r}.", field)
    return site
