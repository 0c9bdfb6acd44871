"""Hand-made solver cases, each asserting the plan itself: who gives, over which lane, to which backorder."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pooling.solver import (
    MODES,
    ItemDemand,
    ItemPlan,
    Lanes,
    RegionPlan,
    RegionProblem,
    solve_item,
    solve_region,
)
from pooling.solver.problem import floats, ints
from pooling.solver.random_network import random_region

NOW = 1_700_000_000.0
DAY = 86_400.0
NORMAL, HIGH, CRITICAL = 1, 2, 3


def demand(
    donors: dict[int, int],
    backorders: list[tuple[int, int, int, int, float | None]],
    *,
    price: int = 1_000,
    purchasable: bool = True,
    supplier_lead_hours: int = 72,
    committed: dict[int, int] | None = None,
    item_id: int = 1,
) -> ItemDemand:
    """One item: donors as {site: surplus}, backorders as (id, site, open, rank, needed_by or None) rows."""
    committed = committed or {}
    return ItemDemand(
        item_id=item_id,
        price_cents=price,
        purchasable=purchasable,
        supplier_lead_hours=supplier_lead_hours,
        donor_site=ints(list(donors)),
        donor_surplus=ints(list(donors.values())),
        backorder_id=ints([b[0] for b in backorders]),
        backorder_site=ints([b[1] for b in backorders]),
        backorder_open=ints([b[2] for b in backorders]),
        backorder_rank=ints([b[3] for b in backorders]),
        backorder_needed_by=floats([np.nan if b[4] is None else b[4] for b in backorders]),
        committed_lane_id=ints(list(committed)),
        committed_quantity=ints(list(committed.values())),
    )


def moved(plan: ItemPlan) -> dict[tuple[int, int], int]:
    """{(lane id, backorder id): units} over the plan's transfers."""
    out: dict[tuple[int, int], int] = {}
    for t in plan.transfers:
        for a in t.allocations:
            out[t.lane_id, a.backorder_id] = out.get((t.lane_id, a.backorder_id), 0) + a.quantity
    return out


def bought(plan: ItemPlan) -> dict[int, int]:
    """{backorder id: units} over the plan's reorders."""
    return {a.backorder_id: a.quantity for r in plan.reorders for a in r.allocations}


def left_unmet(plan: ItemPlan) -> dict[int, int]:
    return {a.backorder_id: a.quantity for u in plan.unmet for a in u.allocations}


# Scarce surplus and priority


@pytest.mark.parametrize("mode", MODES)
def test_scarce_unit_goes_to_critical_before_normal_at_equal_cost(mode: str) -> None:
    """One spare unit, two equally priced routes: both modes give it to the CRITICAL backorder."""
    lanes = Lanes.of([(1, 1, 2, 100, 24, None), (2, 1, 3, 100, 24, None)])
    item = demand({1: 1}, [(10, 2, 1, NORMAL, None), (11, 3, 1, CRITICAL, None)])
    plan = solve_item(lanes, item, mode, NOW)
    assert moved(plan) == {(2, 11): 1}
    assert bought(plan) == {10: 1}
    assert plan.unmet == ()


def test_pool_first_serves_critical_even_over_a_dearer_lane() -> None:
    """POOL_FIRST priority is strict: the CRITICAL backorder gets the unit although its lane costs more."""
    lanes = Lanes.of([(1, 1, 2, 100, 24, None), (2, 1, 3, 900, 24, None)])
    item = demand({1: 1}, [(10, 2, 1, NORMAL, None), (11, 3, 1, CRITICAL, None)])
    plan = solve_item(lanes, item, "POOL_FIRST", NOW)
    assert moved(plan) == {(2, 11): 1}
    assert bought(plan) == {10: 1}


