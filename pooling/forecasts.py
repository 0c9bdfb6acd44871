"""Forecast operations: recompute every series in bulk (and apply FORECAST policies), set a stock level's policy,
and the forecast of one (site, item) with its projected stock-out.

The numbers come from `pooling.forecasting` (pure numpy); the history from `pooling.demand`. A policy change is
recorded in the stock level's history (POLICY_CHANGED, old -> new) and as a STOCK_POLICY_CHANGED event.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import bindparam, delete, insert, select, tuple_
from sqlalchemy.orm import Session

from models import Forecast, HistoryEntry, Item, Site, StockLevel, utcnow
from models.bulk import insert_rows, reserve_ids
from models.enums import DemandClass, EventKind, PolicyMode
from models.events import Event
from pooling import alerts, forecasting
from pooling.demand import History, check_days, demand_history
from pooling.errors import ErrorCode, PoolingError
from pooling.history import Kind, _who, changes
from pooling.ledger import Pair
from pooling.positions import incoming

DEFAULT_HISTORY_DAYS = 90
DEFAULT_REVIEW_DAYS = 7
MAX_REVIEW_DAYS = 365
HORIZON_DAYS = 90  # a stock-out further away than this is not projected
DEFAULT_SERVICE_LEVEL = 0.95
POLICY_FIELDS = ("policy_mode", "service_level", "safety_stock", "reorder_point", "order_up_to")

Progress = Callable[[str], None]


@dataclass
class Recomputed:
    """What a bulk recompute did."""

    region: str | None
    series: int
    by_class: dict[str, int]
    by_method: dict[str, int]
    policies_changed: int
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class SeriesForecast:
    """The forecast of one (site, item), as the API shows it."""

    site: Site
    item: Item
    demand_class: DemandClass
    method: str
    history_days: int
    daily_mean: float
    daily_std_dev: float
    adi: float | None
    cv2: float | None
    lead_time_days: int
    service_level: float
    safety_stock: int
    reorder_point: int
    order_up_to: int
    backtest_error: float | None
    computed_at: datetime
    projected_stockout_at: datetime | None


def check_review_days(days: int, field: str = "review_days") -> None:
    if not 0 <= days <= MAX_REVIEW_DAYS:
        raise PoolingError(ErrorCode.INVALID, f"Review days must be between 0 and {MAX_REVIEW_DAYS}.", field)


def check_service_level(level: float, field: str = "service_level") -> None:
    try:
        forecasting.check_service_level(level)
    except ValueError as error:
        raise PoolingError(ErrorCode.INVALID, str(error), field) from None


@dataclass
class _Computed:
    history: History
    found: forecasting.Forecasts
    policy: forecasting.Policies
    lead: np.ndarray
    level: np.ndarray


def _compute(
    session: Session, history: History, review_days: int, service_levels: np.ndarray | None = None
) -> _Computed:
    n = len(history.site_ids)
    items = np.unique(history.item_ids)
    lead_of = (
        dict(session.execute(select(Item.id, Item.supplier_lead_time_days).where(Item.id.in_(items.tolist()))).all())
        if n
        else {}
    )
    item_ids, lead_values = np.array(list(lead_of), dtype=np.int64), np.array(list(lead_of.values()), np.int64)
    order = np.argsort(item_ids)
    lead = lead_values[order][np.searchsorted(item_ids[order], history.item_ids)] if n else np.zeros(0, np.int64)
    level = service_levels if service_levels is not None else np.full(n, DEFAULT_SERVICE_LEVEL)
    valid = history.valid
    found, policy = forecasting.forecast_and_policies(history.demand, valid, lead, level, review_days)
    return _Computed(history, found, policy, lead, level)


def recompute(
    session: Session,
    *,
    region: str | None = None,
    history_days: int = DEFAULT_HISTORY_DAYS,
    review_days: int = DEFAULT_REVIEW_DAYS,
    apply: bool = True,
    actor: str | None = "nightly",
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Recomputed:
    """Forecast every series with demand in the window (and every FORECAST stock level), store the forecasts (those
    of the scope's other series are deleted: no demand), and with `apply` set the FORECAST stock levels' numbers."""
    check_days(history_days)
    check_review_days(review_days)
    now = now or utcnow()
    step = progress or (lambda _: None)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        seconds[name] = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()
        step(name)

    in_scope = select(Site.id).where(Site.region == region) if region is not None else None
    levels_query = select(
        StockLevel.id,
        StockLevel.site_id,
        StockLevel.item_id,
        StockLevel.policy_mode,
        StockLevel.service_level,
        StockLevel.safety_stock,
        StockLevel.reorder_point,
        StockLevel.order_up_to,
    )
    # Only the levels that differ from the default: FORECAST ones and those with their own service level (the
    # network's tens of millions of others are not read).
    levels_query = levels_query.where(
        (StockLevel.policy_mode == PolicyMode.FORECAST) | (StockLevel.service_level != DEFAULT_SERVICE_LEVEL)
    )
    if in_scope is not None:
        levels_query = levels_query.where(StockLevel.site_id.in_(in_scope))
    levels = session.execute(levels_query).all()
    managed = [(s, i) for _, s, i, mode, *_ in levels if mode == PolicyMode.FORECAST]
    history = demand_history(session, history_days, region=region, pairs=managed, now=now)
    lap("history")

    n = len(history.site_ids)
    service = np.full(n, DEFAULT_SERVICE_LEVEL)
    level_at = np.full(n, -1, dtype=np.int64)
    if levels and n:
        width = int(max(history.item_ids.max(), max(r[2] for r in levels))) + 1
        keys = history.site_ids * width + history.item_ids
        level_keys = np.array([r[1] * width + r[2] for r in levels], dtype=np.int64)
        at = np.clip(np.searchsorted(keys, level_keys), 0, n - 1)
        hit = keys[at] == level_keys
        service[at[hit]] = np.array([r[4] for r in levels], dtype=np.float64)[hit]
        level_at[at[hit]] = np.flatnonzero(hit)
    computed = _compute(session, history, review_days, service)
    lap("forecast")

    _store(session, computed, region, now)
    lap("store")
    changed = 0
    if apply:
        changed = _apply(session, computed, [levels[i] for i in level_at.tolist() if i >= 0], level_at, actor)
        lap("apply")
    # Forecasts and policies written in bulk bypass the commit hook: their levels' alerts (STOCKOUT_RISK from the new
    # rates, BELOW_REORDER_POINT from the new numbers) are evaluated here, in the same transaction.
    alerts.evaluate_levels(session, zip(history.site_ids.tolist(), history.item_ids.tolist(), strict=True), now)
    lap("alerts")
    classes = computed.found.demand_class
    methods = computed.found.method
    return Recomputed(
        region=region,
        series=n,
        by_class={c.value: int((classes == k).sum()) for k, c in enumerate(forecasting.CLASS_CODES)},
        by_method={m: int((methods == k).sum()) for k, m in enumerate(forecasting.METHODS)},
        policies_changed=changed,
        seconds=seconds,
    )


def _store(session: Session, c: _Computed, region: str | None, now: datetime) -> None:
    table = Forecast.__table__
    doomed = delete(Forecast)
    if region is not None:
        doomed = doomed.where(Forecast.site_id.in_(select(Site.id).where(Site.region == region)))
    session.execute(doomed)
    f, p = c.found, c.policy

    def maybe(values: np.ndarray) -> list[float | None]:
        return [None if math.isnan(v) else float(v) for v in values.tolist()]

    columns = {
        "site_id": c.history.site_ids.tolist(),
        "item_id": c.history.item_ids.tolist(),
        "demand_class": [forecasting.CLASS_CODES[k] for k in f.demand_class.tolist()],
        "method": [forecasting.METHODS[k] for k in f.method.tolist()],
        "history_days": f.history_days.tolist(),
        "daily_mean": f.daily_mean.tolist(),
        "daily_std_dev": f.daily_std.tolist(),
        "adi": maybe(f.adi),
        "cv2": maybe(f.cv2),
        "backtest_error": maybe(f.backtest_error),
        "lead_time_days": c.lead.tolist(),
        "service_level": c.level.tolist(),
        "safety_stock": p.safety_stock.tolist(),
        "reorder_point": p.reorder_point.tolist(),
        "order_up_to": p.order_up_to.tolist(),
    }
    n = len(c.history.site_ids)
    ids = reserve_ids(session, table, n)  # type: ignore[arg-type]
    rows = list(zip(ids, *columns.values(), [now] * n, strict=True))
    insert_rows(session, table, ["id", *columns, "computed_at"], rows)  # type: ignore[arg-type]


def _apply(session: Session, c: _Computed, levels: list[Any], level_at: np.ndarray, actor: str | None) -> int:
    """Set the numbers of FORECAST stock levels that have demand and whose numbers differ: one UPDATE, one
    history row and one event each, written in bulk."""
    series = np.flatnonzero(level_at >= 0)
    updates, entries, outbox = [], [], []
    name, token_id = _who(actor)
    now = utcnow()
    region_of = dict(session.execute(select(Site.id, Site.region)).all()) if len(series) else {}
    for row, level in zip(series.tolist(), levels, strict=True):
        level_id, site_id, item_id, mode, _service, safety, reorder, up_to = level
        if mode != PolicyMode.FORECAST or c.found.demand_class[row] == 0:
            continue
        new = {
            "safety_stock": int(c.policy.safety_stock[row]),
            "reorder_point": int(c.policy.reorder_point[row]),
            "order_up_to": int(c.policy.order_up_to[row]),
        }
        old, changed = changes({"safety_stock": safety, "reorder_point": reorder, "order_up_to": up_to}, new)
        if not changed:
            continue
        updates.append({"b_id": level_id, **{f"b_{k}": v for k, v in new.items()}})
        entries.append(
            {
                "record_kind": Kind.STOCK_LEVEL.value,
                "record_id": level_id,
                "at": now,
                "actor": name,
                "actor_token_id": token_id,
                "action": "POLICY_CHANGED",
                "note": "from the forecast",
                "old": old,
                "new": changed,
            }
        )
        outbox.append(
            {
                "kind": EventKind.STOCK_POLICY_CHANGED,
                "occurred_at": now,
                "region": region_of[site_id],
                "site_id": site_id,
                "item_id": item_id,
                "data": {"old": old, "new": changed, "source": "FORECAST"},
            }
        )
    if not updates:
        return 0
    table = StockLevel.__table__
    session.execute(
        table.update()  # type: ignore[attr-defined]
        .where(table.c.id == bindparam("b_id"))
        .values(
            safety_stock=bindparam("b_safety_stock"),
            reorder_point=bindparam("b_reorder_point"),
            order_up_to=bindparam("b_order_up_to"),
            version=table.c.version + 1,
        ),
        updates,
    )
    session.execute(insert(HistoryEntry), entries)
    session.execute(insert(Event), outbox)
    session.expire_all()
    return len(updates)


def one_series(
    session: Session,
    site: Site,
    item: Item,
    service_level: float,
    review_days: int = DEFAULT_REVIEW_DAYS,
    now: datetime | None = None,
) -> _Computed:
    """The forecast and policy of one (site, item), computed now from its history."""
    history = demand_history(session, DEFAULT_HISTORY_DAYS, pairs=[(site.id, item.id)], only_pairs=True, now=now)
    return _compute(session, history, review_days, np.array([service_level]))


def series_forecast(
    session: Session, site: Site, item: Item, review_days: int = DEFAULT_REVIEW_DAYS, now: datetime | None = None
) -> SeriesForecast:
    """The forecast of one (site, item), computed now from its history, at its stock level's service level."""
    now = now or utcnow()
    level = session.scalar(select(StockLevel).where(StockLevel.site_id == site.id, StockLevel.item_id == item.id))
    service = level.service_level if level is not None else DEFAULT_SERVICE_LEVEL
    c = one_series(session, site, item, service, review_days, now)
    f, p = c.found, c.policy
    mean = float(f.daily_mean[0])
    position = (level.available if level is not None else 0) + incoming(session, [(site.id, item.id)])[
        (site.id, item.id)
    ]
    stockout = None
    if mean > 0:
        days = max(position, 0) / mean
        if days <= HORIZON_DAYS:
            stockout = now + timedelta(days=days)

    def maybe(value: float) -> float | None:
        return None if math.isnan(value) else value

    return SeriesForecast(
        site=site,
        item=item,
        demand_class=forecasting.CLASS_CODES[int(f.demand_class[0])],
        method=forecasting.METHODS[int(f.method[0])],
        history_days=int(f.history_days[0]) if f.demand_class[0] != 0 else 0,
        daily_mean=mean,
        daily_std_dev=float(f.daily_std[0]),
        adi=maybe(float(f.adi[0])),
        cv2=maybe(float(f.cv2[0])),
        lead_time_days=int(c.lead[0]),
        service_level=float(service),
        safety_stock=int(p.safety_stock[0]),
        reorder_point=int(p.reorder_point[0]),
        order_up_to=int(p.order_up_to[0]),
        backtest_error=maybe(float(f.backtest_error[0])),
        computed_at=now,
        projected_stockout_at=stockout,
    )


def stored(session: Session, pairs: list[Pair]) -> dict[Pair, Forecast]:
    """The stored forecasts (the latest `recompute`) of these (site id, item id) pairs, in one query; a pair
    without one is left out."""
    wanted = list(set(pairs))
    if not wanted:
        return {}
    query = select(Forecast).where(tuple_(Forecast.site_id, Forecast.item_id).in_(wanted))
    return {(row.site_id, row.item_id): row for row in session.scalars(query)}
