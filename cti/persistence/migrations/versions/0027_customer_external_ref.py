"""Customers another CRM keeps: ``customers.external_ref``, that system's id for the customer of which the row is
cti's copy (a *mirror*, docs/crm.md "Another CRM as the source"); null for cti's own customers. Unique: one copy
per external customer, found by it on every lookup.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("external_ref", sa.String(64), nullable=True))
    op.create_index("ix_customers_external_ref", "customers", ["external_ref"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_customers_external_ref", table_name="customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("external_ref")