def test_pool_first_priority_holds_when_buying_for_the_lower_rank_is_late() -> None:
    """Buying for the HIGH backorder is 10 days late (5,000 penalty), yet POOL_FIRST pools the CRITICAL one.

    LEAST_COST weighs money and lateness only, so it pools the HIGH backorder to avoid the penalty.
    """
    lanes = Lanes.of([(1, 1, 2, 10, 24, None), (2, 1, 3, 10, 24, None)])
    item = demand({1: 1}, [(10, 2, 1, HIGH, NOW), (11, 3, 1, CRITICAL, None)], supplier_lead_hours=240)
    pool_first = solve_item(lanes, item, "POOL_FIRST", NOW)
    assert moved(pool_first) == {(2, 11): 1}
    assert bought(pool_first) == {10: 1}
    assert pool_first.lateness_penalty_cents == 10 * 500
    least_cost = solve_item(lanes, item, "LEAST_COST", NOW)
    assert moved(least_cost) == {(1, 10): 1}
    assert bought(least_cost) == {11: 1}
    assert least_cost.lateness_penalty_cents == 500  # the lane's day late


@pytest.mark.parametrize(("lane_cents", "pooled"), [(1_001, False), (1_000, True), (999, True)])
def test_least_cost_pays_not_one_cent_more_for_priority(lane_cents: int, pooled: bool) -> None:
    """LEAST_COST: a lane one cent dearer than buying is not used, even for CRITICAL; at equal cost it is."""
    lanes = Lanes.of([(1, 1, 2, lane_cents, 24, None)])
    plan = solve_item(lanes, demand({1: 5}, [(10, 2, 1, CRITICAL, None)], price=1_000), "LEAST_COST", NOW)
    assert (moved(plan), bought(plan)) == (({(1, 10): 1}, {}) if pooled else ({}, {10: 1}))


# Lanes


def test_lane_capacity_limits_a_transfer() -> None:
    """A lane of capacity 5 carries 5 of the 8 units wanted though the donor has 10; the rest is bought."""
    lanes = Lanes.of([(7, 1, 2, 100, 24, 5)])
    plan = solve_item(lanes, demand({1: 10}, [(10, 2, 8, NORMAL, None)]), "POOL_FIRST", NOW)
    assert moved(plan) == {(7, 10): 5}
    assert bought(plan) == {10: 3}


def test_committed_units_use_lane_capacity_up() -> None:
    """Units committed on a capped lane leave only the rest of its capacity; an uncapped lane has no limit."""
    lanes = Lanes.of([(7, 1, 2, 100, 24, 5), (8, 3, 2, 150, 24, None)])
    committed = {7: 2, 8: 50}
    wanted = [(10, 2, 8, NORMAL, None)]
    plan = solve_item(lanes, demand({1: 10}, wanted, committed=committed), "POOL_FIRST", NOW)
    assert moved(plan) == {(7, 10): 3}
    assert bought(plan) == {10: 5}

    full = solve_item(lanes, demand({1: 10}, wanted, committed={7: 6}), "POOL_FIRST", NOW)
    assert full.transfers == ()
    assert bought(full) == {10: 8}

    uncapped = solve_item(lanes, demand({3: 10}, wanted, committed=committed), "POOL_FIRST", NOW)
    assert moved(uncapped) == {(8, 10): 8}


@pytest.mark.parametrize("mode", MODES)
def test_no_lane_from_donor_to_recipient_means_reorder(mode: str) -> None:
    """A lane the wrong way round is no lane: the backorder is bought outside."""
    lanes = Lanes.of([(1, 2, 1, 10, 24, None)])
    plan = solve_item(lanes, demand({1: 5}, [(10, 2, 3, NORMAL, None)]), mode, NOW)
    assert plan.transfers == ()
    assert [(r.site, r.quantity, r.unit_cost_cents) for r in plan.reorders] == [(2, 3, 1_000)]
    assert bought(plan) == {10: 3}


@pytest.mark.parametrize("mode", MODES)
def test_unpurchasable_item_without_pool_is_unmet(mode: str) -> None:
    """An item that cannot be bought and cannot be pooled is reported unmet, never reordered."""
    lanes = Lanes.of([(1, 1, 3, 10, 24, None)])
    item = demand({1: 5}, [(10, 2, 3, NORMAL, None), (11, 2, 1, CRITICAL, None)], purchasable=False)
    plan = solve_item(lanes, item, mode, NOW)
    assert plan.transfers == () and plan.reorders == ()
    assert [(u.site, u.quantity) for u in plan.unmet] == [(2, 4)]
    assert left_unmet(plan) == {10: 3, 11: 1}
    assert plan.units_unmet == 4
    assert plan.all_external_cost_cents == 0


