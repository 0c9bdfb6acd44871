"""The solver's random network (`pooling.solver.random_network`) as database rows: `stockpool bench`'s data.

Sites, items and lanes, a stock level for every (site, item), the backorders, and the approved transfers of an
earlier plan already in transit, all written in bulk (`models.bulk`); stock enters only through the ledger's bulk
form (`pooling.ledger.open_levels`), so on-hand is the sum of its movements and `stockpool check` holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from models import (
    Backorder,
    BackorderStatus,
    Base,
    Item,
    Lane,
    MovementReason,
    Plan,
    PlanMode,
    PlanStatus,
    Priority,
    Site,
    Transfer,
    TransferStatus,
)
from models.bulk import insert_records
from pooling.ledger import MovementBatch, open_levels
from pooling.money import from_cents
from pooling.solver import RegionProblem
from pooling.solver.problem import NO_CAPACITY

REGION = "bench"
ACTOR = "bench"
RANKS = {p.rank: p for p in Priority}
BLOCK_ROWS = 1_000_000  # stock levels generated and inserted per block
Progress = Callable[[str, int], Callable[[int], None]]  # (stage, total rows) -> advance(rows)


@dataclass(frozen=True)
class LoadedIds:
    """Database ids by the problem's ids (index = problem id)."""

    site: np.ndarray
    item: np.ndarray
    lane: np.ndarray


@dataclass(frozen=True)
class _InTransit:
    """Shipped transfers of an earlier plan, in the problem's site and item ids."""

    item: np.ndarray
    from_site: np.ndarray
    quantity: np.ndarray
    transfer_id: np.ndarray


