"""Finding records by the names users give them (site code, sku, id), or a NOT_FOUND error naming the field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction

from models import Base, Item, Site
from pooling.codes import normal
from pooling.errors import Ref, not_found

Record = TypeVar("Record", bound=Base)


_SITES = "stockpool.lookup.sites"  # session.info: code -> Site found in the current transaction


def find_site(session: Session, code: str) -> Site | None:
    """The site with this code, or None. A site found earlier in the same transaction is reused (a request that
    checks the caller's scope and then acts at the site looks it up once), as long as it is still loaded and
    still has that code."""
    code = normal(code)
    known: dict[str, Site] = session.info.setdefault(_SITES, {})
    site = known.get(code)
    if site is not None:
        state = inspect(site)
        if state.persistent and not state.expired and site.code == code:
            return site
    site = session.scalar(select(Site).where(Site.code == code))
    if site is not None:
        known[code] = site
    return site


@event.listens_for(Session, "after_transaction_end")
def _forget_sites(session: Session, transaction: SessionTransaction, *_: Any) -> None:
    if transaction.parent is None or transaction.nested:  # not a flush's own subtransaction
        session.info.pop(_SITES, None)


def site_by_code(session: Session, code: str, field: str = "site") -> Site:
    site = find_site(session, code)
    if site is None:
        raise not_found("site", repr(code), field)
    return site


def item_by_sku(session: Session, sku: str, field: str = "sku") -> Item:
    item = session.scalar(select(Item).where(Item.sku == normal(sku)))
    if item is None:
        raise not_found("item", repr(sku), field)
    return item


def by_id(session: Session, model: type[Record], record_id: int, field: str = "id") -> Record:
    record = session.get(model, record_id)
    if record is None:
        raise not_found(model.__name__.lower(), Ref(model.__name__, record_id), field)
    return record


def sites_by_code(session: Session, codes: Iterable[str], field: str = "site") -> dict[str, Site]:
    """Sites by the codes given (as given: the keys are the caller's spellings), in one query; NOT_FOUND for the
    first unknown one."""
    wanted = {code: normal(code) for code in codes}
    found = {site.code: site for site in session.scalars(select(Site).where(Site.code.in_(set(wanted.values()))))}
    for code, code_normal in wanted.items():
        if code_normal not in found:
            raise not_found("site", repr(code), field)
    return {code: found[code_normal] for code, code_normal in wanted.items()}


def items_by_sku(session: Session, skus: Iterable[str], field: str = "sku") -> dict[str, Item]:
    """Items by the SKUs given (keys as given), in one query; NOT_FOUND for the first unknown one."""
    wanted = {sku: normal(sku) for sku in skus}
    found = {item.sku: item for item in session.scalars(select(Item).where(Item.sku.in_(set(wanted.values()))))}
    for sku, sku_normal in wanted.items():
        if sku_normal not in found:
            raise not_found("item", repr(sku), field)
    return {sku: found[sku_normal] for sku, sku_normal in wanted.items()}
