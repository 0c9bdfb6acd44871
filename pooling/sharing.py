"""Donors' sharing rules: set one, and turn a region's rules into the solver's supply caps.

A site's rule for an item wins over its default (no item). NEVER: the site gives none of the item. SURPLUS: it
gives its surplus, but keeps `keep_days_of_cover` days of the item's forecast daily demand and gives at most
`max_units_per_plan` units in one plan. No rule: it gives its whole surplus.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from models import Forecast, ShareRule, SharingPolicy, utcnow
from pooling.errors import ErrorCode, PoolingError
from pooling.ledger import MAX_QUANTITY, Pair
from pooling.lookup import item_by_sku, site_by_code

MAX_DAYS_OF_COVER = 365
NO_CAP = -1


def set_sharing_policy(
    session: Session,
    site: str,
    sku: str | None,
    share: ShareRule,
    keep_days_of_cover: int | None = None,
    max_units_per_plan: int | None = None,
    actor: str | None = None,
) -> SharingPolicy:
    """Create or replace the site's rule for the item (or its default when `sku` is None)."""
    if keep_days_of_cover is not None and not 0 <= keep_days_of_cover <= MAX_DAYS_OF_COVER:
        raise PoolingError(
            ErrorCode.INVALID, f"Days of cover must be between 0 and {MAX_DAYS_OF_COVER}.", "keep_days_of_cover"
        )
    if max_units_per_plan is not None and not 0 <= max_units_per_plan <= MAX_QUANTITY:
        raise PoolingError(
            ErrorCode.INVALID_QUANTITY, f"Units per plan must be between 0 and {MAX_QUANTITY:,}.", "max_units_per_plan"
        )
    if share == ShareRule.NEVER and (keep_days_of_cover is not None or max_units_per_plan is not None):
        raise PoolingError(ErrorCode.INVALID, "A NEVER rule keeps everything: it takes no days or units.", "share")
    site_row = site_by_code(session, site)
    item_id = item_by_sku(session, sku).id if sku is not None else None
    policy = session.scalars(
        select(SharingPolicy).where(SharingPolicy.site_id == site_row.id, _same_item(item_id)).with_for_update()
    ).one_or_none()
    if policy is None:
        policy = SharingPolicy(site_id=site_row.id, item_id=item_id)
        session.add(policy)
    policy.share, policy.keep_days_of_cover, policy.max_units_per_plan = share, keep_days_of_cover, max_units_per_plan
    policy.actor, policy.updated_at = actor, utcnow()
    session.flush()
    return policy


def _same_item(item_id: int | None) -> ColumnElement[bool]:
    return SharingPolicy.item_id.is_(None) if item_id is None else SharingPolicy.item_id == item_id


def share_caps(session: Session, donors: Iterable[tuple[int, int, int]]) -> dict[Pair, int]:
    """Per donor (site, item, available), the most units its rule lets it give in one plan (`NO_CAP`: no rule)."""
    donors = list(donors)
    sites = {s for s, _, _ in donors}
    if not sites:
        return {}
    rules = {
        (p.site_id, p.item_id): p
        for p in session.scalars(select(SharingPolicy).where(SharingPolicy.site_id.in_(sites)))
    }
    caps: dict[Pair, int] = {}
    needs_forecast = []
    for site, item, _ in donors:
        rule = rules.get((site, item)) or rules.get((site, None))
        if rule is not None and rule.share == ShareRule.SURPLUS and rule.keep_days_of_cover:
            needs_forecast.append((site, item))
    daily = _daily_means(session, needs_forecast)
    for site, item, available in donors:
        rule = rules.get((site, item)) or rules.get((site, None))
        caps[(site, item)] = cap(rule, available, daily.get((site, item), 0.0))
    return caps


def cap(rule: SharingPolicy | None, available: int, daily_mean: float) -> int:
    """The rule's supply cap for a donor holding `available` units of an item it sells `daily_mean` a day."""
    if rule is None:
        return NO_CAP
    if rule.share == ShareRule.NEVER:
        return 0
    limit = NO_CAP
    if rule.keep_days_of_cover:
        limit = max(0, available - math.ceil(daily_mean * rule.keep_days_of_cover))
    if rule.max_units_per_plan is not None:
        limit = rule.max_units_per_plan if limit == NO_CAP else min(limit, rule.max_units_per_plan)
    return limit


def _daily_means(session: Session, pairs: list[Pair]) -> dict[Pair, float]:
    if not pairs:
        return {}
    sites = {s for s, _ in pairs}
    wanted = set(pairs)
    rows = session.execute(
        select(Forecast.site_id, Forecast.item_id, Forecast.daily_mean).where(Forecast.site_id.in_(sites))
    )
    return {(s, i): float(m) for s, i, m in rows if (s, i) in wanted}
