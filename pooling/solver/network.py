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


@dataclass(frozen=True)
class _Donors:
    """The sites with surplus of the item, sorted by site, and their surplus."""

    site: IntArray
    surplus: IntArray

    @classmethod
    def of(cls, demand: ItemDemand) -> _Donors:
        has_surplus = demand.donor_surplus > 0
        order = np.argsort(demand.donor_site[has_surplus], kind="stable")
        return cls(site=demand.donor_site[has_surplus][order], surplus=demand.donor_surplus[has_surplus][order])


@dataclass(frozen=True)
class _OpenLanes:
    """Lanes from a donor to a site that waits, with capacity left for this item, sorted by (from, to) site."""

    row: IntArray  # the lane's index in Lanes
    donor: IntArray  # its donor's index in _Donors
    capacity: IntArray  # units of this item it may carry, at most the donor's surplus

    @classmethod
    def of(cls, lanes: Lanes, demand: ItemDemand, donors: _Donors, backorders: _Backorders) -> _OpenLanes:
        remaining = remaining_capacity(lanes, demand)
        top = max(lanes.top_site, int(backorders.site.max())) + 1
        is_donor = np.zeros(top, dtype=bool)
        is_donor[donors.site[donors.site < top]] = True
        into_waiting = lanes.into_sites(np.unique(backorders.site))
        row = into_waiting[is_donor[lanes.from_site[into_waiting]] & (remaining[into_waiting] != 0)]
        if demand.max_lane_cents is not None:
            row = row[lanes.cost_cents[row] <= demand.max_lane_cents]
        row = row[np.lexsort((lanes.to_site[row], lanes.from_site[row]))]
        donor = np.searchsorted(donors.site, lanes.from_site[row])
        surplus = donors.surplus[donor]
        capacity = np.where(remaining[row] == NO_CAPACITY, surplus, remaining[row])
        return cls(row=row, donor=donor, capacity=np.minimum(capacity, surplus))


@dataclass(frozen=True)
class _Arrivals:
    """Arrival nodes, one per recipient site and lane lead time, and the arcs from each to its site's backorders.

    Lanes into a site whose backorders are all undated arrive alike, whatever the lead time, so they share a node.
    """

    of_lane: IntArray  # per open lane: its arrival node
    count: int
    arc_arrival: IntArray  # per arrival -> backorder arc: the arrival node,
    arc_backorder: IntArray  # the backorder (its index in _Backorders),
    arc_late_cents: IntArray  # and what a unit arriving that way costs in lateness

    @classmethod
    def of(cls, lanes: Lanes, open_lanes: _OpenLanes, backorders: _Backorders, now: float) -> _Arrivals:
        lane_to, lane_lead = lanes.to_site[open_lanes.row], lanes.lead_hours[open_lanes.row]
        dated = np.zeros(int(backorders.site.max()) + 1, dtype=bool)  # open lanes lead only to waiting sites
        dated[backorders.site[~np.isnan(backorders.needed_by)]] = True
        lead_group = np.where(dated[lane_to], lane_lead, -1)
        arrival_key = lane_to * (lanes.max_lead_hours + 2) + (lead_group + 1)
        arrival_keys, of_lane = np.unique(arrival_key, return_inverse=True)
        first_lane = np.unique(of_lane, return_index=True)[1]
        site = lane_to[first_lane]
        lead = np.maximum(lead_group[first_lane], 0)

        # Backorders are sorted by site, so each site's are a slice.
        start = np.searchsorted(backorders.site, site, side="left")
        count = np.searchsorted(backorders.site, site, side="right") - start
        arc_arrival = np.repeat(np.arange(len(arrival_keys)), count)
        offsets = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        arc_backorder = np.repeat(start, count) + offsets
        arc_late_cents = costs.lateness_cents(
            backorders.rank[arc_backorder],
            costs.days_late(now, lead[arc_arrival], backorders.needed_by[arc_backorder]),
        )
        return cls(of_lane, len(arrival_keys), arc_arrival, arc_backorder, arc_late_cents)


