"""Supervisor alerts: the thresholds per queue, and the history of alerts raised and cleared.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_thresholds",
        sa.Column("threshold_key", sa.String(128), primary_key=True),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16)),
        sa.Column("raise_at", sa.Float(), nullable=False),
        sa.Column("clear_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_alert_thresholds_queue", "alert_thresholds", ["queue"])
    op.create_table(
        "alerts",
        sa.Column("alert_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("alert_key", sa.String(200), nullable=False),
        sa.Column("queue", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16)),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("raise_at", sa.Float(), nullable=False),
        sa.Column("clear_at", sa.Float(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("cleared_value", sa.Float()),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_alerts_alert_key", "alerts", ["alert_key"])
    op.create_index("ix_alerts_queue_raised_at", "alerts", ["queue", "raised_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_queue_raised_at", "alerts")
    op.drop_index("ix_alerts_alert_key", "alerts")
    op.drop_table("alerts")
    op.drop_index("ix_alert_thresholds_queue", "alert_thresholds")
    op.drop_table("alert_thresholds")
