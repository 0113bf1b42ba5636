"""The customer portal's self-service: the steps of each order's shipment (the carrier's scans), which the portal
tracks an order by.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STEPS = ("packed", "picked_up", "in_transit", "at_hub", "out_for_delivery", "delivered", "failed_delivery",
          "returned")


def upgrade() -> None:
    op.create_table(
        "shipment_steps",
        sa.Column("step_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("order_number", sa.String(32), sa.ForeignKey("orders.order_number", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step", sa.String(24), nullable=False),
        sa.Column("location", sa.String(64), nullable=True),
        sa.CheckConstraint("step IN ({})".format(", ".join(f"'{s}'" for s in _STEPS)), name="ck_shipment_steps_step"),
    )
    op.create_index("ix_shipment_steps_order_number_at", "shipment_steps", ["order_number", "at"])


def downgrade() -> None:
    op.drop_table("shipment_steps")
