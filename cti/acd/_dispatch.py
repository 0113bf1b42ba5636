"""Who may take which item, found through indexes, and the offers a change makes possible.

The full dispatch visits every offerable waiting item in service order (every channel together) and gives it
to the eligible agent available for its channel that its queue's strategy picks. Afterwards no available
agent is eligible for any offerable item, and only a change can undo that: an agent who could not take some
work before (ready, a chat ended, profile changed) or an offerable item that could not be taken before
(arrived, back from a failed offer, a new step or queue, a pause over). The :class:`Dispatcher` is told of
every change (``track``, ``place``), remembers those, and ``decide`` runs the full dispatch restricted to the
pairs they are part of: the same offers, in the same order, with the same candidates, without scanning
everything. ``dispatch`` is the full pass. While ``paused`` (a reconciliation) nothing is decided; the
changes wait for the full pass that follows.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import datetime

from cti.acd._agenda import Agenda
from cti.acd._agents import Agent
from cti.acd._commands import Command
from cti.acd._eligibility import eligible, eligible_among, wait_key
from cti.acd._rules import QueueRule, Rules, Target
from cti.acd._staffing import Staffing
from cti.acd._waiting import Bucket, Key, WaitingIndex
from cti.acd._work import Channel, WorkItem, WorkState

__all__ = ["Dispatcher", "OfferFn"]

# Offer the item to one of the candidates (the queue's strategy picks); the commands, empty if none.
OfferFn = Callable[[WorkItem, QueueRule, Target, list[Agent], datetime], list[Command]]


class Dispatcher:
    def __init__(self, agents: dict[str, Agent], calls: dict[str, WorkItem], rules: Rules, aging_seconds: float,
                 offer: OfferFn) -> None:
        self._agents = agents
        self._calls = calls
        self.rules = rules
        self.aging_seconds = aging_seconds
        self._offer = offer
        self.staff = Staffing(rules)
        self.waiting = WaitingIndex()
        self.agenda = Agenda()
        self._rank: dict[str, int] = {}  # call id -> position in ``calls``
        self._keys: dict[str, Key] = {}  # call id -> its wait key (priority and arrival do not change)
        self._added = 0
        # Ready agents and offerable calls that may be eligible for one another since the last decision.
        self._new_agents: set[str] = set()
        self._new_calls: set[str] = set()
        self.full_pass = False
        self.paused = False

    @property
    def settled(self) -> bool:
        """No change waits for a decision: no ready agent is eligible for an offerable call."""
        return not (self._new_agents or self._new_calls or self.full_pass)

    def reindex(self, rules: Rules, aging_seconds: float) -> None:
        """Index everything again (new rules or aging); the next decision is a full pass."""
        self.rules, self.aging_seconds = rules, aging_seconds
        self.staff.rebuild(rules, self._agents.values())
        self.waiting.clear()
        self._keys.clear()
        self.agenda.reset_calls()
        for call in self._calls.values():
            self.place(call)
        self._new_agents.clear()
        self._new_calls.clear()
        self.full_pass = True

    # -- changes ----------------------------------------------------------------------------------------
    def add_call(self, call: WorkItem) -> None:
        if call.call_id not in self._calls:
            self._rank[call.call_id] = self._added
            self._added += 1
        self._calls[call.call_id] = call
        self._keys.pop(call.call_id, None)

    def remove_call(self, call: WorkItem) -> None:
        if self._calls.get(call.call_id) is call:
            del self._calls[call.call_id]
            del self._rank[call.call_id]
            self._unplace(call.call_id, ended=True)

    def call_rank(self, call_id: str) -> int:
        return self._rank[call_id]

    def track(self, agent: Agent) -> None:
        """Index the agent as it is now (after any change to its state or profile)."""
        if self.staff.update(agent):
            self._new_agents.add(agent.agent_id)
        self.agenda.track_agent(agent)

    def place(self, call: WorkItem) -> None:
        """Index the call as it is now (after any change to its state, queue, step or pause)."""
        call_id = call.call_id
        current = self._calls.get(call_id)
        if current is not call:
            if current is None:
                self._unplace(call_id, ended=True)
            return
        if call.state is not WorkState.WAITING:
            self._unplace(call_id)
            return
        key = self._keys.get(call_id)
        if key is None:
            key = self._keys[call_id] = (*wait_key(call.routing.priority, call.arrived_at, self.aging_seconds), call_id)
        bucket = None if self.agenda.paused(call) else self._bucket(call)
        if self.waiting.place(call_id, key, call.queue, bucket):
            self._new_calls.add(call_id)
        self.agenda.waiting(call_id)

    def _unplace(self, call_id: str, *, ended: bool = False) -> None:
        self.waiting.remove(call_id)
        self.agenda.forget(call_id, ended=ended)
        self._new_calls.discard(call_id)
        if ended:
            self._keys.pop(call_id, None)

    def catch_up(self, now: datetime) -> None:
        """Calls whose pause after a failed offer is over may be offered; new waiting calls get due times."""
        for call_id in self.agenda.pauses.pop_due(now):
            call = self._calls[call_id]
            self.agenda.resume(call)
            self.place(call)
        if self.agenda.unscheduled:
            # A new set each time: a set keeps its largest table, and iterating an emptied one costs as much.
            unscheduled, self.agenda.unscheduled = self.agenda.unscheduled, set()
            for call_id in unscheduled:
                call = self._calls[call_id]
                self.agenda.schedule(call, self.rules.queues[self.queue_key(call.queue)], now)

    # -- decisions --------------------------------------------------------------------------------------
    def dispatch(self, now: datetime) -> list[Command]:
        """The full pass: every offerable call, in service order, against every ready agent (the calls of
        queues nobody ready may serve are skipped: offers only take agents away)."""
        self.catch_up(now)
        self.full_pass = False
        self._new_agents.clear()
        self._new_calls.clear()
        channels = self.waiting.channels()
        keys = [key for channel in channels
                for key in self.waiting.offerable_keys(channel, self.staff.staffed(channel))]
        if len(channels) > 1:
            keys.sort()
        return self._match(now, [self._calls[key[-1]] for key in keys], [])

    def decide(self, now: datetime) -> list[Command]:
        """The offers the changes since the last decision make possible (those of a full pass)."""
        if self.paused:
            return []
        self.catch_up(now)
        if self.full_pass:
            return self.dispatch(now)
        if not self._new_calls and not self._new_agents:
            return []
        # A call whose queue nobody available holds the skills for is skipped by ``_match`` (offers only take
        # agents away, so none appears meanwhile): left out here, it is not sorted either (a tick escalating
        # many calls of busy queues).
        staffed = self.staff.is_staffed
        calls = sorted((self._calls[c] for c in self._new_calls
                        if (bucket := self.waiting.bucket_of(c)) is not None and staffed(bucket[0], bucket[1])),
                       key=lambda c: self.waiting.key_of(c.call_id))
        agents = sorted((self._agents[a] for a in self._new_agents if self.staff.ready_channels(a)),
                        key=self.staff.rank)
        self._new_calls.clear()
        self._new_agents.clear()
        return self._match(now, calls, agents)

    def _match(self, now: datetime, calls: list[WorkItem], agents: list[Agent]) -> list[Command]:
        """The full dispatch, restricted to pairs with one of ``calls`` or one of ``agents``.

        Offerable calls are visited in service order: one of ``calls`` chooses among every eligible ready
        agent, any other call among the eligible ``agents`` (the only ones that may take it). The calls of
        the second kind are each agent's best call, from the index, kept in a heap and looked up again
        when another agent takes it.
        """
        commands: list[Command] = []
        heap: list[tuple[Key, str, Channel]] = []
        for agent in agents:
            for channel in self.staff.ready_channels(agent.agent_id):
                self._push_best(heap, agent, channel)
        index = 0
        while True:
            while index < len(calls) and not self.waiting.offerable(calls[index].call_id):
                index += 1
            while heap:
                key, agent_id, channel = heap[0]
                if not self.staff.is_ready(agent_id, channel):
                    heapq.heappop(heap)
                elif not self.waiting.offerable(key[-1]):
                    heapq.heappop(heap)
                    self._push_best(heap, self._agents[agent_id], channel)
                else:
                    break
            if index < len(calls) and (not heap or self.waiting.key_of(calls[index].call_id) <= heap[0][0]):
                call = calls[index]
                index += 1
                name, queue, target = self.target(call)
                regional = target.region == "caller" and call.routing.region is not None
                pools = self.staff.ready_pools(call.channel, name, call.routing.region, any_region=not regional)
                if not pools:
                    continue  # nobody available holds the queue's skills (in the caller's region)
                ranked = sorted(item for pool in pools for item in pool.items())  # ranks: unique integers
                candidates = eligible_among([a for _, a in ranked], queue, target, call.routing, call.channel)
            elif heap:
                call = self._calls[heap[0][0][-1]]
                name, queue, target = self.target(call)
                candidates = [a for a in agents if self.staff.is_ready(a.agent_id, call.channel)
                              and eligible(a, queue, target, call.routing, call.channel)]
                assert candidates, "the waiting index offered an item its agent may not take"
                if len(candidates) > 1:
                    candidates.sort(key=self.staff.rank)
            else:
                return commands
            offered = self._offer(call, queue, target, candidates, now)
            if offered:
                self.track(self._agents[call.agent_id or ""])
                self.place(call)
                commands += offered

    def _push_best(self, heap: list[tuple[Key, str, Channel]], agent: Agent, channel: Channel) -> None:
        best = self.waiting.best_for(agent, channel, self.staff.queues_of(agent.agent_id), self.rules)
        if best is not None:
            heapq.heappush(heap, (best, agent.agent_id, channel))

    # -- queues -----------------------------------------------------------------------------------------
    def queue_key(self, name: str) -> str:
        """The rules' name of the queue ``ContactCenter.queue_rule(name)`` returns."""
        return name if name in self.rules.queues else self.rules.default_queue

    def target(self, call: WorkItem) -> tuple[str, QueueRule, Target]:
        """The call's queue (its rules' name and rule) and the target of its escalation step."""
        name = self.queue_key(call.queue)
        queue = self.rules.queues[name]
        return name, queue, queue.targets[min(call.routing.step, len(queue.targets) - 1)]

    def _bucket(self, call: WorkItem) -> Bucket:
        """What decides who may take the call: its queue, its step, and the caller's region and language
        where the step requires them."""
        name, queue, target = self.target(call)
        routing = call.routing
        return (call.channel, name, min(routing.step, len(queue.targets) - 1),
                routing.region if target.region == "caller" else None,
                routing.language if target.language == "caller" else None)
