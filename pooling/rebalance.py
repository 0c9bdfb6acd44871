"""Rebalance a region: read what the solver needs, solve, and (unless a dry run) save the plan.

A saved plan supersedes the suggestions of earlier plans of the region (for the items it covers) that nobody
approved; everything approved is a commitment the new plan builds on (reserved at the donor, covered at the
backorder, lane capacity used).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from models import (
    Backorder,
    Item,
    Lane,
    Plan,
    PlanMode,
    PlanStatus,
    PlanUnmet,
    Reorder,
    ReorderAllocation,
    ReorderStatus,
    Site,
    StockLevel,
    Transfer,
    TransferAllocation,
    TransferStatus,
    utcnow,
)
from models.enums import Priority
from pooling.backorders import HAS_OPEN, WAITING
from pooling.errors import ErrorCode, PoolingError
from pooling.ledger import lock_records
from pooling.solver import ItemDemand, Lanes, RegionPlan, RegionProblem, SolverError, solve_region
from pooling.solver.problem import floats, ints
from pooling.transfers import COMMITTED


def cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def money(amount_cents: int) -> Decimal:
    return (Decimal(amount_cents) / 100).quantize(Decimal("0.01"))


def rebalance(
    session: Session,
    region: str,
    mode: PlanMode = PlanMode.POOL_FIRST,
    skus: Sequence[str] | None = None,
    dry_run: bool = True,
    actor: str | None = None,
    now: datetime | None = None,
    processes: int | None = None,
) -> Plan:
    """Plan transfers and reorders for the region's open backorders; save them unless `dry_run`."""
    now = now or utcnow()
    if not dry_run:
        _one_rebalance_at_a_time(session, region)
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.region == region, Site.active))}
    if not sites:
        raise PoolingError(ErrorCode.NOT_FOUND, f"No active site in region {region!r}.", "region")
    scope = _items_in_scope(session, skus)
    problem = _read_problem(session, sites, scope, PlanMode(mode), now)
    try:
        solved = solve_region(problem, processes=processes)
    except SolverError as error:
        raise PoolingError(ErrorCode.SOLVER_FAILED, f"The planner could not find an optimal plan: {error}.") from error
    plan = _plan_rows(session, region, PlanMode(mode), skus, solved, sites, actor, dry_run)
    if not dry_run:
        _supersede(session, region, scope)
        session.add(plan)
        session.flush()
    return plan


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
    session: Session, sites: dict[int, Site], scope: dict[int, Item] | None, mode: PlanMode, now: datetime
) -> RegionProblem:
    site_ids = list(sites)
    open_quantity = Backorder.quantity - Backorder.fulfilled - Backorder.covered
    waiting_query = select(
        Backorder.id, Backorder.site_id, Backorder.item_id, open_quantity, Backorder.priority, Backorder.needed_by
    ).where(Backorder.site_id.in_(site_ids), Backorder.status.in_(HAS_OPEN), open_quantity > 0)
    if scope is not None:
        waiting_query = waiting_query.where(Backorder.item_id.in_(list(scope)))
    backorders = session.execute(waiting_query).all()
    item_ids = sorted({row.item_id for row in backorders})
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(item_ids)))} if item_ids else {}

    waiting_pairs = set(
        session.execute(
            select(Backorder.site_id, Backorder.item_id)
            .distinct()
            .where(Backorder.site_id.in_(site_ids), Backorder.item_id.in_(item_ids), Backorder.status.in_(WAITING))
        )
    )
    levels = session.execute(
        select(
            StockLevel.site_id, StockLevel.item_id, StockLevel.on_hand - StockLevel.reserved - StockLevel.safety_stock
        ).where(StockLevel.site_id.in_(site_ids), StockLevel.item_id.in_(item_ids))
    ).all()
    donors: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for site_id, item_id, spare in levels:
        if spare > 0 and (site_id, item_id) not in waiting_pairs:
            donors[item_id].append((site_id, spare))

    lanes = session.execute(
        select(Lane.id, Lane.from_site_id, Lane.to_site_id, Lane.unit_cost, Lane.lead_time_hours, Lane.capacity)
        .where(Lane.active, Lane.from_site_id.in_(site_ids), Lane.to_site_id.in_(site_ids))
        .order_by(Lane.id)
    ).all()
    committed: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for lane_id, item_id, quantity in session.execute(
        select(Transfer.lane_id, Transfer.item_id, func.sum(Transfer.quantity))
        .where(Transfer.status.in_(COMMITTED), Transfer.item_id.in_(item_ids))
        .group_by(Transfer.lane_id, Transfer.item_id)
    ):
        committed[item_id].append((lane_id, int(quantity)))

    by_item: dict[int, list] = defaultdict(list)
    for row in backorders:
        by_item[row.item_id].append(row)
    demands = []
    for item_id in item_ids:
        item, rows, gives, used = items[item_id], by_item[item_id], donors[item_id], committed[item_id]
        demands.append(
            ItemDemand(
                item_id=item_id,
                price_cents=cents(item.unit_cost),
                purchasable=item.purchasable,
                supplier_lead_hours=item.supplier_lead_time_days * 24,
                donor_site=ints([s for s, _ in gives]),
                donor_surplus=ints([q for _, q in gives]),
                backorder_id=ints([r.id for r in rows]),
                backorder_site=ints([r.site_id for r in rows]),
                backorder_open=ints([r[3] for r in rows]),
                backorder_rank=ints([Priority(r.priority).rank for r in rows]),
                backorder_needed_by=floats([r.needed_by.timestamp() if r.needed_by else np.nan for r in rows]),
                committed_lane_id=ints([lane for lane, _ in used]),
                committed_quantity=ints([q for _, q in used]),
            )
        )
    return RegionProblem(
        lanes=Lanes.of([(i, f, t, cents(c), h, cap) for i, f, t, c, h, cap in lanes]),
        items=demands,
        mode=mode.value,
        now=now.timestamp(),
    )


