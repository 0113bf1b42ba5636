"""Follow-up tasks: a contact's follow-up gets the queue whose agents see it, how it answers the customer (e-mail or
call), who took it and who completed it; the staff's task list reads the open ones through a new index.

The task stays on its contact rather than in a table of its own: the follow-up already lives there (its due time and
text, written by wrap-ups and left messages), and what erasure and retention do to a contact's follow-up
(``follow_up_task`` cleared) then ends the task too, with no second copy of the text to forget.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("follow_up_queue", "follow_up_reply", "follow_up_claimed_by", "follow_up_claimed_at",
            "follow_up_done_by", "follow_up_done_at")


def upgrade() -> None:
    op.add_column("contacts", sa.Column("follow_up_queue", sa.String(64), nullable=True))
    op.add_column("contacts", sa.Column("follow_up_reply", sa.String(8), nullable=True))
    op.add_column("contacts", sa.Column("follow_up_claimed_by", sa.String(64), nullable=True))
    op.add_column("contacts", sa.Column("follow_up_claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("contacts", sa.Column("follow_up_done_by", sa.String(64), nullable=True))
    op.add_column("contacts", sa.Column("follow_up_done_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_contacts_follow_up_open", "contacts", ["follow_up_done_at", "follow_up_at"])
    # The follow-ups wrap-ups set before this revision: their call's queue, so its agents see them now.
    op.execute(sa.text(
        "UPDATE contacts SET follow_up_queue = (SELECT interactions.queue FROM interactions "
        "WHERE interactions.call_id = contacts.call_id) "
        "WHERE follow_up_task IS NOT NULL AND call_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_contacts_follow_up_open", table_name="contacts")
    with op.batch_alter_table("contacts") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
