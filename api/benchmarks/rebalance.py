"""`stockpool bench`: a random network loaded in bulk, rebalanced end to end, beside the raw solver and a greedy rule.

Stages of the end-to-end rebalance (one saved plan, committed): read (the rows the plan needs, into numpy
arrays), solve (wall time; `build` and `flow` split the solver's own work, summed over processes), write (the
plan's rows, bulk-inserted, and the commit). The same instance is then solved by the pure solver alone on one
process and on all cores (the raw figures), and by the greedy nearest-donor rule. Figures are printed, never
asserted: tests only check that the bench runs and that its plan equals the pure solver's.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text

from api.benchmarks.measure import peak_rss_mb, usable_cores
from models import Site
from models.db import Database
from pooling import money
from pooling.random_network import REGION, Progress, load, saved_transfers
from pooling.rebalance import rebalance
from pooling.solver import RegionPlan, solve_region
from pooling.solver.baselines import greedy_region
from pooling.solver.random_network import random_region


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
            money.text(money.from_cents(f.transfer_cost_cents)),
            money.text(money.from_cents(f.reorder_cost_cents)),
            money.text(money.from_cents(f.total_cost_cents)),
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
    report.peak_rss_mb["bench process after raw solve"] = peak_rss_mb()
    started = time.perf_counter()
    solve_region(problem, processes=usable_cores())
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
    return stages, plan_id, peak_rss_mb()


def raw_transfers(plan: RegionPlan) -> list[tuple[int, int, int, int]]:
    return sorted((t.item_id, t.from_site, t.to_site, t.quantity) for t in plan.transfers)
