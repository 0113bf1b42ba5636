"""Persistence: call records, agents, API users and agent state history.

SQLAlchemy 2 (async) over SQLite (default) or PostgreSQL, schema managed by Alembic. Callers use
:class:`Database` with the plain records below and handle :class:`StorageError`::

    db = Database(settings.database_url)
    await db.upgrade()          # starts the engine, then migrates to the newest schema
    ...
    await db.close()
"""

from cti.records import (
    OUTCOMES,
    ROLES,
    AgentRecord,
    AgentStateRecord,
    InteractionRecord,
    UserRecord,
)

from .database import Database, hash_token
from .errors import StorageConflict, StorageError

__all__ = [
    "OUTCOMES",
    "ROLES",
    "AgentRecord",
    "AgentStateRecord",
    "Database",
    "InteractionRecord",
    "StorageConflict",
    "StorageError",
    "UserRecord",
    "hash_token",
]
