"""The contact-center core: agents, live work items, and every decision between them.

Pure and synchronous: each method takes the current time, updates the in-memory model and returns the
commands the adapters must carry out. Because nothing here awaits, each method is atomic with respect to
the event loop: an agent is never offered more than their capacity allows (one call at a time), and an item
is offered to one agent at a time.

Decisions are incremental (:mod:`._dispatch`): only what an event changed is matched, an arriving item
against the available agents who may take it, an agent becoming available against the best item it may take,
both found through indexes; a tick looks only at what is due. The offers are those the full dispatch
would make; a full-dispatch implementation is kept as the tests' reference (``tests/reference_core.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from cti.acd._agents import Agent, AgentState, Capacity, NotReadyReason, PendingChange
from cti.acd._announce import PROMPT_LANGUAGE, position_announcement
from cti.acd._commands import (
    AgentChanged,
    Announce,
    Command,
    ConfirmCallback,
    Connect,
    Hangup,
    RefuseCallback,
    Reject,
    WorkChanged,
)
from cti.acd._consult import _Consults
from cti.acd._controls import _Controls
from cti.acd._core import DEFAULT_AHT, RETRY_AFTER_SYSTEM_FAULT, _describe
from cti.acd._eligibility import wait_key
from cti.acd._errors import ExtensionInUse, InvalidTransition
from cti.acd._outbound import _Outbound
from cti.acd._routing import Decision
from cti.acd._rules import Rules
from cti.acd._work import Direction, EndReason, Leg, Outcome, WorkItem, WorkState

__all__ = ["ContactCenter"]



MAX_OVERFLOW_HOPS = 5  # queue -> overflow queue -> ... a chain longer than this is cut (rules may loop)


class ContactCenter(_Outbound, _Controls, _Consults):

    def set_rules(self, rules: Rules, now: datetime) -> list[Command]:
        """New rules (a reload or a live change) apply from the next decision on."""
        commands: list[Command] = []
        for call in self.calls.values():
            if call.queue not in rules.queues:
                call.queue, call.queued_at, call.routing.step = rules.default_queue, now, 0
                call.decisions.append(Decision(now, "requeued", call.queue, call.routing.route, 0,
                                               reason="its queue was removed from the rules"))
                commands.append(WorkChanged(call.snapshot()))
        self._router.reindex(rules, self.aging_seconds)
        return [*commands, *self.dispatch(now)]

    def set_profile(self, agent_id: str, now: datetime, *, skills: dict[str, int] | None = None,
                    languages: Iterable[str] | None = None, region: str | None = None, site: str | None = None,
                    team: str | None = None, capacity: Capacity | None = None) -> list[Command]:
        """Change what routing knows of an agent; the next decision uses it."""
        agent = self.agent(agent_id)
        if skills is not None:
            agent.skills = dict(skills)
        if languages is not None:
            agent.languages = frozenset(languages)
        if capacity is not None:
            agent.capacity = capacity
        agent.region, agent.site, agent.team = region, site, team
        self._router.track(agent)
        return [AgentChanged(agent.snapshot()), *self._router.decide(now)]

    # -- model ------------------------------------------------------------------------------------------
    def add_agent(self, agent_id: str, name: str = "") -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = self.agents[agent_id] = Agent(agent_id=agent_id, name=name)
            self._router.track(agent)
        elif name:
            agent.name = name
        return agent

    def restore(self, agents: Iterable[Agent], calls: Iterable[WorkItem]) -> None:
        """Load state saved by a previous controller (the caller resyncs it with Asterisk next)."""
        for agent in agents:
            self.agents[agent.agent_id] = agent
            self._router.track(agent)
        for call in calls:
            if call.state is WorkState.ENDED:
                continue
            self._router.add_call(call)
            self._channels[call.channel_id] = call.call_id
            if call.agent_channel_id:
                self._channels[call.agent_channel_id] = call.call_id
            if call.consult is not None:
                self._channels[call.consult.channel_id] = call.call_id
            self._router.place(call)

    def waiting(self, queue: str | None = None) -> list[WorkItem]:
        """Calls not yet offered, in arrival order (``dispatch`` serves by aged priority, then arrival)."""
        calls = [self.calls[call_id] for call_id in self._router.waiting.call_ids(queue)]
        return sorted(calls, key=lambda c: (c.arrived_at, c.call_id))

    # -- agent requests ---------------------------------------------------------------------------------
    def login(self, agent_id: str, extension: str, now: datetime, *, ready: bool = False) -> list[Command]:
        agent = self.agent(agent_id)
        holder = self._router.staff.holder(extension, agent_id)
        if holder is not None:
            raise ExtensionInUse(extension, holder)
        if agent.busy and agent.extension != extension:
            raise InvalidTransition(f"agent {agent_id} is on a call at extension {agent.extension}",
                                    code="agent_on_call", params={"agent_id": agent_id})
        agent.extension = extension
        if agent.state is AgentState.LOGGED_OUT:
            if ready:
                agent.transition(AgentState.READY, now)
            else:
                agent.transition(AgentState.NOT_READY, now, reason=NotReadyReason.LOGIN.value)
        elif ready and agent.state is AgentState.NOT_READY:
            agent.transition(AgentState.READY, now)
        self._router.track(agent)
        return [AgentChanged(agent.snapshot()), *self._router.decide(now)]

    def set_ready(self, agent_id: str, now: datetime) -> list[Command]:
        agent = self.agent(agent_id)
        if agent.state is AgentState.LOGGED_OUT:
            raise InvalidTransition(f"agent {agent_id} must log in before going ready", code="agent_logged_out",
                                    params={"agent_id": agent_id})
        if agent.busy:
            agent.pending = None  # the agent changed their mind about leaving after this call
        elif agent.state in (AgentState.NOT_READY, AgentState.WRAP_UP):
            agent.transition(AgentState.READY, now)  # from wrap-up: the agent finished after-call work early
        self._router.track(agent)
        return [AgentChanged(agent.snapshot()), *self._router.decide(now)]

    def set_desk(self, agent_id: str, at_desk: bool) -> None:
        """Whether the agent has a desktop open (its wrap-up form ends their after-call work): changes nothing
        now, only how their next call ends (see ``Agent.at_desk``)."""
        self.agent(agent_id).at_desk = at_desk

    def set_not_ready(self, agent_id: str, reason: str, now: datetime) -> list[Command]:
        agent = self.agent(agent_id)
        if agent.state is AgentState.LOGGED_OUT:
            raise InvalidTransition(f"agent {agent_id} must log in first", code="agent_logged_out",
                                    params={"agent_id": agent_id})
        if agent.busy:
            agent.pending = PendingChange(AgentState.NOT_READY, reason)
        else:
            agent.transition(AgentState.NOT_READY, now, reason=reason)
        self._router.track(agent)
        return [AgentChanged(agent.snapshot())]

    def logout(self, agent_id: str, now: datetime) -> list[Command]:
        agent = self.agent(agent_id)
        if agent.busy:
            agent.pending = PendingChange(AgentState.LOGGED_OUT)
        elif agent.state is not AgentState.LOGGED_OUT:
            agent.transition(AgentState.LOGGED_OUT, now)
        self._router.track(agent)
        return [AgentChanged(agent.snapshot())]

    # -- call events ------------------------------------------------------------------------------------
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
                ewt = self.estimated_wait(queue.name, waiting + 1)
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

    def estimated_wait(self, queue_name: str, position: int) -> float:
        """Seconds a caller at ``position`` (1 = next) can expect to wait: position x AHT / agents serving."""
        queue = self.queue_rule(queue_name)
        serving = self._router.staff.serving(self._router.queue_key(queue_name))
        if serving == 0:
            return float("inf")
        return position * self._aht.get(queue.name, DEFAULT_AHT) / serving

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

    def position(self, call: WorkItem, now: datetime) -> int:
        """1 for the next call its queue will serve; counts only calls waiting in the same queue."""
        key = wait_key(call.routing.priority, call.arrived_at, self.aging_seconds)
        return 1 + self._router.waiting.ahead_of(call.queue, key)

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
                media = position_announcement(position, self.estimated_wait(call.queue, position))
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
                                               reason=f"waited {waited:.0f} s: {_describe(target)}"))
                break
            call.decisions.append(Decision(now, "overflowed", target.overflow, call.routing.route, step,
                                           reason=f"waited {waited:.0f} s in {queue.name}"))
            call.queue, call.queued_at, call.routing.step = target.overflow, now, 0
        return changed

    def offer_answered(self, agent_channel_id: str, now: datetime) -> list[Command]:
        """The agent picked up. Connect them unless the call moved on meanwhile."""
        call = self.call_for_channel(agent_channel_id)
        if call is not None and call.consult is not None and call.consult.channel_id == agent_channel_id:
            return self._consult_answered(call, now)
        if call is not None and call.state is WorkState.CONNECTED and call.agent_channel_id == agent_channel_id:
            return []  # already connected (resync and StasisStart both reported the answer)
        if call is None or call.state is not WorkState.RINGING or call.agent_channel_id != agent_channel_id:
            self._channels.pop(agent_channel_id, None)
            return [Hangup(agent_channel_id)]
        assert call.agent_id is not None
        agent = self.agent(call.agent_id)
        if agent.state is not AgentState.ON_CALL:  # an agent already in a chat stays on it
            agent.transition(AgentState.ON_CALL, now)
        agent.work.setdefault(call.call_id, call.channel)
        self._router.track(agent)
        if call.callback:
            return self._call_customer_back(call, agent_channel_id, now)
        call.state = WorkState.CONNECTED
        call.answered_at = call.answered_at or now  # a transferred call was answered by its first agent
        call.legs.append(Leg(agent.agent_id, "agent", "answered", agent_channel_id, now))
        return [
            Connect(call.call_id, call.channel_id, agent_channel_id, call.queue, call.channel),
            WorkChanged(call.snapshot()),
            AgentChanged(agent.snapshot()),
        ]

    # -- the agent's controls of a connected call ------------------------------------------------------------
    # -- consult (attended) transfer and three-way conference ------------------------------------------------

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

    def customer_answered(self, customer_channel_id: str, now: datetime) -> list[Command]:
        """The customer we called back picked up: connect them to the waiting agent."""
        call = self.call_for_channel(customer_channel_id)
        if call is not None and call.consult is not None and call.consult.channel_id == customer_channel_id:
            return self._consult_answered(call, now)
        if call is not None and call.state is WorkState.CONNECTED and call.channel_id == customer_channel_id:
            return []  # already connected: a repeated report changes nothing
        if call is None or call.state is not WorkState.CALLING_BACK or call.channel_id != customer_channel_id:
            self._channels.pop(customer_channel_id, None)
            return [Hangup(customer_channel_id)]
        assert call.agent_channel_id is not None
        call.state = WorkState.CONNECTED
        call.answered_at = now
        call.legs.append(Leg(call.agent_id or "", "agent", "answered", call.agent_channel_id, now))
        return [Connect(call.call_id, customer_channel_id, call.agent_channel_id, call.queue, call.channel),
                WorkChanged(call.snapshot())]

    def channel_gone(
        self, channel_id: str, now: datetime, *, offer_failure: str | None = None, system_fault: bool = False
    ) -> list[Command]:
        """A channel of ours hung up or vanished.

        ``offer_failure`` is the not-ready reason to give an agent whose ringing phone failed
        (``no_answer``, ``busy``, ``unreachable``); ``None`` when the agent is not at fault. With
        ``system_fault`` (Asterisk could not place the call at all) the agent stays ready but goes to the
        back of the idle line, so an overloaded Asterisk neither empties the floor nor is asked again at once.
        """
        call = self.call_for_channel(channel_id)
        self._channels.pop(channel_id, None)
        if call is None:
            return []
        if channel_id == call.channel_id:
            return self._caller_gone(call, now, offer_failure)
        if call.consult is not None and channel_id == call.consult.channel_id:
            return self._consult_leg_gone(call, now, offer_failure)
        if channel_id == call.agent_channel_id:
            return self._agent_leg_gone(call, now, offer_failure, system_fault)
        return []

    def _caller_gone(self, call: WorkItem, now: datetime, failure: str | None = None) -> list[Command]:
        commands: list[Command] = []
        if call.callback and call.state in (WorkState.WAITING, WorkState.RINGING):
            call.caller_present = False  # hung up as agreed: the call keeps its place in the queue
            self._router.place(call)  # no more announcements
            return [WorkChanged(call.snapshot())]
        if call.state is WorkState.CALLING_BACK:
            # The customer did not answer our callback (or hung up while it rang).
            commands.append(Hangup(call.agent_channel_id or "", call.call_id, call.channel))
            commands += self._release_agent(call, now, handled=False)
            reason = EndReason.CALLBACK_NO_ANSWER
            if call.direction is Direction.OUTBOUND:  # busy or refused, else it rang out (or could not ring)
                busy = failure in (NotReadyReason.BUSY.value, NotReadyReason.REJECTED.value)
                reason = EndReason.CUSTOMER_BUSY if busy else EndReason.CUSTOMER_NO_ANSWER
            commands += self._end(call, now, Outcome.FAILED, reason)
            return commands + self._router.decide(now)
        if call.state is WorkState.CONNECTED:
            outcome = Outcome.ANSWERED
        else:
            outcome = Outcome.ABANDONED
        if call.agent_channel_id and call.state in (WorkState.RINGING, WorkState.CONNECTED):
            commands.append(Hangup(call.agent_channel_id, call.call_id, call.channel))
        commands += self._release_agent(call, now, handled=call.state is WorkState.CONNECTED)
        commands += self._end(call, now, outcome, EndReason.CALLER_HANGUP)
        return commands + self._router.decide(now)

    def _agent_leg_gone(self, call: WorkItem, now: datetime, offer_failure: str | None,
                        system_fault: bool = False) -> list[Command]:
        if call.state is WorkState.RINGING and call.direction is Direction.OUTBOUND:
            # The dialing agent did not take their own call: it ends; they are as before they dialed.
            return [*self._release_agent(call, now, handled=False),
                    *self._end(call, now, Outcome.FAILED, EndReason.AGENT_NO_ANSWER), *self._router.decide(now)]
        if call.state is WorkState.RINGING:
            # Ring-no-answer, busy or unreachable: the agent is made not-ready so the next caller does
            # not ring an empty desk; the call goes back to the head of its queue.
            assert call.agent_id is not None
            agent = self.agent(call.agent_id)
            commands: list[Command] = []
            held = agent.work.pop(call.call_id, None) is not None
            if held and agent.work:
                # The agent holds other items (chats): what the failure asks for applies once they end.
                if offer_failure is not None and (agent.pending is None
                                                  or agent.pending.state is not AgentState.LOGGED_OUT):
                    agent.pending = PendingChange(AgentState.NOT_READY, offer_failure)
                self._settle(agent, now)
                commands.append(AgentChanged(agent.snapshot()))
            elif held:
                pending, agent.pending = agent.pending, None
                if pending is not None and pending.state is AgentState.LOGGED_OUT:
                    agent.transition(AgentState.LOGGED_OUT, now)
                elif offer_failure is not None:
                    agent.transition(AgentState.NOT_READY, now, reason=offer_failure)
                elif pending is not None:
                    agent.transition(AgentState.NOT_READY, now, reason=pending.reason)
                else:
                    idle_since = agent.idle_since
                    agent.transition(AgentState.READY, now)
                    agent.idle_since = now if system_fault else idle_since
                self._router.track(agent)
                commands.append(AgentChanged(agent.snapshot()))
            if offer_failure is None:
                # Not the agent's fault (Asterisk refused, the caller's leg vanished): offering again at once
                # would fail the same way in a tight loop. The tick offers it again a moment later.
                call.not_before = now + RETRY_AFTER_SYSTEM_FAULT
            call.state = WorkState.WAITING
            call.agent_id = call.agent_extension = call.agent_channel_id = None
            self._router.place(call)
            return [*commands, WorkChanged(call.snapshot()), *self._router.decide(now)]
        if call.state in (WorkState.CONNECTED, WorkState.CALLING_BACK):
            if call.consult is not None and call.consult.answered_at is not None:
                # The agent hung up while talking to the party they consulted: the call is theirs now (an
                # attended transfer completed by hanging up), as if the agent had completed it.
                return self._hand_over(call, now)
            connected = call.state is WorkState.CONNECTED
            commands = [Hangup(call.channel_id, call.call_id, call.channel)]
            commands += self._release_agent(call, now, handled=connected)
            commands += self._end(call, now, Outcome.ANSWERED if connected else Outcome.FAILED,
                                  EndReason.AGENT_HANGUP)
            return commands + self._router.decide(now)
        return []

    def bridge_failed(self, call_id: str, now: datetime) -> list[Command]:
        """Asterisk would not bridge the answered call (a leg vanished meanwhile): it never connected."""
        call = self.calls.get(call_id)
        if call is None or call.state is not WorkState.CONNECTED:
            return []
        commands: list[Command] = [Hangup(call.channel_id, call.call_id, call.channel)]
        if call.agent_channel_id:
            commands.append(Hangup(call.agent_channel_id, call.call_id, call.channel))
        commands += self._release_agent(call, now, handled=False)
        commands += self._end(call, now, Outcome.FAILED, EndReason.BRIDGE_FAILED)
        return commands + self._router.decide(now)

    def link_customer(self, call_id: str, customer_id: str) -> list[Command]:
        """Who the customer is became known (an agent created their record, the pop found them by number)."""
        call = self.call(call_id)
        if call.customer_id == customer_id:
            return []
        call.customer_id = customer_id
        return [WorkChanged(call.snapshot())]

    def reconcile(self, present: Mapping[str, bool], now: datetime, *,
                  lost_at: datetime | None = None) -> list[Command]:
        """The adapter lost sight of its legs for a while (a reconnect, a restart): bring every live item in line
        with the legs that exist now, then decide once.

        ``present`` holds every leg that exists now and whether it is answered. An item whose customer vanished
        meanwhile is lost; an agent leg that vanished frees its agent; one answered meanwhile is connected. What
        ended while out of sight ended when sight was lost (``lost_at``), not now, so talk time is not counted
        across the outage. No offer is made before every item is reconciled: an offer creates a leg ``present``
        cannot know, which a later step would take for a vanished one and free its agent for yet another offer.
        """
        commands: list[Command] = []
        self._router.paused = True
        try:
            for call in list(self.calls.values()):
                if call.call_id not in self.calls:
                    continue
                when = self._lost_since(call, now, lost_at)
                if call.callback and not call.caller_present and call.state in (WorkState.WAITING, WorkState.RINGING,
                                                                                  WorkState.PREVIEW):
                    pass  # the caller hung up on purpose and waits for our callback: no leg to find
                elif call.channel_id not in present:
                    commands += self.call_lost(call.call_id, when)
                    continue
                if call.consult is not None and call.consult.channel_id not in present:
                    commands += self.channel_gone(call.consult.channel_id, when)
                leg = call.agent_channel_id
                if leg is None:
                    continue
                if leg not in present:
                    commands += self.channel_gone(leg, when)
                elif call.state is WorkState.RINGING and present[leg]:
                    commands += self.offer_answered(leg, now)
        finally:
            self._router.paused = False
        return commands + self.dispatch(now)

    def _lost_since(self, call: WorkItem, now: datetime, lost_at: datetime | None) -> datetime:
        """When a leg that vanished out of sight went: when sight was lost, never before what is known to have
        happened since (the answer, the agent's last change), never after now."""
        if lost_at is None:
            return now
        floor = max(lost_at, call.answered_at or call.arrived_at)
        agent = self.agents.get(call.agent_id) if call.agent_id else None
        if agent is not None and agent.state_since is not None:
            floor = max(floor, agent.state_since)
        return min(now, floor)

    def call_lost(self, call_id: str, now: datetime) -> list[Command]:
        """The caller's leg no longer exists (found on resync)."""
        call = self.call(call_id)
        outcome = Outcome.ANSWERED if call.state is WorkState.CONNECTED else Outcome.FAILED
        commands: list[Command] = []
        if call.agent_channel_id and call.state in (WorkState.RINGING, WorkState.CONNECTED, WorkState.CALLING_BACK):
            commands.append(Hangup(call.agent_channel_id, call.call_id, call.channel))
        self._channels.pop(call.channel_id, None)
        commands += self._release_agent(call, now, handled=call.state is WorkState.CONNECTED)
        commands += self._end(call, now, outcome, EndReason.CHANNEL_LOST)
        return commands + self._router.decide(now)

    # -- decisions --------------------------------------------------------------------------------------
    def dispatch(self, now: datetime) -> list[Command]:
        """Offer waiting calls (highest aged priority, then longest waiting) to eligible ready agents,
        each chosen by its queue's strategy: a full pass over every offerable call.

        Events decide incrementally; this is for when everything may have changed (a resync, new rules).
        """
        return self._router.dispatch(now)





