"""The solver's plans are optimal: compared on random small instances with an independent MILP (scipy/HiGHS).

The test writes its own formulation of the model in the README ("Rebalancing (the solver)"):
x[lane, backorder] = units over a lane to a backorder at the lane's destination, y[backorder] = units
bought (or left unmet when the item cannot be bought). Per donor, units out <= surplus; per lane, units
<= capacity left after what is committed; per backorder, pooled + y = open. Real cost = money + lateness
penalty per unit, with the lateness rule taken from `pooling.solver.costs` (this test checks the
optimisation, not that rule).

POOL_FIRST (and an unpurchasable item in either mode) is lexicographic: the most pooled units of rank 3,
then 2, 1, 0, then the least real cost, solved as a sequence of MILPs, each fixing the optimum found before
it. LEAST_COST with a purchasable item: the least real cost, ties going to higher priority (the most
rank-weighted pooled units). Costs are compared, not flows: several flows can be optimal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from pooling.solver import MODES, ItemDemand, ItemPlan, Lanes, solve_item
from pooling.solver.costs import days_late, lateness_cents
from pooling.solver.problem import TransferLine, floats, ints

NOW = 1_700_000_000.0
HOUR = 3_600.0


@dataclass(frozen=True)
class Instance:
    lanes: Lanes
    demand: ItemDemand
    remaining: dict[int, int | None]  # lane id -> capacity left after committed units (None: no limit)


def cents(top: int) -> st.SearchStrategy[int]:
    """Amounts on a coarse grid give exact ties; an odd cent or two gives near-ties (tie-breaks must lose)."""
    return st.builds(lambda grid, odd: 250 * grid + odd, st.integers(0, top // 250), st.integers(0, 2))


@st.composite
def instances(draw: st.DrawFn) -> Instance:
    """2-6 sites, waiting, giving or neither; random lanes, most from givers to waiters; 1-8 backorders."""
    n_sites = draw(st.integers(2, 6))
    site_ids = draw(st.lists(st.integers(1, 40), min_size=n_sites, max_size=n_sites, unique=True))
    n_waiting = draw(st.integers(1, n_sites - 1))
    waiting, others = site_ids[:n_waiting], site_ids[n_waiting:]
    givers = [s for s in others if draw(st.integers(0, 4))]  # a few sites neither wait nor give
    surplus = {s: draw(st.integers(1, 6)) if draw(st.integers(0, 5)) else 0 for s in givers}  # 0: dropped

    n_backorders = draw(st.integers(1, 8))
    backorders = []
    for k in range(n_backorders):
        site = draw(st.sampled_from(waiting))
        hours = draw(st.none() | st.floats(-72, 480, allow_nan=False))
        needed_by = np.nan if hours is None else NOW + hours * HOUR
        open_units = draw(st.integers(1, 5)) if draw(st.integers(0, 7)) else 0  # some 0: dropped
        backorders.append((1_000 + 3 * k, site, open_units, draw(st.integers(0, 3)), needed_by))
    assume(any(b[2] for b in backorders))  # nothing open is a trivial (empty) plan, tested by hand
    order = draw(st.permutations(range(n_backorders)))
    backorders = [backorders[i] for i in order]

    rows, remaining, committed = [], {}, []
    lane_cents = cents(draw(st.sampled_from([2_000, 250])))  # cheap lanes: lateness and priority dominate
    for a in site_ids:
        for b in site_ids:
            useful = a in surplus and b in waiting
            if a == b or draw(st.integers(0, 3)) < (1 if useful else 3):  # 3/4 of useful pairs have a lane
                continue
            lane_id = 100 + 7 * len(rows)
            capacity = draw(st.none() | st.integers(0, 6))
            used = draw(st.integers(0, 4)) if draw(st.booleans()) else 0
            if used:
                committed.append((lane_id, used))
            rows.append((lane_id, a, b, draw(lane_cents), draw(st.integers(0, 240)), capacity))
            remaining[lane_id] = None if capacity is None else max(capacity - used, 0)
    if draw(st.booleans()):
        committed.append((99_999, 3))  # a lane not given (inactive): ignored

    price = draw(cents(3_000))
    useful = [r[3] for r in rows if r[1] in surplus and r[2] in waiting]
    if useful and draw(st.booleans()):  # a price within 2 cents of a useful lane's cost: near-ties
        price = max(0, draw(st.sampled_from(useful)) + draw(st.integers(-2, 2)))
    demand = ItemDemand(
        item_id=1,
        price_cents=price,
        purchasable=draw(st.integers(0, 3)) > 0,
        supplier_lead_hours=draw(st.integers(0, 480)),
        donor_site=ints(list(surplus)),
        donor_surplus=ints(list(surplus.values())),
        backorder_id=ints([b[0] for b in backorders]),
        backorder_site=ints([b[1] for b in backorders]),
        backorder_open=ints([b[2] for b in backorders]),
        backorder_rank=ints([b[3] for b in backorders]),
        backorder_needed_by=floats([b[4] for b in backorders]),
        committed_lane_id=ints([c[0] for c in committed]),
        committed_quantity=ints([c[1] for c in committed]),
    )
    return Instance(Lanes.of(rows), demand, remaining)


def late(rank: int, lead_hours: int, needed_by: float) -> int:
    return int(lateness_cents(ints([rank]), days_late(NOW, lead_hours, floats([needed_by])))[0])


@dataclass(frozen=True)
class Optimum:
    pooled_by_rank: tuple[int, int, int, int]  # best lexicographic pooling (ranks 0..3), where it applies
    real_cost: int
    rank_weighted_pooled: int  # LEAST_COST tie-break: the most sum(rank x pooled) at the least real cost


def milp_optimum(inst: Instance, mode: str) -> Optimum:
    """The independent optimum: sequential MILPs over x[lane, backorder] and y[backorder]."""
    d, lanes = inst.demand, inst.lanes
    surplus = dict(zip(d.donor_site.tolist(), d.donor_surplus.tolist(), strict=True))
    columns = (d.backorder_id, d.backorder_site, d.backorder_open, d.backorder_rank, d.backorder_needed_by)
    # (id, site, open, rank, needed_by) of each open backorder
    bos = [b for b in zip(*(c.tolist() for c in columns), strict=True) if b[2] > 0]
    xs = [(li, bi) for li in range(len(lanes)) for bi, b in enumerate(bos) if lanes.to_site[li] == b[1]]
    n_x, n = len(xs), len(xs) + len(bos)
    if not bos:
        return Optimum((0, 0, 0, 0), 0, 0)

    cost = np.zeros(n)
    for k, (li, bi) in enumerate(xs):
        cost[k] = lanes.cost_cents[li] + late(bos[bi][3], int(lanes.lead_hours[li]), bos[bi][4])
    if d.purchasable:
        for bi, b in enumerate(bos):
            cost[n_x + bi] = d.price_cents + late(b[3], d.supplier_lead_hours, b[4])

    rows, lower, upper = [], [], []
    for site in set(lanes.from_site.tolist()):  # donors (a site without surplus gives nothing)
        rows.append([1.0 if lanes.from_site[li] == site else 0.0 for li, _ in xs] + [0.0] * len(bos))
        lower.append(0)
        upper.append(surplus.get(site, 0))
    for li in range(len(lanes)):  # lane capacity left
        left = inst.remaining[int(lanes.lane_id[li])]
        if left is not None:
            rows.append([1.0 if lj == li else 0.0 for lj, _ in xs] + [0.0] * len(bos))
            lower.append(0)
            upper.append(left)
    for bi, b in enumerate(bos):  # every open unit pooled, bought or unmet
        rows.append([1.0 if bj == bi else 0.0 for _, bj in xs] + list(np.eye(len(bos))[bi]))
        lower.append(b[2])
        upper.append(b[2])

    def solve(objective: np.ndarray, sense: float) -> int:
        """Optimise (sense -1: maximise) under the constraints so far; the integer optimum."""
        result = milp(
            sense * objective,
            constraints=LinearConstraint(np.array(rows), lower, upper),
            integrality=np.ones(n),
            bounds=Bounds(0, np.inf),
            options={"mip_rel_gap": 0.0},
        )
        assert result.success, result.message
        value = float(objective @ result.x)
        assert abs(value - round(value)) < 1e-6
        return round(value)

    def fix(objective: np.ndarray, value: int) -> None:
        rows.append(list(objective))
        lower.append(value)
        upper.append(value)

    pooled_by_rank = [0, 0, 0, 0]
    if mode == "POOL_FIRST" or not d.purchasable:
        for rank in (3, 2, 1, 0):
            objective = np.array([1.0 if bos[bi][3] == rank else 0.0 for _, bi in xs] + [0.0] * len(bos))
            pooled_by_rank[rank] = solve(objective, -1)
            fix(objective, pooled_by_rank[rank])
    real_cost = solve(cost, 1)
    fix(cost, real_cost)
    weighted = np.array([float(bos[bi][3]) for _, bi in xs] + [0.0] * len(bos))
    return Optimum(tuple(pooled_by_rank), real_cost, solve(weighted, -1))


def check_feasible(inst: Instance, plan: ItemPlan) -> None:
    """Every open unit served exactly once, donors within surplus, lanes within capacity, lines consistent."""
    d, lanes = inst.demand, inst.lanes
    opened = {b: o for b, o in zip(d.backorder_id.tolist(), d.backorder_open.tolist(), strict=True) if o > 0}
    site_of = dict(zip(d.backorder_id.tolist(), d.backorder_site.tolist(), strict=True))
    surplus = dict(zip(d.donor_site.tolist(), d.donor_surplus.tolist(), strict=True))
    lane_row = {int(lane_id): k for k, lane_id in enumerate(lanes.lane_id)}
    served = dict.fromkeys(opened, 0)
    given: dict[int, int] = {}
    carried: dict[int, int] = {}

    for t in plan.transfers:
        k = lane_row[t.lane_id]
        assert (t.from_site, t.to_site) == (lanes.from_site[k], lanes.to_site[k])
        assert (t.unit_cost_cents, t.lead_hours) == (lanes.cost_cents[k], lanes.lead_hours[k])
        assert t.quantity > 0 and t.quantity == sum(a.quantity for a in t.allocations)
        given[t.from_site] = given.get(t.from_site, 0) + t.quantity
        carried[t.lane_id] = carried.get(t.lane_id, 0) + t.quantity
        for a in t.allocations:
            assert site_of[a.backorder_id] == t.to_site
            served[a.backorder_id] += a.quantity
    for line in (*plan.reorders, *plan.unmet):
        assert line.quantity > 0 and line.quantity == sum(a.quantity for a in line.allocations)
        for a in line.allocations:
            assert site_of[a.backorder_id] == line.site
            served[a.backorder_id] += a.quantity
    assert served == opened
    assert all(q <= surplus.get(site, 0) for site, q in given.items())
    assert all(inst.remaining[lane] is None or q <= inst.remaining[lane] for lane, q in carried.items())
    if d.purchasable:
        assert plan.unmet == ()
        assert all(r.unit_cost_cents == d.price_cents for r in plan.reorders)
    else:
        assert plan.reorders == ()
    assert plan.units_requested == sum(opened.values())
    assert plan.units_unmet == sum(u.quantity for u in plan.unmet)
    assert plan.units_requested == plan.units_by_transfer + plan.units_by_reorder + plan.units_unmet


def plan_measures(inst: Instance, plan: ItemPlan) -> tuple[tuple[int, ...], int, int, int]:
    """(pooled units per rank 0..3, real cost, lateness penalty, rank-weighted pooled units) of the plan."""
    d = inst.demand
    rank = dict(zip(d.backorder_id.tolist(), d.backorder_rank.tolist(), strict=True))
    needed_by = dict(zip(d.backorder_id.tolist(), d.backorder_needed_by.tolist(), strict=True))
    pooled, cost, penalty = [0, 0, 0, 0], 0, 0
    for t in plan.transfers:
        for a in t.allocations:
            pooled[rank[a.backorder_id]] += a.quantity
            lateness = late(rank[a.backorder_id], t.lead_hours, needed_by[a.backorder_id])
            cost += a.quantity * (t.unit_cost_cents + lateness)
            penalty += a.quantity * lateness
    for r in plan.reorders:
        for a in r.allocations:
            lateness = late(rank[a.backorder_id], d.supplier_lead_hours, needed_by[a.backorder_id])
            cost += a.quantity * (d.price_cents + lateness)
            penalty += a.quantity * lateness
    return tuple(pooled), cost, penalty, sum(r * q for r, q in enumerate(pooled))


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances())
def test_plan_is_optimal(mode: str, inst: Instance) -> None:
    """The plan is feasible, and its pooling per rank and real cost equal the independent MILP optimum."""
    plan = solve_item(inst.lanes, inst.demand, mode, NOW)
    check_feasible(inst, plan)
    pooled, cost, penalty, weighted = plan_measures(inst, plan)
    best = milp_optimum(inst, mode)
    if mode == "POOL_FIRST" or not inst.demand.purchasable:
        assert pooled == best.pooled_by_rank
    else:
        assert weighted == best.rank_weighted_pooled
    assert cost == best.real_cost
    assert plan.lateness_penalty_cents == penalty


# Proactive plans: backorders first (the plan above, on donors' surplus cut by their sharing rules), then REPLENISH
# demand of sites below their reorder point on what the backorders left: per donor at most min(shareable surplus,
# units above its reorder point) less what it gave to backorders, per lane the capacity left after the backorders'
# transfers, only lanes whose cost per unit is under `replenish_cost_share` of the price. Written here
# independently of the solver.


@st.composite
def proactive_instances(draw: st.DrawFn) -> Instance:
    """A backorder instance plus sharing caps, donors' units above their reorder point and replenishment."""
    inst = draw(instances())
    d = inst.demand
    n = len(d.donor_site)
    share_cap = [draw(st.sampled_from([-1, -1, 0]) | st.integers(0, 6)) for _ in range(n)]
    above = [draw(st.integers(0, s)) for s in d.donor_surplus.tolist()]
    sites = sorted(set(inst.lanes.to_site.tolist()) - set(d.donor_site.tolist()))
    assume(sites)
    chosen = draw(st.lists(st.sampled_from(sites), min_size=1, max_size=len(sites), unique=True))
    demand = dataclasses.replace(
        d,
        donor_share_cap=ints(share_cap),
        donor_above_reorder_point=ints(above),
        replenish_site=ints(chosen),
        replenish_units=ints([draw(st.integers(1, 8)) for _ in chosen]),
        replenish_cost_share=draw(st.sampled_from([0.05, 0.2, 0.5, 1.0])),
    )
    return Instance(inst.lanes, demand, inst.remaining)


