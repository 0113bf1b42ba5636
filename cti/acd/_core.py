"""The state every part of :class:`~cti.acd._center.ContactCenter` shares, and the steps they all take.

``CoreState`` holds the agents, the live items, the channel index, the router and the queues' handle times,
with the lookups on them, the offer the router makes, and how an item lets go of its agent and ends (a consult
ends with it). The parts of the core (arrivals, outbound calls, the agent's controls, consults) are mixins on
this base, each in a module of its own, so that each reads alone: one concept per module.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cti.acd._agents import Agent, AgentState
from cti.acd._callbacks import CallbackPolicy
from cti.acd._commands import AgentChanged, Command, Hangup, Offer, WorkChanged
from cti.acd._dispatch import Dispatcher
from cti.acd._eligibility import listed
from cti.acd._errors import InvalidTransition, UnknownAgent, UnknownWork
from cti.acd._routing import Decision, Why
from cti.acd._rules import DEFAULT_RULES, QueueRule, Rules, Target
from cti.acd._strategies import StrategyContext, choose_agent
from cti.acd._work import Channel, Direction, EndReason, Outcome, WorkItem, WorkState

__all__ = ["DEFAULT_AHT", "DESK_WRAP_UP", "CoreState", "describe_target"]

DEFAULT_AHT = 180.0  # seconds of handle time assumed for a queue until it has handled calls
DESK_WRAP_UP = 120.0
"""Seconds of wrap-up, at most, an agent at a desktop gets after a call whose queue gives none: their saved
wrap-up ends it sooner; a desktop left unattended does not keep them from calls for longer."""


class CoreState:
    """The shared state and steps of the core (see the module): not used alone, only as ``ContactCenter``."""

    def __init__(self, rules: Rules = DEFAULT_RULES, *, aging_seconds: float = 60.0,
                 callbacks: CallbackPolicy | None = None) -> None:
        """``callbacks`` decides which callers may be called back; without one, any caller with a number (the
        tests' reference behaviour: the composition root always gives one, from the settings)."""
        self.agents: dict[str, Agent] = {}
        self._callbacks = callbacks
        self.calls: dict[str, WorkItem] = {}
        # channel id -> call id, for both the caller's channel and the agent legs we originate.
        self._channels: dict[str, str] = {}
        self._last_assigned: dict[str, str] = {}  # queue -> agent id, for round-robin
        self._aht: dict[str, float] = {}  # queue -> smoothed handle time (talk + wrap-up), seconds
        self._router = Dispatcher(self.agents, self.calls, rules, aging_seconds, self._offer)

    @property
    def rules(self) -> Rules:
        return self._router.rules

    @rules.setter
    def rules(self, rules: Rules) -> None:
        self._router.reindex(rules, self.aging_seconds)

    @property
    def aging_seconds(self) -> float:
        return self._router.aging_seconds

    @aging_seconds.setter
    def aging_seconds(self, seconds: float) -> None:
        self._router.reindex(self.rules, seconds)

    def queue_rule(self, name: str) -> QueueRule:
        return self.rules.queues.get(name) or self.rules.queues[self.rules.default_queue]

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

    def _controlled(self, call_id: str, agent_id: str) -> WorkItem:
        call = self.call(call_id)
        if call.state is not WorkState.CONNECTED or call.agent_id != agent_id or call.channel is not Channel.VOICE:
            raise InvalidTransition(f"call {call_id} is not a connected call of agent {agent_id}", code="not_on_call",
                                    params={"call_id": call_id, "agent_id": agent_id})
        return call

    def _offer(self, call: WorkItem, queue: QueueRule, target: Target, candidates: list[Agent],
               now: datetime) -> list[Command]:
        loads = self._router.staff.site_loads() if queue.balance_sites else None
        agent = choose_agent(queue.strategy, candidates,
                             StrategyContext(now, queue.skills, self._last_assigned.get(queue.name)), site_load=loads)
        if agent is None:
            return []
        assert agent.extension is not None or call.channel is not Channel.VOICE
        self._last_assigned[queue.name] = agent.agent_id
        ids, count = listed(candidates)
        call.decisions.append(Decision(
            now, "offered", queue.name, call.routing.route, call.routing.step,
            reason=f"{queue.strategy} among {count} eligible at step {call.routing.step}: {describe_target(target)}",
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
        if agent.state is AgentState.READY:  # an agent offered one more chat keeps their state
            agent.transition(AgentState.RINGING, now)
        agent.work[call.call_id] = call.channel
        return [
            Offer(call.call_id, agent.agent_id, agent.extension, call.agent_channel_id,
                  call.channel_id if call.caller_present else None, call.caller_number, call.caller_name,
                  call.channel),
            WorkChanged(call.snapshot()),
            AgentChanged(agent.snapshot()),
        ]

    def _release_agent(self, call: WorkItem, now: datetime, *, handled: bool) -> list[Command]:
        if call.agent_id is None:
            return []
        agent = self.agents.get(call.agent_id)
        if agent is None or call.call_id not in agent.work:
            return []
        idle_since = agent.idle_since
        wrap_up = self.queue_rule(call.queue).wrap_up_seconds if handled else 0
        if handled and call.direction is Direction.OUTBOUND:
            agent.calls_handled += 1
        elif handled:  # only callers' calls tell how long the queue's callers wait
            agent.calls_handled += 1
            # A call still live (transferred on) has talked until now.
            talk = call.talk_seconds or ((now - call.answered_at).total_seconds() if call.answered_at else 0.0)
            previous = self._aht.get(call.queue, DEFAULT_AHT)
            self._aht[call.queue] = 0.8 * previous + 0.2 * (talk + wrap_up)
        del agent.work[call.call_id]
        if agent.work:  # other chats go on: after-call work starts when the last one ends
            self._settle(agent, now)
            return [AgentChanged(agent.snapshot())]
        # An agent at a desktop writes their wrap-up before the next call, even where the queue gives no time.
        hold = wrap_up if wrap_up > 0 else (DESK_WRAP_UP if handled and agent.at_desk else 0)
        if hold > 0 and agent.pending is None:
            agent.transition(AgentState.WRAP_UP, now)
            agent.wrap_up_until = now + timedelta(seconds=hold)
            self._router.track(agent)
            return [AgentChanged(agent.snapshot())]
        self._after_work(agent, now)
        if not handled and agent.state is AgentState.READY:
            # Rung for a caller who then hung up: keep the agent's place in the idle order.
            agent.idle_since = idle_since
        return [AgentChanged(agent.snapshot())]

    def _settle(self, agent: Agent, now: datetime) -> None:
        """An agent who still holds work after one item left: on call if any is connected, else ringing."""
        connected = any(self.calls[i].state in (WorkState.CONNECTED, WorkState.CALLING_BACK)
                        for i in agent.work if i in self.calls)
        state = AgentState.ON_CALL if connected else AgentState.RINGING
        if agent.state is not state:
            agent.transition(state, now)
        self._router.track(agent)

    def _after_work(self, agent: Agent, now: datetime) -> None:
        """The agent is free again: apply what they asked for meanwhile, else ready."""
        pending, agent.pending = agent.pending, None
        if pending is not None and pending.state is AgentState.LOGGED_OUT:
            agent.transition(AgentState.LOGGED_OUT, now)
        elif pending is not None:
            agent.transition(AgentState.NOT_READY, now, reason=pending.reason)
        else:
            agent.transition(AgentState.READY, now)
        self._router.track(agent)

    def _end(self, call: WorkItem, now: datetime, outcome: Outcome, reason: EndReason) -> list[Command]:
        # A consult still going ends with the call: its leg hangs up, the agent consulted is free again.
        commands = self._drop_consult(call, now, hang_up=True, kind="consult_ended") if call.consult else []
        self._close_hold(call, now)  # a caller who hangs up on hold was held until then
        for leg in call.legs:
            if leg.ended is None:
                leg.ended = now
        call.state = WorkState.ENDED
        call.ended_at = now
        call.outcome = outcome
        call.end_reason = reason
        self._router.remove_call(call)
        self._channels.pop(call.channel_id, None)
        if call.agent_channel_id:
            self._channels.pop(call.agent_channel_id, None)
        return [*commands, WorkChanged(call.snapshot())]

    def _drop_consult(self, call: WorkItem, now: datetime, *, hang_up: bool, kind: str,
                      failure: str | None = None) -> list[Command]:
        """The consult is over (``kind`` says how) and its leg with it; an agent consulted is free again."""
        consult = call.consult
        assert consult is not None
        call.consult = None
        self._channels.pop(consult.channel_id, None)  # a hang-up of ours: its events no longer concern the call
        self._close_leg(call, consult.channel_id, now)
        commands: list[Command] = [Hangup(consult.channel_id, call.call_id, call.channel)] if hang_up else []
        if consult.kind != "external":
            commands += self._free_consulted(consult.target, call.call_id, now, failure=failure,
                                             talked=consult.answered_at is not None)
        call.decisions.append(Decision(now, kind, call.queue, call.routing.route, call.routing.step,
                                       reason=f"consult of {consult.target}: {kind.removeprefix('consult_')}"
                                       + (f" ({failure})" if failure else ""),
                                       winner=call.agent_id, candidates=(consult.target,), candidate_count=1))
        return commands

    def _free_consulted(self, agent_id: str, call_id: str, now: datetime, *, failure: str | None,
                        talked: bool) -> list[Command]:
        """An agent consulted whose part ended without taking the call: ready again (no wrap-up: the call was
        not theirs), not ready with ``failure`` when their phone failed, or what they asked for meanwhile."""
        agent = self.agents.get(agent_id)
        if agent is None or agent.work.pop(call_id, None) is None:
            return []
        if agent.work:
            self._settle(agent, now)
            return [AgentChanged(agent.snapshot())]
        idle_since = agent.idle_since
        if failure is not None and (agent.pending is None or agent.pending.state is not AgentState.LOGGED_OUT):
            agent.pending = None
            agent.transition(AgentState.NOT_READY, now, reason=failure)
            self._router.track(agent)
        else:
            self._after_work(agent, now)
            if not talked and agent.state is AgentState.READY:
                agent.idle_since = idle_since  # rung for nothing: they keep their place in the idle order
        return [AgentChanged(agent.snapshot())]

    def _close_leg(self, call: WorkItem, channel_id: str, now: datetime) -> None:
        for leg in call.legs:
            if leg.channel_id == channel_id and leg.ended is None:
                leg.ended = now

    def _close_hold(self, call: WorkItem, now: datetime) -> None:
        if call.held_since is not None:
            call.held_seconds += max(0.0, (now - call.held_since).total_seconds())
            call.held_since = None


def _target_params(target: Target) -> dict[str, str | int]:
    """The target of ``describe_target`` as values: only what it sets."""
    params: dict[str, str | int] = {"region": target.region, "language": target.language}
    if target.min_level:
        params["min_level"] = target.min_level
    if target.team:
        params["team"] = target.team
    return params


def describe_target(target: Target) -> str:
    parts = [f"region={target.region}", f"language={target.language}"]
    if target.min_level:
        parts.append(f"min_level={target.min_level}")
    if target.team:
        parts.append(f"team={target.team}")
    return ", ".join(parts)
