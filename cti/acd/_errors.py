"""The distributor's refusals: one family, each of one of :mod:`cti.errors`' kinds.

::

    AcdError
     +-- UnknownAgent, UnknownWork, UnknownQueue     (NotFound)
     +-- InvalidTransition, ExtensionInUse           (Conflict)
     +-- InvalidDigits                               (InvalidInput: DTMF that is no tones)
     +-- RulesError                                  (InvalidInput: a rules file that does not hold)
          +-- CalendarError

The web layer maps the kinds to HTTP statuses; nothing here knows HTTP.
"""

from collections.abc import Iterable

from cti.errors import Conflict, CtiError, InvalidInput, NotFound, Problem

__all__ = [
    "AcdError",
    "CalendarError",
    "ExtensionInUse",
    "InvalidDigits",
    "InvalidTransition",
    "RulesError",
    "UnknownAgent",
    "UnknownQueue",
    "UnknownWork",
]


class AcdError(CtiError):
    """Base of the distributor's refusals."""


class UnknownAgent(AcdError, NotFound):
    code = "agent_not_found"

    def __init__(self, agent_id: str) -> None:
        super().__init__(f"no agent {agent_id!r}", params={"agent_id": agent_id})
        self.agent_id = agent_id


class UnknownWork(AcdError, NotFound):
    code = "call_not_found"

    def __init__(self, call_id: str) -> None:
        super().__init__(f"no live call {call_id!r}", params={"call_id": call_id})
        self.call_id = call_id


class UnknownQueue(AcdError, NotFound):
    code = "queue_not_found"

    def __init__(self, queue: str) -> None:
        super().__init__(f"no queue {queue!r}", params={"queue": queue})
        self.queue = queue


class InvalidTransition(AcdError, Conflict):
    """The request does not fit the agent's or the item's state now (an agent not ready, a call not connected)."""

    code = "invalid_transition"


class ExtensionInUse(AcdError, Conflict):
    code = "extension_in_use"

    def __init__(self, extension: str, agent_id: str) -> None:
        super().__init__(f"extension {extension} is in use by agent {agent_id!r}",
                         params={"extension": extension, "agent_id": agent_id})
        self.extension = extension
        self.agent_id = agent_id


class RulesError(AcdError, InvalidInput, ValueError):
    """The rules file is invalid; the message says where."""

    code = "invalid_rules"

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        InvalidInput.__init__(self, message, problems)


class CalendarError(RulesError):
    """A calendar in the rules is invalid; the message says where."""


class InvalidDigits(AcdError, InvalidInput):
    def __init__(self, digits: str) -> None:
        super().__init__("DTMF digits are 1 to 32 of 0-9, *, #, A-D")
        self.digits = digits
