"""The persistence layer's exceptions: one type for callers to handle, whatever went wrong underneath.

::

    cti.errors.Unavailable
     +-- StorageError            a read or write failed: the database is away, refused the value, or has no such row
          +-- StorageConflict    (also a cti.errors.Conflict) the record would clash with an existing one
          +-- StorageRejected    (also a cti.errors.InvalidInput) the database refuses these values: a value too
                                 long for its column, a constraint, a value the driver cannot send
          +-- StorageFenced      (also a cti.errors.Fenced) a write of a controller whose term is over: a newer
                                 leader claimed the database

Raised ``from`` the SQLAlchemy or driver exception when there is one, so the original stays in ``__cause__`` for
logs while callers only ever catch :class:`StorageError`. Values the domain refuses before any database sees them
are the domain's own errors (``cti.crm.CrmInputError`` is an ``InvalidInput``), never a ``StorageError``.

A :class:`StorageRejected` will fail the same way however often it is tried; a plain :class:`StorageError` may
succeed later (the database was away, locked, restarting). The journal retries the one and sets the other aside.
"""

from __future__ import annotations

from cti.errors import Conflict, Fenced, InvalidInput, Unavailable

__all__ = ["StorageConflict", "StorageError", "StorageFenced", "StorageRejected"]


class StorageError(Unavailable):
    """A storage operation failed."""

    @property
    def public_message(self) -> str:
        return "the database is unavailable; try again shortly"


class StorageConflict(StorageError, Conflict):
    """The record would clash with an existing one (a taken name, a duplicate key)."""

    code = "conflict"  # a Conflict for the client, though a StorageError (an Unavailable) for the code


class StorageRejected(StorageError, InvalidInput):
    """The database refuses these values (too long, a constraint, a type it cannot hold): trying again will not
    help; only different values will."""

    code = "invalid_input"


class StorageFenced(StorageError, Fenced):
    """A write by a controller that no longer leads: a newer term's controller claimed the database (its fencing
    token is higher), so nothing of the write is kept. Retrying changes nothing; the deposed process ends."""
