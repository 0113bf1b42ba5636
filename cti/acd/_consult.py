"""Consult (attended) transfer and three-way conference, the core's steps for them.

An agent consults a third party (an agent, a queue's ready agent, a number) while the caller holds, then
completes the transfer, cancels it, or conferences the three and may leave them; the consulted party's leg
answering or hanging up. Separate from the rest of the core because it is a flow of its own, with its own
leg (``WorkItem.consult``), refusals and hand-over; how a consult ends with its call is in :mod:`._core`.
"""

from __future__ import annotations

from datetime import datetime

from cti.acd._agents import Agent, AgentState
from cti.acd._commands import (
    AgentChanged,
    Command,
    DialExternal,
    HandOff,
    Hangup,
    HoldCall,
    JoinCall,
    Offer,
    ResumeCall,
    WorkChanged,
)
from cti.acd._core import CoreState
from cti.acd._eligibility import qualified
from cti.acd._errors import InvalidTransition, UnknownQueue
from cti.acd._routing import Decision
from cti.acd._work import Consult, EndReason, Leg, Outcome, WorkItem

__all__ = ["Consults", "consult_in_progress", "consult_not_answered"]


class Consults(CoreState):
    """The consult and conference steps of ``ContactCenter``."""

    def consult(self, call_id: str, agent_id: str, now: datetime, *, to_agent: str | None = None,
                queue: str | None = None, number: str | None = None, note: str | None = None) -> list[Command]:
        """The agent consults a third party while the caller holds (music; counted as a hold): another ready
        agent, a ready agent of ``queue`` (the longest idle of those holding its skills; refused when none is
        ready), or an external ``number`` (the caller of this method checks it may be dialled). The target's
        leg rings; answered, it joins the agent in the call's bridge. The agent consulted gets the screen pop
        with ``note``."""
        call = self._controlled(call_id, agent_id)
        if call.consult is not None:
            raise consult_in_progress(call)
        if sum(target is not None for target in (to_agent, queue, number)) != 1:
            raise InvalidTransition("a consult goes to an agent, a queue or a number, one of the three",
                                    code="consult_target")
        target: Agent | None = None
        if to_agent is not None:
            target = self.agent(to_agent)
            if to_agent == agent_id or target.extension is None or not target.available_for(call.channel):
                raise InvalidTransition(f"agent {to_agent} is not ready to be consulted", code="agent_not_ready",
                                        params={"agent_id": to_agent})
        elif queue is not None:
            target = self._ready_in(queue, call, agent_id)
        call.consults += 1
        leg = f"{call.call_id}-t{call.consults}"
        commands: list[Command] = []
        if not call.held:
            call.held_since = now
            call.hold_count += 1
            commands.append(HoldCall(call.call_id, call.channel_id, call.queue, call.channel))
        self._channels[leg] = call.call_id
        if target is not None:
            call.consult = Consult("queue" if queue else "agent", target.agent_id, leg, now, queue=queue,
                                   extension=target.extension, note=note or None)
            if target.state is AgentState.READY:
                target.transition(AgentState.RINGING, now)
            target.work[call.call_id] = call.channel
            self._router.track(target)
            commands.append(Offer(call.call_id, target.agent_id, target.extension, leg, call.agent_channel_id,
                                  call.caller_number, call.caller_name, call.channel))
        else:
            assert number is not None
            call.consult = Consult("external", number, leg, now, note=note or None)
            commands.append(DialExternal(call.call_id, leg, number, call.service_number, call.channel))
        consulted = call.consult.target
        call.decisions.append(Decision(
            now, "consulted", call.queue, call.routing.route, call.routing.step,
            reason=f"agent {agent_id} consults " + (f"number {number}" if number else f"agent {consulted}")
            + (f" of queue {queue}" if queue else ""),
            winner=agent_id, candidates=(consulted,), candidate_count=1, note=note or None))
        commands.append(WorkChanged(call.snapshot()))
        if target is not None:
            commands.append(AgentChanged(target.snapshot()))
        return commands

    def _ready_in(self, queue: str, call: WorkItem, agent_id: str) -> Agent:
        """The agent a consult to ``queue`` rings: ready, holding its skills, idle longest."""
        if queue not in self.rules.queues:
            raise UnknownQueue(queue)
        rule = self.rules.queues[queue]
        ready = [a for a in self.agents.values() if a.agent_id != agent_id and a.extension is not None
                 and a.available_for(call.channel) and qualified(a, rule)]
        if not ready:
            raise InvalidTransition(f"no agent of queue {queue} is ready to be consulted", code="no_agent_ready",
                                    params={"queue": queue})
        floor = datetime.min.replace(tzinfo=call.arrived_at.tzinfo)
        return min(ready, key=lambda a: (a.idle_since or a.state_since or floor, a.agent_id))

    def _consult_answered(self, call: WorkItem, now: datetime) -> list[Command]:
        consult = call.consult
        assert consult is not None
        if consult.answered_at is not None:
            return []  # a repeated report
        consult.answered_at = now
        commands: list[Command] = [JoinCall(call.call_id, consult.channel_id, call.channel)]
        call.legs.append(Leg(consult.target, consult.kind, "consult", consult.channel_id, now))
        agent = self.agents.get(consult.target) if consult.kind != "external" else None
        if agent is not None and agent.state is not AgentState.ON_CALL:
            agent.transition(AgentState.ON_CALL, now)
            self._router.track(agent)
            commands.append(AgentChanged(agent.snapshot()))
        return [*commands, WorkChanged(call.snapshot())]

    def complete_consult(self, call_id: str, agent_id: str, now: datetime) -> list[Command]:
        """The agent hands the call to the party they consulted (who answered): caller and party talk in the
        call's bridge, the agent's leg hangs up and they go to wrap-up, having handled the call. An agent
        consulted owns the call from now on; an external party gets it from cti (see :meth:`_hand_over`)."""
        call = self._controlled(call_id, agent_id)
        if call.consult is None:
            raise _no_consult(call)
        if call.consult.answered_at is None:
            raise consult_not_answered(call)
        return self._hand_over(call, now)

    def conference(self, call_id: str, agent_id: str, now: datetime) -> list[Command]:
        """The caller comes back into the call's bridge, with the agent and the party consulted: three talk."""
        call = self._controlled(call_id, agent_id)
        consult = call.consult
        if consult is None:
            raise _no_consult(call)
        if consult.conference:
            raise InvalidTransition(f"call {call_id} is a conference already", code="already_conference",
                                    params={"call_id": call_id})
        if consult.answered_at is None:
            raise consult_not_answered(call)
        consult.conference = True
        self._close_hold(call, now)
        call.decisions.append(Decision(now, "conferenced", call.queue, call.routing.route, call.routing.step,
                                       reason=f"agent {agent_id} joined the caller and {consult.target}",
                                       winner=agent_id, candidates=(consult.target,), candidate_count=1))
        assert call.agent_channel_id is not None
        return [ResumeCall(call.call_id, call.channel_id, call.agent_channel_id, call.channel),
                WorkChanged(call.snapshot())]

    def leave_conference(self, call_id: str, agent_id: str, now: datetime) -> list[Command]:
        """The agent leaves a three-way conference: the call goes on between the caller and the third party,
        as when a consult is completed (another agent owns it; an external party gets it from cti)."""
        call = self._controlled(call_id, agent_id)
        if call.consult is None or not call.consult.conference:
            raise InvalidTransition(f"call {call_id} is not a conference", code="not_in_conference",
                                    params={"call_id": call_id})
        return self._hand_over(call, now)

    def cancel_consult(self, call_id: str, agent_id: str, now: datetime) -> list[Command]:
        """The consult ends: the target's leg hangs up (ringing or talking, or in the conference), the agent
        consulted is free again, and the caller is back with the agent (their hold ends)."""
        call = self._controlled(call_id, agent_id)
        if call.consult is None:
            raise _no_consult(call)
        commands = self._drop_consult(call, now, hang_up=True, kind="consult_cancelled")
        if call.held:
            self._close_hold(call, now)
            assert call.agent_channel_id is not None
            commands.append(ResumeCall(call.call_id, call.channel_id, call.agent_channel_id, call.channel))
        return [*commands, WorkChanged(call.snapshot()), *self._router.decide(now)]

    def _consult_leg_gone(self, call: WorkItem, now: datetime, offer_failure: str | None) -> list[Command]:
        """The party consulted hung up, or never answered (an agent's phone that rang out makes them not ready,
        as an unanswered offer does). A caller on hold stays so, for the agent to resume or consult again; a
        conference goes on as the call between caller and agent."""
        consult = call.consult
        assert consult is not None
        answered = consult.answered_at is not None
        commands = self._drop_consult(call, now, hang_up=False, failure=None if answered else offer_failure,
                                      kind="consult_ended" if answered else "consult_failed")
        return [*commands, WorkChanged(call.snapshot()), *self._router.decide(now)]

    def _hand_over(self, call: WorkItem, now: datetime) -> list[Command]:
        """The call's agent leaves it to the party they consulted, who answered (completed, left the conference,
        or hung up while consulting). An agent consulted owns the call from now on. An external party gets it
        from cti: the call ends for cti (answered, ``transferred_out``) while the caller and the party go on
        talking in the call's bridge until either hangs up (:class:`HandOff`)."""
        consult = call.consult
        assert consult is not None and call.agent_channel_id is not None
        old_leg, old_agent = call.agent_channel_id, call.agent_id
        commands: list[Command] = []
        if call.held:
            self._close_hold(call, now)
            commands.append(ResumeCall(call.call_id, call.channel_id, consult.channel_id, call.channel))
        self._channels.pop(old_leg, None)  # its hang-up is ours
        self._close_leg(call, old_leg, now)
        commands.append(Hangup(old_leg, call.call_id, call.channel))
        call.muted = False  # the mute was of the leaving agent's leg
        commands += self._release_agent(call, now, handled=True)
        call.decisions.append(Decision(
            now, "consult_completed", call.queue, call.routing.route, call.routing.step,
            reason=f"agent {old_agent} handed the call to {consult.target}", winner=old_agent,
            candidates=(consult.target,), candidate_count=1, note=consult.note))
        call.consult = None
        if consult.kind == "external":
            self._channels.pop(consult.channel_id, None)
            commands.append(HandOff(call.call_id, call.channel_id, consult.channel_id, call.channel,
                                    call.connections))
            commands += self._end(call, now, Outcome.ANSWERED, EndReason.TRANSFERRED_OUT)
            return commands + self._router.decide(now)
        call.agent_id, call.agent_extension = consult.target, consult.extension
        call.agent_channel_id = consult.channel_id
        return [*commands, WorkChanged(call.snapshot()), *self._router.decide(now)]


def consult_in_progress(call: WorkItem) -> InvalidTransition:
    return InvalidTransition(f"call {call.call_id} has a consult in progress", code="consult_in_progress",
                             params={"call_id": call.call_id})


def consult_not_answered(call: WorkItem) -> InvalidTransition:
    return InvalidTransition(f"the party consulted on call {call.call_id} has not answered yet",
                             code="consult_not_answered", params={"call_id": call.call_id})


def _no_consult(call: WorkItem) -> InvalidTransition:
    return InvalidTransition(f"call {call.call_id} has no consult in progress", code="no_consult",
                             params={"call_id": call.call_id})
