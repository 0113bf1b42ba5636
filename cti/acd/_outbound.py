"""The calls the center places to customers: click-to-dial, previewed (scheduled) callbacks, and the dial to
the customer once the agent has answered, for those and for a keep-my-place callback.

Separate because an outbound item starts with its agent (no queue, no offer to choose) and rings the agent
first; from the customer's answer on it is an ordinary connected call.
"""

from __future__ import annotations

from datetime import datetime

from cti.acd._agents import Agent, AgentState, PendingChange
from cti.acd._commands import AgentChanged, Command, DialCustomer, Offer, Preview, WorkChanged
from cti.acd._core import CoreState
from cti.acd._errors import InvalidTransition
from cti.acd._routing import Decision
from cti.acd._work import Channel, Direction, EndReason, Outcome, WorkItem, WorkState

__all__ = ["OutboundCalls"]


class OutboundCalls(CoreState):
    """Outbound calls and the dial back to the customer, in ``ContactCenter``."""

    def dial_out(self, call: WorkItem, agent_id: str, now: datetime) -> list[Command]:
        """An agent calls a customer (click-to-dial). ``call`` is the new item: the customer's number, the caller
        id to show them (``service_number``), the queue it counts in, the customer.

        The agent's phone rings first; once they answer, the customer is dialed, as a keep-my-place callback is,
        and bridged when they answer. Only an agent logged in and holding no work may dial (one in wrap-up may:
        the new call ends it); one who was not ready is not ready again after the call (a pending change)."""
        agent = self.agent(agent_id)
        self._refuse_taken_id(call)
        if agent.state is AgentState.LOGGED_OUT or agent.extension is None:
            raise InvalidTransition(f"agent {agent_id} must log in before dialing", code="agent_logged_out",
                                    params={"agent_id": agent_id})
        if agent.work or agent.state not in (AgentState.READY, AgentState.NOT_READY, AgentState.WRAP_UP):
            raise InvalidTransition(f"agent {agent_id} is on a call", code="agent_on_call",
                                    params={"agent_id": agent_id})
        if agent.state is AgentState.NOT_READY:
            agent.pending = PendingChange(AgentState.NOT_READY, agent.reason)
        if agent.state is not AgentState.READY:
            # Through ready, in this one step (no offer can come between): nothing else rings a not-ready agent.
            idle_since = agent.idle_since
            agent.transition(AgentState.READY, now)
            agent.idle_since = idle_since
        self._take_outbound(call, agent, now)
        return self._ring_outbound(call, agent, now)

    def preview(self, call: WorkItem, agent_id: str, now: datetime) -> list[Command]:
        """Show a new outbound call (a scheduled callback) to a ready agent before dialing: they are taken (no
        other call is offered to them) until they dial it (:meth:`dial_preview`) or skip it (:meth:`end_preview`)."""
        agent = self.agent(agent_id)
        self._refuse_taken_id(call)
        if agent.extension is None or not agent.available_for(Channel.VOICE) or agent.work:
            raise InvalidTransition(f"agent {agent_id} is not ready for a callback", code="agent_not_ready",
                                    params={"agent_id": agent_id})
        self._take_outbound(call, agent, now)
        call.state = WorkState.PREVIEW
        call.decisions.append(Decision(now, "previewed", call.queue, call.routing.route, 0,
                                       reason=f"shown to agent {agent_id} before dialing", winner=agent_id))
        return [Preview(call.call_id, agent_id, call.channel), WorkChanged(call.snapshot()),
                AgentChanged(agent.snapshot())]

    def dial_preview(self, call_id: str, agent_id: str, now: datetime) -> list[Command]:
        """The agent dials the call they preview: their phone rings, then as :meth:`dial_out`."""
        call = self._previewed(call_id, agent_id)
        return self._ring_outbound(call, self.agent(agent_id), now)

    def end_preview(self, call_id: str, agent_id: str, now: datetime) -> list[Command]:
        """The preview ends with nothing dialed (the agent skipped it, it timed out, the policy refused it)."""
        call = self._previewed(call_id, agent_id)
        return [*self._release_agent(call, now, handled=False),
                *self._end(call, now, Outcome.SKIPPED, EndReason.PREVIEW_SKIPPED), *self._router.decide(now)]

    def _previewed(self, call_id: str, agent_id: str) -> WorkItem:
        call = self.call(call_id)
        if call.state is not WorkState.PREVIEW or call.agent_id != agent_id:
            raise InvalidTransition(f"call {call_id} is not previewed by agent {agent_id}", code="not_previewed",
                                    params={"call_id": call_id, "agent_id": agent_id})
        return call

    def _refuse_taken_id(self, call: WorkItem) -> None:
        if call.call_id in self.calls:
            raise InvalidTransition(f"call {call.call_id} exists already")

    def _take_outbound(self, call: WorkItem, agent: Agent, now: datetime) -> None:
        """The new outbound item, held by ``agent`` (ready now, about to ring or preview)."""
        call.direction, call.callback, call.caller_present = Direction.OUTBOUND, True, False
        if call.queue not in self.rules.queues:
            call.queue = self.rules.default_queue
        call.queued_at = now
        call.agent_id, call.agent_extension = agent.agent_id, agent.extension
        call.channel_id = f"{call.call_id}-c1"  # the customer's leg, once the agent has answered
        call.routing.route = "outbound"
        self._router.add_call(call)
        self._channels[call.channel_id] = call.call_id
        agent.transition(AgentState.RINGING, now)
        agent.work[call.call_id] = call.channel
        self._router.track(agent)

    def _ring_outbound(self, call: WorkItem, agent: Agent, now: datetime) -> list[Command]:
        assert agent.extension is not None
        call.offers, call.state, call.offered_at = 1, WorkState.RINGING, now
        call.agent_channel_id = f"{call.call_id}-a1"
        self._channels[call.agent_channel_id] = call.call_id
        call.decisions.append(Decision(now, "dialed", call.queue, call.routing.route, 0,
                                       reason=f"agent {agent.agent_id} calls the customer", winner=agent.agent_id))
        return [Offer(call.call_id, agent.agent_id, agent.extension, call.agent_channel_id, None, call.caller_number,
                      call.caller_name, call.channel),
                WorkChanged(call.snapshot()), AgentChanged(agent.snapshot())]

    def _call_customer_back(self, call: WorkItem, agent_channel_id: str, now: datetime) -> list[Command]:
        # The agent is on the line first (so the customer never waits for nobody); now ring the customer.
        old_caller_leg = call.channel_id
        self._channels.pop(old_caller_leg, None)  # its hang-up (if still pending) no longer concerns the call
        call.state = WorkState.CALLING_BACK
        call.channel_id = f"{call.call_id}-c{call.offers}"
        self._channels[call.channel_id] = call.call_id
        kind = "dialing" if call.direction is Direction.OUTBOUND else "calling_back"
        call.decisions.append(Decision(now, kind, call.queue, call.routing.route, call.routing.step,
                                       reason=f"agent {call.agent_id} answered; calling {call.caller_number}",
                                       winner=call.agent_id))
        agent = self.agent(call.agent_id or "")
        return [
            DialCustomer(call.call_id, call.channel_id, call.caller_number, call.service_number, agent_channel_id,
                         call.channel, outbound=call.direction is Direction.OUTBOUND),
            WorkChanged(call.snapshot()),
            AgentChanged(agent.snapshot()),
        ]
