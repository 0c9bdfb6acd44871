"""proactive pooling: sharing policies, line reasons, units proactive, per-item replenishment threshold

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:50:00

Only additions: a new table and columns with server defaults (existing transfers and reorders serve backorders,
existing unmet lines had no donor as far as anyone knows, existing plans moved nothing proactively), added by
ALTER TABLE on SQLite, not by copying tables.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=False, length=24)


def upgrade() -> None:
    op.create_table(
        "sharing_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column(
            "share",
            sa.Enum("NEVER", "SURPLUS", name="sharerule", native_enum=False, create_constraint=True, length=24),
            nullable=False,
        ),
        sa.Column("keep_days_of_cover", sa.Integer(), nullable=True),
        sa.Column("max_units_per_plan", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "keep_days_of_cover IS NULL OR keep_days_of_cover >= 0",
            name=op.f("ck_sharing_policies_keep_days_not_negative"),
        ),
        sa.CheckConstraint(
            "max_units_per_plan IS NULL OR max_units_per_plan >= 0",
            name=op.f("ck_sharing_policies_max_units_not_negative"),
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_sharing_policies_item_id_items")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_sharing_policies_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_policies")),
    )
    op.create_index("uq_sharing_policies_site_item", "sharing_policies", ["site_id", "item_id"], unique=True)
    op.create_index(
        "uq_sharing_policies_site_default",
        "sharing_policies",
        ["site_id"],
        unique=True,
        sqlite_where=sa.text("item_id IS NULL"),
        postgresql_where=sa.text("item_id IS NULL"),
    )

    # Plain ALTER TABLE ADD COLUMN on both databases (no table copies).
    op.add_column("items", sa.Column("replenish_cost_share", sa.Numeric(precision=5, scale=4), nullable=True))
    op.add_column("plans", sa.Column("units_proactive", sa.Integer(), nullable=False, server_default=sa.text("0")))
    for table in ("transfers", "reorders"):
        op.add_column(
            table,
            sa.Column(
                "reason", _enum("linereason", "BACKORDER", "REPLENISH"), nullable=False, server_default="BACKORDER"
            ),
        )
    op.add_column(
        "plan_unmet",
        sa.Column("demand", _enum("linereason", "BACKORDER", "REPLENISH"), nullable=False, server_default="BACKORDER"),
    )
    op.add_column(
        "plan_unmet",
        sa.Column(
            "reason",
            _enum("unmetreason", "NO_DONOR", "NOT_PURCHASABLE", "LANE_CAPACITY", "SHARING_POLICY"),
            nullable=False,
            server_default="NO_DONOR",
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("plan_unmet", schema=None) as batch_op:
        batch_op.drop_column("reason")
        batch_op.drop_column("demand")
    for table in ("reorders", "transfers"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("reason")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_column("units_proactive")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("replenish_cost_share")
    with op.batch_alter_table("sharing_policies", schema=None) as batch_op:
        batch_op.drop_index("uq_sharing_policies_site_default")
        batch_op.drop_index("uq_sharing_policies_site_item")
    op.drop_table("sharing_policies")
