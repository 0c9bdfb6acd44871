"""One simulated run: a world (`world.py`) under one policy, day by day through the real operations.

Each run is its own region (`sim-<seed>-<policy>`) of the simulation's database, with its own sites; the items of
a seed are shared by its runs. The operations stamp their records with the simulated clock (`models.base.clock_at`),
so orders, movements and plans carry the simulated days. Day 0 starts near the steady state of the typed policy:
the shelf at order-up-to less the purchases already on their way (a week's mean demand a week over the supplier's
lead time). A day:

- 06:00 arrivals: shipments whose lane lead time has passed are received (less any loss in transit), purchases
  whose supplier lead time (and delay) has passed are received: a reorder through `receive_reorder`, a site's own
  replenishment order as a RECEIPT movement. Stock that arrives fills the site's backorders first.
- 12:00 demand: one order per (site, item) that asked for something (`place_order`): filled from the shelf, the
  rest backordered.
- 20:00 the policy: nothing, or a saved rebalance of the region (optimal, or the nearest-donor rule) whose
  transfers and reorders are all approved, the transfers shipped at once.
- 21:00 replenishment: each site orders from its supplier up to its order-up-to level when its inventory position
  (on hand + inbound transfers + ordered reorders + its own open purchases - what its backorders still wait for)
  is at or below its reorder point.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from statistics import NormalDist
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from models import (
    Backorder,
    Item,
    Movement,
    MovementReason,
    Order,
    PlanMode,
    PolicyMode,
    Reorder,
    ReorderStatus,
    Site,
    StockLevel,
    Transfer,
    TransferStatus,
)
from models.base import clock_at, utcnow
from models.db import Database
from pooling.backorders import WAITING
from pooling.forecasts import recompute
from pooling.ledger import MovementBatch, open_levels
from pooling.network import create_item, create_site, set_lane
from pooling.orders import OrderLine, place_orders
from pooling.positions import incoming
from pooling.rebalance import rebalance
from pooling.reorders import approve_reorders, receive_reorders
from pooling.simulation.world import REVIEW_DAYS, SERVICE_Z, World
from pooling.solver import RegionPlan, RegionProblem
from pooling.solver.baselines import greedy_region
from pooling.stock import MovementLine, record_movements
from pooling.transfers import approve_transfers, receive_transfers, ship_transfers

ACTOR = "simulate"
START = datetime(2025, 1, 6, tzinfo=UTC)  # day 0 of every run (a Monday)
HOLDING_RATE = 0.25  # a year's cost of holding stock, as a share of its value
ARRIVE, DEMAND, NIGHT, REPLENISH = 6, 12, 20, 21  # hours of the day's steps


def moment(day: int, hour: int) -> datetime:
    return START + timedelta(days=day, hours=hour)


@dataclass
class Run:
    """A run's state outside the database: ids, what is on its way and when it lands, the daily curves."""

    world: World
    policy: str
    region: str
    site_codes: list[str]
    skus: list[str]
    site_index: dict[int, int]  # database id -> index in the world
    item_index: dict[int, int]
    transfers_due: dict[int, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    reorders_due: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    purchases_due: dict[int, list[tuple[int, int, int]]] = field(default_factory=lambda: defaultdict(list))
    open_purchases: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    replenishment_cents: int = 0
    daily: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))


Night = Callable[[Session, Run, int], None]


@dataclass(frozen=True)
class RunResult:
    policy: str
    seed: int
    metrics: dict[str, float]
    daily: dict[str, list[float]]
    seconds: dict[str, float]


def run_policy(db: Database, world: World, policy: str, advance: Callable[[int], None] | None = None) -> RunResult:
    """Simulate `world` under one policy in its own region; `advance(1)` after each day (a progress bar)."""
    started = time.perf_counter()
    rules = POLICIES[policy]
    run = _set_up(db, world, policy, rules.forecast)
    run.seconds["set up"] += time.perf_counter() - started
    for day in range(world.days):
        for name, hour, work in (
            ("arrivals", ARRIVE, _arrivals),
            ("demand (orders)", DEMAND, _demand),
            ("policy (rebalance...)", NIGHT, rules.night),
            ("replenishment", REPLENISH, _replenish),
        ):
            started = time.perf_counter()
            with clock_at(moment(day, hour)), db.transaction() as s:
                work(s, run, day)
            run.seconds[name] += time.perf_counter() - started
        if advance:
            advance(1)
    started = time.perf_counter()
    with db.reading() as s:
        metrics = _metrics(s, run)
    run.seconds["figures"] += time.perf_counter() - started
    return RunResult(policy, world.seed, metrics, dict(run.daily), dict(run.seconds))