def capped(inst: Instance) -> Instance:
    """The instance with each donor's surplus cut to its sharing cap (-1: none)."""
    d = inst.demand
    pairs = zip(d.donor_surplus.tolist(), d.donor_share_cap.tolist(), strict=True)
    surplus = [s if c < 0 else min(s, c) for s, c in pairs]
    return Instance(inst.lanes, dataclasses.replace(d, donor_surplus=ints(surplus)), inst.remaining)


def replenish_optimum(inst: Instance, mode: str, backorder_lines: list[TransferLine]) -> tuple[int, int]:
    """(pooled units, real cost) of the best replenishment after the given backorder transfers: MILPs over
    x[paying lane, replenished site] and y[replenished site]."""
    d, lanes = inst.demand, inst.lanes
    given: dict[int, int] = {}
    carried: dict[int, int] = {}
    for t in backorder_lines:
        given[t.from_site] = given.get(t.from_site, 0) + t.quantity
        carried[t.lane_id] = carried.get(t.lane_id, 0) + t.quantity
    supply = {
        site: min(surplus, above) - given.get(site, 0)
        for site, surplus, above in zip(
            d.donor_site.tolist(), d.donor_surplus.tolist(), d.donor_above_reorder_point.tolist(), strict=True
        )
    }
    wants = list(zip(d.replenish_site.tolist(), d.replenish_units.tolist(), strict=True))
    pays = [li for li in range(len(lanes)) if lanes.cost_cents[li] < d.replenish_cost_share * d.price_cents]
    xs = [(li, wi) for li in pays for wi, (site, _) in enumerate(wants) if lanes.to_site[li] == site]
    n_x, n = len(xs), len(xs) + len(wants)
    cost = np.array([float(lanes.cost_cents[li]) for li, _ in xs] + [float(d.price_cents) * d.purchasable] * len(wants))
    rows, lower, upper = [], [], []
    for site in set(lanes.from_site.tolist()):
        rows.append([1.0 if lanes.from_site[li] == site else 0.0 for li, _ in xs] + [0.0] * len(wants))
        lower.append(0)
        upper.append(max(supply.get(site, 0), 0))
    for li in pays:
        left = inst.remaining[int(lanes.lane_id[li])]
        if left is not None:
            rows.append([1.0 if lj == li else 0.0 for lj, _ in xs] + [0.0] * len(wants))
            lower.append(0)
            upper.append(left - carried.get(int(lanes.lane_id[li]), 0))
    for wi, (_, units) in enumerate(wants):
        rows.append([1.0 if wj == wi else 0.0 for _, wj in xs] + list(np.eye(len(wants))[wi]))
        lower.append(units)
        upper.append(units)

    def solve(objective: np.ndarray, sense: float) -> int:
        result = milp(
            sense * objective,
            constraints=LinearConstraint(np.array(rows), lower, upper),
            integrality=np.ones(n),
            bounds=Bounds(0, np.inf),
            options={"mip_rel_gap": 0.0},
        )
        assert result.success, result.message
        return round(float(objective @ result.x))

    pooled_objective = np.array([1.0] * n_x + [0.0] * len(wants))
    pooled = 0
    if mode == "POOL_FIRST" or not d.purchasable:
        pooled = solve(pooled_objective, -1)
        rows.append(list(pooled_objective))
        lower.append(pooled)
        upper.append(pooled)
    return pooled, solve(cost, 1)


