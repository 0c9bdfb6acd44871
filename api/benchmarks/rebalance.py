"""`stockpool bench`: a random network loaded in bulk, rebalanced end to end, beside the raw solver and a greedy rule.

Stages of the end-to-end rebalance (one saved plan, committed): read (the rows the plan needs, into numpy
arrays), solve (wall time; `build` and `flow` split the solver's own work, summed over processes), write (the
plan's rows, bulk-inserted, and the commit). The same instance is then solved by the pure solver alone on one
process and on all cores (the raw figures), and by the greedy nearest-donor rule. Figures are printed, never
asserted: tests only check that the bench runs and that its plan equals the pure solver's.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import resource
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from models import (
    Backorder,
    BackorderStatus,
    Base,
    Item,
    Lane,
    Movement,
    MovementReason,
    Plan,
    PlanMode,
    PlanStatus,
    Priority,
    Site,
    StockLevel,
    Transfer,
    TransferStatus,
)
from models.db import Database
from pooling.rebalance import rebalance
from pooling.solver import RegionPlan, RegionProblem, solve_region
from pooling.solver.greedy import greedy_region
from pooling.solver.problem import NO_CAPACITY
from pooling.solver.random_network import random_region

REGION = "bench"
RANKS = {p.rank: p for p in Priority}
Progress = Callable[[str, int], Callable[[int], None]]  # (stage, total rows) -> advance(rows)


@dataclass
class Figures:
    units_requested: int
    units_by_transfer: int
    units_by_reorder: int
    units_unmet: int
    transfer_cost: str
    reorder_cost: str
    total_cost: str

    @classmethod
    def of(cls, plan: RegionPlan) -> Figures:
        f = plan.figures
        return cls(
            f.units_requested,
            f.units_by_transfer,
            f.units_by_reorder,
            f.units_unmet,
            _money(f.transfer_cost_cents),
            _money(f.reorder_cost_cents),
            _money(f.total_cost_cents),
        )


@dataclass
class BenchReport:
    database: str
    sites: int
    items: int
    lanes: str
    seed: int
    lane_count: int = 0
    stock_rows: int = 0
    backorders: int = 0
    items_planned: int = 0
    arcs: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    optimal: Figures | None = None
    greedy: Figures | None = None
    same_plan_as_raw_solver: bool = False

    @property
    def end_to_end(self) -> float:
        return sum(self.seconds.get(stage, 0.0) for stage in ("read", "solve", "write"))

    def ratios(self) -> dict[str, float]:
        raw = self.seconds.get("raw_solve_1_process") or float("nan")
        return {
            "end_to_end / raw 1-process solve": self.end_to_end / raw,
            "raw 2-process solve / raw 1-process solve": self.seconds.get("raw_solve_all_cores", float("nan")) / raw,
        }

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": {**self.seconds, "end_to_end": self.end_to_end}, "ratios": self.ratios()}


def run_bench(
    db: Database,
    sites: int,
    items: int,
    lanes: str = "dense",
    backorder_share: float = 0.1,
    surplus_share: float = 0.4,
    backordered_items: float = 1.0,
    seed: int = 0,
    processes: int | None = None,
    progress: Progress | None = None,
) -> BenchReport:
    """Generate, load (into an empty database), rebalance end to end, then solve raw and greedily."""
    report = BenchReport(db.display_url, sites, items, lanes, seed)
    with db.reading() as s:
        if s.scalar(select(func.count(Site.id))):
            raise ValueError("the bench loads into an empty database; this one has sites (use a new database)")

    started = time.perf_counter()
    problem = random_region(
        sites, items, lanes, backorder_share, surplus_share, seed, backordered_items=backordered_items
    )
    report.seconds["generate"] = time.perf_counter() - started
    report.lane_count = len(problem.lanes)

    started = time.perf_counter()
    with db.transaction() as s:
        ids = load(s, problem, seed, progress)
    with db.engine.connect() as connection:  # statistics, as a database in service has them
        connection.execute(text("ANALYZE"))
        connection.commit()
    report.seconds["load"] = time.perf_counter() - started
    report.stock_rows = sites * items
    report.backorders = sum(len(d.backorder_id) for d in problem.items)

    # In a fresh process, so that its peak memory is the rebalance's own, not the generator's or the loader's.
    # (A process pool's workers may start the solver's own worker processes; multiprocessing.Pool's may not.)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        url = db.engine.url.render_as_string(hide_password=False)
        stages, plan_id, peak_self = pool.submit(_rebalance_process, url, problem.now, processes).result()
    report.seconds.update(stages)
    report.peak_rss_mb["rebalance process"] = peak_self

    started = time.perf_counter()
    raw = solve_region(problem, processes=1)
    report.seconds["raw_solve_1_process"] = time.perf_counter() - started
    report.seconds["raw_build_1_process"] = raw.figures.build_seconds
    report.seconds["raw_flow_1_process"] = raw.figures.flow_seconds
    report.peak_rss_mb["bench process after raw solve"] = _peak_mb()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    started = time.perf_counter()
    solve_region(problem, processes=cores)
    report.seconds["raw_solve_all_cores"] = time.perf_counter() - started

    started = time.perf_counter()
    greedy = greedy_region(problem)
    report.seconds["greedy"] = time.perf_counter() - started

    report.items_planned = len([p for p in raw.items if p.units_requested])
    report.arcs = raw.figures.arcs
    report.optimal = Figures.of(raw)
    report.greedy = Figures.of(greedy)
    with db.reading() as s:
        report.same_plan_as_raw_solver = saved_transfers(s, plan_id, ids) == raw_transfers(raw)
    return report


def _rebalance_process(url: str, now: float, processes: int | None) -> tuple[dict[str, float], int, float]:
    db = Database(url)
    stages: dict[str, float] = {}
    with db.transaction() as s:
        plan = rebalance(
            s, REGION, dry_run=False, now=datetime.fromtimestamp(now, UTC), processes=processes, stages=stages
        )
        plan_id = plan.id
        committing = time.perf_counter()
    stages["write"] += time.perf_counter() - committing
    db.dispose()
    return stages, plan_id, _peak_mb()


@dataclass(frozen=True)
class LoadedIds:
    """Database ids by the problem's ids (index = problem id)."""

    site: np.ndarray
    item: np.ndarray
    lane: np.ndarray