def item_skus(seed: int, items: int) -> list[str]:
    return [f"SIM{seed}-I{k:03}" for k in range(items)]


def _set_up(db: Database, world: World, policy: str, forecast: bool) -> Run:
    """The run's sites and lanes, the seed's items (once), opening stock at order-up-to, the typed policies."""
    region = f"sim-{world.seed}-{policy}"
    codes = [f"{policy[:3].upper()}{world.seed}-S{k:02}" for k in range(world.sites)]
    skus = item_skus(world.seed, world.items)
    safety, reorder_point, order_up_to = world.policy()
    # Start near the steady state of the policy, not with empty pipelines: purchases on their way for about the
    # supplier's lead time (a week's mean demand a week), and the shelf holding the rest of the order-up-to level.
    daily = np.rint(world.mean).astype(np.int64)
    opening = np.maximum(order_up_to - daily * world.lead_days[None, :], safety)
    with clock_at(moment(0, 0)), db.transaction() as s:
        items: dict[str, int] = dict(s.execute(select(Item.sku, Item.id).where(Item.sku.in_(skus))).all())
        for k, sku in enumerate(skus):
            if sku not in items:
                price = Decimal(int(world.price_cents[k])) / 100
                items[sku] = create_item(
                    s, sku, f"Item {k} of seed {world.seed}", price, "each", int(world.lead_days[k])
                ).id
        sites = []
        for k, code in enumerate(codes):
            lat, lon = world.site_latlon[k].tolist()
            sites.append(create_site(s, code, f"Simulated site {k}", region, round(lat, 5), round(lon, 5)).id)
        for a, b, cost_cents, hours in world.lanes:
            set_lane(s, codes[a], codes[b], Decimal(cost_cents) / 100, hours, actor=ACTOR)
        mode = PolicyMode.FORECAST if forecast else PolicyMode.MANUAL
        item_ids = np.array([items[sku] for sku in skus])
        _open_stock(s, np.array(sites), item_ids, opening, safety, reorder_point, order_up_to, mode)
    run = Run(
        world=world,
        policy=policy,
        region=region,
        site_codes=codes,
        skus=skus,
        site_index={site_id: k for k, site_id in enumerate(sites)},
        item_index={items[sku]: k for k, sku in enumerate(skus)},
        open_purchases=np.zeros((world.sites, world.items), dtype=np.int64),
    )
    for (site, item), units in np.ndenumerate(daily):  # purchases made before day 0: a week's demand a week
        first = int(world.lead_days[item]) - (site * 3 + item) % REVIEW_DAYS  # sites and items not all in step
        for day in range(first, 0, -REVIEW_DAYS) if units else ():
            quantity = int(units) * min(REVIEW_DAYS, day)
            run.purchases_due[day].append((site, item, quantity))
            run.open_purchases[site, item] += quantity
    return run


def _open_stock(
    s: Session,
    sites: np.ndarray,
    items: np.ndarray,
    opening: np.ndarray,
    safety: np.ndarray,
    reorder_point: np.ndarray,
    order_up_to: np.ndarray,
    mode: PolicyMode,
) -> None:
    """Opening stock through the ledger's bulk form, and the typed policies (a FORECAST level keeps them until its
    first forecast, at the service level the typed numbers aim at)."""
    site_id, item_id = (a.ravel() for a in np.meshgrid(sites, items, indexing="ij"))
    stocked = np.flatnonzero(opening.ravel())
    receipts = MovementBatch(stocked, opening.ravel()[stocked], MovementReason.RECEIPT)
    open_levels(s, site_id, item_id, [receipts], ACTOR, utcnow(), safety_stock=safety.ravel(), note="opening stock")
    table = cast(Table, StockLevel.__table__)
    s.execute(
        update(table)
        .where(table.c.site_id == bindparam("s"), table.c.item_id == bindparam("i"))
        .values(
            reorder_point=bindparam("rp"),
            order_up_to=bindparam("up"),
            policy_mode=mode,
            service_level=NormalDist().cdf(SERVICE_Z),
        ),
        [
            {"s": int(a), "i": int(b), "rp": int(rp), "up": int(up)}
            for a, b, rp, up in zip(site_id, item_id, reorder_point.ravel(), order_up_to.ravel(), strict=True)
        ],
    )


