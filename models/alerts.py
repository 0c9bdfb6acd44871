"""Alerts: conditions worth a person's attention, raised when they start and closed when they end."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_column, utcnow


class AlertKind(enum.StrEnum):
    BELOW_REORDER_POINT = "BELOW_REORDER_POINT"
    STOCKOUT = "STOCKOUT"
    STOCKOUT_RISK = "STOCKOUT_RISK"
    CRITICAL_BACKORDER_UNCOVERED = "CRITICAL_BACKORDER_UNCOVERED"
    SUGGESTION_AWAITING_APPROVAL = "SUGGESTION_AWAITING_APPROVAL"
    TRANSFER_WAITING_TO_SHIP = "TRANSFER_WAITING_TO_SHIP"
    TRANSFER_OVERDUE = "TRANSFER_OVERDUE"
    REORDER_OVERDUE = "REORDER_OVERDUE"
    BACKORDER_RATE_HIGH = "BACKORDER_RATE_HIGH"
    WEBHOOK_DISABLED = "WEBHOOK_DISABLED"


class AlertSeverity(enum.StrEnum):
    CRITICAL = "CRITICAL"
    WARNING = "WARNING"
    INFO = "INFO"

    @property
    def rank(self) -> int:
        """3 for CRITICAL down to 1 for INFO: higher is shown first."""
        return {"CRITICAL": 3, "WARNING": 2, "INFO": 1}[self.value]


class Alert(Base):
    """`subject` names what the alert is about ("level:3:7", "transfer:12", "region:west", "webhook:4").
    `open_key` is kind + subject while the alert is open and NULL once closed: a unique column, so an open alert
    is never duplicated, whichever transaction raises it (NULLs are distinct on SQLite and PostgreSQL alike)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AlertKind] = mapped_column(
        Enum(
            AlertKind,
            native_enum=False,
            create_constraint=True,
            length=32,  # the kinds' names are longer than enum_column's 24
            name="alertkind",
            values_callable=lambda members: [m.value for m in members],
            validate_strings=True,
        ),
        index=True,
    )
    severity: Mapped[AlertSeverity] = mapped_column(enum_column(AlertSeverity))
    severity_rank: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(100))
    open_key: Mapped[str | None] = mapped_column(String(140), unique=True)
    region: Mapped[str | None] = mapped_column(String(64))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    backorder_id: Mapped[int | None] = mapped_column(Integer)
    transfer_id: Mapped[int | None] = mapped_column(Integer)
    reorder_id: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(500))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_alerts_subject", "subject"),
        Index("ix_alerts_open_rank", "closed_at", "severity_rank", "id"),
    )
