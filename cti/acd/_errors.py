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

from cti.errors import Conflict, CtiError, InvalidInput, NotFound

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
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"no agent {agent_id!r}")
        self.agent_id = agent_id


class UnknownWork(AcdError, NotFound):
    def __init__(self, call_id: str) -> None:
        super().__init__(f"no live call {call_id!r}")
        self.call_id = call_id


class UnknownQueue(AcdError, NotFound):
    def __init__(self, queue: str) -> None:
        super().__init__(f"no queue {queue!r}")
        self.queue = queue


class InvalidTransition(AcdError, Conflict):
    """The request does not fit the agent's or the item's state now (an agent not ready, a call not connected)."""


class ExtensionInUse(AcdError, Conflict):
    def __init__(self, extension: str, agent_id: str) -> None:
        super().__init__(f"extension {extension} is in use by agent {agent_id!r}")
        self.extension = extension
        self.agent_id = agent_id


class RulesError(AcdError, InvalidInput, ValueError):
    """The rules file is invalid; the message says where."""

    def __init__(self, message: str) -> None:
        InvalidInput.__init__(self, message)


class CalendarError(RulesError):
    """A calendar in the rules is invalid; the message says where."""


class InvalidDigits(AcdError, InvalidInput):
    def __init__(self, digits: str) -> None:
        super().__init__("DTMF digits are 1 to 32 of 0-9, *, #, A-D")
        self.digits = digits
