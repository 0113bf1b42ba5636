"""The contact-center core as it was before decisions were made incrementally: the reference they must match.

Every dispatch re-sorts all waiting calls and tries each against every ready agent; every tick scans all
agents and calls. Simple enough to trust, far too slow at scale (about 0.25 s per decision with 5,000 calls
waiting and 100 agents idle). Kept, unused by the server, as the oracle of the property tests
(``tests/unit/test_dispatch_equivalence.py``) and the baseline of ``bench/routing.py``. The only change
from the original: waiting calls are ordered by the exact :func:`~cti.acd.wait_key` rather than
by float aged priorities, so the two implementations agree on exact ties; and, since work items have
channels, an agent takes what their capacity allows (``Agent.available_for``) instead of being "ready".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from cti.acd import (
    DEFAULT_RULES,
    PROMPT_LANGUAGE,
    Agent,
    AgentChanged,
    AgentState,
    Announce,
    Capacity,
    Channel,
    Command,
    ConfirmCallback,
    Connect,
    Decision,
    DialCustomer,
    EndReason,
    ExtensionInUse,
    Hangup,
    InvalidTransition,
    Leg,
    Offer,
    Outcome,
    PendingChange,
    QueueRule,
    Reject,
    Rules,
    StrategyContext,
    Target,
    UnknownAgent,
    UnknownWork,
    Why,
    WorkChanged,
    WorkItem,
    WorkState,
    choose_agent,
    eligible,
    position_announcement,
    qualified,
    site_loads,
    wait_key,
)
from cti.acd._eligibility import listed

__all__ = ["ReferenceContactCenter"]


DEFAULT_AHT = 180.0  # seconds of handle time assumed for a queue until it has handled calls
RETRY_AFTER_SYSTEM_FAULT = timedelta(seconds=1)
MAX_OVERFLOW_HOPS = 5  # queue -> overflow queue -> ... a chain longer than this is cut (rules may loop)


class ReferenceContactCenter:
    def __init__(self, rules: Rules = DEFAULT_RULES, *, aging_seconds: float = 60.0) -> None:
        self.agents: dict[str, Agent] = {}
        self.calls: dict[str, WorkItem] = {}
        self.rules = rules
        self.aging_seconds = aging_seconds
        # channel id -> call id, for both the caller's channel and the agent legs we originate.
        self._channels: dict[str, str] = {}
        self._last_assigned: dict[str, str] = {}  # queue -> agent id, for round-robin
        self._aht: dict[str, float] = {}  # queue -> smoothed handle time (talk + wrap-up), seconds

    def set_rules(self, rules: Rules, now: datetime) -> list[Command]:
        """New rules (a reload or a live change) apply from the next decision on."""
        self.rules = rules
        commands: list[Command] = []
        for call in self.calls.values():
            if call.queue not in rules.queues:
                call.queue, call.queued_at, call.routing.step = rules.default_queue, now, 0
                call.decisions.append(Decision(now, "requeued", call.queue, call.routing.route, 0,
                                               reason="its queue was removed from the rules"))
                commands.append(WorkChanged(call.snapshot()))
        return commands + self.dispatch(now)

    def queue_rule(self, name: str) -> QueueRule:
        return self.rules.queues.get(name) or self.rules.queues[self.rules.default_queue]

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
        return [AgentChanged(agent.snapshot()), *self.dispatch(now)]

    # -- model ------------------------------------------------------------------------------------------
    def add_agent(self, agent_id: str, name: str = "") -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            agent = self.agents[agent_id] = Agent(agent_id=agent_id, name=name)
        elif name:
            agent.name = name
        return agent

    def restore(self, agents: Iterable[Agent], calls: Iterable[WorkItem]) -> None:
        """Load state saved by a previous controller (the caller resyncs it with Asterisk next)."""
        for agent in agents:
            self.agents[agent.agent_id] = agent
        for call in calls:
            if call.state is WorkState.ENDED:
                continue
            self.calls[call.call_id] = call
            self._channels[call.channel_id] = call.call_id
            if call.agent_channel_id:
                self._channels[call.agent_channel_id] = call.call_id

    def agent(self, agent_id: str) -> Agent:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    def call(self, call_id: str) -> WorkItem:
        try:
            return self.calls[call_id]
        except KeyError:
            raise UnknownWork(call_id) from None

    def call_for_channel(self, channel_id: str) -> WorkItem | None:
        call_id = self._channels.get(channel_id)
        return None if call_id is None else self.calls.get(call_id)

    def waiting(self, queue: str | None = None) -> list[WorkItem]:
        """Calls not yet offered, in arrival order (``dispatch`` serves by aged priority, then arrival)."""
        calls = [c for c in self.calls.values() if c.state is WorkState.WAITING]
        if queue is not None:
            calls = [c for c in calls if c.queue == queue]
        return sorted(calls, key=lambda c: (c.arrived_at, c.call_id))

    # -- agent requests ---------------------------------------------------------------------------------
    def login(self, agent_id: str, extension: str | None, now: datetime, *, ready: bool = False) -> list[Command]:
        agent = self.agent(agent_id)
        holder = None if extension is None else next(
            (a for a in self.agents.values() if a.extension == extension and a.agent_id != agent_id), None)
        if holder is not None:
            assert extension is not None
            raise ExtensionInUse(extension, holder.agent_id)
        if agent.busy and agent.extension != extension and agent.load(Channel.VOICE):
            raise InvalidTransition(f"agent {agent_id} is on a call at extension {agent.extension}")
        agent.extension = extension
        if agent.state is AgentState.LOGGED_OUT:
            if ready:
                agent.transition(AgentState.READY, now)
            else:
                agent.transition(AgentState.NOT_READY, now, reason="login")
        elif ready and agent.state is AgentState.NOT_READY:
            agent.transition(AgentState.READY, now)
        return [AgentChanged(agent.snapshot()), *self.dispatch(now)]

    def set_ready(self, agent_id: str, now: datetime) -> list[Command]:
        agent = self.agent(agent_id)
        if agent.state is AgentState.LOGGED_OUT:
            raise InvalidTransition(f"agent {agent_id} must log in before going ready")
        if agent.busy:
            agent.pending = None  # the agent changed their mind about leaving after this call
        elif agent.state in (AgentState.NOT_READY, AgentState.WRAP_UP):
            agent.transition(AgentState.READY, now)  # from wrap-up: the agent finished after-call work early
        return [AgentChanged(agent.snapshot()), *self.dispatch(now)]

    def set_not_ready(self, agent_id: str, reason: str, now: datetime) -> list[Command]:
        agent = self.agent(agent_id)
        if agent.state is AgentState.LOGGED_OUT:
            raise InvalidTransition(f"agent {agent_id} must log in first")
        if agent.busy:
            agent.pending = PendingChange(AgentState.NOT_READY, reason)
        else:
            agent.transition(AgentState.NOT_READY, now, reason=reason)
        return [AgentChanged(agent.snapshot())]

    def logout(self, agent_id: str, now: datetime) -> list[Command]:
        agent = self.agent(agent_id)
        if agent.busy:
            agent.pending = PendingChange(AgentState.LOGGED_OUT)
        elif agent.state is not AgentState.LOGGED_OUT:
            agent.transition(AgentState.LOGGED_OUT, now)
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
        self.calls[call.call_id] = call
        self._channels[call.channel_id] = call.call_id
        rejected = self._admit(call, now)
        if rejected:
            return rejected
        return [WorkChanged(call.snapshot()), *self.dispatch(now)]

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
            waiting = sum(1 for c in self.calls.values() if c.queue == queue.name and c.state is WorkState.WAITING
                          and c.call_id != call.call_id)
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
        """Seconds an item at ``position`` (1 = next) can expect to wait: position x AHT / agents serving the
        queue on its channel (logged in, that channel in their capacity, a phone for calls)."""
        queue = self.queue_rule(queue_name)
        serving = sum(1 for a in self.agents.values()
                      if a.state is not AgentState.LOGGED_OUT and a.capacity.limit(channel) > 0
                      and (channel is not Channel.VOICE or a.extension) and qualified(a, queue))
        if serving == 0:
            return float("inf")
        return position * self._aht.get(queue.name, DEFAULT_AHT) / serving

    def tick(self, now: datetime) -> list[Command]:
        """Time passed: end wrap-ups that are due, escalate waiting calls, and dispatch."""
        commands: list[Command] = []
        for agent in self.agents.values():
            if agent.state is AgentState.WRAP_UP and agent.wrap_up_until is not None and now >= agent.wrap_up_until:
                self._after_work(agent, now)
                commands.append(AgentChanged(agent.snapshot()))
        for call in self.calls.values():
            if call.state is WorkState.WAITING and self._escalate(call, now):
                commands.append(WorkChanged(call.snapshot()))
        commands += self.dispatch(now)
        return commands + self._announcements(now)

    def position(self, call: WorkItem, now: datetime) -> int:
        """1 for the next call its queue will serve; counts only calls waiting in the same queue."""
        key = wait_key(call.routing.priority, call.arrived_at, self.aging_seconds)
        return 1 + sum(1 for c in self.calls.values()
                       if c.queue == call.queue and c.state is WorkState.WAITING and c.call_id != call.call_id
                       and wait_key(c.routing.priority, c.arrived_at, self.aging_seconds) < key)

    def _announcements(self, now: datetime) -> list[Command]:
        commands: list[Command] = []
        for call in self.calls.values():
            every = self.queue_rule(call.queue).announce_seconds
            if call.state is not WorkState.WAITING or every <= 0 or not call.caller_present:
                continue
            last = call.announced_at or call.queued_at or call.arrived_at
            if (now - last).total_seconds() < every:
                continue
            call.announced_at = now
            position = self.position(call, now)
            media = position_announcement(position, self.estimated_wait(call.queue, position, call.channel))
            commands.append(Announce(call.call_id, call.channel_id, tuple(media), PROMPT_LANGUAGE, call.channel))
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
        if call is not None and call.state is WorkState.CONNECTED and call.agent_channel_id == agent_channel_id:
            return []  # already connected (resync and StasisStart both reported the answer)
        if call is None or call.state is not WorkState.RINGING or call.agent_channel_id != agent_channel_id:
            self._channels.pop(agent_channel_id, None)
            return [Hangup(agent_channel_id)]
        assert call.agent_id is not None
        agent = self.agent(call.agent_id)
        if agent.state is not AgentState.ON_CALL:
            agent.transition(AgentState.ON_CALL, now)
        agent.work.setdefault(call.call_id, call.channel)
        if call.callback:
            return self._call_customer_back(call, agent_channel_id, now)
        call.state = WorkState.CONNECTED
        call.answered_at = now
        call.legs.append(Leg(agent.agent_id, "agent", "answered", agent_channel_id, now))
        call.connections += 1
        return [
            Connect(call.call_id, call.channel_id, agent_channel_id, call.queue, call.channel, call.connections),
            WorkChanged(call.snapshot()),
            AgentChanged(agent.snapshot()),
        ]

    def _call_customer_back(self, call: WorkItem, agent_channel_id: str, now: datetime) -> list[Command]:
        # The agent is on the line first (so the customer never waits for nobody); now ring the customer.
        old_caller_leg = call.channel_id
        self._channels.pop(old_caller_leg, None)  # its hang-up (if still pending) no longer concerns the call
        call.state = WorkState.CALLING_BACK
        call.channel_id = f"{call.call_id}-c{call.offers}"
        self._channels[call.channel_id] = call.call_id
        call.decisions.append(Decision(now, "calling_back", call.queue, call.routing.route, call.routing.step,
                                       reason=f"agent {call.agent_id} answered; calling {call.caller_number}",
                                       winner=call.agent_id))
        agent = self.agent(call.agent_id or "")
        return [
            DialCustomer(call.call_id, call.channel_id, call.caller_number, call.service_number, agent_channel_id,
                         call.channel),
            WorkChanged(call.snapshot()),
            AgentChanged(agent.snapshot()),
        ]

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
        call.callback = True
        call.decisions.append(Decision(now, "callback_requested", call.queue, call.routing.route, call.routing.step,
                                       reason=f"pressed {digit}: keeps position {self.position(call, now)}"))
        return [ConfirmCallback(call.call_id, channel_id, queue.callback_message, call.channel),
                WorkChanged(call.snapshot())]

    def customer_answered(self, customer_channel_id: str, now: datetime) -> list[Command]:
        """The customer we called back picked up: connect them to the waiting agent."""
        call = self.call_for_channel(customer_channel_id)
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
            return self._caller_gone(call, now)
        if channel_id == call.agent_channel_id:
            return self._agent_leg_gone(call, now, offer_failure, system_fault)
        return []

    def _caller_gone(self, call: WorkItem, now: datetime) -> list[Command]:
        commands: list[Command] = []
        if call.callback and call.state in (WorkState.WAITING, WorkState.RINGING):
            call.caller_present = False  # hung up as agreed: the call keeps its place in the queue
            return [WorkChanged(call.snapshot())]
        if call.state is WorkState.CALLING_BACK:
            # The customer did not answer our callback (or hung up while it rang).
            commands.append(Hangup(call.agent_channel_id or "", call.call_id, call.channel))
            commands += self._release_agent(call, now, handled=False)
            commands += self._end(call, now, Outcome.FAILED, EndReason.CALLBACK_NO_ANSWER)
            return commands + self.dispatch(now)
        if call.state is WorkState.CONNECTED:
            outcome = Outcome.ANSWERED
        else:
            outcome = Outcome.ABANDONED
        if call.agent_channel_id and call.state in (WorkState.RINGING, WorkState.CONNECTED):
            commands.append(Hangup(call.agent_channel_id, call.call_id, call.channel))
        commands += self._release_agent(call, now, handled=call.state is WorkState.CONNECTED)
        commands += self._end(call, now, outcome, EndReason.CALLER_HANGUP)
        return commands + self.dispatch(now)

    def _agent_leg_gone(self, call: WorkItem, now: datetime, offer_failure: str | None,
                        system_fault: bool = False) -> list[Command]:
        if call.state is WorkState.RINGING:
            # Ring-no-answer, busy or unreachable: the agent is made not-ready so the next caller does
            # not ring an empty desk; the call goes back to the head of its queue.
            assert call.agent_id is not None
            agent = self.agent(call.agent_id)
            commands: list[Command] = []
            held = agent.work.pop(call.call_id, None) is not None
            if held and agent.work:
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
                commands.append(AgentChanged(agent.snapshot()))
            if offer_failure is None:
                # Not the agent's fault (Asterisk refused, the caller's leg vanished): offering again at once
                # would fail the same way in a tight loop. The tick offers it again a moment later.
                call.not_before = now + RETRY_AFTER_SYSTEM_FAULT
            call.state = WorkState.WAITING
            call.agent_id = call.agent_extension = call.agent_channel_id = None
            return [*commands, WorkChanged(call.snapshot()), *self.dispatch(now)]
        if call.state in (WorkState.CONNECTED, WorkState.CALLING_BACK):
            connected = call.state is WorkState.CONNECTED
            commands = [Hangup(call.channel_id, call.call_id, call.channel)]
            commands += self._release_agent(call, now, handled=connected)
            commands += self._end(call, now, Outcome.ANSWERED if connected else Outcome.FAILED,
                                  EndReason.AGENT_HANGUP)
            return commands + self.dispatch(now)
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
        return commands + self.dispatch(now)

    def call_lost(self, call_id: str, now: datetime) -> list[Command]:
        """The caller's channel no longer exists in Asterisk (found on resync)."""
        call = self.call(call_id)
        outcome = Outcome.ANSWERED if call.state is WorkState.CONNECTED else Outcome.FAILED
        commands: list[Command] = []
        if call.agent_channel_id and call.state in (WorkState.RINGING, WorkState.CONNECTED, WorkState.CALLING_BACK):
            commands.append(Hangup(call.agent_channel_id, call.call_id, call.channel))
        self._channels.pop(call.channel_id, None)
        commands += self._release_agent(call, now, handled=call.state is WorkState.CONNECTED)
        commands += self._end(call, now, outcome, EndReason.CHANNEL_LOST)
        return commands + self.dispatch(now)

    # -- decisions --------------------------------------------------------------------------------------
    def dispatch(self, now: datetime) -> list[Command]:
        """Offer waiting calls (highest aged priority, then longest waiting) to eligible ready agents,
        each chosen by its queue's strategy."""
        commands: list[Command] = []
        ready = [a for a in self.agents.values() if any(a.available_for(c) for c in Channel)]
        waiting = [c for c in self.calls.values()
                   if c.state is WorkState.WAITING and (c.not_before is None or c.not_before <= now)]
        waiting.sort(key=lambda c: (*wait_key(c.routing.priority, c.arrived_at, self.aging_seconds), c.call_id))
        # Site loads only when some queue balances sites (it costs a pass over every agent).
        loads = site_loads(self.agents.values()) if any(q.balance_sites for q in self.rules.queues.values()) else None
        for call in waiting:
            if not ready:
                break
            queue = self.queue_rule(call.queue)
            target = queue.targets[min(call.routing.step, len(queue.targets) - 1)]
            candidates = [a for a in ready if eligible(a, queue, target, call.routing, call.channel)]
            agent = choose_agent(queue.strategy, candidates,
                                 StrategyContext(now, queue.skills, self._last_assigned.get(queue.name)),
                                 site_load=loads if queue.balance_sites else None)
            if agent is None:
                continue
            assert agent.extension is not None or call.channel is not Channel.VOICE
            self._last_assigned[queue.name] = agent.agent_id
            ids, count = listed(candidates)
            call.decisions.append(Decision(
                now, "offered", queue.name, call.routing.route, call.routing.step,
                reason=f"{queue.strategy} among {count} eligible at step {call.routing.step}: {_describe(target)}",
                strategy=queue.strategy, winner=agent.agent_id, candidates=ids, candidate_count=count,
                why=(Why("offered", {"strategy": queue.strategy, "eligible": count, "step": call.routing.step,
                                     **_target_params(target)}),)))
            call.offers += 1
            call.not_before = None
            call.state = WorkState.RINGING
            call.offered_at = call.offered_at or now
            call.agent_id = agent.agent_id
            call.agent_extension = agent.extension
            call.agent_channel_id = f"{call.call_id}-a{call.offers}"
            self._channels[call.agent_channel_id] = call.call_id
            if agent.state is AgentState.READY:
                agent.transition(AgentState.RINGING, now)
            agent.work[call.call_id] = call.channel
            if not any(agent.available_for(c) for c in Channel):
                ready.remove(agent)
            if loads is not None:
                loads = site_loads(self.agents.values())  # this offer made the agent's site busier
            commands += [
                Offer(call.call_id, agent.agent_id, agent.extension, call.agent_channel_id,
                      call.channel_id if call.caller_present else None, call.caller_number, call.caller_name,
                      call.channel),
                WorkChanged(call.snapshot()),
                AgentChanged(agent.snapshot()),
            ]
        return commands

    def _release_agent(self, call: WorkItem, now: datetime, *, handled: bool) -> list[Command]:
        if call.agent_id is None:
            return []
        agent = self.agents.get(call.agent_id)
        if agent is None or call.call_id not in agent.work:
            return []
        idle_since = agent.idle_since
        wrap_up = self.queue_rule(call.queue).wrap_up_seconds if handled else 0
        if handled:
            agent.calls_handled += 1
            talk = call.talk_seconds or ((now - call.answered_at).total_seconds() if call.answered_at else 0.0)
            previous = self._aht.get(call.queue, DEFAULT_AHT)
            self._aht[call.queue] = 0.8 * previous + 0.2 * (talk + wrap_up)
        del agent.work[call.call_id]
        if agent.work:
            self._settle(agent, now)
            return [AgentChanged(agent.snapshot())]
        if wrap_up > 0 and agent.pending is None:
            agent.transition(AgentState.WRAP_UP, now)
            agent.wrap_up_until = now + timedelta(seconds=wrap_up)
            return [AgentChanged(agent.snapshot())]
        self._after_work(agent, now)
        if not handled and agent.state is AgentState.READY:
            # Rung for a caller who then hung up: keep the agent's place in the idle order.
            agent.idle_since = idle_since
        return [AgentChanged(agent.snapshot())]

    def _settle(self, agent: Agent, now: datetime) -> None:
        connected = any(self.calls[i].state in (WorkState.CONNECTED, WorkState.CALLING_BACK)
                        for i in agent.work if i in self.calls)
        state = AgentState.ON_CALL if connected else AgentState.RINGING
        if agent.state is not state:
            agent.transition(state, now)

    def _after_work(self, agent: Agent, now: datetime) -> None:
        """The agent is free again: apply what they asked for meanwhile, else ready."""
        pending, agent.pending = agent.pending, None
        if pending is not None and pending.state is AgentState.LOGGED_OUT:
            agent.transition(AgentState.LOGGED_OUT, now)
        elif pending is not None:
            agent.transition(AgentState.NOT_READY, now, reason=pending.reason)
        else:
            agent.transition(AgentState.READY, now)

    def _end(self, call: WorkItem, now: datetime, outcome: Outcome, reason: EndReason) -> list[Command]:
        for leg in call.legs:  # who talked, and until when (the interaction keeps it)
            if leg.ended is None:
                leg.ended = now
        call.state = WorkState.ENDED
        call.ended_at = now
        call.outcome = outcome
        call.end_reason = reason
        self.calls.pop(call.call_id, None)
        self._channels.pop(call.channel_id, None)
        if call.agent_channel_id:
            self._channels.pop(call.agent_channel_id, None)
        return [WorkChanged(call.snapshot())]


def _target_params(target: Target) -> dict[str, str | int]:
    params: dict[str, str | int] = {"region": target.region, "language": target.language}
    if target.min_level:
        params["min_level"] = target.min_level
    if target.team:
        params["team"] = target.team
    return params


def _describe(target: Target) -> str:
    parts = [f"region={target.region}", f"language={target.language}"]
    if target.min_level:
        parts.append(f"min_level={target.min_level}")
    if target.team:
        parts.append(f"team={target.team}")
    return ", ".join(parts)
