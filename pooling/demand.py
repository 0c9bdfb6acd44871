"""Daily demand history per (site, item), read in bulk: a few grouped queries and numpy, no loop over rows.

Demand is what was *asked*: the full quantity of every order placed (not only the part the shelf could fill, or
stock-outs would hide demand) plus recorded CONSUMPTION movements. A day ending with nothing on hand is a
stock-out day; the on-hand at the end of each day is today's on-hand less the net movements after that day.
A stock-out day without demand says nothing about demand where demand is recorded as consumption (nothing on
the shelf, nothing to consume), so it is left out of such a series; a series with orders keeps it, since an
order records what was asked even when the shelf is empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, Integer, cast, func, literal, select
from sqlalchemy.orm import Session

from models import Movement, MovementReason, Order, Site, StockLevel, utcnow
from pooling.errors import ErrorCode, PoolingError

MAX_HISTORY_DAYS = 3660  # ten years

IntArray = npt.NDArray[np.int64]


@dataclass
class History:
    """`demand[i, d]`: units asked at (site_ids[i], item_ids[i]) on day d (day 0 starts at `start`, midnight UTC);
    `stockout[i, d]`: the day ended with nothing on hand."""

    start: datetime
    site_ids: IntArray
    item_ids: IntArray
    demand: npt.NDArray[np.float64]
    stockout: npt.NDArray[np.bool_]
    ordered: npt.NDArray[np.bool_]  # per series: orders were placed in the window

    @property
    def days(self) -> int:
        return int(self.demand.shape[1])

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        """The days that say something about demand: all but stock-out days without demand in a series without
        orders."""
        return ~(self.stockout & (self.demand <= 0) & ~self.ordered[:, None])


def check_days(days: int, field: str = "history_days") -> None:
    if not 1 <= days <= MAX_HISTORY_DAYS:
        raise PoolingError(ErrorCode.INVALID, f"Days must be between 1 and {MAX_HISTORY_DAYS}, not {days}.", field)


def window_start(days: int, now: datetime | None = None) -> datetime:
    """Midnight UTC of the first of `days` days ending today."""
    today = (now or utcnow()).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days - 1)


def demand_history(
    session: Session,
    days: int,
    *,
    region: str | None = None,
    pairs: Sequence[tuple[int, int]] = (),
    only_pairs: bool = False,
    now: datetime | None = None,
) -> History:
    """The series of every (site, item) with demand in the window (of `region`'s sites, when given), plus `pairs`
    (with or without demand); `only_pairs` reads those pairs alone."""
    check_days(days)
    start = window_start(days, now)
    dialect = session.get_bind().dialect.name

    def scoped(query: Any, site_column: Any, item_column: Any, items: Sequence[int] | None = None) -> Any:
        if items is not None:  # the items of the series found: most of the network's stock levels are not read
            query = query.where(item_column.in_(items))
        if region is not None:
            query = query.where(site_column.in_(select(Site.id).where(Site.region == region)))
        if only_pairs:
            sites = sorted({s for s, _ in pairs})
            items = sorted({i for _, i in pairs})
            query = query.where(site_column.in_(sites), item_column.in_(items))
        return query

    def by_day(
        model: type[Order] | type[Movement], amount: Any, *conditions: Any, items: Sequence[int] | None = None
    ) -> npt.NDArray[np.int64]:
        day = _day_index(model.created_at, start, dialect)
        query = select(model.site_id, model.item_id, day, func.sum(amount)).where(
            model.created_at >= start, *conditions
        )
        query = scoped(query, model.site_id, model.item_id, items).group_by(model.site_id, model.item_id, day)
        rows = session.execute(query).all()
        return np.array(rows, dtype=np.int64).reshape(-1, 4)

    orders = by_day(Order, Order.quantity)
    asked = np.concatenate(
        [orders, by_day(Movement, -Movement.quantity, Movement.reason == MovementReason.CONSUMPTION)]
    )
    extra = np.array(list(pairs), dtype=np.int64).reshape(-1, 2)
    if only_pairs:  # the query read the product of their sites and items: keep the pairs themselves
        wanted = _indexer(np.unique(extra, axis=0).reshape(-1, 2))
        asked, orders = asked[wanted(asked[:, :2]) >= 0], orders[wanted(orders[:, :2]) >= 0]
    series = np.unique(np.concatenate([asked[:, :2], extra]), axis=0).reshape(-1, 2)
    n = len(series)
    demand = np.zeros((n, days))
    on_hand_end = np.zeros((n, days), dtype=np.int64)
    ordered = np.zeros(n, dtype=bool)
    if n:
        index = _indexer(series)
        hit = index(orders[:, :2])
        ordered[hit[hit >= 0]] = True
        rows = index(asked[:, :2])
        inside = (rows >= 0) & (asked[:, 2] >= 0) & (asked[:, 2] < days)
        np.add.at(demand, (rows[inside], asked[inside, 2]), asked[inside, 3])

        items = np.unique(series[:, 1]).tolist()
        query = select(StockLevel.site_id, StockLevel.item_id, StockLevel.on_hand)
        levels = session.execute(scoped(query, StockLevel.site_id, StockLevel.item_id, items)).all()
        level_rows = np.array(levels, dtype=np.int64).reshape(-1, 3)
        net = by_day(Movement, Movement.quantity, items=items)
        now_on_hand = np.zeros(n, dtype=np.int64)
        at = index(level_rows[:, :2])
        now_on_hand[at[at >= 0]] = level_rows[at >= 0, 2]

        moves = np.zeros((n, days + 1), dtype=np.int64)  # column `days`: anything dated after today
        at = index(net[:, :2])
        inside = at >= 0
        np.add.at(moves, (at[inside], np.clip(net[inside, 2], 0, days)), net[inside, 3])
        after = np.cumsum(moves[:, ::-1], axis=1)[:, ::-1]  # after[:, d] = net movements on day d and later
        on_hand_end = now_on_hand[:, None] - after[:, 1:]
    return History(
        start=start,
        site_ids=series[:, 0].copy(),
        item_ids=series[:, 1].copy(),
        demand=demand,
        stockout=on_hand_end <= 0,
        ordered=ordered,
    )


def _indexer(series: IntArray) -> Any:
    """A function mapping (site, item) rows to their row in `series` (sorted, unique), -1 where absent."""
    width = int(series[:, 1].max()) + 1 if len(series) else 1
    keys = series[:, 0] * width + series[:, 1]

    def index(pairs: IntArray) -> IntArray:
        if len(pairs) == 0:
            return np.zeros(0, dtype=np.int64)
        wanted = np.where(pairs[:, 1] < width, pairs[:, 0] * width + pairs[:, 1], -1)
        at = np.clip(np.searchsorted(keys, wanted), 0, len(keys) - 1)
        return np.where(keys[at] == wanted, at, -1).astype(np.int64)

    return index


def _day_index(column: Any, start: datetime, dialect: str) -> ColumnElement[int]:
    """Whole days from `start` to the column's moment, in SQL."""
    if dialect == "sqlite":
        stored = start.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        return cast(func.julianday(column) - func.julianday(literal(stored)), Integer)
    return cast(func.floor(func.extract("epoch", column - literal(start)) / 86400), Integer)
