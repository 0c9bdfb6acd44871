"""SQLAlchemy 2 models of the shared stock model, the engine set-up and the Alembic migrations."""

from models.access import ApiToken, IdempotencyKey
from models.alerts import Alert, AlertKind, AlertSeverity
from models.base import Base, utcnow
from models.enums import (
    BackorderStatus,
    DemandClass,
    EventKind,
    MovementReason,
    PlanMode,
    PlanStatus,
    PolicyMode,
    Priority,
    ReorderStatus,
    Role,
    TransferStatus,
)
from models.events import Event, Webhook, WebhookDelivery
from models.forecasting import Forecast
from models.history import HistoryEntry
from models.network import Item, Lane, Site
from models.orders import Backorder, Order
from models.planning import Plan, PlanUnmet, Reorder, ReorderAllocation, Transfer, TransferAllocation
from models.proactive import LineReason, ShareRule, SharingPolicy, UnmetReason
from models.stock import Movement, StockLevel

__all__ = [
    "Alert",
    "AlertKind",
    "AlertSeverity",
    "ApiToken",
    "Backorder",
    "BackorderStatus",
    "Base",
    "DemandClass",
    "Event",
    "EventKind",
    "Forecast",
    "HistoryEntry",
    "IdempotencyKey",
    "Item",
    "Lane",
    "LineReason",
    "Movement",
    "MovementReason",
    "Order",
    "Plan",
    "PlanMode",
    "PlanStatus",
    "PlanUnmet",
    "PolicyMode",
    "Priority",
    "Reorder",
    "ReorderAllocation",
    "ReorderStatus",
    "Role",
    "ShareRule",
    "SharingPolicy",
    "Site",
    "StockLevel",
    "Transfer",
    "TransferAllocation",
    "TransferStatus",
    "UnmetReason",
    "Webhook",
    "WebhookDelivery",
    "utcnow",
]