def load(session: Session, problem: RegionProblem, seed: int, progress: Progress | None = None) -> LoadedIds:
    """Load the problem into the session's (empty) database; `seed` draws the donors' safety stocks."""
    rng = np.random.default_rng(seed + 1)
    now = datetime.fromtimestamp(problem.now, UTC)
    n_sites = int(
        max(problem.lanes.top_site, max((int(d.backorder_site.max(initial=0)) for d in problem.items), default=0))
    )
    n_items = len(problem.items)
    site_ids = _insert(
        session,
        Site,
        [
            {"code": f"S{k:05}", "name": f"Site {k}", "region": REGION, "active": True, "created_at": now}
            for k in range(1, n_sites + 1)
        ],
    )
    item_ids = _insert(
        session,
        Item,
        [
            {
                "sku": f"I{d.item_id:06}",
                "name": f"Item {d.item_id}",
                "unit": "each",
                "unit_cost": from_cents(d.price_cents),
                "supplier_lead_time_days": d.supplier_lead_hours // 24,
                "purchasable": d.purchasable,
                "created_at": now,
            }
            for d in problem.items
        ],
    )
    site = np.array([0, *site_ids], dtype=np.int64)
    item = np.array([0, *item_ids], dtype=np.int64)
    lanes = problem.lanes
    lane_ids = _insert(
        session,
        Lane,
        [
            {
                "from_site_id": int(site[f]),
                "to_site_id": int(site[t]),
                "unit_cost": from_cents(int(c)),
                "lead_time_hours": int(h),
                "capacity": None if cap == NO_CAPACITY else int(cap),
                "active": True,
            }
            for f, t, c, h, cap in zip(
                lanes.from_site.tolist(),
                lanes.to_site.tolist(),
                lanes.cost_cents.tolist(),
                lanes.lead_hours.tolist(),
                lanes.capacity.tolist(),
                strict=True,
            )
        ],
    )
    lane = np.zeros(int(lanes.lane_id.max(initial=0)) + 1, dtype=np.int64)
    lane[lanes.lane_id] = lane_ids
    in_transit = _ship_earlier_transfers(session, problem, site, item, lane, now)

    # On hand per (site, item): surplus plus a safety stock at donors; nothing where a site waits or neither.
    # Built and inserted a block of items at a time, so that memory stays flat however large the network.
    block = max(1, BLOCK_ROWS // n_sites)
    advance = progress("stock levels", n_items * n_sites) if progress else (lambda _: None)
    for first in range(0, n_items, block):
        demands = problem.items[first : first + block]
        on_hand = np.zeros((len(demands), n_sites), dtype=np.int64)
        safety = np.zeros((len(demands), n_sites), dtype=np.int64)
        for k, d in enumerate(demands):
            donors = d.donor_site - 1
            safety[k, donors] = rng.integers(0, 4, size=len(donors))
            on_hand[k, donors] = d.donor_surplus + safety[k, donors]
        item_grid, site_grid = np.indices(on_hand.shape)
        stocked = np.flatnonzero(on_hand.ravel())
        movements = [MovementBatch(stocked, on_hand.ravel()[stocked])]
        # A donor of a shipped transfer received the units before it sent them.
        here = (in_transit.item > first) & (in_transit.item <= first + len(demands))
        if here.any():
            level = (in_transit.item[here] - first - 1) * n_sites + in_transit.from_site[here] - 1
            quantity = in_transit.quantity[here]
            movements += [
                MovementBatch(level, quantity),
                MovementBatch(level, -quantity, MovementReason.TRANSFER_OUT, in_transit.transfer_id[here]),
            ]
        open_levels(
            session,
            site[1:][site_grid.ravel()],
            item[first + 1 :][item_grid.ravel()],
            movements,
            ACTOR,
            now,
            safety_stock=safety.ravel(),
        )
        advance(on_hand.size)

    _insert(
        session,
        Backorder,
        [
            {
                "site_id": int(site[s]),
                "item_id": int(item[d.item_id]),
                "quantity": int(q),
                "fulfilled": 0,
                "covered": 0,
                "priority": RANKS[int(r)],
                "status": BackorderStatus.OPEN,
                "created_at": now,
                "needed_by": None if np.isnan(t) else datetime.fromtimestamp(float(t), UTC),
            }
            for d in problem.items
            for s, q, r, t in zip(
                d.backorder_site.tolist(),
                d.backorder_open.tolist(),
                d.backorder_rank.tolist(),
                d.backorder_needed_by.tolist(),
                strict=True,
            )
        ],
    )
    return LoadedIds(site=site, item=item, lane=lane)


def _ship_earlier_transfers(
    session: Session, problem: RegionProblem, site: np.ndarray, item: np.ndarray, lane: np.ndarray, now: datetime
) -> _InTransit:
    """Units already on their way on capacitated lanes: shipped transfers of a superseded plan, using up capacity."""
    lanes = problem.lanes
    ends = dict(
        zip(lanes.lane_id.tolist(), zip(lanes.from_site.tolist(), lanes.to_site.tolist(), strict=True), strict=True)
    )
    committed = [
        (d.item_id, lane_id, *ends[lane_id], q)
        for d in problem.items
        for lane_id, q in zip(d.committed_lane_id.tolist(), d.committed_quantity.tolist(), strict=True)
    ]
    if not committed:
        empty = np.zeros(0, dtype=np.int64)
        return _InTransit(empty, empty, empty, empty)
    plan_id = _insert(session, Plan, [_earlier_plan(now)])[0]
    transfer_ids = _insert(
        session,
        Transfer,
        [
            {
                "plan_id": plan_id,
                "lane_id": int(lane[lane_id]),
                "from_site_id": int(site[tail]),
                "to_site_id": int(site[head]),
                "item_id": int(item[item_id]),
                "quantity": int(q),
                "unit_cost": Decimal(0),
                "lead_time_hours": 1,
                "status": TransferStatus.SHIPPED,
                "created_at": now,
                "shipped_at": now,
            }
            for item_id, lane_id, tail, head, q in committed
        ],
    )
    columns = np.array([(item_id, tail, q) for item_id, _, tail, _, q in committed], dtype=np.int64).reshape(-1, 3)
    return _InTransit(columns[:, 0], columns[:, 1], columns[:, 2], np.array(transfer_ids, dtype=np.int64))


def _earlier_plan(now: datetime) -> dict[str, Any]:
    return {
        "region": REGION,
        "mode": PlanMode.POOL_FIRST,
        "status": PlanStatus.SUPERSEDED,
        "skus": None,
        "units_requested": 0,
        "units_by_transfer": 0,
        "units_by_reorder": 0,
        "units_unmet": 0,
        "transfer_cost": Decimal(0),
        "reorder_cost": Decimal(0),
        "all_external_cost": Decimal(0),
        "solve_millis": 0,
        "nodes": 0,
        "arcs": 0,
        "actor": ACTOR,
        "created_at": now,
    }


def saved_transfers(session: Session, plan_id: int, ids: LoadedIds) -> list[tuple[int, int, int, int]]:
    """A saved plan's transfers as sorted (item, from, to, quantity) in the problem's ids."""
    site = {int(db_id): k for k, db_id in enumerate(ids.site) if k}
    item = {int(db_id): k for k, db_id in enumerate(ids.item) if k}
    rows = session.execute(
        select(Transfer.item_id, Transfer.from_site_id, Transfer.to_site_id, Transfer.quantity).where(
            Transfer.plan_id == plan_id
        )
    )
    return sorted((item[i], site[f], site[t], q) for i, f, t, q in rows)


def _insert(session: Session, model: type[Base], records: list[dict[str, Any]]) -> list[int]:
    return insert_records(session, cast(Table, model.__table__), records)
