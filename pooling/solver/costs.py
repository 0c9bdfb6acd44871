"""The cost rules the plan optimises, in integer cents. Each rule lives here and only here.

A unit's real cost is money (the lane's cost per unit, or the item's price when bought) plus a lateness
penalty when it arrives after its backorder's needed-by time. The modes add, on the arcs that do not pool,
the constants that turn "maximise pooling, highest priority first" into one min-cost-flow objective.
"""

from __future__ import annotations

import numpy as np

from pooling.solver.problem import FloatArray, IntArray

SECONDS_PER_DAY = 86_400
PRIORITY_LEVELS = 4  # ranks 0 (LOW) .. 3 (CRITICAL)

# The largest unit cost an arc may carry: OR-Tools scales costs by the node count and must not overflow int64.
MAX_ARC_COST = 2**48

# Penalty per unit and per day late, by priority rank (LOW, NORMAL, HIGH, CRITICAL).
LATENESS_CENTS_PER_DAY = np.array([20, 100, 500, 2_000], dtype=np.int64)


def days_late(now: float, lead_hours: IntArray | int, needed_by: FloatArray) -> IntArray:
    """Whole days (rounded up) by which a unit leaving now arrives after needed-by; 0 on time or undated."""
    arrival = now + np.asarray(lead_hours, dtype=np.float64) * 3600.0
    late = np.ceil((arrival - needed_by) / SECONDS_PER_DAY)
    return np.where(np.isnan(late) | (late < 0), 0, late).astype(np.int64)


def lateness_cents(rank: IntArray, days: IntArray) -> IntArray:
    return LATENESS_CENTS_PER_DAY[rank] * days


def tier_step(units_poolable: int, max_path_cents: int, max_buy_cents: int) -> int:
    """A constant wider than any difference real costs can make between two plans of one item.

    Any two plans differ in real cost by less than (units that can be pooled) x (dearest path + dearest buy),
    so fallback arcs priced at `step x (1 + rank)` make the solver pool first and serve higher ranks first
    (the units that can be pooled form a matroid, so maximising a weight that grows with rank is lexicographic),
    and only then minimise money.
    """
    return units_poolable * (max_path_cents + max_buy_cents) + 1


def least_cost_scale(units_poolable: int) -> int:
    """Money is multiplied by this in LEAST_COST so that a priority tie-break (< 1 cent in all) fits below it."""
    return (PRIORITY_LEVELS - 1) * units_poolable + 1


def dearest_paying_lane(price_cents: int, cost_share: float) -> int:
    """The dearest lane cost per unit at which moving a unit to replenish a site pays: strictly under
    `cost_share` of the item's price (frePPLe's rebalancing threshold); -1 when none pays (a free item)."""
    return int(np.ceil(price_cents * cost_share)) - 1
