"""The rule a spreadsheet would use, for comparison only: each backorder, most urgent and oldest first, takes
what it can from the nearest donor (the cheapest lane) that still has surplus, then the next nearest; the
rest is bought outside (or stays unmet when the item cannot be bought).

It is what static resupply rules amount to; `stockpool bench` prints it beside the optimal plan to show what
the min-cost-flow solve buys. Never used to plan.
"""

from __future__ import annotations

import time

import numpy as np

from pooling.solver.network import remaining_capacity
from pooling.solver.problem import (
    NO_CAPACITY,
    Allocation,
    ItemDemand,
    ItemPlan,
    Lanes,
    RegionPlan,
    RegionProblem,
    ReorderLine,
    TransferLine,
    UnmetLine,
)
from pooling.solver.region import figures


def greedy_region(problem: RegionProblem) -> RegionPlan:
    started = time.perf_counter()
    plans = [greedy_item(problem.lanes, demand) for demand in problem.items]
    return RegionPlan(items=tuple(plans), figures=figures(plans, time.perf_counter() - started))


def greedy_item(lanes: Lanes, demand: ItemDemand) -> ItemPlan:
    surplus = dict(zip(demand.donor_site.tolist(), demand.donor_surplus.tolist(), strict=True))
    remaining = remaining_capacity(lanes, demand).copy()
    order = np.lexsort((demand.backorder_id, -demand.backorder_rank))
    transfers: list[TransferLine] = []
    fallback: list[tuple[int, int, int]] = []  # (site, backorder, units)
    requested = 0
    for k in order:
        site, wanted = int(demand.backorder_site[k]), int(demand.backorder_open[k])
        requested += max(wanted, 0)
        rows = lanes.into_sites(np.array([site]))
        rows = rows[np.argsort(lanes.cost_cents[rows], kind="stable")]
        for row in rows.tolist():
            if wanted <= 0:
                break
            donor = int(lanes.from_site[row])
            room = surplus.get(donor, 0)
            if remaining[row] != NO_CAPACITY:
                room = min(room, int(remaining[row]))
            take = min(room, wanted)
            if take <= 0:
                continue
            surplus[donor] -= take
            if remaining[row] != NO_CAPACITY:
                remaining[row] -= take
            wanted -= take
            transfers.append(
                TransferLine(
                    demand.item_id,
                    int(lanes.lane_id[row]),
                    donor,
                    site,
                    take,
                    int(lanes.cost_cents[row]),
                    int(lanes.lead_hours[row]),
                    (Allocation(int(demand.backorder_id[k]), take),),
                )
            )
        if wanted > 0:
            fallback.append((site, int(demand.backorder_id[k]), wanted))
    lines = tuple((site, units, (Allocation(backorder, units),)) for site, backorder, units in fallback)
    reorders = tuple(ReorderLine(demand.item_id, s, q, demand.price_cents, a) for s, q, a in lines)
    unmet = tuple(UnmetLine(demand.item_id, s, q, a) for s, q, a in lines)
    units_unmet = 0 if demand.purchasable else sum(q for _, _, q in fallback)
    return ItemPlan(
        item_id=demand.item_id,
        transfers=tuple(transfers),
        reorders=reorders if demand.purchasable else (),
        unmet=() if demand.purchasable else unmet,
        units_requested=requested,
        all_external_cost_cents=(requested - units_unmet) * demand.price_cents,
        lateness_penalty_cents=0,
        nodes=0,
        arcs=0,
    )
