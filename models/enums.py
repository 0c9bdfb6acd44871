"""The domain's vocabularies, shared by the models, the operations and the API."""

from __future__ import annotations

import enum


class Priority(enum.StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    NORMAL = "NORMAL"
    LOW = "LOW"

    @property
    def rank(self) -> int:
        """3 for CRITICAL down to 0 for LOW: higher is served first."""
        return {"CRITICAL": 3, "HIGH": 2, "NORMAL": 1, "LOW": 0}[self.value]


class MovementReason(enum.StrEnum):
    RECEIPT = "RECEIPT"
    CONSUMPTION = "CONSUMPTION"
    COUNT_ADJUSTMENT = "COUNT_ADJUSTMENT"
    DAMAGE = "DAMAGE"
    ORDER_FILL = "ORDER_FILL"
    BACKORDER_FILL = "BACKORDER_FILL"
    TRANSFER_OUT = "TRANSFER_OUT"
    TRANSFER_IN = "TRANSFER_IN"
    TRANSFER_LOSS = "TRANSFER_LOSS"
    PURCHASE_RECEIPT = "PURCHASE_RECEIPT"


class BackorderStatus(enum.StrEnum):
    OPEN = "OPEN"
    PARTIALLY_COVERED = "PARTIALLY_COVERED"
    COVERED = "COVERED"
    FULFILLED = "FULFILLED"
    CANCELLED = "CANCELLED"


class PlanMode(enum.StrEnum):
    POOL_FIRST = "POOL_FIRST"
    LEAST_COST = "LEAST_COST"


class PlanStatus(enum.StrEnum):
    DRY_RUN = "DRY_RUN"
    CURRENT = "CURRENT"
    SUPERSEDED = "SUPERSEDED"


class TransferStatus(enum.StrEnum):
    SUGGESTED = "SUGGESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    SUPERSEDED = "SUPERSEDED"
    SHIPPED = "SHIPPED"
    RECEIVED = "RECEIVED"
    CANCELLED = "CANCELLED"


class ReorderStatus(enum.StrEnum):
    SUGGESTED = "SUGGESTED"
    ORDERED = "ORDERED"
    REJECTED = "REJECTED"
    SUPERSEDED = "SUPERSEDED"
    RECEIVED = "RECEIVED"


class Role(enum.StrEnum):
    ADMIN = "ADMIN"
    COORDINATOR = "COORDINATOR"
    SITE = "SITE"


class PolicyMode(enum.StrEnum):
    """MANUAL: the numbers a person typed stay; FORECAST: safety stock, reorder point and order-up-to follow the
    forecast, the supplier lead time and the service level."""

    MANUAL = "MANUAL"
    FORECAST = "FORECAST"


class DemandClass(enum.StrEnum):
    """Syntetos-Boylan classification of a daily demand series by ADI and CV²."""

    NO_DEMAND = "NO_DEMAND"
    SMOOTH = "SMOOTH"
    INTERMITTENT = "INTERMITTENT"
    ERRATIC = "ERRATIC"
    LUMPY = "LUMPY"


class EventKind(enum.StrEnum):
    """What the outbox reports; an event row exists if and only if the change it reports committed."""

    BACKORDER_CREATED = "BACKORDER_CREATED"
    BACKORDER_COVERED = "BACKORDER_COVERED"
    BACKORDER_FILLED = "BACKORDER_FILLED"
    BACKORDER_CANCELLED = "BACKORDER_CANCELLED"
    PLAN_SAVED = "PLAN_SAVED"
    TRANSFER_APPROVED = "TRANSFER_APPROVED"
    TRANSFER_REJECTED = "TRANSFER_REJECTED"
    TRANSFER_SHIPPED = "TRANSFER_SHIPPED"
    TRANSFER_RECEIVED = "TRANSFER_RECEIVED"
    TRANSFER_CANCELLED = "TRANSFER_CANCELLED"
    REORDER_ORDERED = "REORDER_ORDERED"
    REORDER_RECEIVED = "REORDER_RECEIVED"
    ALERT_RAISED = "ALERT_RAISED"
    ALERT_CLOSED = "ALERT_CLOSED"
    STOCK_POLICY_CHANGED = "STOCK_POLICY_CHANGED"
