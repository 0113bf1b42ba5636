"""Alembic environment for cti.persistence.

Two ways in:

* ``Database.upgrade()`` (the normal one) runs Alembic inside ``AsyncConnection.run_sync`` and hands
  the resulting sync connection over in ``config.attributes["connection"]``; migrations then run on
  the application's own engine and transaction.
* The ``alembic`` command line (developers writing a revision), with
  ``alembic -c cti/persistence/alembic.ini -x url=sqlite+aiosqlite:///dev.db revision --autogenerate``;
  without ``-x url`` the ``CTI_DATABASE_URL`` environment variable is used. An async engine is
  created here for that case.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from cti.persistence._base import UTCDateTime
from cti.persistence._tables import METADATA

config = context.config
target_metadata = METADATA


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or os.environ.get("CTI_DATABASE_URL")
    )
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set CTI_DATABASE_URL")
    return url


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Revisions must not import the models (they change; a migration must not), so the decorator
    # is written out as the column type it stores.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations(_url()))


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
