"""Customer satisfaction surveys: questionnaires (every version) and surveys (owed, sent, answered, partial).

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_questionnaires",
        sa.Column("questionnaire_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "surveys",
        sa.Column("survey_id", sa.String(32), primary_key=True),
        sa.Column("token_hash", sa.String(64), unique=True),
        sa.Column("customer_id", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(64)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(64)),
        sa.Column("team", sa.String(64)),
        sa.Column("queue", sa.String(64)),
        sa.Column("segment", sa.String(200), nullable=False),
        sa.Column("questionnaire_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("send_after", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(200)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("answer_channel", sa.String(8)),
        sa.Column("answers", sa.JSON()),
        sa.Column("rating", sa.Integer()),
        sa.Column("resolved", sa.Boolean()),
    )
    op.create_index("ix_surveys_call_id", "surveys", ["call_id"])
    op.create_index("ix_surveys_sent_at", "surveys", ["sent_at"])
    op.create_index("ix_surveys_status_send_after", "surveys", ["status", "send_after"])
    op.create_index("ix_surveys_customer_created", "surveys", ["customer_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_surveys_customer_created", "surveys")
    op.drop_index("ix_surveys_status_send_after", "surveys")
    op.drop_index("ix_surveys_sent_at", "surveys")
    op.drop_index("ix_surveys_call_id", "surveys")
    op.drop_table("surveys")
    op.drop_table("survey_questionnaires")
