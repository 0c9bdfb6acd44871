"""Unmet lines say which constraint of the model left them unmet, found by solving again without it."""

from __future__ import annotations

import dataclasses

import pytest

from pooling.solver import MODES, Lanes, solve_item
from pooling.solver.problem import ints
from tests.solver.test_cases import CRITICAL, NORMAL, NOW, demand


def reasons(plan: object) -> dict[int, tuple[int, str]]:
    return {u.site: (u.quantity, u.reason) for u in plan.unmet}  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
def test_each_unmet_line_names_its_constraint(mode: str) -> None:
    # Site 2 waits on a capped lane from donor 1; site 3 has no lane from anyone with surplus; site 4 waits on a
    # lane from donor 5, whose sharing rule gives 1 of its 6; site 6 competes with a CRITICAL backorder for donor 7.
    lanes = Lanes.of(
        [
            (1, 1, 2, 100, 24, 2),
            (2, 5, 4, 100, 24, None),
            (3, 7, 6, 100, 24, None),
            (4, 7, 8, 100, 24, None),
        ]
    )
    item = demand(
        {1: 10, 5: 6, 7: 3},
        [
            (10, 2, 5, NORMAL, None),
            (11, 3, 4, NORMAL, None),
            (12, 4, 3, NORMAL, None),
            (13, 6, 2, NORMAL, None),
            (14, 8, 3, CRITICAL, None),
        ],
        purchasable=False,
    )
    item = dataclasses.replace(item, donor_share_cap=ints([-1, 1, -1]))
    plan = solve_item(lanes, item, mode, NOW)
    assert reasons(plan) == {
        2: (3, "LANE_CAPACITY"),
        3: (4, "NO_DONOR"),
        4: (2, "SHARING_POLICY"),
        6: (2, "NOT_PURCHASABLE"),
    }


def test_unmet_replenishment_names_its_constraint_too() -> None:
    # Donor 1 holds 4 above its reorder point; a NORMAL backorder at site 3 takes 3 of them first, site 2's
    # replenishment gets the last one. Site 4 is reached only over a lane that costs more than moving pays.
    lanes = Lanes.of([(1, 1, 2, 10, 24, None), (2, 1, 3, 10, 24, None), (3, 1, 4, 900, 24, None)])
    item = dataclasses.replace(
        demand({1: 6}, [(10, 3, 3, NORMAL, None)], price=1_000, purchasable=False),
        donor_above_reorder_point=ints([4]),
        replenish_site=ints([2, 4]),
        replenish_units=ints([5, 2]),
    )
    plan = solve_item(lanes, item, "POOL_FIRST", NOW)
    assert plan.units_proactive == 1
    assert reasons(plan) == {2: (4, "NOT_PURCHASABLE"), 4: (2, "NO_DONOR")}
