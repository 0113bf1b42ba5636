"""A caller's way through the queue: arrival and placement, admission (limits, calendars, overflow),
escalation over time, position and wait announcements, and the key that asks for a keep-my-place callback.

Separate because it is what happens to an item before any agent is involved; the offers themselves are
the router's (:mod:`._dispatch`).
"""

from __future__ import annotations

from datetime import datetime

from cti.acd._agents import AgentState
from cti.acd._announce import PROMPT_LANGUAGE, position_announcement
from cti.acd._commands import AgentChanged, Announce, Command, ConfirmCallback, RefuseCallback, Reject, WorkChanged
from cti.acd._core import DEFAULT_AHT, CoreState, describe_target
from cti.acd._eligibility import wait_key
from cti.acd._routing import Decision
from cti.acd._work import Channel, EndReason, Outcome, WorkItem, WorkState

__all__ = ["MAX_OVERFLOW_HOPS", "Arrivals"]

MAX_OVERFLOW_HOPS = 5  # queue -> overflow queue -> ... a chain longer than this is cut (rules may loop)


class Arrivals(CoreState):
    """Arrivals, admission, escalation and announcements, in ``ContactCenter``."""

    def call_arrived(self, call: WorkItem, now: datetime) -> list[Command]:
        if call.call_id in self.calls:
            return []
        if call.routing.region is None and call.routing.country in (None, "ID"):
            # A mobile or unknown number has no geography; the rules' default region stands in.
            call.routing.region = self.rules.default_region
        route, reason, why = self.rules.place(call.routing, call.service_number)
        call.queue, call.queued_at = route.queue, now
        call.routing.route, call.routing.priority, call.routing.step = route.name, route.priority, 0
        call.decisions.append(Decision(now, "queued", route.queue, route.name, 0, reason=reason, why=why))
        self._router.add_call(call)
        self._channels[call.channel_id] = call.call_id
        rejected = self._admit(call, now)
        if rejected:
            return rejected
        self._router.place(call)
        return [WorkChanged(call.snapshot()), *self._router.decide(now)]

    def _admit(self, call: WorkItem, now: datetime) -> list[Command]:
        """Apply queue limits: overflow to another queue, or reject with a message. Empty when queued."""
        for _ in range(MAX_OVERFLOW_HOPS):
            queue = self.queue_rule(call.queue)
            if queue.calendar is not None and not self.rules.calendar(queue.calendar).is_open(now):
                # Closed: the after-hours target (often a 24x7 queue), else the closing message.
                after = queue.after_hours
                if after is None or after.action == "message":
                    message = after.message if after is not None else "ss-noservice"
                    call.decisions.append(Decision(now, "closed", queue.name, call.routing.route, 0,
                                                   reason=f"calendar {queue.calendar!r} is closed"))
                    return [Reject(call.call_id, call.channel_id, message, call.channel),
                            *self._end(call, now, Outcome.REJECTED, EndReason.AFTER_HOURS)]
                assert after.queue is not None
                call.decisions.append(Decision(now, "overflowed", after.queue, call.routing.route, 0,
                                               reason=f"{queue.name}: calendar {queue.calendar!r} is closed"))
                call.queue, call.queued_at, call.routing.step = after.queue, now, 0
                continue
            waiting = self._router.waiting.count(queue.name)  # the arriving call is not indexed yet
            reason = None
            if queue.max_waiting is not None and waiting >= queue.max_waiting:
                reason = f"{waiting} calls waiting (limit {queue.max_waiting})"
            elif queue.max_wait_seconds is not None:
                ewt = self.estimated_wait(queue.name, waiting + 1, call.channel)
                if ewt > queue.max_wait_seconds:
                    reason = f"estimated wait {ewt:.0f} s (limit {queue.max_wait_seconds:.0f} s)"
            if reason is None or queue.overflow is None:
                return []
            if queue.overflow.action == "message":
                call.decisions.append(Decision(now, "rejected", queue.name, call.routing.route, 0, reason=reason))
                return [Reject(call.call_id, call.channel_id, queue.overflow.message, call.channel),
                        *self._end(call, now, Outcome.REJECTED, EndReason.QUEUE_FULL)]
            assert queue.overflow.queue is not None
            call.decisions.append(Decision(now, "overflowed", queue.overflow.queue, call.routing.route, 0,
                                           reason=f"{queue.name}: {reason}"))
            call.queue, call.queued_at, call.routing.step = queue.overflow.queue, now, 0
        return []

    def estimated_wait(self, queue_name: str, position: int, channel: Channel = Channel.VOICE) -> float:
        """Seconds the item of ``channel`` at ``position`` (1 = next) can expect to wait: position x AHT / agents
        serving the queue on that channel."""
        queue = self.queue_rule(queue_name)
        serving = self._router.staff.serving(self._router.queue_key(queue_name), channel)
        if serving == 0:
            return float("inf")
        return position * self._aht.get(queue.name, DEFAULT_AHT) / serving

    def position(self, call: WorkItem, now: datetime) -> int:
        """1 for the next call its queue will serve; counts only calls waiting in the same queue."""
        key = wait_key(call.routing.priority, call.arrived_at, self.aging_seconds)
        return 1 + self._router.waiting.ahead_of(call.queue, key)

    def tick(self, now: datetime) -> list[Command]:
        """Time passed: end wrap-ups that are due, escalate waiting calls, and dispatch.

        Only what is due is looked at (wrap-ups, escalation steps, announcements, paused calls), in the
        order of ``agents`` and ``calls``: a tick with nothing due costs next to nothing.
        """
        self._router.catch_up(now)
        commands: list[Command] = []
        for agent_id in sorted(self._router.agenda.wrap_ups.pop_due(now), key=self._router.staff.rank_of):
            agent = self.agents[agent_id]
            if agent.state is AgentState.WRAP_UP and agent.wrap_up_until is not None and now >= agent.wrap_up_until:
                self._after_work(agent, now)
                commands.append(AgentChanged(agent.snapshot()))
        for call_id in sorted(self._router.agenda.escalations.pop_due(now), key=self._router.call_rank):
            call = self.calls[call_id]
            if self._escalate(call, now):
                commands.append(WorkChanged(call.snapshot()))
                self._router.place(call)
            self._router.agenda.schedule(call, self.queue_rule(call.queue), now)
        commands += self._router.decide(now)
        return commands + self._announcements(now)

    def _announcements(self, now: datetime) -> list[Command]:
        commands: list[Command] = []
        for call_id in sorted(self._router.agenda.announcements.pop_due(now), key=self._router.call_rank):
            call = self.calls[call_id]
            queue = self.queue_rule(call.queue)
            if call.state is not WorkState.WAITING or queue.announce_seconds <= 0 or not call.caller_present:
                continue  # scheduled again when it waits again
            last = call.announced_at or call.queued_at or call.arrived_at
            if (now - last).total_seconds() >= queue.announce_seconds:
                call.announced_at = now
                position = self.position(call, now)
                media = position_announcement(position, self.estimated_wait(call.queue, position, call.channel))
                commands.append(Announce(call.call_id, call.channel_id, tuple(media), PROMPT_LANGUAGE, call.channel))
            self._router.agenda.schedule_announcement(call, queue)
        return commands

    def _escalate(self, call: WorkItem, now: datetime) -> bool:
        """Move the call to the escalation step its time in the queue calls for; True if anything changed.

        A step that overflows moves the call to step 0 of another queue, whose steps are checked in turn.
        """
        changed = False
        for _ in range(MAX_OVERFLOW_HOPS):
            queue = self.queue_rule(call.queue)
            waited = (now - (call.queued_at or call.arrived_at)).total_seconds()
            step = queue.step_at(waited)
            if step == call.routing.step:
                break
            changed = True
            call.routing.step = step
            target = queue.targets[step]
            if target.overflow is None:
                call.decisions.append(Decision(now, "escalated", queue.name, call.routing.route, step,
                                               reason=f"waited {waited:.0f} s: {describe_target(target)}"))
                break
            call.decisions.append(Decision(now, "overflowed", target.overflow, call.routing.route, step,
                                           reason=f"waited {waited:.0f} s in {queue.name}"))
            call.queue, call.queued_at, call.routing.step = target.overflow, now, 0
        return changed

    def dtmf_received(self, channel_id: str, digit: str, now: datetime) -> list[Command]:
        """A caller pressed a key. While waiting, the queue's callback key asks to be called back."""
        call = self.call_for_channel(channel_id)
        if call is None or channel_id != call.channel_id or call.callback or call.state is not WorkState.WAITING:
            return []
        queue = self.queue_rule(call.queue)
        if queue.callback_key is None or digit != queue.callback_key:
            return []
        if not call.caller_number.lstrip("+").isdigit():
            return []  # an anonymous caller cannot be called back: they keep waiting on the line
        refusal = self._callbacks.request(call.caller_number, now) if self._callbacks is not None else None
        if refusal is not None:
            if any(d.kind == "callback_refused" for d in call.decisions):
                return []  # told once; pressing again changes nothing
            call.decisions.append(Decision(now, "callback_refused", call.queue, call.routing.route,
                                           call.routing.step, reason=f"pressed {digit}: {refusal.value}"))
            return [RefuseCallback(call.call_id, channel_id, queue.callback_refused_message, refusal.value,
                                   call.channel),
                    WorkChanged(call.snapshot())]
        call.callback = True
        call.decisions.append(Decision(now, "callback_requested", call.queue, call.routing.route, call.routing.step,
                                       reason=f"pressed {digit}: keeps position {self.position(call, now)}"))
        return [ConfirmCallback(call.call_id, channel_id, queue.callback_message, call.channel),
                WorkChanged(call.snapshot())]
