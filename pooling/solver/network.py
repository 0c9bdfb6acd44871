"""One item's min-cost-flow network, built from numpy arrays in bulk, solved, and read back as a plan.

Nodes: a donor per site with surplus (supply = surplus); an arrival node per recipient site and lane lead time
(lanes into a site with no dated backorder share one); a node per open backorder (demand = open quantity);
an outside node (supply = all demand) whose arcs to backorders are purchases, or unmet demand when the item
cannot be bought; a leftover node that takes unused surplus and unused outside supply so supplies balance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from pooling.solver import costs
from pooling.solver.problem import (
    NO_CAPACITY,
    Allocation,
    IntArray,
    ItemDemand,
    ItemPlan,
    Lanes,
    Mode,
    ReorderLine,
    TransferLine,
    UnmetLine,
    ints,
)


class SolverError(RuntimeError):
    """The min-cost-flow solver did not return an optimal flow."""


@dataclass(frozen=True)
class _Backorders:
    """The item's open backorders sorted by (site, id): the canonical order that makes plans repeatable."""

    id: IntArray
    site: IntArray
    open: IntArray
    rank: IntArray
    needed_by: np.ndarray

    @classmethod
    def of(cls, demand: ItemDemand) -> _Backorders:
        keep = demand.backorder_open > 0
        order = np.lexsort((demand.backorder_id[keep], demand.backorder_site[keep]))
        return cls(
            id=demand.backorder_id[keep][order],
            site=demand.backorder_site[keep][order],
            open=demand.backorder_open[keep][order],
            rank=demand.backorder_rank[keep][order],
            needed_by=demand.backorder_needed_by[keep][order],
        )


