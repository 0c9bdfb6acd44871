"""One item's plan: its backorders first, then (in a proactive plan) the sites below their reorder point.

Backorders always come first: their plan is the one without replenishment, whatever replenishment could gain.
Replenishment then uses what the backorders left: the donors' shareable units above their own reorder point,
the lanes' capacity left, and only lanes where moving pays; the rest is reordered (the automatic reorder at the
reorder point). Sharing rules cap what each donor gives in the whole plan. Each stage is one min-cost flow, so
the plan is exactly optimal for this lexicographic model (tests/solver/test_optimality.py checks it).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pooling.solver import costs
from pooling.solver.network import solve_backorders
from pooling.solver.problem import (
    NO_CAPACITY,
    ItemDemand,
    ItemPlan,
    Lanes,
    Mode,
    UnmetLine,
    UnmetReason,
    floats,
    ints,
)


def solve_item(lanes: Lanes, demand: ItemDemand, mode: Mode = "POOL_FIRST", now: float = 0.0) -> ItemPlan:
    """The item's optimal plan; each unmet line says which constraint left it unmet."""
    plan = _solve(lanes, demand, mode, now)
    if plan.unmet:
        plan = replace(plan, unmet=_explained(lanes, demand, mode, now, plan))
    return plan


def shareable(demand: ItemDemand) -> ItemDemand:
    """The demand with each donor's surplus cut to what its sharing rule lets it give."""
    if not len(demand.donor_share_cap):
        return demand
    cap = demand.donor_share_cap
    return replace(
        demand, donor_surplus=np.where(cap >= 0, np.minimum(demand.donor_surplus, cap), demand.donor_surplus)
    )


def _solve(lanes: Lanes, demand: ItemDemand, mode: Mode, now: float) -> ItemPlan:
    demand = shareable(demand)
    backorders = solve_backorders(lanes, demand, mode, now)
    if not int(demand.replenish_units.sum()):
        return backorders
    replenish = solve_backorders(lanes, _replenishment(demand, backorders), mode, now)
    return ItemPlan(
        item_id=demand.item_id,
        transfers=(
            *backorders.transfers,
            *(replace(t, allocations=(), reason="REPLENISH") for t in replenish.transfers),
        ),
        reorders=(*backorders.reorders, *(replace(r, allocations=(), reason="REPLENISH") for r in replenish.reorders)),
        unmet=(*backorders.unmet, *(replace(u, allocations=(), demand="REPLENISH") for u in replenish.unmet)),
        units_requested=backorders.units_requested + replenish.units_requested,
        all_external_cost_cents=backorders.all_external_cost_cents + replenish.all_external_cost_cents,
        lateness_penalty_cents=backorders.lateness_penalty_cents,
        nodes=backorders.nodes + replenish.nodes,
        arcs=backorders.arcs + replenish.arcs,
        build_seconds=backorders.build_seconds + replenish.build_seconds,
        flow_seconds=backorders.flow_seconds + replenish.flow_seconds,
    )


def _replenishment(demand: ItemDemand, backorders: ItemPlan) -> ItemDemand:
    """Replenishment as a demand of its own: one undated LOW "backorder" (id: minus the site) per site below its
    reorder point, served from what the backorders left of each donor, never below its reorder point, over the
    lanes' capacity left and only over lanes where moving pays."""
    given = {t.from_site: 0 for t in backorders.transfers}
    for t in backorders.transfers:
        given[t.from_site] += t.quantity
    above = demand.donor_above_reorder_point if len(demand.donor_above_reorder_point) else 0
    # What the donor gave to backorders comes off both its shareable surplus and its units above reorder point.
    supply = np.minimum(demand.donor_surplus, above) - ints([given.get(s, 0) for s in demand.donor_site.tolist()])
    carried = backorders.transfers
    n = len(demand.replenish_site)
    return replace(
        demand,
        donor_surplus=np.maximum(supply, 0),
        donor_share_cap=ints([]),
        backorder_id=-demand.replenish_site,
        backorder_site=demand.replenish_site,
        backorder_open=demand.replenish_units,
        backorder_rank=np.zeros(n, np.int64),
        backorder_needed_by=floats(np.full(n, np.nan)),
        committed_lane_id=np.concatenate([demand.committed_lane_id, ints([t.lane_id for t in carried])]),
        committed_quantity=np.concatenate([demand.committed_quantity, ints([t.quantity for t in carried])]),
        replenish_site=ints([]),
        replenish_units=ints([]),
        max_lane_cents=costs.dearest_paying_lane(demand.price_cents, demand.replenish_cost_share),
    )


def _explained(lanes: Lanes, demand: ItemDemand, mode: Mode, now: float, plan: ItemPlan) -> tuple[UnmetLine, ...]:
    """Each unmet line with the constraint that left it unmet, found by solving again without the caps.

    SHARING_POLICY: without sharing rules more of it is served; LANE_CAPACITY: without lane capacities too;
    otherwise NOT_PURCHASABLE when some donor with surplus has a lane to the site (its units went to demand
    that comes first), NO_DONOR when none has.
    """
    free_sharing = replace(demand, donor_share_cap=ints([]))
    free_lanes = replace(lanes, capacity=np.full(len(lanes), NO_CAPACITY, np.int64))
    without_rules = _unmet_units(_solve(lanes, free_sharing, mode, now))
    without_caps = _unmet_units(_solve(free_lanes, free_sharing, mode, now))
    lines = []
    for line in plan.unmet:
        key = (line.demand, line.site)
        reason: UnmetReason
        if without_rules.get(key, 0) < line.quantity:
            reason = "SHARING_POLICY"
        elif without_caps.get(key, 0) < line.quantity:
            reason = "LANE_CAPACITY"
        elif _reachable(lanes, demand, line):
            reason = "NOT_PURCHASABLE"
        else:
            reason = "NO_DONOR"
        lines.append(replace(line, reason=reason))
    return tuple(lines)


def _reachable(lanes: Lanes, demand: ItemDemand, line: UnmetLine) -> bool:
    """Whether some donor could give to the line's site at all: a lane from a site with surplus (for
    replenishment: with units above its reorder point, over a lane that pays)."""
    into = lanes.to_site == line.site
    giving = demand.donor_surplus > 0
    if line.demand == "REPLENISH":
        above = demand.donor_above_reorder_point
        giving = above > 0 if len(above) else np.zeros(len(demand.donor_site), bool)
        into &= lanes.cost_cents <= costs.dearest_paying_lane(demand.price_cents, demand.replenish_cost_share)
    return bool(np.isin(lanes.from_site[into], demand.donor_site[giving]).any())


def _unmet_units(plan: ItemPlan) -> dict[tuple[str, int], int]:
    return {(u.demand, u.site): u.quantity for u in plan.unmet}