# Modes


def test_pool_first_transfers_where_least_cost_buys() -> None:
    """Buying (100) is cheaper than the lane (500): POOL_FIRST still transfers, LEAST_COST reorders."""
    lanes = Lanes.of([(1, 1, 2, 500, 24, None)])
    item = demand({1: 5}, [(10, 2, 2, NORMAL, None)], price=100)
    pool_first = solve_item(lanes, item, "POOL_FIRST", NOW)
    assert moved(pool_first) == {(1, 10): 2}
    assert pool_first.reorders == ()
    least_cost = solve_item(lanes, item, "LEAST_COST", NOW)
    assert least_cost.transfers == ()
    assert bought(least_cost) == {10: 2}


@pytest.mark.parametrize("purchasable", [True, False])
def test_pool_first_maximises_pooled_units_over_cost(purchasable: bool) -> None:
    """d1->b1 is cheap but leaves b2 unpooled; pooling both (d1->b2, d2->b1) costs more and must be chosen.

    An unpurchasable item uses the same rule in either mode.
    """
    lanes = Lanes.of([(1, 1, 3, 10, 24, None), (2, 1, 4, 1_000, 24, None), (3, 2, 3, 1_000, 24, None)])
    item = demand({1: 1, 2: 1}, [(10, 3, 1, NORMAL, None), (11, 4, 1, NORMAL, None)], price=50, purchasable=purchasable)
    for mode in MODES if not purchasable else ("POOL_FIRST",):
        plan = solve_item(lanes, item, mode, NOW)
        assert moved(plan) == {(2, 11): 1, (3, 10): 1}, mode
        assert plan.reorders == () and plan.unmet == ()
    if purchasable:
        least_cost = solve_item(lanes, item, "LEAST_COST", NOW)
        assert moved(least_cost) == {(1, 10): 1}
        assert bought(least_cost) == {11: 1}


# Lateness


def lateness_case(rank: int, needed_in_days: float | None) -> tuple[Lanes, ItemDemand]:
    """A slow cheap lane (100, 5 days) from site 1, a fast dear one (600, 1 day) from site 2; buying dear."""
    lanes = Lanes.of([(1, 1, 3, 100, 120, None), (2, 2, 3, 600, 24, None)])
    needed_by = None if needed_in_days is None else NOW + needed_in_days * DAY
    item = demand({1: 1, 2: 1}, [(10, 3, 1, rank, needed_by)], price=50_000, supplier_lead_hours=1_000)
    return lanes, item


@pytest.mark.parametrize("mode", MODES)
def test_faster_dearer_lane_wins_when_lateness_outweighs_cost(mode: str) -> None:
    """Needed in 2 days: the slow lane is 3 days late; 3 x 2,000 for CRITICAL > 500 saved: the fast lane."""
    lanes, item = lateness_case(CRITICAL, 2)
    plan = solve_item(lanes, item, mode, NOW)
    assert moved(plan) == {(2, 10): 1}
    assert plan.lateness_penalty_cents == 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("rank", "needed_in_days"), [(NORMAL, 2), (NORMAL, 2.5), (CRITICAL, None), (CRITICAL, 6)])
def test_slow_cheap_lane_wins_when_lateness_is_small_or_none(
    mode: str, rank: int, needed_in_days: float | None
) -> None:
    """3 days late (2.5 rounds up) at 100 a day (NORMAL) < 500 saved; undated or in time: no penalty."""
    lanes, item = lateness_case(rank, needed_in_days)
    plan = solve_item(lanes, item, mode, NOW)
    assert moved(plan) == {(1, 10): 1}
    assert plan.lateness_penalty_cents == (300 if rank == NORMAL else 0)


# Determinism and processes


