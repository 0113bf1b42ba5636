"""What a customer signed in on the portal does for themselves: track their orders, read their bills, change their
contact details and preferences, read their own history, and ask to be called back.

Every method takes the signed-in customer (the web layer's :func:`cti.web._portal.customer`) and reads or changes
nothing but theirs: an order, a callback of anyone else is not found, in the same words as a missing one.

- **Orders**: the order, its shipment's steps, its invoices (:class:`cti.crm.OrderDetail`).
- **Details and preferences**: e-mail and primary phone, checked as the CRM checks them
  (:func:`cti.crm.clean_customer`); language and the four consents. Each change is audited with what changed
  (never the values) and is a contact in the customer's history.
- **History**: their contacts (channel, time, reason, outcome), never an agent's notes, script answers or tasks.
- **Callbacks**: a request becomes a :class:`cti.acd.ScheduledCallback` in the table the scheduler previews to
  agents (``created_by`` ``customer:<id>``), at the time asked or as soon as possible. The contact policy decides
  first, at the time asked: a time outside the calling hours in the customer's zone is refused (as soon as
  possible outside them is the next allowed time); no consent, the do-not-call list, a number cti may not dial
  are refused. At most one request open at a time and ``per_day`` requests a day. The customer may cancel theirs
  while it waits (not once an agent has it), under the scheduler's lock.
- Every action is a contact of channel ``web`` (:func:`cti.crm.web_reason`), so the agent's pop says it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from cti.acd import CallbackStatus, Contact, ContactPolicy, ContactRefusal, ScheduledCallback, local_time
from cti.crm import (
    WEB_DISPOSITION,
    ContactRecord,
    CustomerFields,
    CustomerRecord,
    CustomerView,
    InvoiceRecord,
    NewContact,
    OrderDetail,
    OrderRecord,
    clean_customer,
    web_reason,
)
from cti.errors import Conflict, InvalidInput, NotFound, Problem, TooMany
from cti.records import UserRecord
from cti.services._audit import AuditTrail
from cti.services._ports import Callbacks, DoNotCall
from cti.services._scheduled_callbacks import MAX_AHEAD
from cti.types import Clock, Language, utc_now

__all__ = ["ContactChange", "PortalSelfService", "Preferences", "customer_actor"]

_LATE = timedelta(minutes=5)
"""A time chosen that passed while the form was filled in: as soon as possible."""
_DAY = timedelta(days=1)
_SAME_LOOK = timedelta(minutes=15)
_CONSENTS = ("phone_calls", "email", "marketing_calls", "data_sharing", "surveys")
"""The consents the customer sets themselves: all of :class:`cti.crm.Consent`'s."""
"""Looks at the same order this close together are one in the history."""
ROLE = "customer"


class SelfServiceCustomers(Protocol):
    async def customer_view(self, customer_id: str, *, contacts: int = 5) -> CustomerView | None: ...

    async def recent_orders(self, customer_id: str, *, limit: int = 5) -> list[OrderRecord]: ...

    async def customer_by_email(self, email: str) -> CustomerRecord | None: ...

    async def update_customer(self, customer_id: str, fields: CustomerFields) -> CustomerRecord: ...

    async def add_contact(self, contact: NewContact) -> ContactRecord: ...


class SelfServiceOrders(Protocol):
    async def order_detail(self, customer_id: str, order_number: str) -> OrderDetail | None: ...

    async def invoices(self, customer_id: str, *, limit: int = 20) -> list[InvoiceRecord]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactChange:
    """New contact details; None leaves a field as it is, ``""`` removes the e-mail address."""

    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Preferences:
    """New preferences; None leaves a field as it is."""

    language: Language | None = None
    phone_calls: bool | None = None
    email: bool | None = None
    marketing_calls: bool | None = None
    data_sharing: bool | None = None
    surveys: bool | None = None


