"""Errors of the call-center core. The web layer maps them to HTTP statuses; the core knows no HTTP."""

from cti.routing.agents import InvalidTransition

__all__ = ["CallCenterError", "ExtensionInUse", "InvalidTransition", "UnknownAgent", "UnknownCall", "UnknownQueue"]


class CallCenterError(Exception):
    """Base of the core's refusals."""


class UnknownAgent(CallCenterError):
    def __init__(self, agent_id: str) -> None:
        super().__init__(f"no agent {agent_id!r}")
        self.agent_id = agent_id


class UnknownCall(CallCenterError):
    def __init__(self, call_id: str) -> None:
        super().__init__(f"no live call {call_id!r}")
        self.call_id = call_id


class UnknownQueue(CallCenterError):
    def __init__(self, queue: str) -> None:
        super().__init__(f"no queue {queue!r}")
        self.queue = queue


class ExtensionInUse(CallCenterError):
    def __init__(self, extension: str, agent_id: str) -> None:
        super().__init__(f"extension {extension} is in use by agent {agent_id!r}")
        self.extension = extension
        self.agent_id = agent_id
