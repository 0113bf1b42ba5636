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

Besides its English message (for logs and machines), every error has a stable ``code`` and ``params``: the console
says the error in the user's language from them (``error.<code>`` in its catalogues), so no page shows the English
message. Each kind has a default code; an exception class names a more specific one (``code = "..."``), or a raise
passes ``code=`` and ``params=`` for the variable parts of its message. Codes are documented in docs/api.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["Conflict", "CtiError", "Fenced", "Forbidden", "InvalidInput", "NotFound", "Problem", "TooMany",
           "Unavailable"]


_NO_PARAMS: Mapping[str, object] = MappingProxyType({})


class CtiError(Exception):
    """Base of every error cti raises on purpose."""

    code: str = "internal"
    """A stable machine name of the error (``not_found``, ``agent_not_ready``): what clients translate."""
    params: Mapping[str, object] = _NO_PARAMS
    """The variable parts of the message (an agent id, a queue), for the translated sentence."""

    def __init__(self, *args: object, code: str | None = None, params: Mapping[str, object] | None = None) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code
        if params:
            self.params = MappingProxyType(dict(params))


class NotFound(CtiError):
    """An id that names nothing."""

    code = "not_found"


class Forbidden(CtiError):
    """The caller may not do this, or not to this object."""

    code = "forbidden"


class Conflict(CtiError):
    """The request clashes with the current state of what it names."""

    code = "conflict"


class Fenced(Conflict):
    """A write by a controller whose term is over (standby controllers): a newer leader's fencing token refused it,
    in Redis or the database. Nothing of it was kept, and nothing should be retried or set aside: the new leader
    holds that state now, and this process stands down."""

    code = "fenced"


@dataclass(frozen=True, slots=True)
class Problem:
    """One refused value: which field (or CSV column) and why."""

    field: str
    reason: str
    code: str = "invalid"
    """A stable machine name of the problem (``too_short``, ``unknown_language``), as pydantic's error types."""

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class InvalidInput(CtiError):
    """Values refused before anything acted on them; ``problems`` says which, when known."""

    code = "invalid_input"

    def __init__(self, message: str, problems: Iterable[Problem] = (), *, code: str | None = None,
                 params: Mapping[str, object] | None = None) -> None:
        super().__init__(message, code=code, params=params)
        self.problems: tuple[Problem, ...] = tuple(problems)


class Unavailable(CtiError):
    """A component cti depends on is away or failing; trying again later may work."""

    code = "unavailable"

    @property
    def public_message(self) -> str:
        """What a client may be told: which component, not its internals (a database URL, a query)."""
        return "a component cti depends on is unavailable; try again shortly"


class TooMany(CtiError):
    """The caller asked too often (a throttle against scraping); they may again in ``retry_after`` seconds."""

    code = "throttled"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message, params={"seconds": retry_after})
        self.retry_after = retry_after