def _arrivals(s: Session, run: Run, day: int) -> None:
    if landed := run.transfers_due.pop(day, []):
        receive_transfers(s, landed, ACTOR)
    if delivered := run.reorders_due.pop(day, []):
        ordered = dict(s.execute(select(Reorder.id, Reorder.quantity).where(Reorder.id.in_(delivered))).all())
        receive_reorders(s, [(reorder_id, ordered[reorder_id]) for reorder_id in delivered], ACTOR)
    purchases = run.purchases_due.pop(day, [])
    lines = [
        MovementLine(run.site_codes[site], run.skus[item], quantity, MovementReason.RECEIPT, "purchase")
        for site, item, quantity in purchases
    ]
    record_movements(s, lines, ACTOR)
    for site, item, quantity in purchases:
        run.open_purchases[site, item] -= quantity


def _demand(s: Session, run: Run, day: int) -> None:
    asked = run.world.demand[day]
    lines = [
        OrderLine(run.site_codes[site], run.skus[item], int(asked[site, item]))
        for site, item in zip(*np.nonzero(asked), strict=True)
    ]
    filled = sum(placed.filled_quantity for placed in place_orders(s, lines, ACTOR))
    total = int(asked.sum())
    run.daily["demand"].append(total)
    run.daily["filled from the shelf"].append(filled)
    run.daily["fill rate"].append(filled / total if total else 1.0)


def night_none(s: Session, run: Run, day: int) -> None:
    """No pooling: backorders wait for the site's own replenishment."""


def nightly_rebalance(solver: Callable[[RegionProblem], RegionPlan] | None, proactive: bool = False) -> Night:
    """A saved rebalance of the run's region (`proactive`: with REPLENISH demand of the sites projected below
    their reorder point), every suggestion approved; transfers ship at once."""

    def night(s: Session, run: Run, day: int) -> None:
        plan = rebalance(
            s,
            run.region,
            PlanMode.POOL_FIRST,
            dry_run=False,
            actor=ACTOR,
            processes=1,
            solver=solver,
            proactive=proactive,
        )
        transfers = [t.id for t in plan.transfers]
        reorders = [r.id for r in plan.reorders]
        if reorders:
            for reorder in approve_reorders(s, reorders, ACTOR):
                site, item = run.site_index[reorder.site_id], run.item_index[reorder.item_id]
                run.reorders_due[day + int(run.world.supplier_days[day, site, item])].append(reorder.id)
        if transfers:
            approve_transfers(s, transfers, ACTOR)
            for shipped in ship_transfers(s, transfers, ACTOR):
                site, item = run.site_index[shipped.to_site_id], run.item_index[shipped.item_id]
                lost = run.world.lost(day, site, item, shipped.quantity)
                due = day + _days_until_receipt(shipped.lead_time_hours)
                run.transfers_due[due].append((shipped.id, shipped.quantity - lost))

    return night


