"""Desktop and supervision: who the caller was, their IVR path and the agent's wrap-up on each
interaction; the queues and teams a supervisor may see.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INTERACTION_COLUMNS = (
    ("customer_id", sa.String(64)),
    ("ivr", sa.JSON()),
    ("disposition", sa.String(64)),
    ("notes", sa.Text()),
    ("script_answers", sa.JSON()),
    ("crosssell", sa.JSON()),
    ("follow_up", sa.JSON()),
    ("wrapped_up_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        for name, type_ in _INTERACTION_COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))
        batch.create_index("ix_interactions_customer_id", ["customer_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("scope", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("scope")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_index("ix_interactions_customer_id")
        for name, _ in reversed(_INTERACTION_COLUMNS):
            batch.drop_column(name)
