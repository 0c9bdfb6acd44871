"""Stock levels per (site, item) and the movement ledger that explains every change of on-hand."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, enum_column, utcnow
from models.enums import MovementReason, PolicyMode
from models.network import Item, Site


class StockLevel(Base):
    __tablename__ = "stock_levels"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    reorder_point: Mapped[int] = mapped_column(Integer, default=0)
    order_up_to: Mapped[int] = mapped_column(Integer, default=0)
    policy_mode: Mapped[PolicyMode] = mapped_column(enum_column(PolicyMode), default=PolicyMode.MANUAL)
    service_level: Mapped[float] = mapped_column(Float, default=0.95)
    version: Mapped[int] = mapped_column(Integer, default=1)

    site: Mapped[Site] = relationship()
    item: Mapped[Item] = relationship()

    __table_args__ = (
        UniqueConstraint("site_id", "item_id", name="uq_stock_levels_site_item"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("safety_stock >= 0", name="safety_stock_not_negative"),
        CheckConstraint("reorder_point >= 0", name="reorder_point_not_negative"),
    )
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy reads it from the class

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Movement(Base):
    """One signed change of on-hand at a (site, item), with the reason and the record that caused it."""

    __tablename__ = "movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[MovementReason] = mapped_column(enum_column(MovementReason))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    backorder_id: Mapped[int | None] = mapped_column(ForeignKey("backorders.id"))
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"), index=True)
    reorder_id: Mapped[int | None] = mapped_column(ForeignKey("reorders.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    actor: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        Index("ix_movements_site_item", "site_id", "item_id", "id"),
    )