def shuffled(problem: RegionProblem, seed: int) -> RegionProblem:
    """The same problem with the rows of every input array (lanes, donors, backorders, committed) permuted."""
    rng = np.random.default_rng(seed)

    def permute(obj, names):
        order = rng.permutation(len(getattr(obj, names[0])))
        return dataclasses.replace(obj, **{n: getattr(obj, n)[order] for n in names})

    lanes = permute(problem.lanes, [f.name for f in dataclasses.fields(problem.lanes)])
    items = []
    for item in problem.items:
        item = permute(item, ["donor_site", "donor_surplus"])
        item = permute(
            item, ["backorder_id", "backorder_site", "backorder_open", "backorder_rank", "backorder_needed_by"]
        )
        items.append(permute(item, ["committed_lane_id", "committed_quantity"]))
    return dataclasses.replace(problem, lanes=lanes, items=items[::-1])


def tied(problem: RegionProblem) -> RegionProblem:
    """Every lane at one cost and lead time, so that many plans are optimal and only the tie-break decides."""
    lanes = dataclasses.replace(
        problem.lanes,
        cost_cents=np.full(len(problem.lanes), 300, np.int64),
        lead_hours=np.full(len(problem.lanes), 24, np.int64),
    )
    return dataclasses.replace(problem, lanes=lanes)


def outcome(plan: RegionPlan) -> tuple:
    return tuple(plan.transfers), tuple(plan.reorders), tuple(plan.unmet)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("make", [lambda p: p, tied], ids=["random", "tied"])
def test_row_order_does_not_change_the_plan(mode: str, make) -> None:
    """Shuffling the rows of every input array gives identical transfers, reorders and unmet lines."""
    problem = make(random_region(25, 12, "knn:6", backorder_share=0.3, surplus_share=0.3, seed=7, mode=mode))
    expected = outcome(solve_region(problem, processes=1))
    assert expected[0], "the instance should pool something"
    for seed in range(3):
        assert outcome(solve_region(shuffled(problem, seed), processes=1)) == expected


def test_two_processes_give_the_same_plan_as_one() -> None:
    """solve_region across 2 worker processes returns exactly the single-process plan (~20 items)."""
    problem = random_region(30, 20, lanes="knn:5", backorder_share=0.2, surplus_share=0.4, seed=3)
    one, two = solve_region(problem, processes=1), solve_region(problem, processes=2)
    assert one.items == two.items
    untimed = [
        dataclasses.replace(plan.figures, solve_seconds=0.0, build_seconds=0.0, flow_seconds=0.0) for plan in (one, two)
    ]
    assert untimed[0] == untimed[1]


# Figures


def test_figures_add_up_on_a_hand_made_region() -> None:
    """2 units at 300 by lane, 1 bought at 1,000, 1 unmet of an unpurchasable item: every figure by hand."""
    lanes = Lanes.of([(1, 1, 2, 300, 24, None)])
    problem = RegionProblem(
        lanes=lanes,
        items=[
            demand({1: 2}, [(10, 2, 3, NORMAL, None)], price=1_000, item_id=1),
            demand({}, [(20, 2, 1, NORMAL, None)], price=700, purchasable=False, item_id=2),
        ],
        now=NOW,
    )
    f = solve_region(problem, processes=1).figures
    assert (f.units_requested, f.units_by_transfer, f.units_by_reorder, f.units_unmet) == (4, 2, 1, 1)
    assert (f.transfer_cost_cents, f.reorder_cost_cents, f.total_cost_cents) == (600, 1_000, 1_600)
    assert (f.all_external_cost_cents, f.savings_cents) == (3_000, 1_400)


@pytest.mark.parametrize("mode", MODES)
def test_figures_add_up_on_a_random_region(mode: str) -> None:
    """Units requested = by transfer + by reorder + unmet, and savings = all-external cost - total cost."""
    plan = solve_region(random_region(40, 30, lanes="knn:4", seed=11, mode=mode), processes=1)
    f = plan.figures
    assert f.units_requested == f.units_by_transfer + f.units_by_reorder + f.units_unmet > 0
    assert f.savings_cents == f.all_external_cost_cents - f.total_cost_cents
    assert f.total_cost_cents == f.transfer_cost_cents + f.reorder_cost_cents
    assert f.units_by_transfer == sum(t.quantity for t in plan.transfers)
    assert f.units_by_reorder == sum(r.quantity for r in plan.reorders)
    assert f.units_unmet == sum(u.quantity for u in plan.unmet)
    assert f.nodes == sum(p.nodes for p in plan.items) and f.arcs == sum(p.arcs for p in plan.items)
