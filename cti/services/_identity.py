"""Who is calling: the CRM customer behind a caller number, what routing takes from them, and the IVR's
self-service answers about them (only ever about the customer the caller was verified as).

The CRM being slow or away never stops a call: :class:`ArrivalLookup` gives an identification two seconds
(the IVR's and routing's alike), then the call goes on as an unknown caller's while the lookup finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from cti.acd import Routing
from cti.crm import MINOR_PER_MAJOR, InvoiceRecord
from cti.ivr import LookupResult, VerifyResult
from cti.services._crm_source import CustomerSource
from cti.services._ports import Customers
from cti.services._verification import CallerVerification

__all__ = ["ROUTED_ATTRIBUTES", "ArrivalLookup", "CallerIdentity", "Identity", "SelfService", "apply_attributes"]

ROUTED_ATTRIBUTES = ("language", "product", "problem_type", "value_tier")
IDENTIFY_TIMEOUT = 2.0
MAX_LINGERING = 100
"""Lookups a call gave up on, left to finish (see :meth:`ArrivalLookup._let_finish`)."""

log = logging.getLogger("cti.services")


@dataclass(frozen=True, slots=True)
class Identity:
    customer_id: str
    language: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    """Call attributes the customer record implies: value_tier, language, region (from the address)."""


def apply_attributes(routing: Routing, attributes: Mapping[str, str]) -> None:
    """Set what the IVR or the CRM learnt on the call's routing attributes.

    The region comes from the number when it has one (where the caller is now); the customer's address
    only fills in for numbers without geography (mobiles), before the rules' default region.
    """
    for name in ROUTED_ATTRIBUTES:
        value = attributes.get(name)
        if value:
            setattr(routing, name, value)
    if routing.region is None and attributes.get("region"):
        routing.region = attributes["region"]


class CallerIdentity:
    """The customer a caller number belongs to (none for unknown or erased customers), from cti's CRM or the
    CRM connected in its place (:class:`ConnectedCrm`)."""

    def __init__(self, customers: CustomerSource) -> None:
        self._customers = customers

    async def identify(self, number: str) -> Identity | None:
        customer = await self._customers.customer_by_phone(number)
        if customer is None or customer.forgotten_at is not None:
            return None
        attributes: dict[str, str] = {"language": customer.language}
        if customer.value_tier:
            attributes["value_tier"] = customer.value_tier
        if customer.region:
            attributes["region"] = customer.region
        return Identity(customer.customer_id, customer.language, attributes)


class Prefetcher(Protocol):
    """The screen pop's cache of customer views."""

    def identified(self, number: str, customer_id: str | None) -> None: ...

    def prefetch(self, customer_id: str) -> asyncio.Future[Any] | None: ...


