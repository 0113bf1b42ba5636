"""The post-call survey's spoken comment: ``recordings.kind`` (``call`` or ``survey_comment``) and
``surveys.comment_recording_id``, the recording of what the caller said.

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recordings") as batch:
        # Every recording made before was a call's conversation.
        batch.add_column(sa.Column("kind", sa.String(16), server_default="call", nullable=False))
    with op.batch_alter_table("surveys") as batch:
        batch.add_column(sa.Column("comment_recording_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("surveys") as batch:
        batch.drop_column("comment_recording_id")
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("kind")