@dataclass(frozen=True)
class _Network:
    """The graph without its costs: node supplies, and each arc's tail, head and capacity.

    Nodes: donors, arrivals, backorders, then outside and leftover. Arcs: lanes, arrival -> backorder,
    outside -> backorder, then each donor and outside -> leftover.
    """

    tails: IntArray
    heads: IntArray
    capacities: IntArray
    supplies: IntArray

    @classmethod
    def of(
        cls, donors: _Donors, open_lanes: _OpenLanes, arrivals: _Arrivals, backorders: _Backorders, requested: int
    ) -> _Network:
        n_donors, n_backorders = len(donors.site), len(backorders.id)
        first_arrival = n_donors
        first_backorder = first_arrival + arrivals.count
        outside = first_backorder + n_backorders
        leftover = outside + 1
        tails = np.concatenate(
            [
                open_lanes.donor,
                first_arrival + arrivals.arc_arrival,
                np.full(n_backorders, outside),
                np.arange(n_donors),
                [outside],
            ]
        )
        heads = np.concatenate(
            [
                first_arrival + arrivals.of_lane,
                first_backorder + arrivals.arc_backorder,
                first_backorder + np.arange(n_backorders),
                np.full(n_donors, leftover),
                [leftover],
            ]
        )
        capacities = np.concatenate(
            [
                open_lanes.capacity,
                backorders.open[arrivals.arc_backorder],
                backorders.open,
                donors.surplus,
                [requested],
            ]
        )
        supplies = np.concatenate(
            [
                donors.surplus,
                np.zeros(arrivals.count, np.int64),
                -backorders.open,
                [requested],
                [-int(donors.surplus.sum())],
            ]
        )
        return cls(tails, heads, capacities, supplies)


def solve_backorders(lanes: Lanes, demand: ItemDemand, mode: Mode = "POOL_FIRST", now: float = 0.0) -> ItemPlan:
    """The optimal plan for the demand's backorders: transfers from donors, then purchases (or unmet) for the rest."""
    started = time.perf_counter()
    backorders = _Backorders.of(demand)
    requested = int(backorders.open.sum())
    if requested == 0:
        return ItemPlan(demand.item_id, (), (), (), 0, 0, 0, 0, 0)
    donors = _Donors.of(demand)
    open_lanes = _OpenLanes.of(lanes, demand, donors, backorders)
    arrivals = _Arrivals.of(lanes, open_lanes, backorders, now)
    lane_cost = lanes.cost_cents[open_lanes.row]
    buy_late = costs.lateness_cents(
        backorders.rank, costs.days_late(now, demand.supplier_lead_hours, backorders.needed_by)
    )
    poolable = int(min(donors.surplus.sum(), requested))
    max_path = int(lane_cost.max(initial=0) + arrivals.arc_late_cents.max(initial=0))
    scale, outside_cost = _outside_cost(demand, mode, backorders, buy_late, poolable, max_path)

    network = _Network.of(donors, open_lanes, arrivals, backorders, requested)
    unit_costs = np.concatenate(
        [
            lane_cost * scale,
            arrivals.arc_late_cents * scale,
            outside_cost,
            np.zeros(len(donors.site) + 1, np.int64),
        ]
    )
    flows, flow_seconds = _min_cost_flow(demand.item_id, network, unit_costs)

    n_lanes, n_arcs, n_backorders = len(open_lanes.row), len(arrivals.arc_backorder), len(backorders.id)
    lane_flow = flows[:n_lanes]
    arc_flow = flows[n_lanes : n_lanes + n_arcs]
    outside_flow = flows[n_lanes + n_arcs : n_lanes + n_arcs + n_backorders]
    transfers = _transfers(demand.item_id, lanes, open_lanes.row, lane_flow, arrivals, arc_flow, backorders)
    served_from_outside = _per_site(demand.item_id, backorders, outside_flow)
    price = demand.price_cents
    reorders = tuple(ReorderLine(demand.item_id, s, q, price, a) for s, q, a in served_from_outside)
    unmet = tuple(UnmetLine(demand.item_id, s, q, a) for s, q, a in served_from_outside)
    if demand.purchasable:
        unmet = ()
    else:
        reorders = ()
    units_unmet = sum(u.quantity for u in unmet)
    penalty = int((arc_flow * arrivals.arc_late_cents).sum() + (outside_flow * buy_late).sum() * demand.purchasable)
    return ItemPlan(
        item_id=demand.item_id,
        transfers=transfers,
        reorders=reorders,
        unmet=unmet,
        units_requested=requested,
        all_external_cost_cents=(requested - units_unmet) * price,
        lateness_penalty_cents=penalty,
        nodes=len(network.supplies),
        arcs=len(network.tails),
        build_seconds=time.perf_counter() - started - flow_seconds,
        flow_seconds=flow_seconds,
    )


