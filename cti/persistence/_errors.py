"""The persistence layer's exceptions: one type for callers to handle, whatever went wrong underneath.

::

    cti.errors.Unavailable
     +-- StorageError            a read or write failed: the database is away, refused the value, or has no such row
          +-- StorageConflict    (also a cti.errors.Conflict) the record would clash with an existing one

Raised ``from`` the SQLAlchemy or driver exception when there is one, so the original stays in ``__cause__`` for
logs while callers only ever catch :class:`StorageError`. Values the domain refuses before any database sees them
are the domain's own errors (``cti.crm.CrmInputError`` is an ``InvalidInput``), never a ``StorageError``.
"""

from __future__ import annotations

from cti.errors import Conflict, Unavailable

__all__ = ["StorageConflict", "StorageError"]


class StorageError(Unavailable):
    """A storage operation failed."""

    @property
    def public_message(self) -> str:
        return "the database is unavailable; try again shortly"


class StorageConflict(StorageError, Conflict):
    """The record would clash with an existing one (a taken name, a duplicate key)."""
