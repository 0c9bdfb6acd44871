"""The audit trail: one row for every change of state of a record, naming who made it, when, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class HistoryEntry(Base):
    """`record_kind` + `record_id` name the record (a transfer, reorder, backorder, plan, stock level or lane);
    `actor` is the token's name (or "nightly", "system"), `actor_token_id` the token; `old`/`new` hold the
    values a policy or lane change replaced."""

    __tablename__ = "history"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_kind: Mapped[str] = mapped_column(String(24))
    record_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    actor_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    action: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    old: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_history_record", "record_kind", "record_id", "id"),)
