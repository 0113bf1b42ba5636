"""The root of every error cti raises on purpose, in six kinds the boundaries know how to answer.

::

    CtiError
     +-- NotFound       an id that names nothing (an agent, a call, a customer, a schedule)
     +-- Forbidden      the caller may not do this, or not to this object (a queue outside their scope)
     +-- Conflict       the request clashes with the current state (an agent not ready, a phone taken)
     +-- InvalidInput   values refused before anything acted on them
     +-- Unavailable    a component is away or failing (the database, Redis, Asterisk)
     +-- TooMany        the caller asked too often; ``retry_after`` seconds from now they may again

Each package defines its own exceptions under one of these (``cti.acd.UnknownAgent`` is a ``NotFound``,
``cti.persistence.StorageError`` an ``Unavailable``); the web layer maps the kinds to HTTP statuses in one
table (404, 403, 409, 422, 503, 429). A domain or input error is never an ``Unavailable``: a bad e-mail address is
the caller's to fix, not a reason to retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Conflict", "CtiError", "Forbidden", "InvalidInput", "NotFound", "Problem", "TooMany", "Unavailable"]


class CtiError(Exception):
    """Base of every error cti raises on purpose."""


class NotFound(CtiError):
    """An id that names nothing."""


class Forbidden(CtiError):
    """The caller may not do this, or not to this object."""


class Conflict(CtiError):
    """The request clashes with the current state of what it names."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One refused value: which field (or CSV column) and why."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class InvalidInput(CtiError):
    """Values refused before anything acted on them; ``problems`` says which, when known."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[Problem, ...] = tuple(problems)


class Unavailable(CtiError):
    """A component cti depends on is away or failing; trying again later may work."""

    @property
    def public_message(self) -> str:
        """What a client may be told: which component, not its internals (a database URL, a query)."""
        return "a component cti depends on is unavailable; try again shortly"


class TooMany(CtiError):
    """The caller asked too often (a throttle against scraping); they may again in ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
