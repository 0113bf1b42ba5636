"""Where the customer record comes from: cti's own CRM (the default), or another CRM through a connector.

A connector (:class:`CrmConnector`: by phone, by e-mail address, by the external system's own id) hands over
:class:`cti.crm.ExternalCustomer` records; :class:`ConnectedCrm` caches its answers (found ones and "nobody"),
mirrors each record into cti's own customers table (``external_ref``: the mirror keeps history, consent, callbacks,
surveys and erasure working on one kind of row) and falls back to what cti has when the external system is down,
slow or answers garbage, remembering that it did so the screen pop can say so. It answers the lookups the call path
makes (:class:`CustomerSource`), so :class:`CallerIdentity` and :class:`ScreenPop` read it as they read cti's CRM,
and the portal's sign-in finds a customer by e-mail address (or phone) through it.
docs/crm.md, "Another CRM as the source"; docs/integration.md, "Write your own connector".
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from cti.crm import CrmInputError, CustomerRecord, ExternalCustomer, LookupCache, normalize_phone
from cti.errors import Unavailable
from cti.services._erasure import ErasureSubject

__all__ = ["ConnectedCrm", "CrmConnector", "CustomerMirrors", "CustomerSource", "OwnCustomers", "email_key"]

log = logging.getLogger("cti.services.crm")
_FLAG_SECONDS = 300.0
"""How long a fallback is remembered for the pop of that number or customer: beyond a call's ring and talk."""
_RESTING_SECONDS = 5.0
"""After a failed lookup the external system is not asked for this long: during an outage each caller would
otherwise wait the whole timeout for an answer that is not coming."""


class CrmConnector(Protocol):
    """Another CRM, read. ``name`` says which in the pop and the log. A lookup answers the record, None when the
    system has no such customer, or raises :class:`~cti.errors.Unavailable` (down, slow, an answer not of its
    contract) with a message for the log that holds no personal data and no credential."""

    name: str

    async def by_phone(self, e164: str) -> ExternalCustomer | None: ...

    async def by_email(self, address: str) -> ExternalCustomer | None:
        """``address`` trimmed and lower-case; the system compares without case. A connector written before this
        lookup existed may lack it: cti's own CRM then answers e-mail lookups."""
        ...

    async def by_ref(self, ref: str) -> ExternalCustomer | None: ...


class CustomerMirrors(Protocol):
    """cti's copies of external customers (:class:`cti.persistence.CustomerMirror`)."""

    async def mirror(self, external: ExternalCustomer) -> CustomerRecord: ...

    async def external_ref(self, customer_id: str) -> str | None: ...


class CustomerSource(Protocol):
    """Who a caller is, as the call path asks: cti's CRM (:class:`cti.persistence.CustomerRepository`) or
    :class:`ConnectedCrm`."""

    async def customer_by_phone(self, number: str) -> CustomerRecord | None: ...


class OwnCustomers(CustomerSource, Protocol):
    """cti's own CRM, as :class:`ConnectedCrm` falls back to it."""

    async def customer_by_email(self, email: str) -> CustomerRecord | None: ...


def email_key(email: str) -> str | None:
    """An e-mail address as lookups compare it (trimmed, lower-case); None for what is no address."""
    address = email.strip().lower()
    local, _, domain = address.partition("@")
    return address if local and domain and not any(c.isspace() for c in address) else None


