"""What a caller may see and do: the one place where scope is decided, in Python and as SQL.

SITE acts only on its own site (its stock, orders, shipping from it, receiving into it) and reads the network's
availability; COORDINATOR acts on its region; ADMIN on everything. A record outside the caller's scope answers
exactly like a missing one (NOT_FOUND), so scope never leaks what exists elsewhere.

`may_see_x(caller, row)` decides for one row; `visible_x(caller)` is the same rule as a SQL condition, for lists;
`x_in_scope` finds records by what a client names them with (a code, opaque ids), NOT_FOUND outside the scope;
`require_x` refuses what the caller's role may not do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

import strawberry
from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from api.auth import Caller
from api.graphql.base import pk_of
from models import Alert, ApiToken, Backorder, Event, Plan, Reorder, Role, Site, StockLevel, Transfer
from pooling.errors import ErrorCode, PoolingError
from pooling.limits import check_ids
from pooling.lookup import find_site

# One row


def may_see_site(caller: Caller, site: Site) -> bool:
    """Records of a site (its ledger, backorders, transfers) are visible to its own token and its region's."""
    if caller.role == Role.ADMIN:
        return True
    if caller.role == Role.COORDINATOR:
        return site.region == caller.region
    return site.id == caller.site_id


def may_coordinate(caller: Caller, region: str) -> bool:
    return caller.role == Role.ADMIN or (caller.role == Role.COORDINATOR and caller.region == region)


def may_see_stock_level(caller: Caller, row: StockLevel) -> bool:
    """The network's availability: every token reads every stock level (not who manages it: see its history)."""
    return True


def may_see_backorder(caller: Caller, row: Backorder) -> bool:
    return may_see_site(caller, row.site)


def may_see_transfer(caller: Caller, row: Transfer) -> bool:
    """Both ends see a transfer (not each other's backorders it serves)."""
    return may_see_site(caller, row.from_site) or may_see_site(caller, row.to_site)


def may_see_reorder(caller: Caller, row: Reorder) -> bool:
    return may_see_site(caller, row.site)


def may_see_plan(caller: Caller, row: Plan) -> bool:
    return may_coordinate(caller, row.region)


def may_see_alert(session: Session, caller: Caller, row: Alert) -> bool:
    """An alert is seen like its records: a COORDINATOR sees its region's, a SITE its site's; both ends of a
    transfer see the transfer's alerts."""
    if caller.role == Role.ADMIN:
        return True
    transfer = None if row.transfer_id is None else session.get(Transfer, row.transfer_id)
    if transfer is not None and may_see_transfer(caller, transfer):
        return True
    if caller.role == Role.COORDINATOR:
        return row.region == caller.region
    return row.site_id is not None and row.site_id == caller.site_id


def may_see_token(caller: Caller, row: ApiToken) -> bool:
    return caller.is_admin or row.id == caller.token_id


class EventLike(Protocol):
    site_id: int | None
    to_site_id: int | None
    region: str | None
    to_region: str | None


def may_see_event(caller: Caller, row: EventLike) -> bool:
    """An event is seen by whoever may read its record: its site (and a transfer's other end) and their regions;
    an event of a region only (a saved plan) by the region's coordinators; one of nowhere by ADMINs."""
    if caller.role == Role.ADMIN:
        return True
    if caller.role == Role.COORDINATOR:
        return caller.region is not None and caller.region in (row.region, row.to_region)
    return caller.site_id is not None and caller.site_id in (row.site_id, row.to_site_id)


# In a resolver: rows through the request's DataLoaders (a row's relations are not loaded there)


async def may_see_site_id(info: strawberry.Info, site_id: int) -> bool:
    """`may_see_site` for the site with this id."""
    caller: Caller | None = info.context.caller
    if caller is None or caller.is_admin:
        return caller is not None
    return may_see_site(caller, await info.context.loaders.site.load(site_id))


async def may_see_backorder_id(info: strawberry.Info, backorder_id: int) -> bool:
    """`may_see_backorder` for the backorder with this id."""
    caller: Caller | None = info.context.caller
    if caller is None or caller.is_admin:
        return caller is not None
    backorder = await info.context.loaders.backorder.load(backorder_id)
    return await may_see_site_id(info, backorder.site_id)


