"""The one exception type storage callers need to handle."""

from __future__ import annotations

__all__ = ["StorageConflict", "StorageError"]


class StorageError(Exception):
    """A storage operation failed.

    Raised ``from`` the SQLAlchemy/driver exception when there is one, so the original stays in
    ``__cause__`` for logs while callers only ever catch this type.
    """


class StorageConflict(StorageError):
    """The record would clash with an existing one (a taken name, a duplicate key)."""
