"""Workforce management: stored schedules and shifts.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wfm_schedules",
        sa.Column("schedule_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("objective", sa.Float(), nullable=False),
        sa.Column("coverage", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("schedule_id", name="pk_wfm_schedules"),
    )
    op.create_index("ix_wfm_schedules_starts_at", "wfm_schedules", ["starts_at"])
    op.create_index("ix_wfm_schedules_ends_at", "wfm_schedules", ["ends_at"])

    op.create_table(
        "wfm_shifts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("pattern", sa.String(64), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activities", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["schedule_id"], ["wfm_schedules.schedule_id"],
                                name="fk_wfm_shifts_schedule_id_wfm_schedules", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_wfm_shifts"),
    )
    op.create_index("ix_wfm_shifts_schedule_id", "wfm_shifts", ["schedule_id"])
    op.create_index("ix_wfm_shifts_agent_id", "wfm_shifts", ["agent_id"])
    op.create_index("ix_wfm_shifts_starts_at", "wfm_shifts", ["starts_at"])


def downgrade() -> None:
    op.drop_table("wfm_shifts")
    op.drop_table("wfm_schedules")