# Lists: the same rules as SQL conditions


def _visible_site_ids(caller: Caller) -> Select[int] | None:
    """The ids of the sites whose records the caller may see, as a subquery; None for all of them."""
    if caller.role == Role.ADMIN:
        return None
    if caller.role == Role.COORDINATOR:
        return select(Site.id).where(Site.region == caller.region)
    return select(Site.id).where(Site.id == caller.site_id)


def visible_backorders(caller: Caller) -> ColumnElement[bool]:
    sites = _visible_site_ids(caller)
    return true() if sites is None else Backorder.site_id.in_(sites)


def visible_transfers(caller: Caller) -> ColumnElement[bool]:
    sites = _visible_site_ids(caller)
    return true() if sites is None else or_(Transfer.from_site_id.in_(sites), Transfer.to_site_id.in_(sites))


def visible_reorders(caller: Caller) -> ColumnElement[bool]:
    sites = _visible_site_ids(caller)
    return true() if sites is None else Reorder.site_id.in_(sites)


def visible_alerts(caller: Caller) -> ColumnElement[bool]:
    """`may_see_alert` as SQL."""
    sites = _visible_site_ids(caller)
    if sites is None:
        return true()
    of_transfers = Alert.transfer_id.in_(select(Transfer.id).where(visible_transfers(caller)))
    own = Alert.region == caller.region if caller.role == Role.COORDINATOR else Alert.site_id.in_(sites)
    return or_(own, of_transfers)


def alerts_filter(session: Session, caller: Caller, region: str | None, site: str | None) -> ColumnElement[bool]:
    """The alerts a caller asks for (a region, a site, or all it may see); a region or site outside the caller's
    scope is NOT_FOUND, like a missing one."""
    condition = visible_alerts(caller)
    if region is not None:
        own_region = caller.is_admin or region == caller.region
        if not own_region or session.scalar(select(Site.id).where(Site.region == region).limit(1)) is None:
            raise PoolingError(ErrorCode.NOT_FOUND, f"No region {region!r}.", "region")
        condition = and_(condition, Alert.region == region)
    if site is not None:
        found = site_in_scope(session, caller, site, "site")
        condition = and_(condition, Alert.site_id == found.id)
    return condition


def visible_events(caller: Caller) -> ColumnElement[bool]:
    """`may_see_event` as SQL."""
    if caller.role == Role.ADMIN:
        return true()
    if caller.role == Role.COORDINATOR:
        return or_(Event.region == caller.region, Event.to_region == caller.region)
    return or_(Event.site_id == caller.site_id, Event.to_site_id == caller.site_id)


def visible_plans(caller: Caller) -> ColumnElement[bool]:
    if caller.role == Role.ADMIN:
        return true()
    return Plan.region == caller.region if caller.role == Role.COORDINATOR else false()


# Records by what the client names them with; NOT_FOUND, like a missing one, outside the caller's scope


def site_in_scope(session: Session, caller: Caller, code: str, field: str = "site") -> Site:
    """The site a caller acts at, by code."""
    site = find_site(session, code)
    if site is None or not may_see_site(caller, site):
        raise PoolingError(ErrorCode.NOT_FOUND, f"No site {code!r}.", field)
    return site


def sharing_site_in_scope(session: Session, caller: Caller, code: str, field: str = "site") -> Site:
    """The site whose sharing rules a caller sets: a SITE its own, a COORDINATOR its region's, an ADMIN any."""
    return site_in_scope(session, caller, code, field)


def backorder_in_scope(session: Session, caller: Caller, value: str, field: str = "id") -> Backorder:
    (row,) = _in_scope(session, caller, Backorder, may_see_backorder, [value], field)
    return row


def transfers_in_scope(session: Session, caller: Caller, ids: Sequence[str], field: str = "ids") -> list[int]:
    """Primary keys of transfers the caller may see."""
    return [row.id for row in _in_scope(session, caller, Transfer, may_see_transfer, ids, field)]


def reorders_in_scope(session: Session, caller: Caller, ids: Sequence[str], field: str = "ids") -> list[int]:
    """Primary keys of reorders the caller may see."""
    return [row.id for row in _in_scope(session, caller, Reorder, may_see_reorder, ids, field)]


Record = TypeVar("Record", Backorder, Transfer, Reorder)