@pytest.mark.parametrize("mode", MODES)
@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(inst=proactive_instances())
def test_proactive_plan_is_optimal(mode: str, inst: Instance) -> None:
    """Backorder lines equal the optimum under sharing caps; replenishment lines are feasible and optimal on what
    the backorders left (never below a donor's reorder point, only lanes that pay)."""
    plan = solve_item(inst.lanes, inst.demand, mode, NOW)
    first = capped(inst)
    backorder_part = dataclasses.replace(
        plan,
        transfers=tuple(t for t in plan.transfers if t.reason == "BACKORDER"),
        reorders=tuple(r for r in plan.reorders if r.reason == "BACKORDER"),
        unmet=tuple(u for u in plan.unmet if u.demand == "BACKORDER"),
        units_requested=int(inst.demand.backorder_open.sum()),
    )
    check_feasible(first, backorder_part)
    pooled, cost, _, weighted = plan_measures(first, backorder_part)
    best = milp_optimum(first, mode)
    if mode == "POOL_FIRST" or not inst.demand.purchasable:
        assert pooled == best.pooled_by_rank
    else:
        assert weighted == best.rank_weighted_pooled
    assert cost == best.real_cost

    d = inst.demand
    moved = [t for t in plan.transfers if t.reason == "REPLENISH"]
    bought = [r for r in plan.reorders if r.reason == "REPLENISH"]
    left = [u for u in plan.unmet if u.demand == "REPLENISH"]
    wanted = dict(zip(d.replenish_site.tolist(), d.replenish_units.tolist(), strict=True))
    served = dict.fromkeys(wanted, 0)
    for line in (*moved, *bought, *left):
        served[line.site if not isinstance(line, TransferLine) else line.to_site] += line.quantity
    assert served == wanted
    for t in moved:
        assert t.unit_cost_cents < d.replenish_cost_share * d.price_cents
    above = dict(zip(d.donor_site.tolist(), d.donor_above_reorder_point.tolist(), strict=True))
    for site in {t.from_site for t in moved}:  # a donor that replenishes ends at or above its reorder point
        assert sum(t.quantity for t in plan.transfers if t.from_site == site) <= above[site]
    shareable = dict(zip(first.demand.donor_site.tolist(), first.demand.donor_surplus.tolist(), strict=True))
    for site in {t.from_site for t in plan.transfers}:
        assert sum(t.quantity for t in plan.transfers if t.from_site == site) <= shareable[site]
    best_pooled, best_cost = replenish_optimum(first, mode, list(backorder_part.transfers))
    if mode == "POOL_FIRST" or not d.purchasable:
        assert sum(t.quantity for t in moved) == best_pooled
    real = sum(t.quantity * t.unit_cost_cents for t in moved) + sum(r.quantity * r.unit_cost_cents for r in bought)
    assert real == best_cost
    assert plan.units_proactive == sum(t.quantity for t in moved) + sum(r.quantity for r in bought)
