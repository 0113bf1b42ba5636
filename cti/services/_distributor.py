"""The live contact center: the one place the core changes, and where every change is told.

The :class:`Distributor` owns the core (:class:`cti.acd.ContactCenter`) and the clock. Each method applies
one request (an agent logs in, transfers a call) or one event of a channel's adapter (a call arrives, a
phone answers, a leg hangs up) and hands the commands the core returns to the :class:`CommandBus`, in the
core's order: the adapters carry out the actions, the journal, the screen pop and the statistics keep their
pictures from the changes. Nothing else holds the core; readers use :attr:`Distributor.query`.

Everything here is synchronous: a decision and the hand-over of its commands happen in one turn of the event
loop, so no other request can come between them (an agent is never offered two calls at once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Set
from datetime import datetime
from typing import Any

from cti.acd import Agent, AgentChanged, AgentState, Capacity, Command, ContactCenter, Rules, WorkItem
from cti.services._bus import CommandBus
from cti.services._query import CenterView
from cti.types import Clock

__all__ = ["Distributor", "profile_fields"]


def profile_fields(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The core's profile arguments from a stored routing profile (``AgentRecord.profile``). A stored profile
    is whole, so a field left out means its default (capacity too), not "keep what the core had"."""
    return {
        "skills": {str(k): int(v) for k, v in (profile.get("skills") or {}).items()},
        "languages": list(profile.get("languages") or ()),
        "region": profile.get("region"), "site": profile.get("site"), "team": profile.get("team"),
        "capacity": Capacity.of(profile.get("capacity"), profile.get("exclusive")),
    }


