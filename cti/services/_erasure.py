"""Erasure (the right to be forgotten): one customer's personal data removed from everywhere cti keeps it.

The database first (:meth:`cti.persistence.CustomerRepository.forget`: the CRM record, phones, contacts, cases,
orders' tracking numbers, and the personal fields of every call of theirs), then every place outside it that
may hold a copy: the screen pop's caches and last pops, the desktops' replay buffers, the live calls in Redis,
the audio the IVR rendered from what it told them. Those places are *copy holders*, handed in by whoever
builds the service (the server has all of them; the ``cti customers forget`` command those it can reach and a
notice to the running server for the rest).

A customer on a call now is refused (:class:`CustomerOnCall`): the call's live state would bring their data
back with its next change. Erasing again is harmless and erases whatever was written since; the report counts
what was erased, never what it was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from cti.crm import phone_variants
from cti.errors import Conflict, NotFound, Unavailable
from cti.services._ports import ErasableCustomers

__all__ = ["CopyHolder", "CustomerOnCall", "Erasure", "ErasureIncomplete", "ErasureReport", "ErasureSubject",
           "LiveContact"]

log = logging.getLogger("cti.services.erasure")


@dataclass(frozen=True, slots=True)
class ErasureSubject:
    """Whom to forget, as the copy holders recognise them: ids and numbers, and what the IVR told them."""

    customer_id: str
    phones: frozenset[str] = frozenset()
    """Their numbers, in every shape a carrier may deliver them (empty once erased)."""
    call_ids: frozenset[str] = frozenset()
    prompts: frozenset[str] = frozenset()
    """Prompt texts the IVR spoke to them: the audio rendered from them goes too."""

    def mentions(self) -> frozenset[str]:
        """How JSON text names them: their customer number, their calls' ids and their numbers, quoted."""
        return frozenset(json.dumps(value) for value in (self.customer_id, *self.call_ids, *self.phones))


CopyHolder = Callable[[ErasureSubject], Awaitable[int]]
"""A place outside the database that may hold copies of a customer's data (a cache, Redis, audio files): it
forgets them and says how many it forgot."""


@dataclass(frozen=True, slots=True)
class LiveContact:
    """A call going on now, as erasure needs to know it: whose it is."""

    call_id: str
    customer_id: str | None
    caller_number: str


@dataclass(frozen=True, slots=True)
class ErasureReport:
    customer_id: str
    erased: dict[str, int]
    """How many of each kind were erased: database rows by table, then each copy holder's count."""


class CustomerOnCall(Conflict):
    """The customer is on a call now; they can be erased once it has ended."""


class ErasureIncomplete(Unavailable):
    """The database was erased but some copy holders could not be reached; erasing again finishes the work."""

    def __init__(self, customer_id: str, places: Iterable[str]) -> None:
        self.places = tuple(places)
        super().__init__(f"customer {customer_id} was erased from the database, but not yet from "
                         f"{', '.join(self.places)}; erase them again once it is back")

    @property
    def public_message(self) -> str:
        return str(self)


class Erasure:
    """``live`` lists the calls going on now; ``settle`` waits until the writes already queued for calls have
    landed (the journal's), so that none of them lands after the erasure with the customer's data."""

    def __init__(self, customers: ErasableCustomers, *, live: Callable[[], Awaitable[Iterable[LiveContact]]],
                 holders: Mapping[str, CopyHolder], settle: Callable[[], Awaitable[None]] | None = None) -> None:
        self._customers = customers
        self._live = live
        self._holders = dict(holders)
        self._settle = settle

    @property
    def places(self) -> tuple[str, ...]:
        """The copy holders' names, in the order they are cleared (the report's keys after the tables')."""
        return tuple(self._holders)

    async def erase(self, customer_id: str) -> ErasureReport:
        """Erase ``customer_id`` everywhere: :class:`~cti.errors.NotFound` for no such customer,
        :class:`CustomerOnCall` while they are on a call, :class:`ErasureIncomplete` when a copy holder is away
        (the database part is done then)."""
        customer = await self._customers.customer(customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id!r}", code="customer_not_found",
                           params={"customer_id": customer_id})
        phones = frozenset(variant for phone in customer.phones for variant in phone_variants(phone))
        if any(c.customer_id == customer_id or c.caller_number in phones for c in await self._live()):
            raise CustomerOnCall(f"customer {customer_id} is on a call now; erase them once it has ended")
        if self._settle is not None:
            try:
                await self._settle()
            except TimeoutError as exc:
                raise Unavailable("the calls' pending writes did not land; erase the customer again later") from exc
        forgotten = await self._customers.forget(customer_id)
        subject = ErasureSubject(customer_id, phones, frozenset(forgotten.call_ids), frozenset(forgotten.prompts))
        erased = {**forgotten.erased, **await self.forget_copies(subject)}
        log.info("customer %s erased: %s", customer_id, ", ".join(f"{k} {v}" for k, v in erased.items()))
        return ErasureReport(customer_id, erased)

    async def forget_copies(self, subject: ErasureSubject) -> dict[str, int]:
        """Clear every copy holder of ``subject`` (also for an erasure made elsewhere, announced to us). Each
        holder is tried even when one before it fails; :class:`ErasureIncomplete` names those that failed."""
        counts: dict[str, int] = {}
        failed: list[str] = []
        for name, holder in self._holders.items():
            try:
                counts[name] = await holder(subject)
            except Unavailable as exc:
                log.warning("customer %s not erased from %s: %s", subject.customer_id, name, exc)
                failed.append(name)
        if failed:
            raise ErasureIncomplete(subject.customer_id, failed)
        return counts
