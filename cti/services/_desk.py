"""What an agent does with a call from the desktop: transfer it, wrap it up, create the record of an unknown
caller. An agent acts only on their own calls; supervisors on their scope's agents' behalf; admins on anyone's
(the :class:`Policy` decides).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any, Protocol

from cti.acd import WorkItem
from cti.crm import CustomerRecord, CustomerView, NewContact
from cti.errors import Conflict, InvalidInput, NotFound
from cti.records import InteractionRecord, UserRecord
from cti.services._audit import AuditTrail
from cti.services._distributor import Distributor
from cti.services._policy import Policy
from cti.services._ports import Customers, Interactions
from cti.services._webhooks import Notify
from cti.types import Language

__all__ = ["CallControls", "CustomerService", "FollowUp", "PopCache", "TransferService", "WrapUp", "WrapUpService"]


class PopCache(Protocol):
    """The screen pop's cache of customer views: told when a record changed, so the next pop reads it again;
    and told when an agent wrapped a call up, so their desktop shows the present (no pop) from then on."""

    def customer_changed(self, customer_id: str) -> None: ...

    def wrapped_up(self, agent_id: str, call_id: str) -> None: ...


class TransferService:
    def __init__(self, distributor: Distributor, policy: Policy) -> None:
        self._distributor = distributor
        self._policy = policy

    def transferable(self, actor: UserRecord, call_id: str) -> WorkItem:
        """The live call with an agent, if the actor may transfer it (its agent, or staff in scope); else not
        found."""
        call = self._policy.call(actor, call_id)
        if call.agent_id is None:
            raise NotFound(f"no call {call_id!r}", code="call_not_found", params={"call_id": call_id})
        return call

    def transfer(self, actor: UserRecord, call_id: str, *, queue: str | None = None, to_agent: str | None = None,
                 note: str = "") -> WorkItem:
        """A blind transfer of a connected call by its agent (a supervisor on the agent's behalf): to a queue
        or to a ready agent, exactly one of the two."""
        call = self.transferable(actor, call_id)
        assert call.agent_id is not None
        if (queue is None) == (to_agent is None):
            raise InvalidInput("name either a queue or an agent_id to transfer to", code="transfer_target")
        return self._distributor.transfer(call.call_id, call.agent_id, queue=queue, to_agent=to_agent,
                                          note=note or None)


class CallControls:
    """The agent's controls of their connected call: hold, resume, mute, unmute, tones, hang up; a consult and its
    steps (complete, cancel, conference, leave the conference). The call's agent, or staff in scope on the
    agent's behalf (the same rule as a transfer); the core refuses a control the call's state does not allow
    (409) and tones that are none (422). ``consult_numbers`` are the patterns (regular expressions, whole number)
    of the external numbers an agent may consult: cti dials them at its expense."""

    ACTIONS = ("hold", "resume", "mute", "unmute", "dtmf", "hangup", "complete", "cancel", "conference", "leave")

    def __init__(self, distributor: Distributor, policy: Policy, consult_numbers: Collection[str] = ()) -> None:
        self._distributor = distributor
        self._policy = policy
        self._numbers = tuple(re.compile(pattern) for pattern in consult_numbers)

    def consult(self, actor: UserRecord, call_id: str, *, to_agent: str | None = None, queue: str | None = None,
                number: str | None = None, note: str = "") -> WorkItem:
        """The call's agent consults another agent, a queue (its ready agent) or an allowed number."""
        call = self.controllable(actor, call_id)
        assert call.agent_id is not None
        if number is not None and not any(pattern.fullmatch(number) for pattern in self._numbers):
            raise InvalidInput(f"number {number} may not be consulted", code="number_not_allowed",
                            params={"number": number})
        return self._distributor.consult(call_id, call.agent_id, to_agent=to_agent, queue=queue, number=number,
                                         note=note or None)

    def controllable(self, actor: UserRecord, call_id: str) -> WorkItem:
        """The live call with an agent, if the actor may control it; else not found."""
        call = self._policy.call(actor, call_id)
        if call.agent_id is None:
            raise NotFound(f"no call {call_id!r}")
        return call

    def act(self, actor: UserRecord, call_id: str, action: str, *, digits: str = "") -> WorkItem:
        """Carry out ``action`` (one of :attr:`ACTIONS`); the call as it is after it (ended after a hang-up)."""
        call = self.controllable(actor, call_id)
        agent_id = call.agent_id
        assert agent_id is not None
        distributor = self._distributor
        if action == "hold":
            return distributor.hold_call(call_id, agent_id)
        if action == "resume":
            return distributor.resume_call(call_id, agent_id)
        if action in ("mute", "unmute"):
            return distributor.set_muted(call_id, agent_id, action == "mute")
        if action == "dtmf":
            return distributor.send_dtmf(call_id, agent_id, digits)
        if action == "hangup":
            return distributor.hang_up(call_id, agent_id)
        if action in ("complete", "cancel", "conference", "leave"):
            return distributor.consult_step(call_id, agent_id, action)
        raise InvalidInput(f"unknown call control {action!r}")


@dataclass(frozen=True, slots=True)
class FollowUp:
    due: date
    task: str


@dataclass(frozen=True, slots=True)
class WrapUp:
    disposition: str
    notes: str = ""
    script_answers: Mapping[str, Any] = field(default_factory=dict)
    crosssell_offered: tuple[str, ...] = ()
    crosssell_accepted: tuple[str, ...] = ()
    follow_up: FollowUp | None = None
    ready: bool = True


class WrapUpService:
    def __init__(self, distributor: Distributor, policy: Policy, interactions: Interactions, customers: Customers,
                 pops: PopCache, dispositions: Collection[str], *, notify: Notify | None = None,
                 task_set: Callable[[int], Awaitable[None]] | None = None) -> None:
        """``task_set`` is told the id of each follow-up task a wrap-up sets (:meth:`FollowUps.announce`: the
        desktops that list it show it at once)."""
        self._notify = notify
        self._task_set = task_set
        self._distributor = distributor
        self._policy = policy
        self._interactions = interactions
        self._customers = customers
        self._pops = pops
        self.dispositions = tuple(dispositions)

    async def visible(self, actor: UserRecord, call_id: str) -> InteractionRecord:
        """The interaction, if the actor may wrap it up (an agent who talked to the caller, or staff in scope)."""
        return await self._policy.interaction(actor, call_id)

    async def wrap_up(self, actor: UserRecord, call_id: str, wrap: WrapUp) -> InteractionRecord:
        """The agent's after-call record on the interaction and in the customer's contact history; with
        ``ready``, their after-call work ends and the next call may come."""
        record = await self.visible(actor, call_id)
        # Whose after-call work this is: the agent asking, or for a supervisor the call's last agent.
        agent_id = actor.agent_id if actor.role == "agent" else record.agent_id
        if wrap.disposition not in self.dispositions:
            raise InvalidInput(f"unknown disposition {wrap.disposition!r}", code="unknown_disposition",
                               params={"disposition": wrap.disposition})
        now = self._distributor.clock()
        crosssell = {"offered": list(wrap.crosssell_offered), "accepted": list(wrap.crosssell_accepted)}
        follow_up = wrap.follow_up
        saved = await self._interactions.save_wrap_up(
            call_id, at=now, disposition=wrap.disposition, notes=wrap.notes, script_answers=wrap.script_answers,
            crosssell=crosssell, follow_up=None if follow_up is None else {
                "due": follow_up.due.isoformat(), "task": follow_up.task})
        if saved.customer_id:
            routing = saved.routing or {}
            channel = "chat" if saved.channel == "chat" else "call"
            contact = await self._customers.add_contact(NewContact(
                customer_id=saved.customer_id, channel=channel, at=now, reason=routing.get("problem_type"),
                disposition=wrap.disposition, notes=wrap.notes or None, agent_id=agent_id, call_id=call_id,
                language=_language(routing.get("language")), script_answers=dict(wrap.script_answers) or None,
                cross_sell_offered=wrap.crosssell_offered, cross_sell_accepted=wrap.crosssell_accepted,
                follow_up_at=None if follow_up is None else datetime.combine(follow_up.due, time(9), tzinfo=now.tzinfo),
                follow_up_task=None if follow_up is None else follow_up.task,
                follow_up_queue=saved.queue or None))  # its agents see the follow-up among their tasks
            self._pops.customer_changed(saved.customer_id)
            if follow_up is not None and self._task_set is not None:
                await self._task_set(contact.contact_id)
        if agent_id:
            self._pops.wrapped_up(agent_id, call_id)
        if self._notify is not None:
            self._notify("call.wrapup", f"call:{call_id}", {
                "call_id": call_id, "agent_id": agent_id, "customer_id": saved.customer_id,
                "disposition": wrap.disposition, "at": now.isoformat()})
        if wrap.ready and agent_id:
            self._distributor.end_after_call_work(agent_id)
        return saved


class CustomerService:
    def __init__(self, distributor: Distributor, policy: Policy, customers: Customers, pops: PopCache,
                 audit: AuditTrail, *, notify: Notify | None = None) -> None:
        self._notify = notify
        self._distributor = distributor
        self._policy = policy
        self._customers = customers
        self._pops = pops
        self._audit = audit

    async def create(self, actor: UserRecord, *, call_id: str | None, name: str = "", phone: str | None = None,
                     email: str | None = None, language: Language = "id", source: str) -> CustomerRecord:
        """The record of an unknown caller, with the number they call from unless another is given; linked to
        the live call if one is named (the call's pop, history and wrap-up then have the customer).

        An agent creates records only for the caller of their own live call, with that call's number: so the
        answer to a taken number (409) says nothing about who holds it, and the CRM cannot be probed number by
        number with made-up records."""
        call = self._policy.call(actor, call_id) if call_id is not None else None
        if actor.role == "agent":
            if call is None:
                raise InvalidInput("name the live call of the caller to create a record for (call_id)",
                                   code="call_id_required")
            if phone is not None and phone != call.caller_number:
                raise InvalidInput("an agent records the caller's own number; leave phone out",
                                   code="phone_not_allowed")
        number = phone or (call.caller_number if call is not None else None)
        try:
            customer = await self._customers.create_blank_customer(number, name=name, email=email,
                                                                   language=language)
        except Conflict as exc:
            raise Conflict("that phone number is already on a customer record", code="phone_taken") from exc
        await self._audit.record(actor, "create", "customer", customer.customer_id, source=source,
                                 detail={"call_id": call_id} if call_id else None)
        if call is not None:
            self._distributor.link_customer(call.call_id, customer.customer_id)
        self._pops.customer_changed(customer.customer_id)
        self._changed(customer.customer_id, "created", ["name", "phones", "email", "language"])
        return customer

    def _changed(self, customer_id: str, change: str, fields: list[str]) -> None:
        if self._notify is not None:
            self._notify("customer.changed", f"customer:{customer_id}",
                         {"customer_id": customer_id, "change": change, "fields": fields})

    async def reachable(self, actor: UserRecord, customer_id: str) -> None:
        """Not found unless the actor reaches the customer."""
        await self._policy.customer(actor, customer_id)

    async def set_consent(self, actor: UserRecord, customer_id: str, changes: Mapping[str, bool], *,
                          source: str) -> CustomerRecord:
        """Record what the customer agreed to (or withdrew), if the actor reaches them; audited. ``changes`` names
        :class:`cti.crm.Consent`'s fields."""
        await self._policy.customer(actor, customer_id)
        record = await self._customers.customer(customer_id)
        if record is None or record.forgotten_at is not None:
            raise NotFound(f"no customer {customer_id!r}", code="customer_not_found",
                           params={"customer_id": customer_id})
        updated = await self._customers.set_consent(customer_id, replace(record.consent, **changes))
        await self._audit.record(actor, "change", "customer", customer_id, source=source,
                                 detail={"consent": dict(changes)})
        self._pops.customer_changed(customer_id)
        self._changed(customer_id, "changed", [f"consent.{name}" for name in sorted(changes)])
        return updated

    async def view(self, actor: UserRecord, customer_id: str, *, source: str) -> CustomerView:
        """The record as the pop shows it, if the actor reaches the customer; audited before it is handed out."""
        await self._policy.customer(actor, customer_id)
        view = await self._customers.customer_view(customer_id)
        if view is None:
            raise NotFound(f"no customer {customer_id!r}", code="customer_not_found",
                           params={"customer_id": customer_id})
        await self._audit.record(actor, "view", "customer", customer_id, source=source)
        return view


def _language(value: object) -> Language | None:
    return "en" if value == "en" else "id" if value == "id" else None
