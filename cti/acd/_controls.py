"""The agent's controls of their connected call: blind transfer, hold and resume, mute, tones, hang up.

Each is refused unless the call is the agent's connected voice call (``not_on_call``), and most while a
consult goes on (:mod:`._consult` owns that flow). Separate because they are requests of the agent on one call,
not routing decisions.
"""

from __future__ import annotations

from datetime import datetime

from cti.acd._commands import Command, Hangup, Hold, HoldCall, MuteAgent, ResumeCall, SendDtmf, WorkChanged
from cti.acd._consult import consult_in_progress, consult_not_answered
from cti.acd._core import CoreState
from cti.acd._errors import InvalidDigits, InvalidTransition, UnknownQueue
from cti.acd._routing import Decision
from cti.acd._work import EndReason, Outcome, WorkState

__all__ = ["DTMF_DIGITS", "MAX_DTMF", "CallControls"]

DTMF_DIGITS = frozenset("0123456789*#ABCD")
MAX_DTMF = 32


class CallControls(CoreState):
    """The agent's controls of a connected call, in ``ContactCenter``."""

    def transfer(self, call_id: str, agent_id: str, now: datetime, *, queue: str | None = None,
                 to_agent: str | None = None, note: str | None = None) -> list[Command]:
        """The call's agent hands it on (a blind transfer): to a queue, or straight to a ready agent.

        The transferring agent's leg hangs up and they go to wrap-up, having handled the call; the caller
        goes back on hold, keeping their arrival time (so their place ahead of later callers) and their
        answer time (so the service level counts their first answer). An agent who does not answer a direct
        transfer sends the call to the queue like any unanswered offer, for whoever may take it next.
        """
        call = self.call(call_id)
        if call.state is not WorkState.CONNECTED or call.agent_id != agent_id or call.callback:
            raise InvalidTransition(f"call {call_id} is not a connected call of agent {agent_id}",
                                    code="not_on_call", params={"call_id": call_id, "agent_id": agent_id})
        if (queue is None) == (to_agent is None):
            raise InvalidTransition("a transfer goes to a queue or to an agent, one of the two",
                                    code="transfer_target")
        if call.consult is not None:
            raise consult_in_progress(call)
        target = None
        if to_agent is not None:
            target = self.agent(to_agent)
            if to_agent == agent_id or not target.available_for(call.channel):
                raise InvalidTransition(f"agent {to_agent} is not ready to take a transfer",
                                        code="agent_not_ready", params={"agent_id": to_agent})
        elif queue not in self.rules.queues:
            raise UnknownQueue(queue or "")
        old_leg = call.agent_channel_id
        assert old_leg is not None
        self._close_hold(call, now)  # a held caller waits in the queue from now: queue time, not hold time
        call.muted = False  # the mute was of the leaving agent's leg
        self._channels.pop(old_leg, None)  # its hang-up is ours, not the end of the call
        self._close_leg(call, old_leg, now)
        commands: list[Command] = [Hangup(old_leg, call.call_id, call.channel),
                                   Hold(call.call_id, call.channel_id, queue or call.queue, call.channel,
                                        call.connections)]
        commands += self._release_agent(call, now, handled=True)
        call.state = WorkState.WAITING
        call.agent_id = call.agent_extension = call.agent_channel_id = None
        if queue is not None and queue != call.queue:
            call.queue, call.routing.step = queue, 0
        call.queued_at = now
        call.decisions.append(Decision(
            now, "transferred", call.queue, call.routing.route, call.routing.step,
            reason=f"agent {agent_id} transferred the call to " + (f"agent {to_agent}" if to_agent else
                                                                   f"queue {call.queue}"),
            winner=agent_id, candidates=(to_agent,) if to_agent else (), candidate_count=1 if to_agent else 0,
            note=note or None))
        if target is not None:
            offered = self._offer(call, self.queue_rule(call.queue), self._router.target(call)[2], [target], now)
            self._router.track(target)
            self._router.place(call)
            return [*commands, *offered, *self._router.decide(now)]
        self._router.place(call)
        return [*commands, WorkChanged(call.snapshot()), *self._router.decide(now)]

    def hold_call(self, call_id: str, agent_id: str, now: datetime) -> list[Command]:
        """The agent puts the caller on hold (music); the hold counts from now until resumed or ended."""
        call = self._controlled(call_id, agent_id)
        if call.consult is not None:
            raise consult_in_progress(call)
        if call.held:
            raise InvalidTransition(f"call {call_id} is already on hold")
        call.held_since = now
        call.hold_count += 1
        return [HoldCall(call.call_id, call.channel_id, call.queue, call.channel), WorkChanged(call.snapshot())]

    def resume_call(self, call_id: str, agent_id: str, now: datetime) -> list[Command]:
        """The caller on hold talks to the agent again."""
        call = self._controlled(call_id, agent_id)
        if call.consult is not None:
            raise consult_in_progress(call)
        if not call.held:
            raise InvalidTransition(f"call {call_id} is not on hold")
        self._close_hold(call, now)
        assert call.agent_channel_id is not None
        return [ResumeCall(call.call_id, call.channel_id, call.agent_channel_id, call.channel),
                WorkChanged(call.snapshot())]

    def set_muted(self, call_id: str, agent_id: str, muted: bool) -> list[Command]:
        """The agent's voice stops (or starts again) reaching the caller."""
        call = self._controlled(call_id, agent_id)
        if call.muted == muted:
            raise InvalidTransition(f"call {call_id} is already {'muted' if muted else 'not muted'}")
        call.muted = muted
        assert call.agent_channel_id is not None
        return [MuteAgent(call.call_id, call.agent_channel_id, muted, call.channel), WorkChanged(call.snapshot())]

    def send_dtmf(self, call_id: str, agent_id: str, digits: str) -> list[Command]:
        """Tones to the caller's side of the call (a partner's IVR); not while the caller is on hold (they
        would go to nobody who listens). During a consult they go to the party consulted, once answered."""
        call = self._controlled(call_id, agent_id)
        if not digits or len(digits) > MAX_DTMF or not set(digits) <= DTMF_DIGITS:
            raise InvalidDigits(digits)
        if call.consult is not None:  # during a consult the tones go to the party consulted (their IVR)
            if call.consult.answered_at is None:
                raise consult_not_answered(call)
            return [SendDtmf(call.call_id, call.consult.channel_id, digits, call.channel)]
        if call.held:
            raise InvalidTransition(f"call {call_id} is on hold: resume it to send tones")
        return [SendDtmf(call.call_id, call.channel_id, digits, call.channel)]

    def hang_up(self, call_id: str, agent_id: str, now: datetime) -> list[Command]:
        """The agent ends the call from their desktop: both legs hang up, the call is answered and ended by
        the agent, who goes to wrap-up as after any handled call."""
        call = self._controlled(call_id, agent_id)
        # Both hang-ups are ours: their channel events no longer concern the call.
        self._channels.pop(call.channel_id, None)
        commands: list[Command] = [Hangup(call.channel_id, call.call_id, call.channel)]
        if call.agent_channel_id:
            self._channels.pop(call.agent_channel_id, None)
            commands.append(Hangup(call.agent_channel_id, call.call_id, call.channel))
        commands += self._release_agent(call, now, handled=True)
        commands += self._end(call, now, Outcome.ANSWERED, EndReason.AGENT_HANGUP)
        return commands + self._router.decide(now)
