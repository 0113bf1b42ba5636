"""Calling customers: an agent's click-to-dial, and the do-not-call list every outbound call respects.

An agent dials a customer they may see (the customer search's rule: the customers of their own calls and
interactions; supervisors and admins do not dial, they have no phone leg of their own here). Before anything rings,
the one contact decision (:class:`cti.acd.ContactPolicy`) must allow it: the number is one cti may dial, not on the
do-not-call list, the customer agreed to be called, and it is within the calling hours in their own time zone.
Each refusal has its code; nothing is dialed then. Then the core rings the agent's phone first, and dials the
customer with the service's caller id once the agent answers (:meth:`cti.acd.ContactCenter.dial_out`).

The do-not-call list holds numbers in E.164, read as the CRM reads phones, so "0812-3456-7890" and
"+6281234567890" are one entry. Staff keep it; every read and change is audited.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from cti.acd import AgentState, Contact, ContactDecision, ContactPolicy, ContactRefusal, WorkItem
from cti.crm import CustomerRecord, normalize_phone
from cti.errors import Conflict, Forbidden, InvalidInput, NotFound
from cti.records import DoNotCallEntry, UserRecord
from cti.services._audit import AuditTrail
from cti.services._distributor import Distributor
from cti.services._policy import Policy
from cti.services._ports import Customers, DoNotCall

__all__ = ["ContactRefused", "DoNotCallList", "OutboundCalls"]


class ContactRefused(Conflict):
    """The contact policy does not allow calling the customer now; ``code`` says why (a
    :class:`cti.acd.ContactRefusal` value)."""

    def __init__(self, decision: ContactDecision) -> None:
        refusal = decision.refusal
        assert refusal is not None
        params: dict[str, object] = {"zone": decision.zone, "local_time": decision.local.strftime("%H:%M")}
        if decision.next_allowed is not None:
            params["next_allowed"] = decision.next_allowed.isoformat()
        super().__init__(_SENTENCES[refusal], code=refusal.value, params=params)
        self.decision = decision


class NumberNotAllowed(InvalidInput):
    code = ContactRefusal.NUMBER_NOT_ALLOWED.value


_SENTENCES = {
    ContactRefusal.NUMBER_NOT_ALLOWED: "that number is not one cti may call",
    ContactRefusal.DO_NOT_CALL: "the number is on the do-not-call list",
    ContactRefusal.NO_CONSENT: "the customer has not agreed to be called",
    ContactRefusal.OUTSIDE_HOURS: "it is outside the calling hours in the customer's time zone",
}


class OutboundCalls:
    def __init__(self, distributor: Distributor, policy: Policy, customers: Customers, do_not_call: DoNotCall,
                 contact: ContactPolicy, audit: AuditTrail, *, caller_id: str, queue: str | None = None,
                 new_id: Callable[[], str] = lambda: uuid.uuid4().hex) -> None:
        self._distributor = distributor
        self._policy = policy
        self._customers = customers
        self._do_not_call = do_not_call
        self.contact = contact
        self._audit = audit
        self.caller_id = caller_id
        self._queue = queue
        self._new_id = new_id

    async def decide(self, customer: CustomerRecord, number: str, now: datetime) -> ContactDecision:
        """May ``customer`` be called on ``number`` at ``now``: the list looked up, then the one decision."""
        e164 = self.contact.e164(number)
        listed = e164 is not None and await self._do_not_call.contains(e164)
        return self.contact.decide(Contact(number=number, consent=customer.consent.phone_calls, do_not_call=listed,
                                           region=customer.region), now)

    async def dial(self, actor: UserRecord, customer_id: str, *, phone_index: int = 0, source: str,
                   agent_id: str | None = None, reference: str | None = None) -> WorkItem:
        """The actor (an agent) calls the customer on their ``phone_index``-th phone (primary first): the new
        outbound call, ringing the agent's phone. ``agent_id`` and ``reference`` are for the scheduled
        callbacks, which dial on an agent's behalf."""
        agent_id = agent_id or actor.agent_id
        if actor.role != "agent" or not agent_id:
            raise Forbidden("only an agent dials a customer, from their own phone", code="agents_only_dial")
        customer = await self.customer(actor, customer_id)
        if not 0 <= phone_index < len(customer.phones):
            raise InvalidInput(f"the customer has no phone number {phone_index}", code="no_phone",
                               params={"phone_index": phone_index})
        self._ready_to_dial(agent_id)
        number = customer.phones[phone_index]
        now = self._distributor.clock()
        decision = await self.decide(customer, number, now)
        if decision.refusal is not None:
            await self._audit.record(actor, "dial", "customer", customer_id, source=source,
                                     detail={"refused": decision.refusal.value})
            if decision.refusal is ContactRefusal.NUMBER_NOT_ALLOWED:
                raise NumberNotAllowed(_SENTENCES[decision.refusal], params={"zone": decision.zone})
            raise ContactRefused(decision)
        assert decision.e164 is not None
        item = WorkItem(call_id=self._new_id(), channel_id="", caller_number=decision.e164,
                        service_number=self.caller_id, queue=self._queue or "", arrived_at=now,
                        caller_name=customer.name or None, customer_id=customer_id)
        await self._audit.record(actor, "dial", "customer", customer_id, source=source,
                                 detail={"call_id": item.call_id, **({"callback": reference} if reference else {})})
        return self._distributor.dial_out(item, agent_id)

    async def record(self, customer_id: str) -> CustomerRecord | None:
        """The customer's record, for the server's own use (a due callback); no one's reach is asked."""
        return await self._customers.customer(customer_id)

    async def customer(self, actor: UserRecord, customer_id: str) -> CustomerRecord:
        """The customer's record if the actor may see them; else not found (in the same words)."""
        await self._policy.customer(actor, customer_id)
        customer = await self._customers.customer(customer_id)
        if customer is None or customer.forgotten_at is not None:
            raise NotFound(f"no customer {customer_id!r}", code="customer_not_found",
                           params={"customer_id": customer_id})
        return customer

    def _ready_to_dial(self, agent_id: str) -> None:
        """Refused before the list is read: the agent logged in, on no call (the core decides again)."""
        query = self._distributor.query
        agent = query.agent(agent_id) if query.has_agent(agent_id) else None
        if agent is None or agent.extension is None or agent.state is AgentState.LOGGED_OUT:
            raise Conflict(f"agent {agent_id} must log in before dialing", code="agent_logged_out",
                           params={"agent_id": agent_id})
        if agent.work or agent.state in (AgentState.RINGING, AgentState.ON_CALL):
            raise Conflict(f"agent {agent_id} is on a call", code="agent_on_call", params={"agent_id": agent_id})