def solve_item(lanes: Lanes, demand: ItemDemand, mode: Mode = "POOL_FIRST", now: float = 0.0) -> ItemPlan:
    started = time.perf_counter()
    backorders = _Backorders.of(demand)
    requested = int(backorders.open.sum())
    has_surplus = demand.donor_surplus > 0
    donor_order = np.argsort(demand.donor_site[has_surplus], kind="stable")
    donors = demand.donor_site[has_surplus][donor_order]
    surplus = demand.donor_surplus[has_surplus][donor_order]
    if requested == 0:
        return ItemPlan(demand.item_id, (), (), (), 0, 0, 0, 0, 0)

    # Lanes from a donor to a site that waits, with capacity left for this item.
    remaining = remaining_capacity(lanes, demand)
    top = max(lanes.top_site, int(backorders.site.max())) + 1
    is_donor = np.zeros(top, dtype=bool)
    is_donor[donors[donors < top]] = True
    into_waiting = lanes.into_sites(np.unique(backorders.site))
    usable = into_waiting[is_donor[lanes.from_site[into_waiting]] & (remaining[into_waiting] != 0)]
    usable = usable[np.lexsort((lanes.to_site[usable], lanes.from_site[usable]))]
    lane_from, lane_to = lanes.from_site[usable], lanes.to_site[usable]
    lane_lead, lane_cost = lanes.lead_hours[usable], lanes.cost_cents[usable]
    lane_donor = np.searchsorted(donors, lane_from)

    # Arrival nodes: lanes into a site whose backorders are all undated arrive alike, whatever the lead time.
    dated = np.zeros(top, dtype=bool)
    dated[backorders.site[~np.isnan(backorders.needed_by)]] = True
    lead_group = np.where(dated[lane_to], lane_lead, -1)
    arrival_key = lane_to * (lanes.max_lead_hours + 2) + (lead_group + 1)
    arrival_keys, lane_arrival = np.unique(arrival_key, return_inverse=True)
    first_lane_of_arrival = np.unique(lane_arrival, return_index=True)[1]
    arrival_site = lane_to[first_lane_of_arrival]
    arrival_lead = np.maximum(lead_group[first_lane_of_arrival], 0)

    # Arrival -> each backorder at its site (backorders are sorted by site, so each site's are a slice).
    start = np.searchsorted(backorders.site, arrival_site, side="left")
    count = np.searchsorted(backorders.site, arrival_site, side="right") - start
    ab_arrival = np.repeat(np.arange(len(arrival_keys)), count)
    offsets = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    ab_backorder = np.repeat(start, count) + offsets
    ab_late = costs.lateness_cents(
        backorders.rank[ab_backorder],
        costs.days_late(now, arrival_lead[ab_arrival], backorders.needed_by[ab_backorder]),
    )

    buy_late = costs.lateness_cents(
        backorders.rank, costs.days_late(now, demand.supplier_lead_hours, backorders.needed_by)
    )
    buy_real = demand.price_cents + buy_late
    poolable = int(min(surplus.sum(), requested))
    max_path = int(lane_cost.max(initial=0) + ab_late.max(initial=0))
    step = costs.tier_step(poolable, max_path, int(buy_real.max()) if demand.purchasable else 0)
    largest_cost = (step * costs.PRIORITY_LEVELS + int(buy_real.max())) * costs.least_cost_scale(poolable)
    if largest_cost > costs.MAX_ARC_COST:
        raise SolverError(
            f"item {demand.item_id}: quantities x prices too large for an exact plan "
            f"(largest arc cost {largest_cost:.3g} > {costs.MAX_ARC_COST:.3g})"
        )
    tier = step * (1 + backorders.rank)
    if not demand.purchasable:
        scale, fallback = 1, tier
    elif mode == "POOL_FIRST":
        scale, fallback = 1, tier + buy_real
    else:
        scale = costs.least_cost_scale(poolable)
        fallback = buy_real * scale + backorders.rank

    n_donors, n_arrivals, n_backorders = len(donors), len(arrival_keys), len(backorders.id)
    first_arrival = n_donors
    first_backorder = first_arrival + n_arrivals
    outside = first_backorder + n_backorders
    leftover = outside + 1
    backorder_nodes = first_backorder + np.arange(n_backorders)
    lane_capacity = np.where(remaining[usable] == NO_CAPACITY, surplus[lane_donor], remaining[usable])

    tails = np.concatenate([
        lane_donor, first_arrival + ab_arrival, np.full(n_backorders, outside), np.arange(n_donors), [outside],
    ])
    heads = np.concatenate([
        first_arrival + lane_arrival, first_backorder + ab_backorder, backorder_nodes,
        np.full(n_donors, leftover), [leftover],
    ])
    capacities = np.concatenate([
        np.minimum(lane_capacity, surplus[lane_donor]), backorders.open[ab_backorder], backorders.open,
        surplus, [requested],
    ])
    unit_costs = np.concatenate([lane_cost * scale, ab_late * scale, fallback, np.zeros(n_donors + 1, np.int64)])

    solver = min_cost_flow.SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        ints(tails), ints(heads), ints(capacities), ints(unit_costs)
    )
    node_supply = np.concatenate([
        surplus, np.zeros(n_arrivals, np.int64), -backorders.open, [requested], [-int(surplus.sum())],
    ])
    solver.set_nodes_supplies(np.arange(len(node_supply)), ints(node_supply))
    solving = time.perf_counter()
    status = solver.solve()
    flow_seconds = time.perf_counter() - solving
    if status != solver.OPTIMAL:
        raise SolverError(f"min-cost flow for item {demand.item_id} ended with status {status!r}, not OPTIMAL")
    flows = solver.flows(arcs)

    n_lanes, n_ab = len(usable), len(ab_backorder)
    lane_flow = flows[:n_lanes]
    ab_flow = flows[n_lanes : n_lanes + n_ab]
    fallback_flow = flows[n_lanes + n_ab : n_lanes + n_ab + n_backorders]

    transfers = _transfers(
        demand.item_id, lanes, usable, lane_arrival, lane_flow, ab_arrival, ab_backorder, ab_flow, backorders
    )
    served_by_fallback = _per_site(demand.item_id, backorders, fallback_flow)
    price = demand.price_cents
    reorders = tuple(ReorderLine(demand.item_id, s, q, price, a) for s, q, a in served_by_fallback)
    unmet = tuple(UnmetLine(demand.item_id, s, q, a) for s, q, a in served_by_fallback)
    if demand.purchasable:
        unmet = ()
    else:
        reorders = ()
    units_unmet = sum(u.quantity for u in unmet)
    penalty = int((ab_flow * ab_late).sum() + (fallback_flow * buy_late).sum() * demand.purchasable)
    return ItemPlan(
        item_id=demand.item_id,
        transfers=transfers,
        reorders=reorders,
        unmet=unmet,
        units_requested=requested,
        all_external_cost_cents=(requested - units_unmet) * price,
        lateness_penalty_cents=penalty,
        nodes=len(node_supply),
        arcs=len(tails),
        build_seconds=time.perf_counter() - started - flow_seconds,
        flow_seconds=flow_seconds,
    )


