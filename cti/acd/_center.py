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

from collections.abc import Iterable, Mapping, Set
from datetime import datetime, timedelta

from cti.acd._agents import Agent, AgentState, Capacity, NotReadyReason, PendingChange
from cti.acd._arrival import Arrivals
from cti.acd._commands import AgentChanged, Command, Connect, Hangup, WorkChanged
from cti.acd._consult import Consults
from cti.acd._controls import CallControls
from cti.acd._errors import ExtensionInUse, InvalidTransition
from cti.acd._outbound import OutboundCalls
from cti.acd._routing import Decision
from cti.acd._rules import Rules
from cti.acd._work import Channel, Direction, EndReason, Leg, Outcome, WorkItem, WorkState

__all__ = ["ContactCenter"]

RETRY_AFTER_SYSTEM_FAULT = timedelta(seconds=1)


class ContactCenter(Arrivals, OutboundCalls, CallControls, Consults):
    """The one public class of the core. Its parts are mixins on :class:`~cti.acd._core.CoreState`, each in a
    module of its own: arrivals and the queue (:mod:`._arrival`), outbound calls (:mod:`._outbound`), the
    agent's controls (:mod:`._controls`), consult and conference (:mod:`._consult`). Here: the model, the
    agents' requests (log in, ready, not ready, log out) and the channel events (answers, hang-ups, resync),
    which reach every part."""

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
    def login(self, agent_id: str, extension: str | None, now: datetime, *, ready: bool = False) -> list[Command]:
        """Log in at ``extension``, or with no phone (None): then only chats and other channels that reach the
        desktop are offered. Logging in again changes the phone, never while a call rings or talks on it."""
        agent = self.agent(agent_id)
        holder = None if extension is None else self._router.staff.holder(extension, agent_id)
        if holder is not None:
            assert extension is not None
            raise ExtensionInUse(extension, holder)
        if agent.busy and agent.extension != extension and agent.load(Channel.VOICE):
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
        call.connections += 1
        return [
            Connect(call.call_id, call.channel_id, agent_channel_id, call.queue, call.channel, call.connections),
            WorkChanged(call.snapshot()),
            AgentChanged(agent.snapshot()),
        ]

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
        call.connections += 1
        return [Connect(call.call_id, customer_channel_id, call.agent_channel_id, call.queue, call.channel,
                        call.connections),
                WorkChanged(call.snapshot())]

    def channel_gone(
        self, channel_id: str, now: datetime, *, at: datetime | None = None, offer_failure: str | None = None,
        system_fault: bool = False
    ) -> list[Command]:
        """A channel of ours hung up or vanished.

        ``at`` is when it went, as the channel's adapter knows it (Asterisk stamps its events), which may be
        seconds before ``now`` when the controller is busy or catching up: the item's end, its talk and hold time
        and the changes of its agents are stamped then (see :meth:`_lost_since` for the bounds), while what the
        freed agent or line makes possible is decided now.

        ``offer_failure`` is the not-ready reason to give an agent whose ringing phone failed
        (``no_answer``, ``busy``, ``unreachable``); ``None`` when the agent is not at fault. With
        ``system_fault`` (Asterisk could not place the call at all) the agent stays ready but goes to the
        back of the idle line, so an overloaded Asterisk neither empties the floor nor is asked again at once.
        """
        call = self.call_for_channel(channel_id)
        self._channels.pop(channel_id, None)
        if call is None:
            return []
        when = self._lost_since(call, now, at)
        if when == now:
            return self._leg_gone(call, channel_id, now, offer_failure, system_fault)
        paused, self._router.paused = self._router.paused, True  # no offer stamped in the past
        try:
            commands = self._leg_gone(call, channel_id, when, offer_failure, system_fault)
        finally:
            self._router.paused = paused
        return commands + self._router.decide(now)

    def _leg_gone(self, call: WorkItem, channel_id: str, now: datetime, offer_failure: str | None,
                  system_fault: bool) -> list[Command]:
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

    def reconcile(self, present: Mapping[str, bool], now: datetime, *, lost_at: datetime | None = None,
                  channel: Channel = Channel.VOICE, calls: Set[str] | None = None) -> list[Command]:
        """The adapter lost sight of its legs for a while (a reconnect, a restart): bring every live item in line
        with the legs that exist now, then decide once.

        ``present`` holds every leg that exists now and whether it is answered. An item whose customer vanished
        meanwhile is lost; an agent leg that vanished frees its agent; one answered meanwhile is connected. What
        ended while out of sight ended when sight was lost (``lost_at``), not now, so talk time is not counted
        across the outage. No offer is made before every item is reconciled: an offer creates a leg ``present``
        cannot know, which a later step would take for a vanished one and free its agent for yet another offer.
        Only items of ``channel`` are looked at: ``present`` is one adapter's picture (Asterisk's legs say nothing
        of chats, which live on across a restart of cti). ``calls``, when given, are the only items looked at: with
        several media nodes, one node's picture says nothing of the calls living on the others.
        """
        commands: list[Command] = []
        self._router.paused = True
        try:
            for call in list(self.calls.values()):
                if call.call_id not in self.calls or call.channel is not channel or (
                        calls is not None and call.call_id not in calls):
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
        """When a leg of ``call`` went, given when it was last known to be there or when its adapter says it went
        (``lost_at``): never before what is known to have happened since (the call's answer, its last decision,
        a hold or consult begun, the last change of an agent on it), so no time runs backwards; never after now
        (another machine's clock ahead of ours)."""
        if lost_at is None:
            return now
        floor = max(lost_at, call.answered_at or call.arrived_at)
        if call.decisions:
            floor = max(floor, call.decisions[-1].at)
        if call.held_since is not None:
            floor = max(floor, call.held_since)
        consult = call.consult
        if consult is not None:
            floor = max(floor, consult.answered_at or consult.started_at)
        for agent_id in (call.agent_id, None if consult is None else consult.target):
            agent = self.agents.get(agent_id) if agent_id else None
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





