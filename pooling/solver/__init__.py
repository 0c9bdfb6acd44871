"""The pure planner: min-cost flow over one region's lanes, one network per item.

Imports nothing of the project's database or web layers (a test checks it): stdlib, numpy and OR-Tools only.
"""

from pooling.solver.item import solve_item
from pooling.solver.network import SolverError
from pooling.solver.problem import (
    MODES,
    Allocation,
    ItemDemand,
    ItemPlan,
    Lanes,
    Mode,
    PlanFigures,
    RegionPlan,
    RegionProblem,
    ReorderLine,
    TransferLine,
    UnmetLine,
)
from pooling.solver.region import solve_region

__all__ = [
    "MODES",
    "Allocation",
    "ItemDemand",
    "ItemPlan",
    "Lanes",
    "Mode",
    "PlanFigures",
    "RegionPlan",
    "RegionProblem",
    "ReorderLine",
    "SolverError",
    "TransferLine",
    "UnmetLine",
    "solve_item",
    "solve_region",
]