def _outside_cost(
    demand: ItemDemand, mode: Mode, backorders: _Backorders, buy_late: IntArray, poolable: int, max_path: int
) -> tuple[int, IntArray]:
    """The factor on lane and lateness costs, and the unit cost of each backorder's arc from outside.

    An item that cannot be bought and POOL_FIRST price that arc a priority tier above any path (see
    `costs.tier_step`); LEAST_COST scales money so that the backorder's rank only breaks ties.
    """
    buy_real = demand.price_cents + buy_late
    step = costs.tier_step(poolable, max_path, int(buy_real.max()) if demand.purchasable else 0)
    largest_cost = (step * costs.PRIORITY_LEVELS + int(buy_real.max())) * costs.least_cost_scale(poolable)
    if largest_cost > costs.MAX_ARC_COST:
        raise SolverError(
            f"item {demand.item_id}: quantities x prices too large for an exact plan "
            f"(largest arc cost {largest_cost:.3g} > {costs.MAX_ARC_COST:.3g})"
        )
    tier = step * (1 + backorders.rank)
    if not demand.purchasable:
        return 1, tier
    if mode == "POOL_FIRST":
        return 1, tier + buy_real
    scale = costs.least_cost_scale(poolable)
    return scale, buy_real * scale + backorders.rank


def _min_cost_flow(item_id: int, network: _Network, unit_costs: IntArray) -> tuple[IntArray, float]:
    """The optimal flow on each arc, and the seconds OR-Tools took to find it."""
    solver = min_cost_flow.SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        ints(network.tails), ints(network.heads), ints(network.capacities), ints(unit_costs)
    )
    solver.set_nodes_supplies(np.arange(len(network.supplies)), ints(network.supplies))
    solving = time.perf_counter()
    status = solver.solve()
    flow_seconds = time.perf_counter() - solving
    if status != solver.OPTIMAL:
        raise SolverError(f"min-cost flow for item {item_id} ended with status {status!r}, not OPTIMAL")
    return solver.flows(arcs), flow_seconds


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
    lane_row: IntArray,
    lane_flow: IntArray,
    arrivals: _Arrivals,
    arc_flow: IntArray,
    backorders: _Backorders,
) -> tuple[TransferLine, ...]:
    """Group lane flows into transfers, handing each arrival node's units to its backorders in order.

    Lanes that share an arrival node reach every backorder at the same cost, so any split is optimal; the
    split used here walks both lists in their canonical order.
    """
    moving = np.flatnonzero(lane_flow)
    taking = np.flatnonzero(arc_flow)
    if not len(moving):
        return ()
    # Line lanes and backorders up arrival by arrival (each in canonical order) as two runs of units; an arrival
    # node's inflow equals its outflow, so cutting both runs at every end of either gives the pieces (lane, units,
    # backorder) and no piece crosses from one arrival to the next.
    lanes_in_line = moving[np.argsort(arrivals.of_lane[moving], kind="stable")]
    takers_in_line = taking[np.argsort(arrivals.arc_arrival[taking], kind="stable")]
    lane_end = np.cumsum(lane_flow[lanes_in_line])
    taker_end = np.cumsum(arc_flow[takers_in_line])
    ends = np.union1d(lane_end, taker_end)
    starts = np.concatenate([[0], ends[:-1]])
    piece_lane = lanes_in_line[np.searchsorted(lane_end, starts, side="right")]
    piece_arc = takers_in_line[np.searchsorted(taker_end, starts, side="right")]
    piece_backorder = backorders.id[arrivals.arc_backorder[piece_arc]]
    pieces: dict[int, list[Allocation]] = {}
    for k, backorder_id, units in zip(
        piece_lane.tolist(), piece_backorder.tolist(), (ends - starts).tolist(), strict=True
    ):
        pieces.setdefault(k, []).append(Allocation(backorder_id, units))
    rows = lane_row[moving]
    return tuple(
        TransferLine(item_id, lane_id, from_site, to_site, quantity, cost, lead, tuple(pieces[k]))
        for k, lane_id, from_site, to_site, quantity, cost, lead in zip(
            moving.tolist(),
            lanes.lane_id[rows].tolist(),
            lanes.from_site[rows].tolist(),
            lanes.to_site[rows].tolist(),
            lane_flow[moving].tolist(),
            lanes.cost_cents[rows].tolist(),
            lanes.lead_hours[rows].tolist(),
            strict=True,
        )
    )


def _per_site(item_id: int, backorders: _Backorders, flow: IntArray) -> list[tuple[int, int, tuple[Allocation, ...]]]:
    """(site, units, allocations) of the backorders served from outside, one row per site."""
    rows: dict[int, list[Allocation]] = {}
    for k in np.flatnonzero(flow):
        rows.setdefault(int(backorders.site[k]), []).append(Allocation(int(backorders.id[k]), int(flow[k])))
    return [(site, sum(a.quantity for a in allocs), tuple(allocs)) for site, allocs in sorted(rows.items())]