def _plan_rows(
    session: Session,
    region: str,
    mode: PlanMode,
    skus: Sequence[str] | None,
    solved: RegionPlan,
    sites: dict[int, Site],
    actor: str | None,
    dry_run: bool,
) -> Plan:
    figures = solved.figures
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_([p.item_id for p in solved.items])))}
    plan = Plan(
        region=region,
        mode=mode,
        status=PlanStatus.DRY_RUN if dry_run else PlanStatus.CURRENT,
        skus=list(skus) if skus is not None else None,
        units_requested=figures.units_requested,
        units_by_transfer=figures.units_by_transfer,
        units_by_reorder=figures.units_by_reorder,
        units_unmet=figures.units_unmet,
        transfer_cost=money(figures.transfer_cost_cents),
        reorder_cost=money(figures.reorder_cost_cents),
        all_external_cost=money(figures.all_external_cost_cents),
        solve_millis=round(figures.solve_seconds * 1000),
        nodes=figures.nodes,
        arcs=figures.arcs,
        actor=actor,
        created_at=utcnow(),
    )
    plan.transfers = [
        Transfer(
            lane_id=t.lane_id,
            from_site=sites[t.from_site],
            to_site=sites[t.to_site],
            item=items[t.item_id],
            quantity=t.quantity,
            unit_cost=money(t.unit_cost_cents),
            lead_time_hours=t.lead_hours,
            status=TransferStatus.SUGGESTED,
            created_at=plan.created_at,
            allocations=[TransferAllocation(backorder_id=a.backorder_id, quantity=a.quantity) for a in t.allocations],
        )
        for t in solved.transfers
    ]
    plan.reorders = [
        Reorder(
            site=sites[r.site],
            item=items[r.item_id],
            quantity=r.quantity,
            unit_cost=money(r.unit_cost_cents),
            status=ReorderStatus.SUGGESTED,
            created_at=plan.created_at,
            allocations=[ReorderAllocation(backorder_id=a.backorder_id, quantity=a.quantity) for a in r.allocations],
        )
        for r in solved.reorders
    ]
    plan.unmet = [PlanUnmet(site=sites[u.site], item=items[u.item_id], quantity=u.quantity) for u in solved.unmet]
    return plan


def _supersede(session: Session, region: str, scope: dict[int, Item] | None) -> None:
    """Mark the region's unapproved suggestions (for the items in scope) and its earlier plans superseded."""
    plans_of_region = select(Plan.id).where(Plan.region == region)
    for model, suggested, superseded in (
        (Transfer, TransferStatus.SUGGESTED, TransferStatus.SUPERSEDED),
        (Reorder, ReorderStatus.SUGGESTED, ReorderStatus.SUPERSEDED),
    ):
        query = select(model.id).where(model.plan_id.in_(plans_of_region), model.status == suggested)
        if scope is not None:
            query = query.where(model.item_id.in_(list(scope)))
        ids = list(session.scalars(query))
        if ids:
            lock_records(session, model, ids)
            session.execute(
                update(model)
                .where(model.id.in_(ids), model.status == suggested)
                .values(status=superseded, closed_at=utcnow())
            )
    if scope is None:
        session.execute(
            update(Plan)
            .where(Plan.region == region, Plan.status == PlanStatus.CURRENT)
            .values(status=PlanStatus.SUPERSEDED)
        )
