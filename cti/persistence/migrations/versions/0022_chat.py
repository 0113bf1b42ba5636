"""Web chat: the interactions' channel, and chats' transcripts.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interactions") as batch:
        batch.add_column(sa.Column("channel", sa.String(8), nullable=False, server_default="voice"))
    op.create_table(
        "chat_messages",
        sa.Column("call_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("message_id", sa.String(48), nullable=False),
        sa.Column("sender", sa.String(8), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("author_name", sa.String(128), nullable=False),
        sa.Column("text", sa.Text()),
        sa.Column("links", sa.JSON()),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("params", sa.JSON()),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chat_messages")
    with op.batch_alter_table("interactions") as batch:
        batch.drop_column("channel")
