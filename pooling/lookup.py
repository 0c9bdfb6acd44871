"""Finding records by the names users give them (site code, sku, id), or a NOT_FOUND error naming the field."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Base, Item, Site
from pooling.codes import normal
from pooling.errors import Ref, not_found

Record = TypeVar("Record", bound=Base)


def site_by_code(session: Session, code: str, field: str = "site") -> Site:
    site = session.scalar(select(Site).where(Site.code == normal(code)))
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
