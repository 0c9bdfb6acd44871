"""The network: sites, items and the lanes that connect sites."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow

DEFAULT_HANDLING_TIME_HOURS = 4


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(64), index=True)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Hours between a transfer's approval and its shipping from this site (expected dates count it).
    handling_time_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_HANDLING_TIME_HOURS, server_default="4")

    __table_args__ = (
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude_range"),
        CheckConstraint("longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude_range"),
    )

    def __repr__(self) -> str:
        return f"Site({self.code!r}, region={self.region!r})"


class Item(Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(32), default="each")
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    supplier_lead_time_days: Mapped[int] = mapped_column(Integer, default=7)
    purchasable: Mapped[bool] = mapped_column(Boolean, default=True)
    # Moving a unit to replenish a site pays when the lane costs less than this share of the price (null: the
    # global default, STOCKPOOL_REPLENISH_COST_SHARE).
    replenish_cost_share: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
        CheckConstraint("supplier_lead_time_days >= 0", name="lead_time_not_negative"),
    )

    def __repr__(self) -> str:
        return f"Item({self.sku!r})"


class Lane(Base):
    """A directed route between two sites; capacity is per item, counting approved and in-transit units."""

    __tablename__ = "lanes"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    to_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    lead_time_hours: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    from_site: Mapped[Site] = relationship(foreign_keys=[from_site_id])
    to_site: Mapped[Site] = relationship(foreign_keys=[to_site_id])

    __table_args__ = (
        UniqueConstraint("from_site_id", "to_site_id", name="uq_lanes_pair"),
        CheckConstraint("from_site_id <> to_site_id", name="distinct_sites"),
        CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
        CheckConstraint("lead_time_hours >= 0", name="lead_time_not_negative"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
    )