def _in_scope(
    session: Session,
    caller: Caller,
    model: type[Record],
    may_see: Callable[[Caller, Record], bool],
    ids: Sequence[str],
    field: str,
) -> list[Record]:
    check_ids(ids, field)
    kind, pks, refused = model.__name__, [], None
    for value in ids:
        try:
            pks.append(pk_of(value, kind, field))
        except PoolingError as error:
            refused = error  # answered after the ids before it, as when they were checked one by one
            break
    # The records and the sites that decide their scope, two queries whatever the number of ids.
    rows = {row.id: row for row in session.scalars(select(model).where(model.id.in_(pks)))} if pks else {}
    site_ids = {getattr(row, name) for row in rows.values() for name in _SITE_COLUMNS if hasattr(row, name)}
    missing = [pk for pk in site_ids if identity_key(Site, pk) not in session.identity_map]
    # Held while `may_see` reads them (the session keeps rows only while something refers to them).
    sites = session.scalars(select(Site).where(Site.id.in_(missing))).all() if missing else []
    found = []
    for value, pk in zip(ids, pks, strict=False):
        row = rows.get(pk)
        if row is None or not may_see(caller, row):
            raise PoolingError(ErrorCode.NOT_FOUND, f"No {kind.lower()} with id {value!r}.", field)
        found.append(row)
    del sites
    if refused is not None:
        raise refused
    return found


_SITE_COLUMNS = ("site_id", "from_site_id", "to_site_id")


def figures_scope(caller: Caller, region: str | None) -> str | None:
    """The region whose figures (`kpis`) are asked, None for the network: an ADMIN asks any region or the network,
    anyone else their own region (without one, theirs is meant)."""
    scope = region if region is not None or caller.is_admin else caller.region
    if scope is not None and not (caller.is_admin or scope == caller.region):
        raise PoolingError(ErrorCode.NOT_FOUND, f"No region {scope!r}.", "region")  # as for a region nobody is in
    return scope


# What a role may do


def require_admin(caller: Caller) -> None:
    if caller.role != Role.ADMIN:
        raise PoolingError(ErrorCode.FORBIDDEN, "Only an ADMIN token may do this.")


def require_coordinator(caller: Caller, region: str | None = None, field: str = "region") -> None:
    """A COORDINATOR (of `region`, when given) or an ADMIN; a region outside the caller's is NOT_FOUND."""
    if caller.role == Role.SITE:
        raise PoolingError(ErrorCode.FORBIDDEN, "A SITE token cannot do this; a COORDINATOR of the region can.")
    if region is not None and not may_coordinate(caller, region):
        raise PoolingError(ErrorCode.NOT_FOUND, f"No region {region!r}.", field)


def require_sending_site(caller: Caller, transfer: Transfer) -> None:
    """A SITE token ships only from its own site."""
    if caller.role == Role.SITE and transfer.from_site_id != caller.site_id:
        raise PoolingError(ErrorCode.FORBIDDEN, "Only the sending site ships a transfer.")


def require_receiving_site(caller: Caller, transfer: Transfer) -> None:
    """A SITE token receives only into its own site."""
    if caller.role == Role.SITE and transfer.to_site_id != caller.site_id:
        raise PoolingError(ErrorCode.FORBIDDEN, "Only the receiving site receives it.")


# Webhooks: a hook reads what its scope may read; who may manage one


def webhook_reader(site_id: int | None, region: str | None) -> Caller:
    """The reader a webhook delivers for: a site's hook reads like the site's token, a region's like its
    coordinator, a hook of neither like an ADMIN."""
    if site_id is not None:
        return Caller(token_id=0, name="webhook", role=Role.SITE, site_id=site_id, region=region)
    if region is not None:
        return Caller(token_id=0, name="webhook", role=Role.COORDINATOR, region=region)
    return Caller(token_id=0, name="webhook", role=Role.ADMIN)


def may_manage_webhook(caller: Caller, site_id: int | None, region: str | None) -> bool:
    """ADMIN any hook; a COORDINATOR its region's (its sites' too); a SITE its own."""
    if caller.role == Role.ADMIN:
        return True
    if caller.role == Role.COORDINATOR:
        return region is not None and region == caller.region
    return site_id is not None and site_id == caller.site_id
