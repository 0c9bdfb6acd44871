"""Solve every item of a region: one network per item, across processes when there is enough work."""

from __future__ import annotations

import multiprocessing
import os
import sys
import sysconfig
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext

from pooling.solver.item import solve_item
from pooling.solver.problem import ItemDemand, ItemPlan, Lanes, Mode, PlanFigures, RegionPlan, RegionProblem

# Below this many candidate lane arcs in all, starting worker processes costs more than it saves.
MIN_ARCS_FOR_PROCESSES = 400_000

_worker_lanes: Lanes | None = None
_worker_mode: Mode = "POOL_FIRST"
_worker_now = 0.0


def solve_region(problem: RegionProblem, processes: int | None = None) -> RegionPlan:
    """The plan for every item of the region; `processes=None` picks one or all cores by the work's size."""
    started = time.perf_counter()
    if processes is None:
        processes = _processes_for(problem)
    if processes > 1 and len(problem.items) > 1:
        plans = _solve_in_processes(problem, processes)
    else:
        plans = [solve_item(problem.lanes, demand, problem.mode, problem.now) for demand in problem.items]
    plans.sort(key=lambda plan: plan.item_id)
    return RegionPlan(items=tuple(plans), figures=figures(plans, time.perf_counter() - started))


def figures(plans: Iterable[ItemPlan], solve_seconds: float) -> PlanFigures:
    plans = list(plans)
    return PlanFigures(
        units_requested=sum(p.units_requested for p in plans),
        units_by_transfer=sum(p.units_by_transfer for p in plans),
        units_by_reorder=sum(p.units_by_reorder for p in plans),
        units_unmet=sum(p.units_unmet for p in plans),
        transfer_cost_cents=sum(p.transfer_cost_cents for p in plans),
        reorder_cost_cents=sum(p.reorder_cost_cents for p in plans),
        all_external_cost_cents=sum(p.all_external_cost_cents for p in plans),
        lateness_penalty_cents=sum(p.lateness_penalty_cents for p in plans),
        solve_seconds=solve_seconds,
        nodes=sum(p.nodes for p in plans),
        arcs=sum(p.arcs for p in plans),
        build_seconds=sum(p.build_seconds for p in plans),
        flow_seconds=sum(p.flow_seconds for p in plans),
        units_proactive=sum(p.units_proactive for p in plans),
    )


def _processes_for(problem: RegionProblem) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2 or len(problem.items) < 2:
        return 1
    n_lanes = len(problem.lanes)
    arcs = sum(
        min(int((d.donor_surplus > 0).sum()) * len(set(d.backorder_site.tolist())), n_lanes) for d in problem.items
    )
    return cores if arcs >= MIN_ARCS_FOR_PROCESSES else 1


def _solve_in_processes(problem: RegionProblem, processes: int) -> list[ItemPlan]:
    # fork is instant, but forking a process that runs threads (a web server) is unsafe: then a fork server.
    context: BaseContext
    if threading.active_count() == 1:
        context = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_loaded_packages())
    chunk = max(1, len(problem.items) // (processes * 8))
    with ProcessPoolExecutor(
        processes,
        mp_context=context,
        initializer=_start_worker,
        initargs=(problem.lanes, problem.mode, problem.now),
    ) as pool:
        return list(pool.map(_solve_in_worker, problem.items, chunksize=chunk))


def _loaded_packages() -> list[str]:
    """The caller's imported third-party and project packages, for the fork server to import once.

    Each worker re-runs the caller's main module (CPython 3.11's fork server never preloads it, despite its
    default), so without this every worker imports the caller's whole program again: seconds per pool.
    """
    stdlib = sysconfig.get_paths()["stdlib"]
    names = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if "." in name or name.startswith("_") or not path or path.startswith(stdlib + os.sep + "lib-dynload"):
            continue
        if path.startswith(stdlib) and "site-packages" not in path:
            continue
        names.add(name)
    return sorted(names | {"pooling.solver.network"})


def _start_worker(lanes: Lanes, mode: Mode, now: float) -> None:
    global _worker_lanes, _worker_mode, _worker_now
    _worker_lanes, _worker_mode, _worker_now = lanes, mode, now


def _solve_in_worker(demand: ItemDemand) -> ItemPlan:
    assert _worker_lanes is not None
    return solve_item(_worker_lanes, demand, _worker_mode, _worker_now)