class ArrivalLookup:
    """Who is calling, looked up as the call arrives, with the screen pop's customer view read at once.

    The offer, often only milliseconds later, then finds the view ready and the pop reaches the desktop with the
    ring. The view gets a short head start; a slow read goes on in the background and the pop waits for it
    instead of the call."""

    def __init__(self, identity: CallerIdentity, pops: Prefetcher, *, head_start: float = 0.25,
                 timeout: float = IDENTIFY_TIMEOUT) -> None:
        self._identity = identity
        self._pops = pops
        self._head_start = head_start
        self._timeout = timeout
        self._lingering: set[asyncio.Future[Identity | None]] = set()

    async def identify(self, number: str) -> Identity | None:
        """A caller going straight to routing."""
        identity = await self._bounded(number)
        self._pops.identified(number, None if identity is None else identity.customer_id)
        if identity is not None:
            pending = self._pops.prefetch(identity.customer_id)
            if pending is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(pending), self._head_start)
        return identity

    async def known_caller(self, number: str) -> tuple[str | None, str | None, Mapping[str, str]]:
        """A caller entering the IVR: they spend seconds there, so the pop will be ready without waiting."""
        identity = await self._bounded(number)
        if identity is None:
            return None, None, {}
        self._pops.prefetch(identity.customer_id)
        return identity.customer_id, identity.language, identity.attributes

    async def _bounded(self, number: str) -> Identity | None:
        lookup = asyncio.ensure_future(self._identity.identify(number))
        try:
            return await asyncio.wait_for(asyncio.shield(lookup), self._timeout)
        except TimeoutError:
            log.warning("a caller was not identified within %.1f s; going on without the CRM", self._timeout)
            self._let_finish(lookup)
            return None
        except asyncio.CancelledError:
            lookup.cancel()
            raise

    def _let_finish(self, lookup: asyncio.Future[Identity | None]) -> None:
        """A lookup the call stopped waiting for finishes on its own: cancelled in the middle of a query, it cost
        the database connection (asyncpg drops it, and the pool opens another), which under load is exactly when
        connections are dearest. Past ``MAX_LINGERING`` of them the database is not slow but away: cancel."""
        if len(self._lingering) >= MAX_LINGERING:
            lookup.cancel()
            return
        self._lingering.add(lookup)
        lookup.add_done_callback(self._finished)

    def _finished(self, lookup: asyncio.Future[Identity | None]) -> None:
        self._lingering.discard(lookup)
        if not lookup.cancelled() and lookup.exception() is not None:
            log.info("a late caller lookup failed: %r", lookup.exception())


def _major(minor: int) -> Decimal:
    return Decimal(minor) / MINOR_PER_MAJOR


class SelfService:
    """Answers the IVR's ``order_status`` and ``balance`` lookups with the fields the flows may say, and checks the
    PIN or date of birth callers key to be verified.

    Both lookups tell personal data: they answer only about ``customer_id``, the customer the caller was verified
    as (the IVR session passes it); anything else is "not found", whether it exists or not."""

    def __init__(self, customers: Customers, verification: CallerVerification) -> None:
        self._customers = customers
        self._verification = verification

    async def lookup(self, kind: str, key: str, customer_id: str | None = None) -> LookupResult:
        if kind == "order_status":
            return await self._order(key, customer_id)
        if kind == "balance":
            return await self._balance(key, customer_id)
        return LookupResult(kind, False, error=f"unknown lookup {kind!r}")

    async def verify(self, customer_id: str, keys: str) -> VerifyResult:
        return await self._verification.verify(customer_id, keys)

    async def _order(self, number: str, customer_id: str | None) -> LookupResult:
        order = await self._customers.order_status(number) if customer_id is not None else None
        if order is None or order.customer_id != customer_id:
            return LookupResult("order_status", False, {"order_number": number})
        data: dict[str, Any] = {
            "order_number": order.order_number, "status": order.status,
            "shipment_status": order.shipment_status or "pending", "carrier": order.carrier or "",
            "placed_on": order.placed_at.date(), "total": _major(order.total_minor),
            "items": sum(item.quantity for item in order.items),
        }
        if order.shipped_at is not None:
            data["shipped_on"] = order.shipped_at.date()
        if order.delivered_at is not None:
            data["delivered_on"] = order.delivered_at.date()
        return LookupResult("order_status", True, data)

    async def _balance(self, customer_number: str, customer_id: str | None) -> LookupResult:
        if customer_number != customer_id:
            return LookupResult("balance", False, {"customer_number": customer_number})
        view = await self._customers.customer_view(customer_number, contacts=0)
        if view is None or view.customer.forgotten_at is not None:
            return LookupResult("balance", False, {"customer_number": customer_number})
        unpaid: tuple[InvoiceRecord, ...] = view.unpaid_invoices
        data: dict[str, Any] = {"customer_number": customer_number, "balance": _major(view.balance_due_minor),
                                "open_invoices": len(unpaid)}
        if unpaid:
            data["due_amount"] = _major(unpaid[0].due_minor)
            data["due_date"] = unpaid[0].due_date
        return LookupResult("balance", True, data)
