"""What the solver takes and what it gives back: plain dataclasses over numpy arrays, no database.

Sites, lanes, items and backorders are named by integer ids chosen by the caller. Money is in integer cents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Mode = Literal["POOL_FIRST", "LEAST_COST"]
MODES: tuple[Mode, ...] = ("POOL_FIRST", "LEAST_COST")
Reason = Literal["BACKORDER", "REPLENISH"]  # the demand a line serves
UnmetReason = Literal["NO_DONOR", "NOT_PURCHASABLE", "LANE_CAPACITY", "SHARING_POLICY"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
NO_CAPACITY = -1


def ints(values: object) -> IntArray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


def floats(values: object) -> FloatArray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


@dataclass(frozen=True)
class Lanes:
    """The region's active lanes, one row each: ends, cost per unit, lead time, capacity per item (-1: none)."""

    lane_id: IntArray
    from_site: IntArray
    to_site: IntArray
    cost_cents: IntArray
    lead_hours: IntArray
    capacity: IntArray

    @classmethod
    def of(cls, rows: list[tuple[int, int, int, int, int, int | None]]) -> Lanes:
        """From (lane_id, from_site, to_site, cost_cents, lead_hours, capacity or None) rows."""
        lane_id, from_site, to_site, cost, lead, capacity = (
            (list(c) for c in zip(*rows, strict=True)) if rows else ([] for _ in range(6))
        )
        return cls(
            lane_id=ints(lane_id),
            from_site=ints(from_site),
            to_site=ints(to_site),
            cost_cents=ints(cost),
            lead_hours=ints(lead),
            capacity=ints([NO_CAPACITY if c is None else c for c in capacity]),
        )

    def __len__(self) -> int:
        return len(self.lane_id)

    @cached_property
    def top_site(self) -> int:
        """The largest site id at either end (0 when there are no lanes); computed once per region."""
        return int(max(self.from_site.max(initial=0), self.to_site.max(initial=0)))

    @cached_property
    def max_lead_hours(self) -> int:
        return int(self.lead_hours.max(initial=0))

    @cached_property
    def into(self) -> tuple[IntArray, IntArray]:
        """Rows grouped by recipient, computed once per region: `rows[start[s]:start[s + 1]]` are the lanes into s."""
        rows = np.lexsort((self.from_site, self.to_site))
        start = np.searchsorted(self.to_site[rows], np.arange(self.top_site + 2))
        return rows, start

    def into_sites(self, sites: IntArray) -> IntArray:
        """The rows of the lanes into any of `sites` (distinct ids), grouped by recipient."""
        rows, start = self.into
        sites = sites[sites <= self.top_site]
        first, count = start[sites], start[sites + 1] - start[sites]
        offsets = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        picked: IntArray = rows[np.repeat(first, count) + offsets]
        return picked


@dataclass(frozen=True)
class ItemDemand:
    """One item's side of a rebalance: who can give, who waits, and what the lanes already carry of it.

    `backorder_needed_by` is in epoch seconds, NaN when the backorder has no needed-by time.
    `backorder_rank` is the priority: 3 CRITICAL, 2 HIGH, 1 NORMAL, 0 LOW.
    `committed_lane_id`/`committed_quantity`: units of this item approved or in transit per lane, which use up
    the lane's capacity.

    A proactive plan adds (all optional, empty by default):
    `donor_share_cap`: per donor, the most units its sharing rule lets it give in this plan (-1: no rule);
    `donor_above_reorder_point`: per donor, the units it holds above its reorder point, the most it may give to
    replenishment; `replenish_site`/`replenish_units`: REPLENISH demand of sites projected below their reorder
    point, served after every backorder; `max_lane_cents`: the dearest lane cost per unit this demand may use
    (None: any; `costs.dearest_paying_lane` sets it for replenishment).
    """

    item_id: int
    price_cents: int
    purchasable: bool
    supplier_lead_hours: int
    donor_site: IntArray
    donor_surplus: IntArray
    backorder_id: IntArray
    backorder_site: IntArray
    backorder_open: IntArray
    backorder_rank: IntArray
    backorder_needed_by: FloatArray
    committed_lane_id: IntArray = field(default_factory=lambda: ints([]))
    committed_quantity: IntArray = field(default_factory=lambda: ints([]))
    donor_share_cap: IntArray = field(default_factory=lambda: ints([]))
    donor_above_reorder_point: IntArray = field(default_factory=lambda: ints([]))
    replenish_site: IntArray = field(default_factory=lambda: ints([]))
    replenish_units: IntArray = field(default_factory=lambda: ints([]))
    replenish_cost_share: float = 0.5
    max_lane_cents: int | None = None


