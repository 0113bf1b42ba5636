"""Customers signing in on the portal with a one-time code, and their sessions.

- **Addresses**: a customer names themselves by an e-mail address or a phone number that is in the CRM. The code
  goes to that address: by e-mail (:class:`CodeMailer`) or by SMS (:class:`SmsSender`). An address that names
  nobody (or a forgotten customer, or e-mail while no mail server is set) gets the same answer and nothing is sent:
  the portal never tells whether an address is known.
- **Codes**: 6 random digits, one live code per address (a new request replaces it), kept only as a salted
  SHA-256, valid ``code_ttl``, spent by a right entry, or by ``attempts`` wrong ones. Six digits are few: the
  throttles of the web layer (per address and per client) and the attempts per code are what keep guessing out.
- **Sessions**: a right code hands out a random session id and CSRF token (256 bits each), returned once; only
  their SHA-256 is kept, in a table of their own (a staff session id can never name a customer's session, nor the
  reverse). A session ends ``idle`` after its last use, ``lifetime`` after it began, at sign-out, or when the
  customer is forgotten.
- Sign-ins are audited (``login`` / ``denied``, the actor ``customer:<id>``) and each sign-in is a contact in the
  customer's history (channel ``web``), so the agent's pop shows it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, Literal, Protocol

from cti.crm import WEB_DISPOSITION, CustomerRecord, CustomerView, NewContact, OrderRecord, normalize_phone, web_reason
from cti.records import PortalCodeRecord, PortalSessionRecord
from cti.services._audit import AuditTrail
from cti.services._crm_source import OwnCustomers
from cti.types import Clock, Language, utc_now

__all__ = ["CODE_DIGITS", "CodeMailer", "NewPortalSession", "PortalAddress", "PortalCustomers", "PortalSignIn",
           "PortalStore", "SmsSender", "read_address"]

log = logging.getLogger("cti.portal")

CODE_DIGITS: Final = 6
TOUCH_EVERY: Final = timedelta(minutes=1)
ROLE: Final = "customer"
SIGNED_IN: Final = web_reason("signed_in")
"""The reason of the contact a sign-in adds to the customer's history (:mod:`cti.crm._web_actions`)."""


class CodeMailer(Protocol):
    async def send_code(self, to: str, code: str, *, language: Language, minutes: int) -> None: ...


class SmsSender(Protocol):
    async def send_code(self, to: str, code: str, *, language: Language, minutes: int) -> None: ...


class PortalStore(Protocol):
    """Sign-in codes and customers' sessions, by hash (:class:`cti.persistence.PortalRepository`)."""

    async def put_code(self, record: PortalCodeRecord) -> None: ...

    async def code(self, address_hash: str) -> PortalCodeRecord | None: ...

    async def count_attempt(self, address_hash: str) -> None: ...

    async def spend_code(self, address_hash: str, code_hash: str) -> bool: ...

    async def delete_code(self, address_hash: str) -> None: ...

    async def create_session(self, record: PortalSessionRecord) -> None: ...

    async def session(self, key: str) -> PortalSessionRecord | None: ...

    async def touch_session(self, key: str, at: datetime) -> None: ...

    async def delete_session(self, key: str) -> bool: ...

    async def purge(self, *, now: datetime, idle_since: datetime) -> int: ...


class PortalCustomers(Protocol):
    async def customer(self, customer_id: str) -> CustomerRecord | None: ...

    async def customer_by_phone(self, number: str) -> CustomerRecord | None: ...

    async def customer_by_email(self, email: str) -> CustomerRecord | None: ...

    async def customer_view(self, customer_id: str, *, contacts: int = 5) -> CustomerView | None: ...

    async def recent_orders(self, customer_id: str, *, limit: int = 5) -> list[OrderRecord]: ...

    async def add_contact(self, contact: NewContact) -> object: ...


@dataclass(frozen=True, slots=True)
class PortalAddress:
    """Where a code goes: ``kind`` and the address in one canonical form (lower-case e-mail, E.164 phone)."""

    kind: Literal["email", "phone"]
    value: str

    @property
    def key(self) -> str:
        """What is stored to name the address (its SHA-256: the table of codes holds no address)."""
        return hashlib.sha256(f"{self.kind}:{self.value}".encode()).hexdigest()

    def masked(self) -> str:
        """For a log line or the page: ``an***@example.com``, ``+62812***``."""
        if self.kind == "email":
            local, _, domain = self.value.partition("@")
            return f"{local[:2]}***@{domain}"
        return f"{self.value[:6]}***"


