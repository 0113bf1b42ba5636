"""Read-only queries over the live contact center: what the web, the pages and the reports read.

Answers are snapshots (detached copies): changing one changes nothing. The core changes only through the
:class:`~cti.services.Distributor`, which tells everyone of every change; so nothing that reads here can
change it behind the dashboards' back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from cti.acd import Agent, Channel, ContactCenter, QueueRule, Rules, UnknownWork, WorkItem, WorkState
from cti.types import Clock

__all__ = ["CenterView", "Placement"]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a live item is, as the access checks read it (whose, which queue, what state): a few fields copied,
    not a snapshot of the whole item (its routing, decisions and legs), which every chat message an agent sends
    read twice."""

    call_id: str
    channel: Channel
    state: WorkState
    queue: str
    agent_id: str | None
    agent_channel_id: str | None


class CenterView:
    def __init__(self, core: ContactCenter, clock: Clock) -> None:
        self._core = core
        self._clock = clock

    def now(self) -> datetime:
        """The time the contact center decides by (the wall clock, or a test's)."""
        return self._clock()

    @property
    def rules(self) -> Rules:
        """The routing rules in force (immutable)."""
        return self._core.rules

    def queue_rule(self, name: str) -> QueueRule:
        """The rules of queue ``name`` (the default queue's for a name the rules do not have)."""
        return self._core.queue_rule(name)

    # -- agents ---------------------------------------------------------------------------------------------
    def agent(self, agent_id: str) -> Agent:
        """A snapshot of the agent; :class:`~cti.acd.UnknownAgent` if there is none."""
        return self._core.agent(agent_id).snapshot()

    def agent_name(self, agent_id: str) -> str:
        """The agent's name, without a snapshot (read for every chat message an agent sends);
        :class:`~cti.acd.UnknownAgent` if there is none."""
        return self._core.agent(agent_id).name

    def has_agent(self, agent_id: str) -> bool:
        return agent_id in self._core.agents

    def agents(self) -> list[Agent]:
        """Snapshots of every agent, by agent id."""
        return [agent.snapshot() for _, agent in sorted(self._core.agents.items())]

    def agent_map(self) -> Mapping[str, Agent]:
        """The live agents, read-only, without copying: for services that read many agents many times a second
        (the dashboard's figures). Never change what it holds; snapshot what you keep."""
        return MappingProxyType(self._core.agents)

    # -- work items -----------------------------------------------------------------------------------------
    def call(self, call_id: str) -> WorkItem:
        """A snapshot of the live item; :class:`~cti.acd.UnknownWork` if there is none."""
        return self._core.call(call_id).snapshot()

    def find_call(self, call_id: str) -> WorkItem | None:
        call = self._core.calls.get(call_id)
        return None if call is None else call.snapshot()

    def placement(self, call_id: str) -> Placement | None:
        """Where the live item is (None if there is none): without a snapshot, like :meth:`state_of`."""
        call = self._core.calls.get(call_id)
        if call is None:
            return None
        return Placement(call.call_id, call.channel, call.state, call.queue, call.agent_id, call.agent_channel_id)

    def connections_of(self, call_id: str) -> int:
        """How many times the live item's customer was connected to an agent (0 if it is not live): without a
        snapshot, like :meth:`state_of`."""
        call = self._core.calls.get(call_id)
        return 0 if call is None else call.connections

    def is_live(self, call_id: str) -> bool:
        return call_id in self._core.calls

    def state_of(self, call_id: str) -> WorkState | None:
        """The live item's state, None if there is none: without a snapshot (asked for every live chat on every
        change)."""
        call = self._core.calls.get(call_id)
        return None if call is None else call.state

    def holder_of(self, call_id: str) -> str | None:
        """The agent the live item is offered to or connected with, None if none (or no such item): without a
        snapshot (read for every chat message)."""
        call = self._core.calls.get(call_id)
        return None if call is None or call.state is WorkState.ENDED else call.agent_id

    def calls(self) -> list[WorkItem]:
        """Snapshots of every live item, in arrival order."""
        return sorted((c.snapshot() for c in self._core.calls.values()), key=lambda c: (c.arrived_at, c.call_id))

    def position(self, call_id: str) -> int:
        """The waiting item's place in its queue (1: next)."""
        call = self._core.calls.get(call_id)
        if call is None:
            raise UnknownWork(call_id)
        return self._core.position(call, self._clock())

    def estimated_wait(self, queue: str, position: int, channel: Channel = Channel.VOICE) -> float:
        """Seconds an item of ``channel`` at ``position`` in ``queue`` can expect to wait (``inf``: nobody serves
        it)."""
        return self._core.estimated_wait(queue, position, channel)