def customer_actor(customer: CustomerRecord) -> UserRecord:
    """The customer as the audit log names them: ``customer:<id>``, role ``customer``."""
    return UserRecord(user_id=0, name=f"customer:{customer.customer_id}", role=ROLE, agent_id=None, disabled=False)


class PortalSelfService:
    def __init__(self, customers: SelfServiceCustomers, orders: SelfServiceOrders, callbacks: Callbacks,
                 do_not_call: DoNotCall, contact: ContactPolicy, audit: AuditTrail, *, queue: Callable[[], str],
                 lock: asyncio.Lock, clock: Clock = utc_now, per_day: int = 3, default_country: str = "ID",
                 new_id: Callable[[], str] = lambda: uuid.uuid4().hex) -> None:
        self._customers = customers
        self._orders = orders
        self._callbacks = callbacks
        self.callback_store = callbacks
        self._do_not_call = do_not_call
        self.contact = contact
        self._audit = audit
        self._queue = queue
        self._lock = lock
        self.callback_lock = lock
        """The scheduler's lock (:class:`CallbackAttempts`): one change of a callback at a time."""
        self._clock = clock
        self.per_day = per_day
        self._country = default_country
        self._new_id = new_id
        self._watchers: list[Callable[[str], None]] = []

    def watch(self, changed: Callable[[str], None]) -> None:
        """Tell ``changed`` the id of each customer whose record or history a portal action changed (the screen
        pop's cache, so the next pop reads what they just did)."""
        self._watchers.append(changed)

    def today(self) -> date:
        """Today's date where the service is (its default zone): what a due date is compared with."""
        return local_time(self._clock(), self.contact.rules.default_zone).date()

    # -- orders and bills ----------------------------------------------------------------------------------------
    async def orders(self, customer: CustomerRecord, *, limit: int = 50) -> list[OrderRecord]:
        return await self._customers.recent_orders(customer.customer_id, limit=limit)

    async def order(self, customer: CustomerRecord, order_number: str, *, source: str) -> OrderDetail:
        """The customer's order ``order_number``; not found for anyone else's. A look is audited and noted."""
        detail = await self._orders.order_detail(customer.customer_id, order_number)
        if detail is None:
            raise NotFound(f"no order {order_number!r}", code="order_not_found", params={"order_number": order_number})
        self._audit.record_as_soon(f"customer:{customer.customer_id}", ROLE, "view", "order", order_number,
                                   source=source)
        # One look in the history for a reload or a return to the same order soon after: the pop says it once.
        latest = await self._customers.customer_view(customer.customer_id, contacts=1)
        last = latest.contacts[0] if latest is not None and latest.contacts else None
        reason = web_reason("order_viewed", order_number)
        if last is None or last.reason != reason or self._clock() - last.at >= _SAME_LOOK:
            await self.note(customer, "order_viewed", order_number)
        return detail

    async def invoices(self, customer: CustomerRecord, *, limit: int = 20) -> list[InvoiceRecord]:
        return await self._orders.invoices(customer.customer_id, limit=limit)

    # -- details and preferences ---------------------------------------------------------------------------------
    async def change_details(self, customer: CustomerRecord, change: ContactChange, *,
                             source: str) -> CustomerRecord:
        """The customer's new e-mail address and primary phone (their other phones stay, after it)."""
        fields = customer.fields()
        changed: list[str] = []
        if change.email is not None:
            fields = replace(fields, email=change.email or None)
            changed.append("email")
        if change.phone is not None:
            fields = replace(fields, phones=(change.phone, *customer.phones[1:]))
            changed.append("phone")
        clean, problems = clean_customer(fields, default_country=self._country)
        if clean.email is None and not clean.phones:
            problems = (*problems, Problem("email", "keep an e-mail address or a phone number to sign in with",
                                           code="no_address_left"))
        if problems:
            raise InvalidInput("cannot change your contact details: " + "; ".join(map(str, problems)), problems,
                               code="invalid_contact_details")
        if clean.email is not None and clean.email != customer.email:
            owner = await self._customers.customer_by_email(clean.email)
            if owner is not None and owner.customer_id != customer.customer_id:
                raise InvalidInput("that e-mail address cannot be used for your account",
                                   (Problem("email", "already in use", code="taken"),), code="email_unavailable")
        try:
            updated = await self._customers.update_customer(customer.customer_id, clean)
        except Conflict as exc:  # the phone is another customer's: say no more than that it cannot be used
            raise InvalidInput("that phone number cannot be used for your account",
                               (Problem("phone", "already in use", code="taken"),), code="phone_unavailable") from exc
        await self._audit.record(customer_actor(customer), "update", "customer", customer.customer_id, source=source,
                                 detail={"fields": changed, "by": "portal"})
        await self.note(updated, "details_changed")
        return updated

    async def change_preferences(self, customer: CustomerRecord, wanted: Preferences, *,
                                 source: str) -> CustomerRecord:
        """The customer's language and consents, as they chose them."""
        consent = customer.consent
        new_consent = replace(consent, **{name: value for name in _CONSENTS
                                          if (value := getattr(wanted, name)) is not None})
        fields = replace(customer.fields(), consent=new_consent,
                         language=wanted.language or customer.language)
        changes = {name: getattr(new_consent, name) for name in _CONSENTS
                   if getattr(new_consent, name) != getattr(consent, name)}
        if fields.language != customer.language:
            changes["language"] = fields.language
        if not changes:
            return customer
        updated = await self._customers.update_customer(customer.customer_id, fields)
        await self._audit.record(customer_actor(customer), "update", "customer", customer.customer_id, source=source,
                                 detail={"preferences": changes, "by": "portal"})
        await self.note(updated, "preferences_changed")
        return updated

    # -- history -------------------------------------------------------------------------------------------------
    async def history(self, customer: CustomerRecord, *, limit: int = 50) -> list[ContactRecord]:
        """The customer's contacts, the most recent first (the caller shows none of their notes)."""
        view = await self._customers.customer_view(customer.customer_id, contacts=limit)
        return [] if view is None else list(view.contacts)

    # -- callbacks -----------------------------------------------------------------------------------------------
    async def callbacks(self, customer: CustomerRecord, *, limit: int = 20) -> list[ScheduledCallback]:
        """The callbacks the customer asked for on the portal, the most recently asked first."""
        return await self._callbacks.of_customer(customer.customer_id, created_by=_by(customer), limit=limit)

    async def request_callback(self, customer: CustomerRecord, *, at: datetime | None, phone_index: int = 0,
                               topic: str | None = None, source: str) -> ScheduledCallback:
        """A callback to the customer at ``at`` (aware), or as soon as possible (None)."""
        now = self._clock()
        asked = await self._callbacks.of_customer(customer.customer_id, created_by=_by(customer), limit=50)
        if any(c.open for c in asked):
            raise Conflict("you have a callback request waiting already; cancel it to ask for another time",
                           code="callback_pending")
        today = sorted(c.created_at for c in asked if c.created_at is not None and now - c.created_at < _DAY)
        if len(today) >= self.per_day:
            wait = max(1, int((today[-self.per_day] + _DAY - now).total_seconds()) + 1)
            raise TooMany(f"at most {self.per_day} callback requests a day; retry in {wait} s", wait)
        if not 0 <= phone_index < len(customer.phones):
            raise InvalidInput(f"you have no phone number {phone_index} on file", code="no_phone",
                               params={"phone_index": phone_index})
        if at is not None and (at.utcoffset() is None or not now - _LATE <= at <= now + MAX_AHEAD):
            raise InvalidInput("choose a time from now to 90 days ahead", code="callback_time",
                               params={"days": MAX_AHEAD.days})
        due = now if at is None or at < now else at.astimezone(UTC)
        number = customer.phones[phone_index]
        e164 = self.contact.e164(number)
        listed = e164 is not None and await self._do_not_call.contains(e164)
        decision = self.contact.decide(Contact(number=number, consent=customer.consent.phone_calls,
                                               do_not_call=listed, region=customer.region), due)
        if decision.refusal is ContactRefusal.OUTSIDE_HOURS and at is None and decision.next_allowed is not None:
            due = decision.next_allowed.astimezone(UTC)  # as soon as possible: when the hours begin
        elif decision.refusal is not None:
            raise _refused(decision.refusal, self.contact, decision.zone, decision.local, decision.next_allowed)
        callback = ScheduledCallback(
            callback_id=self._new_id(), customer_id=customer.customer_id, queue=self._queue(), due_at=due,
            reason=f"asked on the web portal: {topic}" if topic else "asked on the web portal", agent_id=None,
            phone_index=phone_index, created_by=_by(customer), created_at=now)
        await self._callbacks.save(callback)
        await self._audit.record(customer_actor(customer), "create", "callback", callback.callback_id, source=source,
                                 detail={"customer_id": customer.customer_id, "by": "portal"})
        await self.note(customer, "callback_requested", callback.callback_id)
        return callback

    async def cancel_callback(self, customer: CustomerRecord, callback_id: str, *, source: str) -> ScheduledCallback:
        """Cancel the customer's own request while it waits; 409 once an agent has it or it is over."""
        async with self._lock:
            callback = await self._callbacks.get(callback_id)
            if callback is None or callback.customer_id != customer.customer_id or callback.created_by != _by(customer):
                raise NotFound(f"no callback {callback_id!r}", code="callback_not_found",
                               params={"callback_id": callback_id})
            if callback.status is CallbackStatus.CANCELLED:
                return callback
            if callback.status is not CallbackStatus.SCHEDULED:
                raise Conflict(f"callback {callback_id} is {callback.status.value}: it can no longer be cancelled",
                               code="callback_not_scheduled",
                               params={"callback_id": callback_id, "status": callback.status.value})
            cancelled = replace(callback, status=CallbackStatus.CANCELLED)
            await self._callbacks.save(cancelled)
        await self._audit.record(customer_actor(customer), "delete", "callback", callback_id, source=source,
                                 detail={"by": "portal"})
        await self.note(customer, "callback_cancelled", callback_id)
        return cancelled

    # -- the history of portal actions ---------------------------------------------------------------------------
    async def note(self, customer: CustomerRecord, action: str, subject: str | None = None) -> None:
        """A portal action, as a contact in the customer's history (channel ``web``)."""
        await self._customers.add_contact(NewContact(
            customer_id=customer.customer_id, channel="web", at=self._clock(), reason=web_reason(action, subject),
            disposition=WEB_DISPOSITION, language=customer.language))
        for changed in self._watchers:
            changed(customer.customer_id)


