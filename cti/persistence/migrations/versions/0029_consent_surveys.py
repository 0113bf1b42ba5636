"""The customers' consent to the post-call survey: ``customers.consent_surveys``, asked on the line to rate their
call once the agent hangs up; remembered per customer.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        # Opt-in like every consent: nobody is asked until they agreed.
        batch.add_column(sa.Column("consent_surveys", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("consent_surveys")
