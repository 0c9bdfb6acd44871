"""The one hook that keeps alerts current: rows of the stock model touched in a transaction are collected at each
flush, and their alert rules are evaluated just before the transaction commits, in it (pooling.alerts).

Operations need not know about alerts: whatever changes a stock level, a backorder, a transfer, a reorder, an
order or a forecast through the session is seen. Bulk statements that bypass the ORM are caught up by the sweep.
"""

from __future__ import annotations

from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from models import Backorder, Forecast, Order, Plan, Reorder, Site, StockLevel, Transfer, utcnow

WATCHED = (StockLevel, Backorder, Transfer, Reorder, Order, Forecast, Plan)
_TOUCHED = "stockpool.alerts.touched"


@event.listens_for(Session, "before_flush")
def _collect(session: Session, _context: Any, _instances: Any) -> None:
    touched: dict[int, Any] = session.info.setdefault(_TOUCHED, {})
    for row in chain(session.new, session.dirty):
        if isinstance(row, WATCHED):
            touched[id(row)] = row


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    if not session.in_transaction():
        session.info.pop(_TOUCHED, None)


@event.listens_for(Session, "before_commit")
def _evaluate(session: Session) -> None:
    session.flush()  # a no-op when nothing is pending; collects what is
    touched = session.info.pop(_TOUCHED, {})
    rows = [row for row in touched.values() if inspect(row).persistent]
    if rows:
        evaluate_rows(session, rows)
        session.flush()


def _young_suggestion(row: Transfer | Reorder, now: datetime) -> bool:
    from pooling.alerts import current_settings

    return row.status.value == "SUGGESTED" and row.created_at > now - current_settings().suggestion_age


def evaluate_rows(session: Session, rows: list[Any]) -> None:
    """Evaluate the alert rules of the subjects these rows belong to."""
    from pooling import alerts

    now = utcnow()
    pairs: set[tuple[int, int]] = set()
    backorders: set[int] = set()
    transfers: set[int] = set()
    reorders: set[int] = set()
    order_sites: set[int] = set()
    plan_saved = False
    for row in rows:
        if isinstance(row, (StockLevel, Forecast)):
            pairs.add((row.site_id, row.item_id))
        elif isinstance(row, Backorder):
            backorders.add(row.id)
            pairs.add((row.site_id, row.item_id))
        elif isinstance(row, (Transfer, Reorder)) and _young_suggestion(row, now):
            continue  # a plan's fresh suggestion changes no stock position and cannot be awaiting approval yet
        elif isinstance(row, Transfer):
            transfers.add(row.id)
            pairs.update({(row.from_site_id, row.item_id), (row.to_site_id, row.item_id)})
        elif isinstance(row, Reorder):
            reorders.add(row.id)
            pairs.add((row.site_id, row.item_id))
        elif isinstance(row, Order):
            order_sites.add(row.site_id)
        elif isinstance(row, Plan):
            plan_saved = True
    regions = _regions(session, order_sites) if order_sites else set()
    with alerts.open_alerts_read_once(session, alerts.subjects(pairs, backorders, transfers, reorders, regions)):
        alerts.evaluate_levels(session, pairs, now)
        alerts.evaluate_backorders(session, backorders, now)
        alerts.evaluate_transfers(session, transfers, now)
        alerts.evaluate_reorders(session, reorders, now)
        if regions:
            alerts.evaluate_regions(session, regions, now)
    if plan_saved:
        alerts.evaluate_open_suggestions(session, now)


def _regions(session: Session, site_ids: set[int]) -> set[str]:
    """The regions of these sites: from the sites the transaction already loaded (the order's), the rest by query."""
    regions: set[str] = set()
    missing: list[int] = []
    for site_id in site_ids:
        site = session.identity_map.get(identity_key(Site, site_id))
        if site is not None and not inspect(site).expired:
            regions.add(site.region)
        else:
            missing.append(site_id)
    if missing:
        regions.update(session.scalars(select(Site.region).distinct().where(Site.id.in_(missing))))
    return regions
