"""forecasts, stock policy modes, the event outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 04:17:46.409217

Only additions: two new tables and three stock-level columns with server defaults (MANUAL policy, order-up-to 0,
service level 0.95), so every existing stock level keeps the numbers a person typed. On SQLite the columns are
added by ALTER TABLE, not by copying the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "BACKORDER_CREATED",
                "BACKORDER_COVERED",
                "BACKORDER_FILLED",
                "BACKORDER_CANCELLED",
                "PLAN_SAVED",
                "TRANSFER_APPROVED",
                "TRANSFER_REJECTED",
                "TRANSFER_SHIPPED",
                "TRANSFER_RECEIVED",
                "TRANSFER_CANCELLED",
                "REORDER_ORDERED",
                "REORDER_RECEIVED",
                "ALERT_RAISED",
                "ALERT_CLOSED",
                "STOCK_POLICY_CHANGED",
                name="eventkind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("occurred_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("backorder_id", sa.Integer(), nullable=True),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("reorder_id", sa.Integer(), nullable=True),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_events_item_id_items")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_events_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_occurred_at"), ["occurred_at"], unique=False)
        batch_op.create_index("ix_events_region_id", ["region", "id"], unique=False)

    op.create_table(
        "forecasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column(
            "demand_class",
            sa.Enum(
                "NO_DEMAND",
                "SMOOTH",
                "INTERMITTENT",
                "ERRATIC",
                "LUMPY",
                name="demandclass",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("history_days", sa.Integer(), nullable=False),
        sa.Column("daily_mean", sa.Float(), nullable=False),
        sa.Column("daily_std_dev", sa.Float(), nullable=False),
        sa.Column("adi", sa.Float(), nullable=True),
        sa.Column("cv2", sa.Float(), nullable=True),
        sa.Column("backtest_error", sa.Float(), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("service_level", sa.Float(), nullable=False),
        sa.Column("safety_stock", sa.Integer(), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("order_up_to", sa.Integer(), nullable=False),
        sa.Column("computed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_forecasts_item_id_items")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_forecasts_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecasts")),
        sa.UniqueConstraint("site_id", "item_id", name="uq_forecasts_site_item"),
    )
    with op.batch_alter_table("forecasts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_forecasts_item_id"), ["item_id"], unique=False)

    with op.batch_alter_table("stock_levels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_up_to", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column(
                "policy_mode",
                sa.Enum("MANUAL", "FORECAST", name="policymode", native_enum=False, create_constraint=False, length=24),
                nullable=False,
                server_default="MANUAL",
            )
        )
        batch_op.add_column(sa.Column("service_level", sa.Float(), nullable=False, server_default="0.95"))


def downgrade() -> None:
    with op.batch_alter_table("stock_levels", schema=None) as batch_op:
        batch_op.drop_column("service_level")
        batch_op.drop_column("policy_mode")
        batch_op.drop_column("order_up_to")

    with op.batch_alter_table("forecasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_forecasts_item_id"))

    op.drop_table("forecasts")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_region_id")
        batch_op.drop_index(batch_op.f("ix_events_occurred_at"))

    op.drop_table("events")
