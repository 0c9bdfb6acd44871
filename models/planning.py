"""Plans from a rebalance, the transfers and reorders they suggest, and what each covers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, enum_column, utcnow
from models.enums import PlanMode, PlanStatus, ReorderStatus, TransferStatus
from models.network import Item, Lane, Site
from models.orders import Backorder
from models.proactive import LineReason, UnmetReason


class Plan(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(64), index=True)
    mode: Mapped[PlanMode] = mapped_column(enum_column(PlanMode))
    status: Mapped[PlanStatus] = mapped_column(enum_column(PlanStatus))
    skus: Mapped[list[str] | None] = mapped_column(JSON)
    units_requested: Mapped[int] = mapped_column(Integer)
    units_by_transfer: Mapped[int] = mapped_column(Integer)
    units_by_reorder: Mapped[int] = mapped_column(Integer)
    units_unmet: Mapped[int] = mapped_column(Integer)
    units_proactive: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    transfer_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    reorder_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    all_external_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    solve_millis: Mapped[int] = mapped_column(Integer)
    nodes: Mapped[int] = mapped_column(Integer)
    arcs: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    transfers: Mapped[list[Transfer]] = relationship(back_populates="plan", order_by="Transfer.id")
    reorders: Mapped[list[Reorder]] = relationship(back_populates="plan", order_by="Reorder.id")
    unmet: Mapped[list[PlanUnmet]] = relationship(order_by="PlanUnmet.id")

    @property
    def total_cost(self) -> Decimal:
        return self.transfer_cost + self.reorder_cost

    @property
    def savings(self) -> Decimal:
        """What buying every served unit outside would have cost, less what the plan costs (as the solver's
        `PlanFigures.savings_cents`); negative where pooling costs more."""
        return self.all_external_cost - self.total_cost


class PlanUnmet(Base):
    """Demand of a (site, item) that neither pooling nor the supplier could serve in a plan."""

    __tablename__ = "plan_unmet"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    demand: Mapped[LineReason] = mapped_column(
        enum_column(LineReason), default=LineReason.BACKORDER, server_default="BACKORDER"
    )
    reason: Mapped[UnmetReason] = mapped_column(
        enum_column(UnmetReason), default=UnmetReason.NO_DONOR, server_default="NO_DONOR"
    )

    site: Mapped[Site] = relationship()
    item: Mapped[Item] = relationship()

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class Transfer(Base):
    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    lane_id: Mapped[int] = mapped_column(ForeignKey("lanes.id"))
    from_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    to_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    lead_time_hours: Mapped[int] = mapped_column(Integer)
    status: Mapped[TransferStatus] = mapped_column(enum_column(TransferStatus))
    reason: Mapped[LineReason] = mapped_column(
        enum_column(LineReason), default=LineReason.BACKORDER, server_default="BACKORDER"
    )
    quantity_received: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    plan: Mapped[Plan] = relationship(back_populates="transfers")
    lane: Mapped[Lane] = relationship()
    from_site: Mapped[Site] = relationship(foreign_keys=[from_site_id])
    to_site: Mapped[Site] = relationship(foreign_keys=[to_site_id])
    item: Mapped[Item] = relationship()
    allocations: Mapped[list[TransferAllocation]] = relationship(order_by="TransferAllocation.id")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "quantity_received IS NULL OR (quantity_received >= 0 AND quantity_received <= quantity)",
            name="received_within_quantity",
        ),
        Index("ix_transfers_status_item", "status", "item_id"),
    )

    @property
    def quantity_lost(self) -> int | None:
        return None if self.quantity_received is None else self.quantity - self.quantity_received


class TransferAllocation(Base):
    __tablename__ = "transfer_allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), index=True)
    backorder_id: Mapped[int] = mapped_column(ForeignKey("backorders.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)

    backorder: Mapped[Backorder] = relationship()

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class Reorder(Base):
    """A suggested (then ordered) purchase from the outside supplier for one (site, item)."""

    __tablename__ = "reorders"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[ReorderStatus] = mapped_column(enum_column(ReorderStatus))
    reason: Mapped[LineReason] = mapped_column(
        enum_column(LineReason), default=LineReason.BACKORDER, server_default="BACKORDER"
    )
    quantity_received: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    plan: Mapped[Plan] = relationship(back_populates="reorders")
    site: Mapped[Site] = relationship()
    item: Mapped[Item] = relationship()
    allocations: Mapped[list[ReorderAllocation]] = relationship(order_by="ReorderAllocation.id")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("quantity_received IS NULL OR quantity_received >= 0", name="received_not_negative"),
        Index("ix_reorders_status_item", "status", "item_id"),
    )


class ReorderAllocation(Base):
    __tablename__ = "reorder_allocations"

    id: Mapped[int] = mapped_column(primary_key=True)
    reorder_id: Mapped[int] = mapped_column(ForeignKey("reorders.id"), index=True)
    backorder_id: Mapped[int] = mapped_column(ForeignKey("backorders.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)

    backorder: Mapped[Backorder] = relationship()

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)