def read_address(text: str, *, default_country: str = "ID") -> PortalAddress | None:
    """An e-mail address or a phone number as typed, in canonical form; None if it is neither."""
    text = text.strip()
    if not text.isprintable():  # control characters are nobody's (and PostgreSQL's text cannot hold a NUL)
        return None
    if "@" in text:
        local, _, domain = text.lower().partition("@")
        if local and "." in domain and not any(c.isspace() for c in text) and len(text) <= 254:
            return PortalAddress("email", f"{local}@{domain}")
        return None
    e164 = normalize_phone(text, default_country=default_country)
    return None if e164 is None else PortalAddress("phone", e164)


def _code_hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewPortalSession:
    """A customer's session just begun: the secrets are here and nowhere else (hand them to the browser, once)."""

    customer: CustomerRecord
    session_id: str
    csrf_token: str
    record: PortalSessionRecord

    def __repr__(self) -> str:  # never the secrets
        return f"NewPortalSession(customer={self.customer.customer_id!r})"


class PortalSignIn:
    def __init__(self, customers: PortalCustomers, store: PortalStore, audit: AuditTrail, *, sms: SmsSender,
                 mailer: CodeMailer | None = None, clock: Clock = utc_now,
                 code_ttl: timedelta = timedelta(minutes=10), attempts: int = 5,
                 idle: timedelta = timedelta(minutes=30), lifetime: timedelta = timedelta(hours=12),
                 default_country: str = "ID", lookup: OwnCustomers | None = None) -> None:
        self._customers = customers
        self.lookup = lookup
        """Who has an address, when another CRM is the customers' source (:class:`ConnectedCrm`: its customers
        are found, and copied into cti's, as they sign in); None: cti's own CRM. Set by the composition root once
        the connector is built."""
        self._store = store
        self._audit = audit
        self._sms = sms
        self._mailer = mailer
        self._clock = clock
        self.code_ttl = code_ttl
        self.attempts = attempts
        self.idle = idle
        self.lifetime = lifetime
        self._country = default_country
        self._sending: set[asyncio.Task[None]] = set()

    def address(self, text: str) -> PortalAddress | None:
        return read_address(text, default_country=self._country)

    async def _customer_at(self, address: PortalAddress) -> CustomerRecord | None:
        lookup: OwnCustomers = self.lookup if self.lookup is not None else self._customers
        if address.kind == "email":
            found = await lookup.customer_by_email(address.value)
        else:
            found = await lookup.customer_by_phone(address.value)
        return None if found is None or found.forgotten_at is not None else found

    # -- codes -------------------------------------------------------------------------------------------------
    async def request_code(self, address: PortalAddress, *, language: Language | None = None) -> bool:
        """Send a new code to ``address`` if it is a customer's (and their channel can be reached); whether one
        was sent. The caller answers the same either way."""
        if address.kind == "email" and self._mailer is None:
            return False
        customer = await self._customer_at(address)
        if customer is None:
            return False
        code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
        salt, now = secrets.token_hex(16), self._clock()
        await self._store.put_code(PortalCodeRecord(
            address_hash=address.key, customer_id=customer.customer_id, code_hash=_code_hash(salt, code), salt=salt,
            created_at=now, expires_at=now + self.code_ttl))
        minutes = max(1, round(self.code_ttl.total_seconds() / 60))
        # Sent in the background: the answer comes as fast for a known address as for an unknown one.
        task = asyncio.get_running_loop().create_task(
            self._send(address, code, language or customer.language, minutes), name="cti-portal-code")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
        return True

    async def _send(self, address: PortalAddress, code: str, language: Language, minutes: int) -> None:
        try:
            if address.kind == "email" and self._mailer is not None:
                await self._mailer.send_code(address.value, code, language=language, minutes=minutes)
            else:
                await self._sms.send_code(address.value, code, language=language, minutes=minutes)
        except Exception as exc:  # the mail server away: the customer asks again; the log says why
            log.warning("could not send a portal sign-in code to %s: %s", address.masked(), exc)

    async def close(self) -> None:
        """Wait for the codes still being sent (at shutdown)."""
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    async def sign_in(self, address: PortalAddress, code: str, *, source: str) -> NewPortalSession | None:
        """A new session if ``code`` is the live code of ``address``; None otherwise (no code, expired, spent,
        wrong), alike. A right code is spent; a wrong one counts towards the code's attempts."""
        held = await self._store.code(address.key)
        now = self._clock()
        if held is None or held.expires_at <= now or held.attempts >= self.attempts:
            if held is not None:
                await self._store.delete_code(address.key)
            self._denied(address, "no live code", source)
            return None
        given = code.strip()
        if not (len(given) == CODE_DIGITS and given.isdigit()) or not hmac.compare_digest(
                _code_hash(held.salt, given), held.code_hash):
            if held.attempts + 1 >= self.attempts:
                await self._store.delete_code(address.key)
            else:
                await self._store.count_attempt(address.key)
            self._denied(address, "wrong code", source)
            return None
        if not await self._store.spend_code(address.key, held.code_hash):
            self._denied(address, "code already used", source)
            return None
        customer = await self._customers.customer(held.customer_id)
        if customer is None or customer.forgotten_at is not None:
            self._denied(address, "no such customer", source)
            return None
        session_id, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        record = PortalSessionRecord(key=_key(session_id), customer_id=customer.customer_id, created_at=now,
                                     last_seen_at=now, expires_at=now + self.lifetime, csrf_hash=_key(csrf_token))
        await self._store.create_session(record)
        self._audit.record_as_soon(f"customer:{customer.customer_id}", ROLE, "login", "customer",
                                   customer.customer_id, source=source, detail={"method": address.kind})
        await self._note_sign_in(customer)
        return NewPortalSession(customer, session_id, csrf_token, record)

    def _denied(self, address: PortalAddress, why: str, source: str) -> None:
        # Neither the address nor the code in the log: the address's hash ties the failures of one address.
        self._audit.record_as_soon("portal", ROLE, "denied", "portal_sign_in", address.key[:16], source=source,
                                   detail={"method": address.kind, "reason": why})

    # -- sessions ----------------------------------------------------------------------------------------------
    async def session(self, session_id: str) -> tuple[PortalSessionRecord, CustomerRecord] | None:
        """The live session ``session_id`` names and its customer; None if it names none, has ended by time, or
        its customer was forgotten. A use restarts the idle timeout."""
        record = await self._store.session(_key(session_id))
        if record is None:
            return None
        now = self._clock()
        if record.expires_at <= now or record.last_seen_at + self.idle <= now:
            await self._store.delete_session(record.key)
            return None
        customer = await self._customers.customer(record.customer_id)
        if customer is None or customer.forgotten_at is not None:
            await self._store.delete_session(record.key)
            return None
        if now - record.last_seen_at >= TOUCH_EVERY:
            await self._store.touch_session(record.key, now)
            record = replace(record, last_seen_at=now)
        return record, customer

    @staticmethod
    def csrf_matches(record: PortalSessionRecord, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(_key(token), record.csrf_hash)

    async def sign_out(self, session_id: str) -> bool:
        return await self._store.delete_session(_key(session_id))

    async def purge(self) -> int:
        now = self._clock()
        return await self._store.purge(now=now, idle_since=now - self.idle)

    # -- the customer's own data -------------------------------------------------------------------------------
    async def account(self, customer: CustomerRecord) -> tuple[CustomerView, list[OrderRecord]] | None:
        """What the account page shows: the customer's view (profile, unpaid invoices) and latest orders."""
        view = await self._customers.customer_view(customer.customer_id, contacts=0)
        if view is None:
            return None
        return view, await self._customers.recent_orders(customer.customer_id, limit=5)

    async def _note_sign_in(self, customer: CustomerRecord) -> None:
        """The sign-in, as a contact in the customer's history (channel ``web``)."""
        await self._customers.add_contact(NewContact(customer_id=customer.customer_id, channel="web",
                                                     at=self._clock(), reason=SIGNED_IN, disposition=WEB_DISPOSITION,
                                                     language=customer.language))
