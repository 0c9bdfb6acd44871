"""Forecasts of daily demand per (site, item) and the stock policy they suggest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, enum_column, utcnow
from models.enums import DemandClass
from models.network import Item, Site


class Forecast(Base):
    """The latest forecast of a (site, item): its demand class, the method chosen, the daily mean and spread, the
    backtest error on held-out history, and the policy numbers suggested for the lead time and service level."""

    __tablename__ = "forecasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    demand_class: Mapped[DemandClass] = mapped_column(enum_column(DemandClass))
    method: Mapped[str] = mapped_column(String(32))
    history_days: Mapped[int] = mapped_column(Integer)
    daily_mean: Mapped[float] = mapped_column(Float)
    daily_std_dev: Mapped[float] = mapped_column(Float)
    adi: Mapped[float | None] = mapped_column(Float)
    cv2: Mapped[float | None] = mapped_column(Float)
    backtest_error: Mapped[float | None] = mapped_column(Float)
    lead_time_days: Mapped[int] = mapped_column(Integer)
    service_level: Mapped[float] = mapped_column(Float)
    safety_stock: Mapped[int] = mapped_column(Integer)
    reorder_point: Mapped[int] = mapped_column(Integer)
    order_up_to: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site] = relationship()
    item: Mapped[Item] = relationship()

    __table_args__ = (UniqueConstraint("site_id", "item_id", name="uq_forecasts_site_item"),)