def _by(customer: CustomerRecord) -> str:
    return f"customer:{customer.customer_id}"


_REFUSALS = {
    ContactRefusal.NO_CONSENT: "you have not agreed to be called: allow phone calls in your preferences first",
    ContactRefusal.DO_NOT_CALL: "your number is on our do-not-call list: we cannot call it back",
    ContactRefusal.NUMBER_NOT_ALLOWED: "we cannot call that number back",
}


def _refused(refusal: ContactRefusal, policy: ContactPolicy, zone: str, local: datetime,
             next_allowed: datetime | None) -> Conflict | InvalidInput:
    params: dict[str, object] = {"zone": zone, "hours": str(policy.rules.hours), "local_time": local.strftime("%H:%M")}
    if refusal is ContactRefusal.OUTSIDE_HOURS:
        if next_allowed is not None:
            params["next_allowed"] = next_allowed.astimezone(UTC).isoformat()
        return InvalidInput(f"we call between {policy.rules.hours} your time ({zone}); that time is "
                            f"{local:%H:%M} there: choose another", code=refusal.value, params=params)
    if refusal is ContactRefusal.NUMBER_NOT_ALLOWED:
        return InvalidInput(_REFUSALS[refusal], code=refusal.value, params=params)
    return Conflict(_REFUSALS[refusal], code=refusal.value, params=params)
