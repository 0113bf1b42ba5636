"""Token lifetime: when each user's token was issued (a socket opened with an older one is closed) and when it
expires.

Tokens issued before this revision get their issue time from the user's creation; their expiry is left empty
and set by the server at start (``Accounts.bound_token_lifetimes``), which knows the configured lifetime.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("token_issued_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET token_issued_at = created_at")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("token_issued_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("token_expires_at")
        batch.drop_column("token_issued_at")