def _days_until_receipt(lead_hours: int) -> int:
    """Shipped at the night step, booked in at the first morning step after it lands."""
    return max(1, -(-(NIGHT + lead_hours - ARRIVE) // 24))


FORECAST_FROM = 14  # days of simulated history before the first forecast; the typed numbers hold until then
FORECAST_EVERY = 7


def forecasting(night: Night) -> Night:
    """`night`, after the region's forecasts are recomputed (once a week from FORECAST_FROM on) from the simulated
    history and the FORECAST stock levels follow them (`pooling.forecasts.recompute`, as the nightly job does)."""

    def forecast_then(s: Session, run: Run, day: int) -> None:
        if day >= FORECAST_FROM and (day - FORECAST_FROM) % FORECAST_EVERY == 0:
            started = time.perf_counter()
            recompute(s, region=run.region, history_days=day + 1, apply=True, actor=ACTOR)
            run.seconds["forecasts (within policy)"] += time.perf_counter() - started
        night(s, run, day)

    return forecast_then


@dataclass(frozen=True)
class Policy:
    night: Night
    forecast: bool = False  # stock levels in FORECAST mode: the forecasts set their numbers


POLICIES: dict[str, Policy] = {
    "none": Policy(night_none),
    "nearest": Policy(nightly_rebalance(greedy_region)),
    "reactive": Policy(nightly_rebalance(None)),
    "proactive": Policy(forecasting(nightly_rebalance(None, proactive=True)), forecast=True),
}


def _grid(run: Run, rows: Any) -> np.ndarray:
    grid = np.zeros((run.world.sites, run.world.items), dtype=np.int64)
    for site_id, item_id, value in rows:
        grid[run.site_index[site_id], run.item_index[item_id]] = int(value or 0)
    return grid


def _replenish(s: Session, run: Run, day: int) -> None:
    """Order up to the order-up-to level where the inventory position is at or below the reorder point."""
    sites = list(run.site_index)
    levels = s.execute(
        select(
            StockLevel.site_id,
            StockLevel.item_id,
            StockLevel.on_hand,
            StockLevel.reserved,
            StockLevel.reorder_point,
            StockLevel.order_up_to,
        ).where(StockLevel.site_id.in_(sites))
    ).all()
    available = _grid(run, ((a, b, on_hand - reserved) for a, b, on_hand, reserved, _, _ in levels))
    on_hand = _grid(run, ((a, b, on_hand) for a, b, on_hand, *_ in levels))
    reorder_point = _grid(run, ((a, b, rp) for a, b, _, _, rp, _ in levels))
    order_up_to = _grid(run, ((a, b, up_to) for a, b, *_, up_to in levels))
    pairs = [(a, b) for a, b, *_ in levels]
    on_the_way = _grid(run, ((a, b, units) for (a, b), units in incoming(s, pairs).items()))
    waiting = _grid(
        run,
        s.execute(
            select(Backorder.site_id, Backorder.item_id, func.sum(Backorder.quantity - Backorder.fulfilled))
            .where(Backorder.site_id.in_(sites), Backorder.status.in_(WAITING))
            .group_by(Backorder.site_id, Backorder.item_id)
        ),
    )
    pooled = s.execute(
        select(func.coalesce(func.sum(Transfer.quantity), 0)).where(
            Transfer.to_site_id.in_(sites), Transfer.status.in_((TransferStatus.SHIPPED, TransferStatus.RECEIVED))
        )
    ).scalar_one()
    position = available + on_the_way + run.open_purchases - waiting
    buy = np.where(position <= reorder_point, np.maximum(order_up_to - position, 0), 0)
    world = run.world
    for site, item in zip(*np.nonzero(buy), strict=True):
        quantity = int(buy[site, item])
        run.purchases_due[day + int(world.supplier_days[day, site, item])].append((int(site), int(item), quantity))
        run.open_purchases[site, item] += quantity
        run.replenishment_cents += quantity * int(world.price_cents[item])
    run.daily["backordered units waiting"].append(int(waiting.sum()))
    run.daily["units on hand"].append(int(on_hand.sum()))
    run.daily["stock value"].append(float((on_hand * world.price_cents[None, :]).sum()) / 100)
    run.daily["units pooled"].append(int(pooled))


def _metrics(s: Session, run: Run) -> dict[str, float]:
    """The run's figures, read back from what the operations recorded (orders, transfers, reorders, ledger)."""
    sites = select(Site.id).where(Site.region == run.region)
    lines, asked, filled, short = s.execute(
        select(
            func.count(Order.id),
            func.coalesce(func.sum(Order.quantity), 0),
            func.coalesce(func.sum(Order.filled_quantity), 0),
            func.count(Order.id).filter(Order.filled_quantity < Order.quantity),
        ).where(Order.site_id.in_(sites))
    ).one()
    shipped = (TransferStatus.SHIPPED, TransferStatus.RECEIVED)
    pooled, transfer_spend = s.execute(
        select(
            func.coalesce(func.sum(Transfer.quantity), 0),
            func.coalesce(func.sum(Transfer.quantity * Transfer.unit_cost), 0),
        ).where(Transfer.to_site_id.in_(sites), Transfer.status.in_(shipped))
    ).one()
    bought = (ReorderStatus.ORDERED, ReorderStatus.RECEIVED)
    reorder_spend = s.execute(
        select(func.coalesce(func.sum(Reorder.quantity * Reorder.unit_cost), 0)).where(
            Reorder.site_id.in_(sites), Reorder.status.in_(bought)
        )
    ).scalar_one()
    lost = s.execute(
        select(func.coalesce(-func.sum(Movement.quantity), 0)).where(
            Movement.site_id.in_(sites), Movement.reason == MovementReason.TRANSFER_LOSS
        )
    ).scalar_one()
    daily = run.daily
    holding = sum(daily["stock value"]) * HOLDING_RATE / 365
    purchase = float(reorder_spend) + run.replenishment_cents / 100
    return {
        "backorder rate": short / lines if lines else 0.0,
        "fill rate": filled / asked if asked else 1.0,
        "backorder-days": float(sum(daily["backordered units waiting"])),
        "units pooled": float(pooled),
        "transfer spend": float(transfer_spend),
        "purchase spend": purchase,
        "holding cost": holding,
        "total cost": float(transfer_spend) + purchase + holding,
        "units lost": float(lost),
        "average stock held": float(np.mean(daily["units on hand"])) if daily["units on hand"] else 0.0,
    }