def load(session: Session, problem: RegionProblem, seed: int, progress: Progress | None = None) -> LoadedIds:
    """Sites, items, lanes, a stock level for every (site, item) with a RECEIPT movement for what is on hand,
    and the backorders, all inserted in bulk (COPY on PostgreSQL, executemany elsewhere)."""
    rng = np.random.default_rng(seed + 1)
    now = datetime.fromtimestamp(problem.now, UTC)
    n_sites = int(
        max(problem.lanes.top_site, max((int(d.backorder_site.max(initial=0)) for d in problem.items), default=0))
    )
    n_items = len(problem.items)
    site_ids = _returning(
        session,
        Site,
        [
            {"code": f"S{k:05}", "name": f"Site {k}", "region": REGION, "active": True, "created_at": now}
            for k in range(1, n_sites + 1)
        ],
    )
    item_ids = _returning(
        session,
        Item,
        [
            {
                "sku": f"I{d.item_id:06}",
                "name": f"Item {d.item_id}",
                "unit": "each",
                "unit_cost": Decimal(d.price_cents) / 100,
                "supplier_lead_time_days": d.supplier_lead_hours // 24,
                "purchasable": d.purchasable,
                "created_at": now,
            }
            for d in problem.items
        ],
    )
    site = np.concatenate([[0], site_ids])
    item = np.concatenate([[0], item_ids])
    lanes = problem.lanes
    lane_ids = _returning(
        session,
        Lane,
        [
            {
                "from_site_id": int(site[f]),
                "to_site_id": int(site[t]),
                "unit_cost": Decimal(int(c)) / 100,
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

    # On hand per (site, item): surplus plus a safety stock at donors; nothing where a site waits or neither.
    # Built and inserted a block of items at a time, so that memory stays flat however large the network.
    block = max(1, BLOCK_ROWS // n_sites)
    advance_levels = progress("stock levels", n_items * n_sites) if progress else (lambda _: None)
    for first in range(0, n_items, block):
        demands = problem.items[first : first + block]
        on_hand = np.zeros((len(demands), n_sites), dtype=np.int64)
        safety = np.zeros((len(demands), n_sites), dtype=np.int64)
        for k, d in enumerate(demands):
            donors = d.donor_site - 1
            safety[k, donors] = rng.integers(0, 4, size=len(donors))
            on_hand[k, donors] = d.donor_surplus + safety[k, donors]
        item_grid, site_grid = np.indices(on_hand.shape)
        level_site, level_item = site[1:][site_grid.ravel()], item[first + 1 :][item_grid.ravel()]
        levels = {
            "site_id": level_site,
            "item_id": level_item,
            "on_hand": on_hand.ravel(),
            "reserved": 0,
            "safety_stock": safety.ravel(),
            "reorder_point": 0,
            "version": 1,
        }
        _bulk(session, StockLevel, levels)
        stocked = np.flatnonzero(on_hand.ravel())
        _bulk(
            session,
            Movement,
            {
                "site_id": level_site[stocked],
                "item_id": level_item[stocked],
                "quantity": on_hand.ravel()[stocked],
                "reason": MovementReason.RECEIPT.value,
                "actor": "bench",
                "created_at": now,
            },
        )
        advance_levels(on_hand.size)

    backorders = [
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
    ]
    backorder_ids = _returning(session, Backorder, backorders)
    committed = [
        (int(item[d.item_id]), int(lane[lane_id]), int(q))
        for d in problem.items
        for lane_id, q in zip(d.committed_lane_id.tolist(), d.committed_quantity.tolist(), strict=True)
    ]
    if committed:  # units already on their way on capacitated lanes: approved transfers of an earlier plan
        _commit_earlier_transfers(session, committed, site_ids, lanes, lane, now)
    del backorder_ids
    return LoadedIds(site=site, item=item, lane=lane)


def _commit_earlier_transfers(
    session: Session,
    committed: list[tuple[int, int, int]],
    site_ids: list[int],
    lanes: Any,
    lane: np.ndarray,
    now: datetime,
) -> None:
    """Shipped transfers that use up lane capacity (in transit: their donors already sent the units)."""
    ends = {
        int(lane[i]): (int(f), int(t))
        for i, f, t in zip(lanes.lane_id.tolist(), lanes.from_site.tolist(), lanes.to_site.tolist(), strict=True)
    }
    plan_id = _returning(
        session,
        Plan,
        [
            {
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
                "actor": "bench",
                "created_at": now,
            }
        ],
    )[0]
    rows = []
    for item_id, lane_id, quantity in committed:
        tail, head = ends[lane_id]
        rows.append(
            {
                "plan_id": plan_id,
                "lane_id": lane_id,
                "from_site_id": site_ids[tail - 1],
                "to_site_id": site_ids[head - 1],
                "item_id": item_id,
                "quantity": quantity,
                "unit_cost": Decimal(0),
                "lead_time_hours": 1,
                "status": TransferStatus.SHIPPED,
                "created_at": now,
                "shipped_at": now,
            }
        )
    transfer_ids = _returning(session, Transfer, rows)
    _bulk(
        session,
        Movement,
        {
            "site_id": np.array([r["from_site_id"] for r in rows]),
            "item_id": np.array([r["item_id"] for r in rows]),
            "quantity": np.array([r["quantity"] for r in rows]),
            "reason": MovementReason.RECEIPT.value,
            "actor": "bench",
            "created_at": now,
        },
    )
    _bulk(
        session,
        Movement,
        {
            "site_id": np.array([r["from_site_id"] for r in rows]),
            "item_id": np.array([r["item_id"] for r in rows]),
            "quantity": -np.array([r["quantity"] for r in rows]),
            "reason": MovementReason.TRANSFER_OUT.value,
            "transfer_id": np.array(transfer_ids),
            "actor": "bench",
            "created_at": now,
        },
    )


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


def raw_transfers(plan: RegionPlan) -> list[tuple[int, int, int, int]]:
    return sorted((t.item_id, t.from_site, t.to_site, t.quantity) for t in plan.transfers)


def _returning(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    table = cast(Table, model.__table__)
    return list(session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))


BLOCK_ROWS = 1_000_000  # stock levels generated and inserted per block


def _bulk(session: Session, model: type[Base], columns: dict[str, Any]) -> None:
    """Insert column arrays (scalars repeat): COPY on PostgreSQL, executemany of plain tuples elsewhere."""
    arrays = [v for v in columns.values() if isinstance(v, np.ndarray)]
    length = len(arrays[0]) if arrays else 0
    if not length:
        return
    table = cast(Table, model.__table__)
    names = list(columns)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        copying = f"COPY {table.name} ({', '.join(names)}) FROM STDIN WITH (FORMAT binary)"
        with raw.cursor() as cursor, cursor.copy(copying) as copy:  # type: ignore[union-attr]
            copy.write(_binary_rows(columns, names, length))
        return
    statement = str(insert(table).compile(connection, column_keys=names))
    rows = zip(*_values(columns, names, length, sqlite=True), strict=False)
    connection.connection.cursor().executemany(statement, rows)  # type: ignore[arg-type]


def _values(columns: dict[str, Any], names: list[str], length: int, sqlite: bool) -> list[Iterable[Any]]:
    out: list[Iterable[Any]] = []
    for name in names:
        value = columns[name]
        if isinstance(value, np.ndarray):
            out.append(value.tolist())
        else:
            if isinstance(value, datetime):
                value = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + ("" if sqlite else "+00")
            out.append(itertools.repeat(value, length))
    return out


PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _binary_rows(columns: dict[str, Any], names: list[str], length: int) -> bytes:
    """COPY's binary format built by numpy in one go: per row a field count, then (length, value) per field.

    Arrays are int4 columns; scalars repeat: text as bytes, datetimes as timestamptz (microseconds since 2000).
    """
    values: list[tuple[str, Any]] = []
    for name in names:
        value = columns[name]
        if isinstance(value, np.ndarray):
            values.append((">i4", value))
        elif isinstance(value, datetime):
            values.append((">i8", (value - PG_EPOCH) // timedelta(microseconds=1)))
        elif isinstance(value, int):
            values.append((">i4", value))
        else:
            encoded = str(value).encode()
            values.append((f"S{len(encoded)}", encoded))
    dtype = [("fields", ">i2")]
    for k, (kind, _) in enumerate(values):
        dtype += [(f"size{k}", ">i4"), (f"value{k}", kind)]
    rows = np.empty(length, dtype=dtype)
    rows["fields"] = len(values)
    for k, (kind, value) in enumerate(values):
        rows[f"size{k}"] = np.dtype(kind).itemsize
        rows[f"value{k}"] = value
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    return header + rows.tobytes() + (-1).to_bytes(2, "big", signed=True)


def _peak_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, which starts afresh in a spawned process (getrusage's
    maxrss carries the parent's peak across exec); getrusage elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _money(amount_cents: int) -> str:
    return f"{Decimal(amount_cents) / 100:.2f}"
