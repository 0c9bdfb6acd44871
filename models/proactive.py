"""Proactive pooling: the donors' sharing rules, and the words that say why a plan line exists or is unmet."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, enum_column, utcnow
from models.network import Item, Site


class ShareRule(enum.StrEnum):
    NEVER = "NEVER"  # the site never gives the item away
    SURPLUS = "SURPLUS"  # it gives its surplus, keeping some days of cover, at most some units a plan


class LineReason(enum.StrEnum):
    """The demand a suggested transfer or reorder (or an unmet line) serves."""

    BACKORDER = "BACKORDER"
    REPLENISH = "REPLENISH"  # a site projected below its reorder point, restored up to its order-up-to level


class UnmetReason(enum.StrEnum):
    """Which constraint of the model left demand unmet."""

    NO_DONOR = "NO_DONOR"
    NOT_PURCHASABLE = "NOT_PURCHASABLE"
    LANE_CAPACITY = "LANE_CAPACITY"
    SHARING_POLICY = "SHARING_POLICY"


class SharingPolicy(Base):
    """A site's rule for giving an item (or, with no item, every item without its own rule) to sister sites."""

    __tablename__ = "sharing_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    share: Mapped[ShareRule] = mapped_column(enum_column(ShareRule))
    keep_days_of_cover: Mapped[int | None] = mapped_column(Integer)
    max_units_per_plan: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site] = relationship()
    item: Mapped[Item | None] = relationship()

    __table_args__ = (
        CheckConstraint("keep_days_of_cover IS NULL OR keep_days_of_cover >= 0", name="keep_days_not_negative"),
        CheckConstraint("max_units_per_plan IS NULL OR max_units_per_plan >= 0", name="max_units_not_negative"),
        # One rule per (site, item) and one default (no item) per site.
        Index("uq_sharing_policies_site_item", "site_id", "item_id", unique=True),
        Index(
            "uq_sharing_policies_site_default",
            "site_id",
            unique=True,
            sqlite_where=text("item_id IS NULL"),
            postgresql_where=text("item_id IS NULL"),
        ),
    )
