"""The random region generator: repeatable by seed, well formed, and solvable."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pooling.solver import MODES, RegionProblem, solve_region
from pooling.solver.problem import NO_CAPACITY
from pooling.solver.random_network import random_region


def same(a: RegionProblem, b: RegionProblem) -> bool:
    """Field-by-field equality of two problems, arrays compared by value (NaN equal to NaN)."""

    def equal(x: object, y: object) -> bool:
        if isinstance(x, np.ndarray):
            return x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f")
        return x == y

    def fields(obj: object) -> list:
        return [getattr(obj, f.name) for f in dataclasses.fields(obj)]

    return (
        (a.mode, a.now, len(a.items)) == (b.mode, b.now, len(b.items))
        and all(map(equal, fields(a.lanes), fields(b.lanes)))
        and all(all(map(equal, fields(x), fields(y))) for x, y in zip(a.items, b.items, strict=True))
    )


@pytest.mark.parametrize("lanes", ["dense", "knn:3"])
def test_same_seed_same_problem_other_seed_other_problem(lanes: str) -> None:
    """A seed gives one problem, array for array; another seed gives another."""
    assert same(random_region(20, 15, lanes=lanes, seed=5), random_region(20, 15, lanes=lanes, seed=5))
    assert not same(random_region(20, 15, lanes=lanes, seed=5), random_region(20, 15, lanes=lanes, seed=6))


def test_dense_region_is_well_formed() -> None:
    """Dense: every ordered pair once; ids 1..n; no site gives and waits for one item; a few capacities."""
    problem = random_region(30, 40, seed=1, mode="LEAST_COST")
    lanes = problem.lanes
    assert problem.mode == "LEAST_COST"
    assert len(lanes) == 30 * 29
    assert len(set(zip(lanes.from_site.tolist(), lanes.to_site.tolist(), strict=True))) == len(lanes)
    assert (lanes.from_site != lanes.to_site).all()
    assert lanes.from_site.min() == 1 and lanes.to_site.max() == 30
    assert (lanes.cost_cents > 0).all() and (lanes.lead_hours > 0).all()
    assert 0 < (lanes.capacity != NO_CAPACITY).sum() < len(lanes) // 2
    assert [d.item_id for d in problem.items] == list(range(1, 41))
    backorder_ids = np.concatenate([d.backorder_id for d in problem.items])
    assert len(np.unique(backorder_ids)) == len(backorder_ids) > 0
    for d in problem.items:
        assert not set(d.donor_site.tolist()) & set(d.backorder_site.tolist())
        assert (d.donor_surplus > 0).all() and (d.backorder_open > 0).all()
        assert set(d.backorder_rank.tolist()) <= {0, 1, 2, 3}
        assert np.isin(d.committed_lane_id, lanes.lane_id).all()
    assert any(np.isfinite(d.backorder_needed_by).any() for d in problem.items)
    assert any(np.isnan(d.backorder_needed_by).any() for d in problem.items)


def test_knn_lanes_link_each_site_to_its_nearest_both_ways() -> None:
    """knn:K: at least K lanes out of every site, each lane's reverse exists, no self-lanes, no duplicates."""
    lanes = random_region(50, 2, lanes="knn:4", seed=2).lanes
    pairs = set(zip(lanes.from_site.tolist(), lanes.to_site.tolist(), strict=True))
    assert len(pairs) == len(lanes) < 50 * 49
    assert all((b, a) in pairs for a, b in pairs)
    assert all(a != b for a, b in pairs)
    assert (np.bincount(lanes.from_site, minlength=51)[1:] >= 4).all()


@pytest.mark.parametrize(
    "bad",
    [
        {"lanes": "ring"},
        {"lanes": "knn:x"},
        {"lanes": "knn:9"},
        {"sites": 1},
        {"backorder_share": 0.7, "surplus_share": 0.5},
    ],
)
def test_bad_arguments_are_refused(bad: dict) -> None:
    arguments = {"sites": 9, "items": 3} | bad
    with pytest.raises(ValueError):
        random_region(**arguments)


@pytest.mark.parametrize("mode", MODES)
def test_a_small_random_region_solves(mode: str) -> None:
    """solve_region runs on a generated region and pools, buys and balances its figures."""
    plan = solve_region(random_region(40, 25, lanes="knn:5", seed=4, mode=mode), processes=1)
    f = plan.figures
    assert f.units_by_transfer > 0 and f.units_by_reorder > 0
    assert f.units_requested == f.units_by_transfer + f.units_by_reorder + f.units_unmet
    assert f.nodes > 0 and f.arcs > 0