def remaining_capacity(lanes: Lanes, demand: ItemDemand) -> IntArray:
    """Per lane, the units of this item it may still carry (-1: no limit): capacity less what is committed."""
    if not len(demand.committed_lane_id):
        return lanes.capacity
    remaining = lanes.capacity.copy()
    known = np.isin(demand.committed_lane_id, lanes.lane_id)
    if known.any():
        by_id = np.argsort(lanes.lane_id)
        rows = by_id[np.searchsorted(lanes.lane_id, demand.committed_lane_id[known], sorter=by_id)]
        capped = remaining[rows] != NO_CAPACITY
        np.subtract.at(remaining, rows[capped], demand.committed_quantity[known][capped])
        remaining = np.where(lanes.capacity == NO_CAPACITY, NO_CAPACITY, np.maximum(remaining, 0))
    return remaining


def _transfers(
    item_id: int,
    lanes: Lanes,
    usable: IntArray,
    lane_arrival: IntArray,
    lane_flow: IntArray,
    ab_arrival: IntArray,
    ab_backorder: IntArray,
    ab_flow: IntArray,
    backorders: _Backorders,
) -> tuple[TransferLine, ...]:
    """Group lane flows into transfers, handing each arrival node's units to its backorders in order.

    Lanes that share an arrival node reach every backorder at the same cost, so any split is optimal; the
    split used here walks both lists in their canonical order.
    """
    moving = np.flatnonzero(lane_flow)
    taking = np.flatnonzero(ab_flow)
    if not len(moving):
        return ()
    # Line lanes and backorders up arrival by arrival (each in canonical order) as two runs of units; an arrival
    # node's inflow equals its outflow, so cutting both runs at every end of either gives the pieces (lane, units,
    # backorder) and no piece crosses from one arrival to the next.
    lanes_in_line = moving[np.argsort(lane_arrival[moving], kind="stable")]
    takers_in_line = taking[np.argsort(ab_arrival[taking], kind="stable")]
    lane_end = np.cumsum(lane_flow[lanes_in_line])
    taker_end = np.cumsum(ab_flow[takers_in_line])
    ends = np.union1d(lane_end, taker_end)
    starts = np.concatenate([[0], ends[:-1]])
    piece_lane = lanes_in_line[np.searchsorted(lane_end, starts, side="right")]
    piece_backorder = backorders.id[ab_backorder[takers_in_line[np.searchsorted(taker_end, starts, side="right")]]]
    pieces: dict[int, list[Allocation]] = {}
    for k, backorder_id, units in zip(
        piece_lane.tolist(), piece_backorder.tolist(), (ends - starts).tolist(), strict=True
    ):
        pieces.setdefault(k, []).append(Allocation(backorder_id, units))
    rows = usable[moving]
    return tuple(
        TransferLine(item_id, lane_id, from_site, to_site, quantity, cost, lead, tuple(pieces[k]))
        for k, lane_id, from_site, to_site, quantity, cost, lead in zip(
            moving.tolist(), lanes.lane_id[rows].tolist(), lanes.from_site[rows].tolist(),
            lanes.to_site[rows].tolist(), lane_flow[moving].tolist(), lanes.cost_cents[rows].tolist(),
            lanes.lead_hours[rows].tolist(), strict=True,
        )
    )


def _per_site(
    item_id: int, backorders: _Backorders, flow: IntArray
) -> list[tuple[int, int, tuple[Allocation, ...]]]:
    """(site, units, allocations) of the backorders served from outside, one row per site."""
    rows: dict[int, list[Allocation]] = {}
    for k in np.flatnonzero(flow):
        rows.setdefault(int(backorders.site[k]), []).append(Allocation(int(backorders.id[k]), int(flow[k])))
    return [(site, sum(a.quantity for a in allocs), tuple(allocs)) for site, allocs in sorted(rows.items())]