@dataclass(frozen=True)
class RegionProblem:
    lanes: Lanes
    items: list[ItemDemand]
    mode: Mode = "POOL_FIRST"
    now: float = 0.0  # epoch seconds


@dataclass(frozen=True)
class Allocation:
    backorder_id: int
    quantity: int


@dataclass(frozen=True)
class TransferLine:
    item_id: int
    lane_id: int
    from_site: int
    to_site: int
    quantity: int
    unit_cost_cents: int
    lead_hours: int
    allocations: tuple[Allocation, ...]
    reason: Reason = "BACKORDER"


@dataclass(frozen=True)
class ReorderLine:
    item_id: int
    site: int
    quantity: int
    unit_cost_cents: int
    allocations: tuple[Allocation, ...]
    reason: Reason = "BACKORDER"


@dataclass(frozen=True)
class UnmetLine:
    item_id: int
    site: int
    quantity: int
    allocations: tuple[Allocation, ...]
    demand: Reason = "BACKORDER"
    reason: UnmetReason = "NO_DONOR"  # which constraint left it unmet (set by `item.solve_item`)


@dataclass(frozen=True)
class ItemPlan:
    item_id: int
    transfers: tuple[TransferLine, ...]
    reorders: tuple[ReorderLine, ...]
    unmet: tuple[UnmetLine, ...]
    units_requested: int
    all_external_cost_cents: int
    lateness_penalty_cents: int
    nodes: int
    arcs: int
    build_seconds: float = field(default=0.0, compare=False)  # numpy work before and after the solve
    flow_seconds: float = field(default=0.0, compare=False)  # OR-Tools' own solve

    @property
    def units_by_transfer(self) -> int:
        return sum(t.quantity for t in self.transfers)

    @property
    def units_by_reorder(self) -> int:
        return sum(r.quantity for r in self.reorders)

    @property
    def units_unmet(self) -> int:
        return sum(u.quantity for u in self.unmet)

    @property
    def units_proactive(self) -> int:
        """Units moved or bought to restore sites below their reorder point (REPLENISH lines)."""
        moved = sum(t.quantity for t in self.transfers if t.reason == "REPLENISH")
        return moved + sum(r.quantity for r in self.reorders if r.reason == "REPLENISH")

    @property
    def transfer_cost_cents(self) -> int:
        return sum(t.quantity * t.unit_cost_cents for t in self.transfers)

    @property
    def reorder_cost_cents(self) -> int:
        return sum(r.quantity * r.unit_cost_cents for r in self.reorders)


@dataclass(frozen=True)
class PlanFigures:
    units_requested: int
    units_by_transfer: int
    units_by_reorder: int
    units_unmet: int
    transfer_cost_cents: int
    reorder_cost_cents: int
    all_external_cost_cents: int
    lateness_penalty_cents: int
    solve_seconds: float  # wall time of the whole region's solve
    nodes: int
    arcs: int
    build_seconds: float = 0.0  # summed over items (and processes): building graphs and reading flows back
    flow_seconds: float = 0.0  # summed over items (and processes): OR-Tools' solves
    units_proactive: int = 0  # of the transferred and reordered units, those that replenish (no backorder)

    @property
    def total_cost_cents(self) -> int:
        return self.transfer_cost_cents + self.reorder_cost_cents

    @property
    def savings_cents(self) -> int:
        """What buying every served unit outside would have cost, less what the plan costs."""
        return self.all_external_cost_cents - self.total_cost_cents


@dataclass(frozen=True)
class RegionPlan:
    items: tuple[ItemPlan, ...]
    figures: PlanFigures

    @property
    def transfers(self) -> list[TransferLine]:
        return [t for plan in self.items for t in plan.transfers]

    @property
    def reorders(self) -> list[ReorderLine]:
        return [r for plan in self.items for r in plan.reorders]

    @property
    def unmet(self) -> list[UnmetLine]:
        return [u for plan in self.items for u in plan.unmet]
