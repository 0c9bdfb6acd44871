"""alerts; a site's handling time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 04:40:00

Only additions: the alerts table, and `sites.handling_time_hours` (server default 4, so every existing site gets
the default handling time) added by ALTER TABLE, not by copying the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "BELOW_REORDER_POINT",
    "STOCKOUT",
    "STOCKOUT_RISK",
    "CRITICAL_BACKORDER_UNCOVERED",
    "SUGGESTION_AWAITING_APPROVAL",
    "TRANSFER_WAITING_TO_SHIP",
    "TRANSFER_OVERDUE",
    "REORDER_OVERDUE",
    "BACKORDER_RATE_HIGH",
    "WEBHOOK_DISABLED",
)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="alertkind", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum(
                "CRITICAL",
                "WARNING",
                "INFO",
                name="alertseverity",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("severity_rank", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("open_key", sa.String(length=140), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("backorder_id", sa.Integer(), nullable=True),
        sa.Column("transfer_id", sa.Integer(), nullable=True),
        sa.Column("reorder_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("raised_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_alerts_item_id_items")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_alerts_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("open_key", name=op.f("uq_alerts_open_key")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_kind"), ["kind"], unique=False)
        batch_op.create_index("ix_alerts_subject", ["subject"], unique=False)
        batch_op.create_index("ix_alerts_open_rank", ["closed_at", "severity_rank", "id"], unique=False)

    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handling_time_hours", sa.Integer(), nullable=False, server_default="4"))


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("handling_time_hours")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_open_rank")
        batch_op.drop_index("ix_alerts_subject")
        batch_op.drop_index(batch_op.f("ix_alerts_kind"))
    op.drop_table("alerts")
