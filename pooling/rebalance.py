"""Rebalance a region: read what the solver needs, solve, and (unless a dry run) save the plan.

A saved plan supersedes the suggestions of earlier plans of the region (for the items it covers) that nobody
approved; everything approved is a commitment the new plan builds on (reserved at the donor, covered at the
backorder, lane capacity used).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import numpy as np
from sqlalchemy import ColumnElement, Row, Select, Table, case, func, select, text, update
from sqlalchemy.orm import Session

from models import (
    Backorder,
    Base,
    Item,
    Lane,
    LineReason,
    Plan,
    PlanMode,
    PlanStatus,
    PlanUnmet,
    Reorder,
    ReorderAllocation,
    ReorderStatus,
    SharingPolicy,
    Site,
    StockLevel,
    Transfer,
    TransferAllocation,
    TransferStatus,
    UnmetReason,
    utcnow,
)
from models.bulk import insert_rows, reserve_ids
from pooling import events
from pooling.backorders import HAS_OPEN, SPARE, WAITING, priority_rank
from pooling.errors import ErrorCode, PoolingError
from pooling.history import SYSTEM, Kind, record, record_all
from pooling.money import cents
from pooling.money import from_cents as money
from pooling.replenish import DEFAULT_COST_SHARE, default_cost_share, replenishment
from pooling.sharing import share_caps
from pooling.solver import ItemDemand, Lanes, RegionPlan, RegionProblem, SolverError, solve_region
from pooling.solver.problem import IntArray, ReorderLine, TransferLine, floats, ints
from pooling.transfers import COMMITTED


def rebalance(
    session: Session,
    region: str,
    mode: PlanMode = PlanMode.POOL_FIRST,
    skus: Sequence[str] | None = None,
    dry_run: bool = True,
    actor: str | None = None,
    now: datetime | None = None,
    processes: int | None = None,
    stages: dict[str, float] | None = None,
    proactive: bool = False,
    solver: Callable[[RegionProblem], RegionPlan] | None = None,
) -> Plan:
    """Plan transfers and reorders for the region's open backorders; save them unless `dry_run`.

    `proactive` adds, below every backorder, REPLENISH demand of sites projected below their reorder point
    (`pooling.replenish`).

    `stages`, when given, receives the seconds spent reading, solving (wall time; `build` and `flow` split the
    solver's own time, summed over processes) and writing. `solver` replaces the optimal solve by another rule
    (`stockpool simulate` plans its nearest-donor baseline, `pooling.solver.baselines.greedy_region`, this way).
    """
    clock = Stopwatch(stages)
    now = now or utcnow()
    if not dry_run:
        _one_rebalance_at_a_time(session, region)
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.region == region, Site.active))}
    if not sites:
        raise PoolingError(ErrorCode.NOT_FOUND, f"No active site in region {region!r}.", "region")
    scope = _items_in_scope(session, skus)
    problem = _read_problem(session, region, scope, PlanMode(mode), now, proactive)
    clock.lap("read")
    try:
        solved = solver(problem) if solver else solve_region(problem, processes=processes)
    except SolverError as error:
        raise PoolingError(ErrorCode.SOLVER_FAILED, f"The planner could not find an optimal plan: {error}.") from error
    clock.lap("solve")
    clock.record("build", solved.figures.build_seconds)
    clock.record("flow", solved.figures.flow_seconds)
    plan = _plan(region, PlanMode(mode), skus, solved, actor, dry_run)
    if dry_run:
        _add_suggestions(session, plan, solved, sites)
    else:
        _supersede(session, region, scope, actor)
        session.add(plan)
        session.flush()
        _save_suggestions(session, plan, solved)
        record(session, Kind.PLAN, plan.id, actor, "CREATED", f"saved rebalance of region {region}")
        events.plan_saved(session, plan, len(solved.transfers), len(solved.reorders))
    clock.lap("write")
    return plan


class Stopwatch:
    """Seconds per stage into a dict (or nowhere)."""

    def __init__(self, into: dict[str, float] | None) -> None:
        self.into = into
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.record(stage, now - self.last)
        self.last = now

    def record(self, stage: str, seconds: float) -> None:
        if self.into is not None:
            self.into[stage] = self.into.get(stage, 0.0) + seconds


def _one_rebalance_at_a_time(session: Session, region: str) -> None:
    """Two saved rebalances of one region never interleave (SQLite's write lock already serialises them)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('rebalance:' || :region))"), {"region": region})


def _items_in_scope(session: Session, skus: Sequence[str] | None) -> dict[int, Item] | None:
    if skus is None:
        return None
    items = {i.sku: i for i in session.scalars(select(Item).where(Item.sku.in_(list(skus))))}
    missing = [sku for sku in skus if sku not in items]
    if missing:
        raise PoolingError(ErrorCode.NOT_FOUND, f"No item {', '.join(map(repr, missing))}.", "skus")
    return {item.id: item for item in items.values()}


def _read_problem(
    session: Session, region: str, scope: dict[int, Item] | None, mode: PlanMode, now: datetime, proactive: bool
) -> RegionProblem:
    """Only what the plan needs: the items with an open backorder in the region, their donors, the lanes.

    Rows arrive sorted by item and go into numpy arrays column by column, split per item without a Python loop
    per row (except for needed-by times, which only dated backorders have).
    """
    if session.get_bind().dialect.name == "postgresql":
        # The reads stream through server-side cursors, which PostgreSQL plans for the first rows (nested loops);
        # every row is wanted, so plan for all of them.
        session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
    region_sites = select(Site.id).where(Site.region == region, Site.active)
    waiting = (
        Backorder.site_id.in_(region_sites),
        Backorder.status.in_(HAS_OPEN),
        Backorder.open > 0,
        *((Backorder.item_id.in_(list(scope)),) if scope is not None else ()),
    )
    needed_items: Select[Any] = select(Backorder.item_id).where(*waiting).distinct()
    wanted = replenishment(session, region_sites, list(scope) if scope is not None else None) if proactive else {}
    if wanted:
        needed_items = select(Item.id).where(
            Item.id.in_(needed_items) | Item.id.in_(sorted({item for _, item in wanted}))
        )
    backorders = _columns(
        session,
        select(Backorder.item_id, Backorder.id, Backorder.site_id, Backorder.open, priority_rank, Backorder.needed_by)
        .where(*waiting)
        .order_by(Backorder.item_id, Backorder.site_id, Backorder.id),
        times=(5,),
    )
    donors = _donors(session, region_sites, needed_items)
    committed = _columns(  # (item, lane, units) of approved and shipped transfers: lane capacity already used
        session,
        select(Transfer.item_id, Transfer.lane_id, func.sum(Transfer.quantity))
        .where(Transfer.status.in_(COMMITTED), Transfer.item_id.in_(needed_items))
        .group_by(Transfer.item_id, Transfer.lane_id)
        .order_by(Transfer.item_id, Transfer.lane_id),
    )
    items = session.execute(
        select(Item.id, Item.unit_cost, Item.purchasable, Item.supplier_lead_time_days, Item.replenish_cost_share)
        .where(Item.id.in_(needed_items))
        .order_by(Item.id)
    ).all()
    lanes = session.execute(
        select(Lane.id, Lane.from_site_id, Lane.to_site_id, Lane.unit_cost, Lane.lead_time_hours, Lane.capacity)
        .where(Lane.active, Lane.from_site_id.in_(region_sites), Lane.to_site_id.in_(region_sites))
        .order_by(Lane.id)
    ).all()
    return RegionProblem(
        lanes=Lanes.of([(i, f, t, cents(c), h, cap) for i, f, t, c, h, cap in lanes]),
        items=_demands(items, backorders, donors, committed, wanted, _caps(session, region_sites, donors)),
        mode=mode.value,
        now=now.timestamp(),
    )


def _donors(session: Session, region_sites: Select[Any], needed_items: Select[Any]) -> list[np.ndarray]:
    """(item, site, surplus, available, units above the reorder point) of the region's sites that can spare a
    needed item, sorted by item."""
    available = StockLevel.on_hand - StockLevel.reserved
    kept = case(
        (StockLevel.reorder_point > StockLevel.safety_stock, StockLevel.reorder_point), else_=StockLevel.safety_stock
    )
    spare = _columns(
        session,
        select(StockLevel.item_id, StockLevel.site_id, SPARE, available, available - kept)
        .where(StockLevel.site_id.in_(region_sites), StockLevel.item_id.in_(needed_items), SPARE > 0)
        .order_by(StockLevel.item_id, StockLevel.site_id),
    )
    # A site that waits for the item gives none of it. Filtered here, not by NOT EXISTS in SQL: PostgreSQL
    # estimates that anti-join at one row and plans a nested loop over every donor and item.
    waits = _columns(
        session,
        select(Backorder.item_id, Backorder.site_id)
        .where(Backorder.site_id.in_(region_sites), Backorder.item_id.in_(needed_items), Backorder.status.in_(WAITING))
        .distinct(),
    )
    pair = (spare[0] << 32) | spare[1]
    gives = ~np.isin(pair, (waits[0] << 32) | waits[1])
    return [column[gives] for column in spare]


def _caps(session: Session, region_sites: Select[Any], donors: list[np.ndarray]) -> np.ndarray | None:
    """Per donor row, its sharing rule's cap (-1: none); None when no site of the region has a rule."""
    if session.scalar(select(SharingPolicy.id).where(SharingPolicy.site_id.in_(region_sites)).limit(1)) is None:
        return None
    item, site, available = (column.tolist() for column in donors[:2] + donors[3:4])
    caps = share_caps(session, zip(site, item, available, strict=True))
    return ints([caps[(s, i)] for s, i in zip(site, item, strict=True)])


def _demands(
    items: Sequence[Row[int, Decimal, bool, int, Decimal | None]],
    backorders: list[np.ndarray],
    donors: list[np.ndarray],
    committed: list[np.ndarray],
    wanted: dict[tuple[int, int], int],
    caps: np.ndarray | None,
) -> list[ItemDemand]:
    """One demand per item: its rows of each read, split off by item (all reads are sorted by item)."""
    item_ids = ints([row.id for row in items])
    bo = _split(item_ids, *backorders)
    give = _split(item_ids, donors[0], donors[1], donors[2], np.maximum(donors[4], 0))
    cap = _split(item_ids, donors[0], caps)[0] if caps is not None else [ints([])] * len(items)
    used = _split(item_ids, committed[0], committed[1], committed[2])
    replenish: dict[int, list[tuple[int, int]]] = {}
    for (site, item), units in sorted(wanted.items()):
        replenish.setdefault(item, []).append((site, units))
    share = default_cost_share() if wanted else DEFAULT_COST_SHARE
    return [
        ItemDemand(
            item_id=item.id,
            price_cents=cents(item.unit_cost),
            purchasable=item.purchasable,
            supplier_lead_hours=item.supplier_lead_time_days * 24,
            donor_site=give[0][k],
            donor_surplus=give[1][k],
            backorder_id=bo[0][k],
            backorder_site=bo[1][k],
            backorder_open=bo[2][k],
            backorder_rank=bo[3][k],
            backorder_needed_by=bo[4][k],
            committed_lane_id=used[0][k],
            committed_quantity=used[1][k],
            donor_share_cap=cap[k],
            donor_above_reorder_point=give[2][k],
            replenish_site=ints([site for site, _ in replenish.get(item.id, [])]),
            replenish_units=ints([units for _, units in replenish.get(item.id, [])]),
            replenish_cost_share=float(item.replenish_cost_share) if item.replenish_cost_share is not None else share,
        )
        for k, item in enumerate(items)
    ]


READ_CHUNK_ROWS = 100_000


def _columns(session: Session, statement: Select[*tuple[Any, ...]], times: tuple[int, ...] = ()) -> list[np.ndarray]:
    """A query's columns as numpy arrays, streamed in chunks (a server-side cursor on PostgreSQL) so that no
    Python object per row outlives its chunk: int64, or epoch seconds (NaN for none) for the `times` columns."""
    width = len(statement.selected_columns)
    parts: list[list[np.ndarray]] = [[] for _ in range(width)]
    result = session.execute(statement, execution_options={"yield_per": READ_CHUNK_ROWS})
    for rows in result.partitions():
        for k, column in enumerate(zip(*rows, strict=True)):
            if k in times:
                parts[k].append(floats([t.timestamp() if t is not None else np.nan for t in column]))
            else:
                parts[k].append(ints(column))
    return [np.concatenate(p) if p else (floats([]) if k in times else ints([])) for k, p in enumerate(parts)]


def _split(item_ids: IntArray, row_item: np.ndarray, *columns: np.ndarray) -> list[list[np.ndarray]]:
    """Per column, one array per item of `item_ids` holding exactly that item's rows (rows are sorted by item).

    Rows of an item not in `item_ids` are left out, never handed to a neighbour: on PostgreSQL each read sees the
    data as of its own start, so a backorder can close (or open) between the reads of rows and of items.
    """
    first = np.searchsorted(row_item, item_ids, side="left")
    end = np.searchsorted(row_item, item_ids, side="right")
    return [[np.asarray(column)[a:b] for a, b in zip(first, end, strict=True)] for column in columns]


def _plan(
    region: str, mode: PlanMode, skus: Sequence[str] | None, solved: RegionPlan, actor: str | None, dry_run: bool
) -> Plan:
    figures = solved.figures
    return Plan(
        region=region,
        mode=mode,
        status=PlanStatus.DRY_RUN if dry_run else PlanStatus.CURRENT,
        skus=list(skus) if skus is not None else None,
        units_requested=figures.units_requested,
        units_by_transfer=figures.units_by_transfer,
        units_by_reorder=figures.units_by_reorder,
        units_unmet=figures.units_unmet,
        units_proactive=figures.units_proactive,
        transfer_cost=money(figures.transfer_cost_cents),
        reorder_cost=money(figures.reorder_cost_cents),
        all_external_cost=money(figures.all_external_cost_cents),
        solve_millis=round(figures.solve_seconds * 1000),
        nodes=figures.nodes,
        arcs=figures.arcs,
        actor=actor,
        created_at=utcnow(),
    )


# The columns of a suggested transfer and reorder, as `_suggested_transfer` and `_suggested_reorder` give them.
TRANSFER_COLUMNS = (
    "lane_id",
    "from_site_id",
    "to_site_id",
    "item_id",
    "quantity",
    "unit_cost",
    "lead_time_hours",
    "status",
    "reason",
)
REORDER_COLUMNS = ("site_id", "item_id", "quantity", "unit_cost", "status", "reason")


def _suggested_transfer(t: TransferLine) -> tuple[Any, ...]:
    return (
        t.lane_id,
        t.from_site,
        t.to_site,
        t.item_id,
        t.quantity,
        money(t.unit_cost_cents),
        t.lead_hours,
        TransferStatus.SUGGESTED,
        LineReason(t.reason),
    )


def _suggested_reorder(r: ReorderLine) -> tuple[Any, ...]:
    return (r.site, r.item_id, r.quantity, money(r.unit_cost_cents), ReorderStatus.SUGGESTED, LineReason(r.reason))


def _add_suggestions(session: Session, plan: Plan, solved: RegionPlan, sites: dict[int, Site]) -> None:
    """A dry run's suggestions as objects that are never stored, for the caller to read."""
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_([p.item_id for p in solved.items])))}
    plan.transfers = [
        Transfer(
            **dict(zip(TRANSFER_COLUMNS, _suggested_transfer(t), strict=True)),
            from_site=sites[t.from_site],
            to_site=sites[t.to_site],
            item=items[t.item_id],
            created_at=plan.created_at,
            allocations=[TransferAllocation(backorder_id=a.backorder_id, quantity=a.quantity) for a in t.allocations],
        )
        for t in solved.transfers
    ]
    plan.reorders = [
        Reorder(
            **dict(zip(REORDER_COLUMNS, _suggested_reorder(r), strict=True)),
            site=sites[r.site],
            item=items[r.item_id],
            created_at=plan.created_at,
            allocations=[ReorderAllocation(backorder_id=a.backorder_id, quantity=a.quantity) for a in r.allocations],
        )
        for r in solved.reorders
    ]
    plan.unmet = [
        PlanUnmet(
            site=sites[u.site],
            item=items[u.item_id],
            quantity=u.quantity,
            demand=LineReason(u.demand),
            reason=UnmetReason(u.reason),
        )
        for u in solved.unmet
    ]