class ConnectedCrm:
    """Customers from ``connector``, mirrored by ``mirrors``; cti's own CRM (``own``) answers when the connector
    has nobody for a number (cti's own customers, an unknown caller an agent created) or fails.

    ``timeout`` bounds one lookup (the connector's own timeout should be shorter: this is the last word), so a
    caller's identification never waits longer for the external system; ``cache`` holds the connector's answers
    (a hit costs no request)."""

    def __init__(self, connector: CrmConnector, mirrors: CustomerMirrors, own: OwnCustomers, *,
                 cache: LookupCache[tuple[str, str], ExternalCustomer], timeout: float,
                 default_country: str = "ID", now: Callable[[], float] = time.monotonic) -> None:
        self.connector = connector
        self.cache = cache
        self._mirrors = mirrors
        self._own = own
        self._timeout = timeout
        self._country = default_country
        self._now = now
        self._loading: dict[tuple[str, str], asyncio.Future[ExternalCustomer | None]] = {}
        self._fallbacks: dict[str, tuple[float, str]] = {}  # number or customer id -> (until, why)
        self._resting: tuple[float, str] | None = None  # (until, why): the last failure, not asked again until then
        self.requests = 0
        """Lookups sent to the connector (cache misses), for /metrics and the tests."""
        self.failures = 0

    # -- the call path ----------------------------------------------------------------------------------------
    async def customer_by_phone(self, number: str) -> CustomerRecord | None:
        """The customer calling from ``number``: the external system's record (mirrored), else cti's own."""
        e164 = normalize_phone(number, default_country=self._country)
        if e164 is None:
            return await self._own.customer_by_phone(number)
        try:
            external = await self._lookup(("phone", e164), lambda: self.connector.by_phone(e164))
        except Unavailable as exc:
            self._fell_back(e164, str(exc))
            return await self._own.customer_by_phone(number)
        self._fallbacks.pop(e164, None)
        if external is None:
            return await self._own.customer_by_phone(number)
        record = await self._mirror(external, e164)
        if record is None:
            return await self._own.customer_by_phone(number)
        return record

    async def customer_by_email(self, email: str) -> CustomerRecord | None:
        """The customer whose e-mail address is ``email`` (trimmed, without case): the external system's record
        (mirrored), else cti's own. A record that does not have that address is not taken (the connector's fault:
        logged, and cti's own CRM answers)."""
        address = email_key(email)
        by_email = getattr(self.connector, "by_email", None)
        if address is None or by_email is None:
            return await self._own.customer_by_email(email)

        async def ask() -> ExternalCustomer | None:
            found: ExternalCustomer | None = await by_email(address)
            if found is not None and email_key(found.email or "") != address:
                raise Unavailable(f"the external CRM ({self.connector.name}) answered a lookup by e-mail with a "
                                  f"customer of another address")
            return found

        try:
            external = await self._lookup(("email", address), ask)
        except Unavailable:
            return await self._own.customer_by_email(email)
        if external is None:
            return await self._own.customer_by_email(email)
        record = await self._mirror(external, external.ref)
        if record is None:
            return await self._own.customer_by_email(email)
        return record

    async def refresh(self, customer_id: str) -> None:
        """Bring cti's copy of ``customer_id`` up to date before their pop is read (a cache hit costs nothing; a
        customer of cti's own, nothing more than reading their reference). Never raises: the pop shows what cti
        has, flagged."""
        try:
            ref = await self._mirrors.external_ref(customer_id)
        except Unavailable as exc:
            log.info("customer %s not refreshed: %s", customer_id, exc)
            return
        if ref is None:
            return
        try:
            external = await self._lookup(("ref", ref), lambda: self.connector.by_ref(ref))
        except Unavailable as exc:
            self._fell_back(customer_id, str(exc))
            return
        self._fallbacks.pop(customer_id, None)
        if external is not None:
            await self._mirror(external, customer_id)

    def pop_status(self, customer_id: str | None, number: str) -> dict[str, Any]:
        """What the pop says of where its customer comes from: the connector's name, and whether cti showed its
        own copy because the external system failed (``fallback``, with why)."""
        now = self._now()
        e164 = normalize_phone(number, default_country=self._country) if number else None
        for key in (customer_id, e164):
            flag = self._fallbacks.get(key) if key else None
            if flag is not None and flag[0] > now:
                return {"source": self.connector.name, "fallback": True, "reason": flag[1]}
        return {"source": self.connector.name, "fallback": False, "reason": None}

    # -- invalidation -------------------------------------------------------------------------------------------
    def invalidate(self, *, ref: str | None = None, phone: str | None = None, email: str | None = None) -> int:
        """Forget what the cache holds of the external customer ``ref`` (under every key it was found by), for
        the number ``phone`` or for the address ``email``: their next lookup asks the external system. How many
        answers were dropped."""
        e164 = normalize_phone(phone, default_country=self._country) if phone else None
        address = email_key(email) if email else None

        def doomed(key: tuple[str, str], value: ExternalCustomer | None) -> bool:
            return (ref is not None and (key == ("ref", ref) or (value is not None and value.ref == ref))) or \
                (e164 is not None and key == ("phone", e164)) or (address is not None and key == ("email", address))

        return self.cache.invalidate_where(doomed)

    async def forget_customer(self, subject: ErasureSubject) -> int:
        """Erasure: nothing of theirs stays cached (their external record holds their name, phones, e-mail)."""
        ref = await self._mirrors.external_ref(subject.customer_id)
        dropped = self.invalidate(ref=ref) if ref is not None else 0
        for number in subject.phones:
            dropped += self.invalidate(phone=number)
            self._fallbacks.pop(number, None)
        self._fallbacks.pop(subject.customer_id, None)
        return dropped

    # -- internals ------------------------------------------------------------------------------------------
    async def _lookup(self, key: tuple[str, str],
                      ask: Callable[[], Awaitable[ExternalCustomer | None]]) -> ExternalCustomer | None:
        hit = self.cache.get(key)
        if hit is not None:
            return hit.value
        pending = self._loading.get(key)
        if pending is None:  # one request per key however many calls wait for it
            pending = self._loading[key] = asyncio.ensure_future(self._ask(key, ask))
            pending.add_done_callback(lambda done: self._settled(key, done))
        return await asyncio.shield(pending)

    def _settled(self, key: tuple[str, str], done: asyncio.Future[ExternalCustomer | None]) -> None:
        self._loading.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: a caller that gave up waiting (its own timeout) leaves no warning behind

    async def _ask(self, key: tuple[str, str],
                   ask: Callable[[], Awaitable[ExternalCustomer | None]]) -> ExternalCustomer | None:
        if self._resting is not None and self._resting[0] > self._now():
            raise Unavailable(self._resting[1])
        self.requests += 1
        try:
            found = await asyncio.wait_for(ask(), self._timeout)
        except TimeoutError as exc:
            raise self._failed(f"the external CRM ({self.connector.name}) did not answer within "
                               f"{self._timeout:g} s") from exc
        except Unavailable as exc:
            raise self._failed(str(exc)) from exc
        except Exception as exc:  # a connector's own bug must not take the call path down
            log.exception("the CRM connector %s failed", self.connector.name)
            raise self._failed(f"the external CRM connector ({self.connector.name}) failed: "
                               f"{type(exc).__name__}") from exc
        self._resting = None
        self.cache.put(key, found)
        if found is not None and key[0] != "ref":
            self.cache.put(("ref", found.ref), found)  # the pop's refresh of this customer is then a hit
        return found

    def _failed(self, why: str) -> Unavailable:
        # Logged once per failed request: the lookups that meet the resting connector are not (an outage would
        # write a line per caller and per pop).
        log.warning("customer lookup goes on with cti's own CRM: %s", why)
        self.failures += 1
        self._resting = (self._now() + _RESTING_SECONDS, why)
        return Unavailable(why)

    async def _mirror(self, external: ExternalCustomer, key: str) -> CustomerRecord | None:
        try:
            try:
                return await self._mirrors.mirror(external)
            except Unavailable:  # two calls of a new customer copied them at once: the other copy is found now
                return await self._mirrors.mirror(external)
        except CrmInputError as exc:
            # The record's values are refused (a phone that is no phone, an e-mail that is no address): the
            # external system's data to fix; the problems name fields, never values.
            why = "the external CRM's record has values cti refuses: " + ", ".join(
                sorted({p.field for p in exc.problems}))
            log.warning("external customer %s not copied: %s", external.ref, why)
            self.invalidate(ref=external.ref)
            self._fell_back(key, why)
            return None
        except Unavailable as exc:
            log.warning("external customer %s not copied: %s", external.ref, exc)
            self._fell_back(key, "cti's database did not take the external CRM's record")
            return None

    def _fell_back(self, key: str, why: str) -> None:
        if len(self._fallbacks) >= 10_000:
            now = self._now()
            self._fallbacks = {k: v for k, v in self._fallbacks.items() if v[0] > now}
        self._fallbacks[key] = (self._now() + _FLAG_SECONDS, why)