class Distributor:
    """``placement``, with several media nodes, names the node an agent's outbound calls are placed on from their
    extension (the node their phone is homed on; None: the voice adapter's default)."""

    def __init__(self, core: ContactCenter, clock: Clock, bus: CommandBus, *,
                 placement: Callable[[str], str | None] | None = None) -> None:
        self._core = core
        self.clock = clock
        self._bus = bus
        self._placement = placement
        self.query = CenterView(core, clock)

    def apply(self, commands: Iterable[Command]) -> None:
        """Hand the core's commands to their handlers, in order."""
        self._bus.dispatch(commands, self)

    # -- start-up -------------------------------------------------------------------------------------------
    def restore(self, registry: Iterable[tuple[str, str, Mapping[str, Any] | None]], agents: Iterable[Agent],
                calls: Iterable[WorkItem]) -> None:
        """The agents of the registry (id, name, profile), then the live state a previous controller left
        (Redis). Tells no one: the adapters resync with what exists, the journal writes the whole picture."""
        now = self.clock()
        for agent_id, name, profile in registry:
            self._core.add_agent(agent_id, name)
            if profile:
                self._core.set_profile(agent_id, now, **profile_fields(profile))
        self._core.restore((a for a in agents if a.agent_id in self._core.agents), calls)

    # -- agents' requests -----------------------------------------------------------------------------------
    def register_agent(self, agent_id: str, name: str, profile: Mapping[str, Any] | None = None) -> Agent:
        agent = self._core.add_agent(agent_id, name)
        self.apply([AgentChanged(agent.snapshot())])
        if profile:
            self.apply(self._core.set_profile(agent_id, self.clock(), **profile_fields(profile)))
        return self.query.agent(agent_id)

    def set_profile(self, agent_id: str, profile: Mapping[str, Any]) -> Agent:
        """Skills, languages, region, site, team, capacity: routing uses them from the next decision on."""
        self.apply(self._core.set_profile(agent_id, self.clock(), **profile_fields(profile)))
        return self.query.agent(agent_id)

    def login(self, agent_id: str, extension: str | None, *, ready: bool) -> Agent:
        self.apply(self._core.login(agent_id, extension, self.clock(), ready=ready))
        return self.query.agent(agent_id)

    def logout(self, agent_id: str) -> Agent:
        self.apply(self._core.logout(agent_id, self.clock()))
        return self.query.agent(agent_id)

    def set_ready(self, agent_id: str) -> Agent:
        self.apply(self._core.set_ready(agent_id, self.clock()))
        return self.query.agent(agent_id)

    def set_not_ready(self, agent_id: str, reason: str) -> Agent:
        self.apply(self._core.set_not_ready(agent_id, reason, self.clock()))
        return self.query.agent(agent_id)

    def set_desk(self, agent_id: str, at_desk: bool) -> None:
        """The agent opened (or closed their last) desktop: see ``cti.acd.Agent.at_desk``."""
        if self.query.has_agent(agent_id):
            self._core.set_desk(agent_id, at_desk)

    def end_after_call_work(self, agent_id: str) -> Agent | None:
        """The agent finished their wrap-up early: ready for the next call, unless already on one. An agent who is
        not ready (a break they asked for during the call, a missed call) stays so: saving a wrap-up is no
        "ready"."""
        if not self.query.has_agent(agent_id):
            return None
        agent = self.query.agent(agent_id)
        if agent.state is AgentState.WRAP_UP and not agent.work:
            return self.set_ready(agent_id)
        return agent

    def transfer(self, call_id: str, agent_id: str, *, queue: str | None = None, to_agent: str | None = None,
                 note: str | None = None) -> WorkItem:
        """The call's agent hands it on to ``queue`` or to ``to_agent`` (see ``ContactCenter.transfer``)."""
        self.apply(self._core.transfer(call_id, agent_id, self.clock(), queue=queue, to_agent=to_agent, note=note))
        return self.query.call(call_id)

    def hold_call(self, call_id: str, agent_id: str) -> WorkItem:
        self.apply(self._core.hold_call(call_id, agent_id, self.clock()))
        return self.query.call(call_id)

    def resume_call(self, call_id: str, agent_id: str) -> WorkItem:
        self.apply(self._core.resume_call(call_id, agent_id, self.clock()))
        return self.query.call(call_id)

    def set_muted(self, call_id: str, agent_id: str, muted: bool) -> WorkItem:
        self.apply(self._core.set_muted(call_id, agent_id, muted))
        return self.query.call(call_id)

    def send_dtmf(self, call_id: str, agent_id: str, digits: str) -> WorkItem:
        self.apply(self._core.send_dtmf(call_id, agent_id, digits))
        return self.query.call(call_id)

    def hang_up(self, call_id: str, agent_id: str) -> WorkItem:
        """The agent ends the call; the ended call as it was recorded."""
        ended = self._core.call(call_id)
        self.apply(self._core.hang_up(call_id, agent_id, self.clock()))
        return ended.snapshot()

    def dial_out(self, item: WorkItem, agent_id: str) -> WorkItem:
        """The agent calls a customer: ``item`` is the new outbound call (see ``ContactCenter.dial_out``)."""
        self._place(item, agent_id)
        self.apply(self._core.dial_out(item, agent_id, self.clock()))
        return self.query.call(item.call_id)

    def preview(self, item: WorkItem, agent_id: str) -> WorkItem:
        """Show a new outbound call (a scheduled callback) to a ready agent before dialing."""
        self._place(item, agent_id)
        self.apply(self._core.preview(item, agent_id, self.clock()))
        return self.query.call(item.call_id)

    def _place(self, item: WorkItem, agent_id: str) -> None:
        """An outbound call lives on the agent's home node: their leg rings there without crossing a trunk, and the
        node is known from the call's first snapshot on (a restarted controller knows which node judges it)."""
        agent = self._core.agents.get(agent_id)
        if self._placement is not None and item.node is None and agent is not None and agent.extension:
            item.node = self._placement(agent.extension)

    def dial_preview(self, call_id: str, agent_id: str) -> None:
        self.apply(self._core.dial_preview(call_id, agent_id, self.clock()))

    def end_preview(self, call_id: str, agent_id: str) -> None:
        self.apply(self._core.end_preview(call_id, agent_id, self.clock()))
    def consult(self, call_id: str, agent_id: str, *, to_agent: str | None = None, queue: str | None = None,
                number: str | None = None, note: str | None = None) -> WorkItem:
        """The agent consults an agent, a queue's ready agent or a number (see ``ContactCenter.consult``)."""
        self.apply(self._core.consult(call_id, agent_id, self.clock(), to_agent=to_agent, queue=queue, number=number,
                                      note=note))
        return self.query.call(call_id)

    def consult_step(self, call_id: str, agent_id: str, step: str) -> WorkItem:
        """``complete``, ``cancel``, ``conference`` or ``leave`` (a conference): the call as it is after it (ended
        when it went to an external party)."""
        steps = {"complete": self._core.complete_consult, "cancel": self._core.cancel_consult,
                 "conference": self._core.conference, "leave": self._core.leave_conference}
        call = self._core.call(call_id)
        self.apply(steps[step](call_id, agent_id, self.clock()))
        return call.snapshot()

    def link_customer(self, call_id: str, customer_id: str) -> None:
        """Who the caller is became known (a record created for them, found by the screen pop)."""
        if self.query.is_live(call_id):
            self.apply(self._core.link_customer(call_id, customer_id))

    def set_rules(self, rules: Rules) -> None:
        self.apply(self._core.set_rules(rules, self.clock()))

    # -- a channel adapter's events -------------------------------------------------------------------------
    def arrive(self, item: WorkItem) -> bool:
        """A new item for routing; True when it was queued (not rejected, closed or a duplicate)."""
        self.apply(self._core.call_arrived(item, self.clock()))
        return self._core.calls.get(item.call_id) is item

    def offer_answered(self, agent_leg: str) -> None:
        self.apply(self._core.offer_answered(agent_leg, self.clock()))

    def customer_answered(self, customer_leg: str) -> None:
        self.apply(self._core.customer_answered(customer_leg, self.clock()))

    def leg_gone(self, leg: str, *, at: datetime | None = None, offer_failure: str | None = None,
                 system_fault: bool = False) -> None:
        """A leg hung up; ``at``, when the adapter knows, is when (on this distributor's clock), else now."""
        self.apply(self._core.channel_gone(leg, self.clock(), at=at, offer_failure=offer_failure,
                                           system_fault=system_fault))

    def dtmf(self, leg: str, digit: str) -> None:
        self.apply(self._core.dtmf_received(leg, digit, self.clock()))

    def bridge_failed(self, call_id: str) -> None:
        self.apply(self._core.bridge_failed(call_id, self.clock()))

    def tick(self) -> None:
        self.apply(self._core.tick(self.clock()))

    def dispatch(self) -> None:
        self.apply(self._core.dispatch(self.clock()))

    def reconcile(self, present: Mapping[str, bool], *, lost_at: datetime | None = None,
                  calls: Set[str] | None = None) -> None:
        """After the adapter lost sight of its legs: every item in line with ``present`` (only ``calls``, when
        given: one media node's), then one decision."""
        self.apply(self._core.reconcile(present, self.clock(), lost_at=lost_at, calls=calls))
