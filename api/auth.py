"""Who is calling: the token of a request's `Authorization` header, as a `Caller`.

What a caller may see and do is decided in one place, `api/graphql/scope.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from models import ApiToken, Role, Site
from pooling.access import live_token
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
    # The token and its site (a SITE token's) in one query.
    found = session.execute(live_token(token).add_columns(Site).outerjoin(Site, Site.id == ApiToken.site_id)).first()
    if found is None:
        return None
    row, site = found
    return Caller(
        token_id=row.id,
        name=row.name,
        role=row.role,
        site_id=row.site_id,
        site_code=site.code if site else None,
        region=site.region if site else row.region,
        last_used_at=row.last_used_at,
    )
