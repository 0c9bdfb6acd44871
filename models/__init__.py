"""SQLAlchemy 2 models of the shared stock model, the engine set-up and the Alembic migrations."""

from models.access import ApiToken, IdempotencyKey
from models.base import Base, utcnow
from models.enums import (
    BackorderStatus,
    MovementReason,
    PlanMode,
    PlanStatus,
    Priority,
    ReorderStatus,
    Role,
    TransferStatus,
)
from models.history import HistoryEntry
from models.network import Item, Lane, Site
from models.orders import Backorder, Order
from models.planning import Plan, PlanUnmet, Reorder, ReorderAllocation, Transfer, TransferAllocation
from models.stock import Movement, StockLevel

__all__ = [
    "ApiToken",
    "Backorder",
    "BackorderStatus",
    "Base",
    "HistoryEntry",
    "IdempotencyKey",
    "Item",
    "Lane",
    "Movement",
    "MovementReason",
    "Order",
    "Plan",
    "PlanMode",
    "PlanStatus",
    "PlanUnmet",
    "Priority",
    "Reorder",
    "ReorderAllocation",
    "ReorderStatus",
    "Role",
    "Site",
    "StockLevel",
    "Transfer",
    "TransferAllocation",
    "TransferStatus",
    "utcnow",
]
