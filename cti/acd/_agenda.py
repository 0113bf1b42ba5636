"""What the tick has to do and when: wrap-ups ending, escalation steps, announcements, paused calls resuming.

Each is a due time per agent or call, set when the agent or call changes, so a tick pops what is due
instead of scanning everything. Due times are computed a microsecond early where the rule compares float
seconds; the core re-checks each popped item with the original rule and schedules it again if not yet due.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import lru_cache

from cti.acd._agents import Agent, AgentState
from cti.acd._deadlines import Deadlines
from cti.acd._rules import QueueRule
from cti.acd._work import WorkItem

__all__ = ["Agenda"]


class Agenda:
    def __init__(self) -> None:
        self.wrap_ups = Deadlines()  # agent id -> wrap_up_until
        self.escalations = Deadlines()  # call id -> when its step may change
        self.announcements = Deadlines()  # call id -> when its next announcement may be due
        self.pauses = Deadlines()  # call id -> not_before
        self._resumed: dict[str, datetime] = {}  # call id -> the not_before that has passed
        # Calls whose escalation and announcement times need computing (it takes the current time).
        self.unscheduled: set[str] = set()
        self._step_ends: dict[tuple[str, int], timedelta | None] = {}  # (queue, step) -> when it ends

    def reset_calls(self) -> None:
        """Forget every call's times (new rules): they are all scheduled again."""
        self.escalations.clear()
        self.announcements.clear()
        self.pauses.clear()
        self.unscheduled.clear()
        self._step_ends.clear()

    def track_agent(self, agent: Agent) -> None:
        if agent.state is AgentState.WRAP_UP and agent.wrap_up_until is not None:
            self.wrap_ups.set(agent.agent_id, agent.wrap_up_until)
        else:
            self.wrap_ups.discard(agent.agent_id)

    def paused(self, call: WorkItem) -> bool:
        """Is the waiting call held back after a failed offer (``not_before`` not yet passed)?"""
        if call.not_before is None or self._resumed.get(call.call_id) == call.not_before:
            self.pauses.discard(call.call_id)
            return False
        self.pauses.set(call.call_id, call.not_before)
        return True

    def resume(self, call: WorkItem) -> None:
        """Its ``not_before`` has passed (popped from ``pauses``): the call may be offered again."""
        if call.not_before is not None:
            self._resumed[call.call_id] = call.not_before

    def waiting(self, call_id: str) -> None:
        self.unscheduled.add(call_id)

    def forget(self, call_id: str, *, ended: bool = False) -> None:
        """The call is no longer waiting: nothing is due for it until it waits again."""
        self.escalations.discard(call_id)
        self.announcements.discard(call_id)
        self.pauses.discard(call_id)
        self.unscheduled.discard(call_id)
        if ended:
            self._resumed.pop(call_id, None)

    def schedule(self, call: WorkItem, queue: QueueRule, now: datetime) -> None:
        """When the waiting call's escalation step may change, and its next announcement."""
        self.unscheduled.discard(call.call_id)
        due = self._step_changes(call, queue, now)
        if due is None:
            self.escalations.discard(call.call_id)
        else:
            self.escalations.set(call.call_id, due)
        self.schedule_announcement(call, queue)

    def schedule_announcement(self, call: WorkItem, queue: QueueRule) -> None:
        every = queue.announce_seconds
        if every > 0 and call.caller_present:
            last = call.announced_at or call.queued_at or call.arrived_at
            self.announcements.set(call.call_id, last + _just_before(every))
        else:
            self.announcements.discard(call.call_id)


    def _step_changes(self, call: WorkItem, queue: QueueRule, now: datetime) -> datetime | None:
        """The first time the tick may find the call at another escalation step than now; None: never."""
        start = call.queued_at or call.arrived_at
        step = call.routing.step
        if queue.step_at((now - start).total_seconds()) != step:
            return now  # out of step (new rules, or it waited while ringing): the next tick moves it
        try:
            end = self._step_ends[queue.name, step]
        except KeyError:
            seconds = _step_end(queue, step)
            end = self._step_ends[queue.name, step] = None if seconds is None else _just_before(seconds)
        return None if end is None else start + end


def _step_end(queue: QueueRule, step: int) -> float | None:
    """Seconds in the queue at which ``step`` ends (the sums :meth:`QueueRule.step_at` compares with)."""
    last = len(queue.targets) - 1
    elapsed = 0.0
    for index, target in enumerate(queue.targets):
        if target.timeout is None or index == last:
            return None
        elapsed += target.timeout
        if index == step:
            return elapsed
    return None


@lru_cache(maxsize=256)
def _just_before(seconds: float) -> timedelta:
    return timedelta(microseconds=math.floor(seconds * 1_000_000) - 1)
