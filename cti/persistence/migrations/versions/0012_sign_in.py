"""Sign-in with a password: each user's argon2id password hash and language, and the web sessions of people
signed in (only hashes of the session id and of its CSRF token).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(255), nullable=True))
        batch.add_column(sa.Column("language", sa.String(2), nullable=False, server_default=sa.text("'id'")))
        batch.create_check_constraint(op.f("ck_users_language"), "language IN ('id', 'en')")
    op.create_table(
        "web_sessions",
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("csrf_hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.user_id"], name="fk_web_sessions_user_id_users",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_hash", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_web_sessions_expires_at", table_name="web_sessions")
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_language"), type_="check")
        batch.drop_column("language")
        batch.drop_column("password_hash")
