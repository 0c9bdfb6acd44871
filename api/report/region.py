"""What the report draws: a region's plan, typed, as the caller builds it (from the database or anything else)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from models.enums import PlanMode, ReorderStatus, TransferStatus


@dataclass(frozen=True)
class SiteMark:
    code: str
    name: str
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class PlanSummary:
    """A plan's figures; amounts in the plan's currency."""

    units_requested: int
    units_by_transfer: int
    units_by_reorder: int
    units_unmet: int
    transfer_cost: Decimal
    reorder_cost: Decimal
    total_cost: Decimal
    all_external_cost: Decimal
    savings: Decimal
    solve_millis: int
    units_proactive: int = 0  # of the transferred and reordered units, those restoring sites below reorder point


@dataclass(frozen=True)
class TransferLine:
    from_site: str
    to_site: str
    sku: str
    quantity: int
    unit_cost: Decimal
    status: TransferStatus


@dataclass(frozen=True)
class ReorderLine:
    site: str
    sku: str
    quantity: int
    unit_cost: Decimal
    status: ReorderStatus


@dataclass(frozen=True)
class UnmetLine:
    site: str
    sku: str
    quantity: int


@dataclass(frozen=True)
class RegionReport:
    region: str
    mode: PlanMode
    saved: bool  # False for a dry run
    summary: PlanSummary
    sites: list[SiteMark]
    transfers: list[TransferLine]
    reorders: list[ReorderLine]
    unmet: list[UnmetLine]
