"""The customer search: each customer's name folded (no accents, lower case, plain words) in
``customers.search_name``, filled for the customers already there.

No index: the search matches the start of *any* word of the name (``LIKE '% les%'``), which no B-tree serves on
either backend; the folded column is narrow, so the scan is short (see docs/crm.md, "Customer search").

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fold(name: str) -> str:
    # A copy of cti.crm.fold_name as it was when this migration was written: a migration must not change when
    # the application's code does.
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in plain).split())[:200]


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("search_name", sa.String(200), nullable=False, server_default=sa.text("''")))
    customers = sa.table("customers", sa.column("customer_id", sa.String), sa.column("name", sa.String),
                         sa.column("search_name", sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(customers.c.customer_id, customers.c.name)).all()
    for customer_id, name in rows:
        connection.execute(customers.update().where(customers.c.customer_id == customer_id)
                           .values(search_name=_fold(name or "")))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("search_name")
