"""Supervisors' labels of the questions the virtual agent handed over or answered unsure: what answers each (an
FAQ entry, an intent, a new FAQ entry to write, nothing), who labelled it, and a copy of the customer's words,
cleared with the chat's transcript.

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cyberagent_labels",
        sa.Column("label_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("question", sa.Text()),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64)),
        sa.Column("labelled_by", sa.String(64), nullable=False),
        sa.Column("labelled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ux_cyberagent_labels_question", "cyberagent_labels", ["call_id", "seq"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_cyberagent_labels_question", "cyberagent_labels")
    op.drop_table("cyberagent_labels")
