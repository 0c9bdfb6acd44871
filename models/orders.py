"""Orders placed by sites and the backorders they leave when local stock runs short."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, Index, Integer, String, case
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, enum_column, utcnow
from models.enums import BackorderStatus, Priority
from models.network import Item, Site

CLOSED = (BackorderStatus.CANCELLED, BackorderStatus.FULFILLED)  # a closed backorder has nothing open


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    filled_quantity: Mapped[int] = mapped_column(Integer)
    priority: Mapped[Priority] = mapped_column(enum_column(Priority))
    needed_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reference: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("filled_quantity >= 0 AND filled_quantity <= quantity", name="filled_within_quantity"),
    )


class Backorder(Base):
    """The part of an order that local stock could not fill.

    Its quantity splits into `fulfilled`, `covered` (approved transfers and ordered reorders on their way)
    and the `open` rest.
    """

    __tablename__ = "backorders"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    fulfilled: Mapped[int] = mapped_column(Integer, default=0)
    covered: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[Priority] = mapped_column(enum_column(Priority))
    status: Mapped[BackorderStatus] = mapped_column(enum_column(BackorderStatus), default=BackorderStatus.OPEN)
    needed_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reference: Mapped[str | None] = mapped_column(String(200))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site] = relationship()
    item: Mapped[Item] = relationship()

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("fulfilled >= 0", name="fulfilled_not_negative"),
        CheckConstraint("covered >= 0", name="covered_not_negative"),
        CheckConstraint("fulfilled + covered <= quantity", name="within_quantity"),
        Index("ix_backorders_site_item_status", "site_id", "item_id", "status"),
        Index("ix_backorders_status", "status"),
    )

    @hybrid_property
    def open(self) -> int:
        """Units neither fulfilled nor covered; zero once the backorder is closed. In a query too."""
        if self.status in CLOSED:
            return 0
        return self.quantity - self.fulfilled - self.covered

    @open.inplace.expression
    @classmethod
    def _open_expression(cls) -> ColumnElement[int]:
        return case((cls.status.in_(CLOSED), 0), else_=cls.quantity - cls.fulfilled - cls.covered)