def _save_suggestions(session: Session, plan: Plan, solved: RegionPlan) -> None:
    """Write a saved plan's suggestions in bulk: ids reserved first, then one COPY or executemany per table."""
    _insert_suggested(
        session, plan, Transfer, TRANSFER_COLUMNS, [_suggested_transfer(t) for t in solved.transfers], solved.transfers
    )
    _insert_suggested(
        session, plan, Reorder, REORDER_COLUMNS, [_suggested_reorder(r) for r in solved.reorders], solved.reorders
    )
    insert_rows(
        session,
        _table(PlanUnmet),
        ("plan_id", "site_id", "item_id", "quantity", "demand", "reason"),
        [(plan.id, u.site, u.item_id, u.quantity, LineReason(u.demand), UnmetReason(u.reason)) for u in solved.unmet],
    )
    session.expire(plan, ["transfers", "reorders", "unmet"])


def _insert_suggested(
    session: Session,
    plan: Plan,
    model: type[Transfer] | type[Reorder],
    columns: tuple[str, ...],
    values: list[tuple[Any, ...]],
    lines: Sequence[TransferLine | ReorderLine],
) -> None:
    """Suggested transfers (or reorders) of the plan, then what each covers of which backorder."""
    ids = reserve_ids(session, _table(model), len(values))
    at = plan.created_at
    insert_rows(
        session,
        _table(model),
        ("id", "plan_id", *columns, "created_at"),
        [(i, plan.id, *row, at) for i, row in zip(ids, values, strict=True)],
    )
    allocation, key = (TransferAllocation, "transfer_id") if model is Transfer else (ReorderAllocation, "reorder_id")
    insert_rows(
        session,
        _table(allocation),
        (key, "backorder_id", "quantity"),
        [(i, a.backorder_id, a.quantity) for i, line in zip(ids, lines, strict=True) for a in line.allocations],
    )


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _supersede(session: Session, region: str, scope: dict[int, Item] | None, actor: str | None) -> None:
    """Mark the region's unapproved suggestions (for the items in scope) and its earlier plans superseded.

    The history names the system as the actor, and who saved the newer plan in the note."""
    note = f"superseded by a newer plan of region {region}, saved by {actor or SYSTEM}"
    plans_of_region = select(Plan.id).where(Plan.region == region)
    for model, suggested, superseded in (
        (Transfer, TransferStatus.SUGGESTED, TransferStatus.SUPERSEDED),
        (Reorder, ReorderStatus.SUGGESTED, ReorderStatus.SUPERSEDED),
    ):
        unapproved: list[ColumnElement[bool]] = [model.plan_id.in_(plans_of_region), model.status == suggested]
        if scope is not None:
            unapproved.append(model.item_id.in_(list(scope)))
        # Lock them in id order first (as every operation locks records), in one statement however many they are:
        # a region's earlier plan may hold hundreds of thousands, more than a statement may have parameters.
        session.execute(select(model.id).where(*unapproved).order_by(model.id).with_for_update(key_share=True))
        kind = Kind.TRANSFER if model is Transfer else Kind.REORDER
        record_all(session, kind, model, unapproved, SYSTEM, superseded.value, note)
        session.execute(
            update(model).where(*unapproved).values(status=superseded, closed_at=utcnow()),
            execution_options={"synchronize_session": False},
        )
    if scope is None:
        session.execute(
            update(Plan)
            .where(Plan.region == region, Plan.status == PlanStatus.CURRENT)
            .values(status=PlanStatus.SUPERSEDED)
        )