class DoNotCallList:
    """The numbers no outbound call dials: staff read, add and remove them, each audited."""

    def __init__(self, store: DoNotCall, audit: AuditTrail, *, country: str = "ID") -> None:
        self._store = store
        self._audit = audit
        self._country = country

    async def list(self, actor: UserRecord, *, source: str) -> list[DoNotCallEntry]:
        entries = await self._store.list()
        await self._audit.record(actor, "list", "do_not_call", "*", source=source, detail={"results": len(entries)})
        return entries

    async def add(self, actor: UserRecord, number: str, *, reason: str | None, source: str) -> DoNotCallEntry:
        e164 = normalize_phone(number, default_country=self._country)
        if e164 is None:
            raise InvalidInput("not a phone number", code="invalid_phone_number")
        try:
            entry = await self._store.add(e164, reason=reason, added_by=actor.name)
        except Conflict as exc:
            raise Conflict("the number is on the do-not-call list already", code="do_not_call_exists") from exc
        await self._audit.record(actor, "create", "do_not_call", str(entry.entry_id), source=source)
        return entry

    async def remove(self, actor: UserRecord, entry_id: int, *, source: str) -> DoNotCallEntry:
        entry = await self._store.remove(entry_id)
        if entry is None:
            raise NotFound(f"no do-not-call entry {entry_id}", code="do_not_call_not_found",
                           params={"entry_id": entry_id})
        await self._audit.record(actor, "delete", "do_not_call", str(entry_id), source=source)
        return entry
