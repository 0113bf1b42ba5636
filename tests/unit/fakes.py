"""In-memory twins of the adapters the services use (cosmicpython's ``tests/unit/fakes.py``), so use cases get
fast tests of their own beside the integration and end-to-end tests that run the real ones.

Each fake implements one protocol of :mod:`cti.services` (``Users``, ``AgentRegistry``, ``Interactions``,
``Customers``, ``Scripts``, ``Schedules``, ``LiveState``, ``Phones``, ``Supervision``, ``DeadLetters``,
``Credentials``, ``WebSessions``) with the
same results and refusals as the real adapter for what the services call.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Literal

from cti.acd import Agent, CallbackStatus, ContactCenter, ScheduledCallback, WorkItem, WorkState
from cti.chat import ChatMessage, ChatSession, NewMessage, message_order
from cti.crm import (
    ComplementRecord,
    Consent,
    ContactRecord,
    CrmInputError,
    CustomerCredentials,
    CustomerFields,
    CustomerRecord,
    CustomerView,
    ForgottenCustomer,
    HoldingRecord,
    NewContact,
    OrderRecord,
    ProductRecord,
    PromotionRecord,
    fold_name,
    read_query,
)
from cti.errors import Conflict, InvalidInput, Problem, Unavailable
from cti.faq import FaqEntry, FaqStatus, FaqText, FaqVersion
from cti.records import (
    AgentRecord,
    AgentStateRecord,
    AuditRecord,
    DeadLetterRecord,
    DoNotCallEntry,
    InteractionRecord,
    PortalCodeRecord,
    PortalSessionRecord,
    PurgedInteractions,
    Reach,
    UserRecord,
    WebSessionRecord,
)
from cti.scripting import Script, ScriptSummary, ScriptVersion
from cti.services import CommandBus, Distributor, HandlerKey
from cti.types import Language
from cti.wfm import InteractionSample, Schedule, ScheduleSummary, StoredSchedule

__all__ = [
    "FakeAgents",
    "FakeAuditLog",
    "FakeCustomers",
    "FakeDeadLetters",
    "FakeInteractions",
    "FakeLive",
    "FakePhones",
    "FakePublisher",
    "FakeSchedules",
    "FakeScripts",
    "FakeSupervision",
    "FakeUsers",
    "FakeWebSessions",
    "Recorder",
    "Refused",
    "distributor",
]


class Refused(Unavailable, InvalidInput):
    """What the store raises for values its columns cannot hold (``cti.persistence.StorageRejected``'s kinds)."""


class FakeUsers:
    def __init__(self) -> None:
        self.users: dict[str, UserRecord] = {}
        self.tokens: dict[str, str] = {}  # token -> user name
        self.password_hashes: dict[str, str] = {}  # user name -> hash
        self._ids = 0

    async def credentials(self, name: str) -> tuple[UserRecord, str | None] | None:
        user = self.users.get(name)
        return None if user is None else (user, self.password_hashes.get(name))

    async def set_password(self, name: str, password_hash: str) -> UserRecord:
        assert password_hash.startswith("$argon2id$"), "only hashes are stored"
        self.password_hashes[name] = password_hash
        return self.users[name]

    async def set_language(self, name: str, language: str) -> UserRecord:
        user = self.users[name] = replace(self.users[name], language=language)
        return user

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _issue(self, name: str, token: str) -> None:
        self.tokens = {t: n for t, n in self.tokens.items() if n != name} | {token: name}

    async def create_user(self, name: str, role: str, agent_id: str | None = None, *,
                          expires_at: datetime | None = None) -> tuple[UserRecord, str]:
        if name in self.users:
            raise Conflict(f"cannot create user {name!r}: the name is already taken")
        token = secrets.token_urlsafe(16)
        user = self.users[name] = UserRecord(self._next_id(), name, role, agent_id, False,
                                             token_issued_at=datetime.now(UTC), token_expires_at=expires_at)
        self._issue(name, token)
        return user, token

    async def ensure_user_token(self, name: str, role: str, token: str, agent_id: str | None = None, *,
                                expires_at: datetime | None = None) -> UserRecord:
        user = self.users.get(name) or UserRecord(self._next_id(), name, role, agent_id, False)
        issued = user.token_issued_at if self.tokens.get(token) == name else datetime.now(UTC)
        self.users[name] = user = replace(user, role=role, agent_id=agent_id, token_issued_at=issued,
                                          token_expires_at=expires_at)
        self._issue(name, token)
        return user

    async def user_for_token(self, token: str) -> UserRecord | None:
        name = self.tokens.get(token)
        user = None if name is None else self.users.get(name)
        return None if user is None or user.disabled else user

    async def user_named(self, name: str) -> UserRecord | None:
        return self.users.get(name)

    async def list_users(self) -> list[UserRecord]:
        return sorted(self.users.values(), key=lambda u: u.user_id)

    async def set_user_scope(self, name: str, scope: Mapping[str, Any] | None) -> UserRecord:
        user = self.users[name] = replace(self.users[name], scope=None if scope is None else dict(scope))
        return user

    async def set_user_disabled(self, name: str, disabled: bool = True) -> UserRecord:
        user = self.users[name] = replace(self.users[name], disabled=disabled)
        return user

    async def rotate_token(self, name: str, *, expires_at: datetime | None) -> tuple[UserRecord, str]:
        token = secrets.token_urlsafe(16)
        user = self.users[name] = replace(self.users[name], token_issued_at=datetime.now(UTC),
                                          token_expires_at=expires_at)
        self._issue(name, token)
        return user, token

    async def delete_user(self, name: str) -> bool:
        self.tokens = {t: n for t, n in self.tokens.items() if n != name}
        return self.users.pop(name, None) is not None

    async def bound_token_lifetimes(self, expires_at: datetime, *, keep: str | None = None) -> int:
        unbounded = [u for u in self.users.values() if u.token_expires_at is None and u.name != keep]
        for user in unbounded:
            self.users[user.name] = replace(user, token_expires_at=expires_at)
        return len(unbounded)


class FakeWebSessions:
    def __init__(self, users: FakeUsers) -> None:
        self.users = users
        self.sessions: dict[str, tuple[str, WebSessionRecord]] = {}  # key -> (user name, session)

    async def create(self, name: str, record: WebSessionRecord) -> None:
        self.sessions[record.key] = (name, replace(record, user_id=self.users.users[name].user_id))

    async def find(self, key: str) -> tuple[WebSessionRecord, UserRecord] | None:
        held = self.sessions.get(key)
        user = None if held is None else self.users.users.get(held[0])
        return None if held is None or user is None else (held[1], user)

    async def touch(self, key: str, at: datetime) -> None:
        name, record = self.sessions[key]
        self.sessions[key] = (name, replace(record, last_seen_at=at))

    async def delete(self, key: str) -> bool:
        return self.sessions.pop(key, None) is not None

    async def delete_of_user(self, name: str, *, keep: str | None = None) -> int:
        ended = [key for key, (owner, _) in self.sessions.items() if owner == name and key != keep]
        for key in ended:
            del self.sessions[key]
        return len(ended)

    async def purge(self, *, now: datetime, idle_since: datetime) -> int:
        ended = [key for key, (_, r) in self.sessions.items() if r.expires_at <= now or r.last_seen_at <= idle_since]
        for key in ended:
            del self.sessions[key]
        return len(ended)


class FakePortalStore:
    """The portal's codes and sessions, by hash (the twin of ``cti.persistence.PortalRepository``)."""

    def __init__(self) -> None:
        self.codes: dict[str, PortalCodeRecord] = {}
        self.sessions: dict[str, PortalSessionRecord] = {}

    async def put_code(self, record: PortalCodeRecord) -> None:
        self.codes[record.address_hash] = record

    async def code(self, address_hash: str) -> PortalCodeRecord | None:
        return self.codes.get(address_hash)

    async def count_attempt(self, address_hash: str) -> None:
        held = self.codes.get(address_hash)
        if held is not None:
            self.codes[address_hash] = replace(held, attempts=held.attempts + 1)

    async def spend_code(self, address_hash: str, code_hash: str) -> bool:
        held = self.codes.get(address_hash)
        if held is None or held.code_hash != code_hash:
            return False
        del self.codes[address_hash]
        return True

    async def delete_code(self, address_hash: str) -> None:
        self.codes.pop(address_hash, None)

    async def create_session(self, record: PortalSessionRecord) -> None:
        self.sessions[record.key] = record

    async def session(self, key: str) -> PortalSessionRecord | None:
        return self.sessions.get(key)

    async def touch_session(self, key: str, at: datetime) -> None:
        if key in self.sessions:
            self.sessions[key] = replace(self.sessions[key], last_seen_at=at)

    async def delete_session(self, key: str) -> bool:
        return self.sessions.pop(key, None) is not None

    async def purge(self, *, now: datetime, idle_since: datetime) -> int:
        codes = [k for k, c in self.codes.items() if c.expires_at <= now]
        ended = [k for k, r in self.sessions.items() if r.expires_at <= now or r.last_seen_at <= idle_since]
        for k in codes:
            del self.codes[k]
        for k in ended:
            del self.sessions[k]
        return len(codes) + len(ended)


class FakeAgents:
    def __init__(self) -> None:
        self.agents: dict[str, AgentRecord] = {}
        self.states: list[AgentStateRecord] = []

    async def upsert(self, agent: AgentRecord) -> None:
        self.agents[agent.agent_id] = agent

    async def get(self, agent_id: str) -> AgentRecord | None:
        return self.agents.get(agent_id)

    async def list(self) -> builtins.list[AgentRecord]:
        return [self.agents[a] for a in sorted(self.agents)]

    async def record_state(self, record: AgentStateRecord) -> None:
        self.states.append(record)

    async def record_states(self, records: builtins.list[AgentStateRecord]) -> None:
        """One transaction: a refusal of any keeps none (as the database's rollback)."""
        kept = len(self.states)
        try:
            for record in records:
                await self.record_state(record)
        except BaseException:
            del self.states[kept:]
            raise

    async def history(self, agent_id: str, *, limit: int = 100) -> builtins.list[AgentStateRecord]:
        return [s for s in self.states if s.agent_id == agent_id][-limit:]

    async def states_between(self, start: datetime, end: datetime) -> builtins.list[AgentStateRecord]:
        return [s for s in self.states if start <= s.at < end]


class FakeInteractions:
    def __init__(self) -> None:
        self.rows: dict[str, InteractionRecord] = {}
        self.saves: builtins.list[InteractionRecord] = []
        self.saved_at: dict[str, datetime] = {}
        self.failures = 0  # the next saves that fail as if the database were away
        self.many_saves = 0  # transactions of several records (the journal's batches)

    async def save(self, record: InteractionRecord) -> None:
        self._save(record, datetime.now(UTC))

    async def save_many(self, records: Collection[InteractionRecord]) -> None:
        """One transaction: away or a refusal of any keeps none."""
        if self.failures:
            self.failures -= 1
            raise Unavailable("the database is away")
        for record in records:
            self._refuse(record)
        self.many_saves += 1
        for record in records:
            self._save(record, datetime.now(UTC))

    async def save_unless_newer(self, record: InteractionRecord, at: datetime) -> bool:
        if self.saved_at.get(record.call_id, at) > at:
            return False
        self._save(record, at)
        return True

    @staticmethod
    def _refuse(record: InteractionRecord) -> None:
        if record.caller_name is not None and len(record.caller_name) > 128:  # the column's length
            raise Refused("interactions.caller_name is longer than 128 characters")

    def _save(self, record: InteractionRecord, at: datetime) -> None:
        if self.failures:
            self.failures -= 1
            raise Unavailable("the database is away")
        self._refuse(record)
        self.saved_at[record.call_id] = at
        old = self.rows.get(record.call_id)
        if old is not None:  # the wrap-up stays, as the real upsert keeps it, and so does a redaction
            record = replace(record, disposition=old.disposition, notes=old.notes,
                             script_answers=old.script_answers, crosssell=old.crosssell, follow_up=old.follow_up,
                             wrapped_up_at=old.wrapped_up_at, redacted_at=old.redacted_at)
            if old.redacted_at is not None:
                record = replace(record, caller_number=old.caller_number, caller_name=old.caller_name,
                                 routing=old.routing, ivr=old.ivr)
        self.rows[record.call_id] = record
        self.saves.append(record)

    async def save_wrap_up(self, call_id: str, *, at: datetime, disposition: str, notes: str = "",
                           script_answers: Mapping[str, Any] | None = None,
                           crosssell: Mapping[str, Any] | None = None, follow_up: Mapping[str, Any] | None = None,
                           customer_id: str | None = None) -> InteractionRecord:
        row = replace(self.rows[call_id], disposition=disposition, notes=notes,
                      script_answers=dict(script_answers or {}),
                      crosssell=None if crosssell is None else dict(crosssell),
                      follow_up=None if follow_up is None else dict(follow_up), wrapped_up_at=at)
        if customer_id is not None:
            row = replace(row, customer_id=customer_id)
        self.rows[call_id] = row
        return row

    async def get(self, call_id: str) -> InteractionRecord | None:
        return self.rows.get(call_id)

    async def list(self, *, limit: int = 100, agent_id: str | None = None, queue: str | None = None,
                   within: Reach | None = None) -> builtins.list[InteractionRecord]:
        rows = [r for r in self.rows.values() if (agent_id is None or r.agent_id == agent_id)
                and (queue is None or r.queue == queue)
                and (within is None or r.queue in within.queues or r.agent_id in within.agents)]
        return sorted(rows, key=lambda r: (r.arrived_at, r.call_id), reverse=True)[:limit]

    async def involves(self, customer_id: str, within: Reach) -> bool:
        return any(r.customer_id == customer_id and (r.queue in within.queues or r.agent_id in within.agents)
                   for r in self.rows.values())

    async def between(self, start: datetime, end: datetime, *,
                      queues: Collection[str] | None = None) -> builtins.list[InteractionRecord]:
        return sorted((r for r in self.rows.values() if r.direction == "inbound" and r.arrived_at < end
                       and (r.ended_at is None or r.ended_at >= start) and (queues is None or r.queue in queues)),
                      key=lambda r: (r.arrived_at, r.call_id))

    async def outbound_between(self, start: datetime, end: datetime, *,
                               queues: Collection[str] | None = None) -> builtins.list[InteractionRecord]:
        return sorted((r for r in self.rows.values() if r.direction == "outbound" and r.arrived_at < end
                       and (r.ended_at is None or r.ended_at >= start) and (queues is None or r.queue in queues)),
                      key=lambda r: (r.arrived_at, r.call_id))

    async def samples(self, queue: str, start: datetime, end: datetime) -> builtins.list[InteractionSample]:
        return [InteractionSample(r.queue, r.arrived_at, r.talk_seconds if r.outcome == "answered" else None)
                for r in await self.between(start, end, queues=[queue]) if start <= r.arrived_at < end]

    async def purge_personal(self, before: datetime, *, at: datetime | None = None,
                             batch: int = 500) -> PurgedInteractions:
        if self.failures:
            self.failures -= 1
            raise Unavailable("the database is away")
        old = [r for r in self.rows.values() if r.redacted_at is None and r.arrived_at < before]
        prompts = [p for r in old for p in (r.ivr or {}).get("prompts", [])]
        for r in old:
            self.rows[r.call_id] = replace(r, caller_number="anonymous", caller_name=None, notes=None,
                                           script_answers=None, follow_up=None, ivr=None,
                                           redacted_at=at or datetime.now(UTC))
        return PurgedInteractions(len(old), tuple(dict.fromkeys(prompts)))


@dataclass
class FakeCustomers:
    customers: dict[str, CustomerRecord] = field(default_factory=dict)
    contacts: list[ContactRecord] = field(default_factory=list)
    orders: dict[str, OrderRecord] = field(default_factory=dict)
    secrets: dict[str, CustomerCredentials] = field(default_factory=dict)
    served: dict[str, tuple[str, str]] = field(default_factory=dict)

    async def customer_by_phone(self, number: str) -> CustomerRecord | None:
        return next((c for c in self.customers.values() if number in c.phones), None)

    async def recent_orders(self, customer_id: str, *, limit: int = 5) -> builtins.list[OrderRecord]:
        mine = [o for o in self.orders.values() if o.customer_id == customer_id]
        return sorted(mine, key=lambda o: (o.placed_at, o.order_number), reverse=True)[:limit]

    async def customer_by_email(self, email: str) -> CustomerRecord | None:
        found = [c for c in self.customers.values()
                 if c.email is not None and c.email.lower() == email.strip().lower() and c.forgotten_at is None]
        return found[0] if len(found) == 1 else None

    async def search_customers(self, query: str, *, limit: int = 20, within: Reach | None = None,
                               also: Collection[str] = ()) -> builtins.list[CustomerRecord]:
        """Names by word prefixes, exact phones and numbers; ``within`` reaches only ``also`` and ``served``
        (customer -> the queue and agent of an interaction with them): the fake holds no interactions."""
        read = read_query(query)
        if read is None:
            return []

        def matches(c: CustomerRecord) -> bool:
            words = fold_name(c.name).split()
            return (c.customer_id == read.customer_id or read.e164 in c.phones
                    or (bool(read.words) and all(any(w.startswith(q) for w in words) for q in read.words)))

        def reached(c: CustomerRecord) -> bool:
            queue, agent = self.served.get(c.customer_id, (None, None))
            return within is None or c.customer_id in also or queue in within.queues or agent in within.agents

        found = [c for c in self.customers.values() if c.forgotten_at is None and matches(c) and reached(c)]
        return sorted(found, key=lambda c: (c.name, c.customer_id))[:limit]

    async def customer_view(self, customer_id: str, *, contacts: int = 5) -> CustomerView | None:
        customer = self.customers.get(customer_id)
        if customer is None:
            return None
        return CustomerView(customer=customer, owned=(), contacts=tuple(
            c for c in self.contacts if c.customer_id == customer_id)[-contacts:] if contacts else (),
            open_orders=(), open_cases=(), unpaid_invoices=())

    async def create_blank_customer(self, caller_number: str | None, *, name: str = "", email: str | None = None,
                                    language: Language = "id") -> CustomerRecord:
        if email is not None and "@" not in email.strip("@"):
            raise CrmInputError("create customer", [Problem("email", f"not an email address: {email!r}")])
        phones = (caller_number,) if caller_number else ()
        for phone in phones:
            owner = await self.customer_by_phone(phone)
            if owner is not None:
                raise Conflict(f"phone {phone} already belongs to customer {owner.customer_id}")
        customer_id = str(10_000_001 + len(self.customers))
        now = datetime(2026, 1, 1, tzinfo=UTC)
        record = CustomerRecord(customer_id=customer_id, name=name, phones=phones, email=email, address=None,
                                city=None, region=None, country=None, language=language, segment=None,
                                value_tier=None, lifetime_value_minor=0, consent=Consent(), forgotten_at=None,
                                created_at=now, updated_at=now)
        self.customers[customer_id] = record
        return record

    async def add_contact(self, contact: NewContact) -> ContactRecord:
        record = ContactRecord(contact_id=len(self.contacts) + 1, customer_id=contact.customer_id,
                               channel=contact.channel, at=contact.at, reason=contact.reason,
                               disposition=contact.disposition, notes=contact.notes, agent_id=contact.agent_id,
                               call_id=contact.call_id, language=contact.language,
                               script_answers=contact.script_answers, cross_sell_offered=contact.cross_sell_offered,
                               cross_sell_accepted=contact.cross_sell_accepted, follow_up_at=contact.follow_up_at,
                               follow_up_task=contact.follow_up_task)
        self.contacts.append(record)
        return record

    async def customer(self, customer_id: str) -> CustomerRecord | None:
        return self.customers.get(customer_id)

    async def set_consent(self, customer_id: str, consent: Consent) -> CustomerRecord:
        record = self.customers[customer_id] = replace(self.customers[customer_id], consent=consent)
        return record

    async def update_customer(self, customer_id: str, fields: CustomerFields) -> CustomerRecord:
        changes = {name: getattr(fields, name) for name in ("name", "email", "address", "city", "language")}
        record = self.customers[customer_id] = replace(self.customers[customer_id], **changes)
        return record

    async def forget(self, customer_id: str) -> ForgottenCustomer:
        customer = self.customers.get(customer_id)
        if customer is None:
            raise Unavailable(f"no customer {customer_id!r}")  # the real store's StorageError is one too
        erased = dict.fromkeys(("customer", "phones", "contacts", "cases", "orders", "interactions"), 0)
        if customer.forgotten_at is None:
            erased.update(customer=1, phones=len(customer.phones))
            customer = self.customers[customer_id] = replace(
                customer, name="", phones=(), email=None, address=None, city=None, consent=Consent(),
                forgotten_at=datetime(2026, 1, 2, tzinfo=UTC))
        theirs = [c for c in self.contacts if c.customer_id == customer_id]
        for index, contact in enumerate(self.contacts):
            if contact in theirs and (contact.notes or contact.script_answers or contact.follow_up_task):
                self.contacts[index] = replace(contact, notes=None, script_answers=None, follow_up_task=None)
                erased["contacts"] += 1
        return ForgottenCustomer(customer=customer, erased=erased,
                                 call_ids=tuple(sorted({c.call_id for c in theirs if c.call_id})), prompts=())

    async def purge_contacts(self, before: datetime) -> int:
        old = [i for i, c in enumerate(self.contacts)
               if c.at < before and (c.notes or c.script_answers or c.follow_up_task)]
        for index in old:
            self.contacts[index] = replace(self.contacts[index], notes=None, script_answers=None, follow_up_task=None)
        return len(old)

    async def order_status(self, order_number: str) -> OrderRecord | None:
        return self.orders.get(order_number)

    async def credentials(self, customer_id: str) -> CustomerCredentials | None:
        customer = self.customers.get(customer_id)
        if customer is None:
            return None
        known = self.secrets.get(customer_id, CustomerCredentials(customer_id=customer_id))
        return replace(known, forgotten=customer.forgotten_at is not None)

    async def set_credentials(self, customer_id: str, *, pin_hash: str | None = None, birth_date: date | None = None,
                              clear: Collection[Literal["pin", "birth_date"]] = ()) -> CustomerCredentials:
        known = await self.credentials(customer_id)
        if known is None or known.forgotten:
            raise Unavailable(f"no customer {customer_id!r}, or their data was erased")
        if pin_hash is not None and not pin_hash.startswith("scrypt$"):
            raise CrmInputError(f"set the PIN of customer {customer_id}",
                                [Problem("pin_hash", "not a hash made by cti.crm.hash_pin")])
        saved = replace(known, pin_hash=pin_hash if pin_hash is not None or "pin" in clear else known.pin_hash,
                        birth_date=birth_date if birth_date is not None or "birth_date" in clear
                        else known.birth_date)
        self.secrets[customer_id] = saved
        return saved

    async def catalog(self, *, include_inactive: bool = False) -> builtins.list[ProductRecord]:
        return []

    async def complements(self) -> builtins.list[ComplementRecord]:
        return []

    async def segment_holdings(self, segment: str, *, consented_only: bool = True) -> builtins.list[HoldingRecord]:
        return []

    async def active_promotions(self, at: datetime, *,
                                segment: str | None = None) -> builtins.list[PromotionRecord]:
        return []


class FakeScripts:
    def __init__(self, scripts: Iterable[Script] = ()) -> None:
        self.scripts = tuple(scripts)

    async def active_scripts(self) -> tuple[Script, ...]:
        return self.scripts

    async def list_scripts(self) -> builtins.list[ScriptSummary]:
        return []

    async def get(self, script_id: str, version: int | None = None) -> ScriptVersion | None:
        return None

    async def versions(self, script_id: str) -> builtins.list[ScriptVersion]:
        return []

    async def save(self, definition: Mapping[str, object], *, author: str, script_id: str | None = None,
                   activate: bool = True) -> ScriptVersion:
        raise NotImplementedError

    async def activate(self, script_id: str, version: int) -> ScriptVersion | None:
        return None

    async def install(self, scripts: Iterable[Script], *, author: str = "cti") -> builtins.list[str]:
        self.scripts = tuple(scripts)
        return [s.id for s in self.scripts]


class FakeFaq:
    """The FAQ store in memory (:class:`cti.persistence.FaqRepository`'s twin)."""

    def __init__(self) -> None:
        self.rows: dict[str, FaqEntry] = {}
        self.history: dict[str, list[FaqVersion]] = {}

    async def create(self, entry_id: str, texts: Mapping[str, FaqText], *, product_line: str | None, author: str,
                     status: FaqStatus = "draft") -> FaqEntry:
        if entry_id in self.rows:
            raise Conflict(f"there is already an FAQ entry {entry_id!r}")
        now = datetime.now(UTC)
        self.rows[entry_id] = FaqEntry(entry_id, status, 1, product_line, dict(texts), author, now, now)
        self.history[entry_id] = [FaqVersion(entry_id, 1, product_line, dict(texts), author, now)]
        return self.rows[entry_id]

    async def edit(self, entry_id: str, texts: Mapping[str, FaqText], *, product_line: str | None,
                   author: str) -> FaqEntry | None:
        entry = self.rows.get(entry_id)
        if entry is None:
            return None
        now = datetime.now(UTC)
        self.history[entry_id].append(FaqVersion(entry_id, entry.version + 1, product_line, dict(texts), author, now))
        self.rows[entry_id] = replace(entry, version=entry.version + 1, product_line=product_line, texts=dict(texts),
                                      author=author, updated_at=now)
        return self.rows[entry_id]

    async def set_status(self, entry_id: str, status: FaqStatus) -> FaqEntry | None:
        if entry_id not in self.rows:
            return None
        self.rows[entry_id] = replace(self.rows[entry_id], status=status)
        return self.rows[entry_id]

    async def delete(self, entry_id: str) -> bool:
        self.history.pop(entry_id, None)
        return self.rows.pop(entry_id, None) is not None

    async def get(self, entry_id: str) -> FaqEntry | None:
        return self.rows.get(entry_id)

    async def entries(self, *, status: FaqStatus | None = None,
                      product_line: str | None = None) -> builtins.list[FaqEntry]:
        return [e for _, e in sorted(self.rows.items()) if status in (None, e.status)
                and product_line in (None, e.product_line)]

    async def versions(self, entry_id: str) -> builtins.list[FaqVersion]:
        return list(self.history.get(entry_id, []))

    async def count_feedback(self, entry_id: str, *, helpful: bool) -> bool:
        entry = self.rows.get(entry_id)
        if entry is None or entry.status != "published":
            return False
        self.rows[entry_id] = replace(entry, helpful=entry.helpful + int(helpful),
                                      not_helpful=entry.not_helpful + int(not helpful))
        return True


class FakeSchedules:
    def __init__(self, stored: Iterable[StoredSchedule] = ()) -> None:
        self.stored = {s.summary.schedule_id: s for s in stored}

    async def save_schedule(self, name: str, schedule: Schedule) -> StoredSchedule:
        raise NotImplementedError

    async def get_schedule(self, schedule_id: int) -> StoredSchedule | None:
        return self.stored.get(schedule_id)

    async def get_schedules(self, schedule_ids: Sequence[int]) -> builtins.list[StoredSchedule]:
        return [self.stored[i] for i in schedule_ids if i in self.stored]

    async def list_schedules(self, *, overlapping: tuple[datetime, datetime] | None = None, limit: int = 100,
                             offset: int = 0) -> builtins.list[ScheduleSummary]:
        rows = sorted(self.stored.values(), key=lambda s: s.summary.schedule_id, reverse=True)
        return [s.summary for s in rows][offset:offset + limit]

    async def current_schedule(self, start: datetime, end: datetime) -> StoredSchedule | None:
        return next(iter(self.stored.values()), None)


class FakeLive:
    """Redis: what was saved, in order; ``down`` makes every write fail softly, as the real store does."""

    def __init__(self) -> None:
        self.dirty = False
        self.write_failures = 0
        self.down = False
        self.agents: dict[str, Agent] = {}
        self.calls: dict[str, WorkItem] = {}
        self.sight: datetime | None = None
        self.rewrites = 0

    async def load(self) -> tuple[list[Agent], list[WorkItem]]:
        if self.down:
            raise Unavailable("Redis is away")
        return list(self.agents.values()), list(self.calls.values())

    async def save(self, agents: Iterable[Agent] = (), calls: Iterable[WorkItem] = ()) -> bool:
        if self.down:
            self.dirty, self.write_failures = True, self.write_failures + 1
            return False
        self.agents.update((a.agent_id, a) for a in agents)
        for call in calls:
            if call.state is WorkState.ENDED:
                self.calls.pop(call.call_id, None)
            else:
                self.calls[call.call_id] = call
        return True

    async def resync(self, agents: Iterable[Agent], calls: Iterable[WorkItem]) -> bool:
        if self.down:
            self.dirty = True
            return False
        self.rewrites += 1
        self.agents = {a.agent_id: a for a in agents}
        self.calls = {c.call_id: c for c in calls if c.state is not WorkState.ENDED}
        self.dirty = False
        return True

    async def save_sight(self, at: datetime) -> bool:
        if self.down:
            return False
        self.sight = at
        return True

    async def load_sight(self) -> datetime | None:
        return self.sight

    async def ping(self) -> bool:
        return not self.down


class FakePhones:
    def __init__(self, *extensions: str) -> None:
        self.extensions = set(extensions)

    async def endpoint_exists(self, extension: str) -> bool:
        return extension in self.extensions


@dataclass
class _Monitor:
    monitor_id: str
    call_id: str
    mode: str
    extension: str
    supervisor: str
    answered: bool = False


class FakeSupervision:
    def __init__(self) -> None:
        self.active: dict[str, _Monitor] = {}

    async def start_monitor(self, call_id: str, mode: str, extension: str, supervisor: str) -> _Monitor:
        monitor = self.active[f"{call_id}-s1"] = _Monitor(f"{call_id}-s1", call_id, mode, extension, supervisor)
        return monitor

    async def stop_monitor(self, monitor_id: str) -> bool:
        return self.active.pop(monitor_id, None) is not None

    def monitor(self, monitor_id: str) -> _Monitor | None:
        return self.active.get(monitor_id)

    def active_monitors(self) -> builtins.list[_Monitor]:
        return builtins.list(self.active.values())


class FakeAuditLog:
    """The audit log: entries in order; ``failures`` makes the next appends fail as if the database were away."""

    def __init__(self) -> None:
        self.entries: builtins.list[AuditRecord] = []
        self.failures = 0

    async def append(self, entries: builtins.list[AuditRecord]) -> None:
        if self.failures:
            self.failures -= 1
            raise Unavailable("the database is away")
        self.entries.extend(replace(e, audit_id=len(self.entries) + i + 1) for i, e in enumerate(entries))

    async def search(self, *, actor: str | None = None, action: str | None = None,
                     subject_type: str | None = None, subject_id: str | None = None,
                     since: datetime | None = None, until: datetime | None = None,
                     before_id: int | None = None, limit: int = 100) -> builtins.list[AuditRecord]:
        found = [e for e in reversed(self.entries)
                 if (actor is None or e.actor == actor) and (action is None or e.action == action)
                 and (subject_type is None or e.subject_type == subject_type)
                 and (subject_id is None or e.subject_id == subject_id)
                 and (since is None or e.at >= since) and (until is None or e.at < until)
                 and (before_id is None or e.audit_id < before_id)]
        return found[:limit]


class FakePublisher:
    """The websocket hub: what was published, per topic."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, str, Any]] = []

    def publish(self, name: str, type_: str, data: Any) -> object:
        self.frames.append((name, type_, data))
        return None

    def publish_json(self, name: str, type_: str, data_json: str) -> object:
        self.frames.append((name, type_, data_json))
        return None

    def subscribers(self, name: str) -> int:
        return 0

    def of(self, topic: str, type_: str | None = None) -> list[Any]:
        return [data for name, kind, data in self.frames if name == topic and type_ in (None, kind)]


class Recorder:
    """A handler that keeps every command it is given (with the distributor it came through)."""

    def __init__(self) -> None:
        self.commands: list[Any] = []

    def __call__(self, command: Any, distributor: Any) -> None:
        self.commands.append(command)

    def of(self, kind: type[Any]) -> list[Any]:
        return [c for c in self.commands if isinstance(c, kind)]


def distributor(core: ContactCenter | None = None, *, now: datetime, table: Mapping[HandlerKey, Sequence[Any]]
                | None = None) -> Distributor:
    """A distributor on a core (a new one by default) with a fixed clock and the given handler table."""
    return Distributor(core or ContactCenter(), lambda: now, CommandBus(table or {}))


class FakeDeadLetters:
    def __init__(self) -> None:
        self.letters: dict[int, DeadLetterRecord] = {}
        self.down = False  # adding fails as if the database were away

    async def add(self, kind: str, key: str, payload: Mapping[str, Any], error: str) -> int:
        if self.down:
            raise Unavailable("the database is away")
        letter_id = len(self.letters) + 1
        self.letters[letter_id] = DeadLetterRecord(letter_id=letter_id, kind=kind, key=key, payload=dict(payload),
                                                   error=error, at=datetime.now(UTC))
        return letter_id

    async def get(self, letter_id: int) -> DeadLetterRecord | None:
        return self.letters.get(letter_id)

    async def list(self, *, kind: str | None = None, key: str | None = None,
                   limit: int = 100) -> builtins.list[DeadLetterRecord]:
        return [letter for _, letter in sorted(self.letters.items())
                if kind in (None, letter.kind) and key in (None, letter.key)][:limit]

    async def delete(self, letter_id: int) -> bool:
        return self.letters.pop(letter_id, None) is not None


class FakeDoNotCall:
    """The do-not-call list: E.164 numbers by entry id."""

    def __init__(self) -> None:
        self.entries: dict[int, DoNotCallEntry] = {}

    async def contains(self, number: str) -> bool:
        return any(e.number == number for e in self.entries.values())

    async def list(self, *, limit: int = 1000) -> builtins.list[DoNotCallEntry]:
        return sorted(self.entries.values(), key=lambda e: -e.entry_id)[:limit]

    async def add(self, number: str, *, reason: str | None, added_by: str) -> DoNotCallEntry:
        if await self.contains(number):
            raise Conflict("the number is on the do-not-call list already")
        entry = DoNotCallEntry(entry_id=len(self.entries) + 1, number=number, reason=reason, added_by=added_by,
                               added_at=datetime(2026, 1, 1, tzinfo=UTC))
        self.entries[entry.entry_id] = entry
        return entry

    async def remove(self, entry_id: int) -> DoNotCallEntry | None:
        return self.entries.pop(entry_id, None)


class FakeCallbacks:
    """Scheduled callbacks by id."""

    def __init__(self) -> None:
        self.callbacks: dict[str, ScheduledCallback] = {}

    async def save(self, callback: ScheduledCallback) -> None:
        self.callbacks[callback.callback_id] = callback

    async def get(self, callback_id: str) -> ScheduledCallback | None:
        return self.callbacks.get(callback_id)

    async def due(self, now: datetime, *, limit: int = 100) -> builtins.list[ScheduledCallback]:
        due = [c for c in self.callbacks.values() if c.status is CallbackStatus.SCHEDULED and c.due_at <= now]
        return sorted(due, key=lambda c: (c.due_at, c.callback_id))[:limit]

    async def in_progress(self) -> builtins.list[ScheduledCallback]:
        return [c for c in self.callbacks.values() if c.status in (CallbackStatus.PREVIEWING, CallbackStatus.DIALING)]

    async def list(self, *, within: Reach | None = None, statuses: Collection[str] | None = None,
                   limit: int = 100) -> builtins.list[ScheduledCallback]:
        found = [c for c in self.callbacks.values()
                 if (within is None or c.queue in within.queues or c.agent_id in within.agents)
                 and (not statuses or c.status.value in statuses)]
        return sorted(found, key=lambda c: (c.due_at, c.callback_id), reverse=True)[:limit]

    async def finished_between(self, start: datetime, end: datetime, *,
                               queues: Collection[str] | None = None) -> builtins.list[ScheduledCallback]:
        return [c for c in self.callbacks.values()
                if c.status in (CallbackStatus.COMPLETED, CallbackStatus.FAILED) and c.attempts
                and start <= c.attempts[-1].at < end and (queues is None or c.queue in queues)]

    async def of_customer(self, customer_id: str, *, created_by: str,
                          limit: int = 20) -> builtins.list[ScheduledCallback]:
        found = [c for c in self.callbacks.values() if c.customer_id == customer_id and c.created_by == created_by]
        return sorted(found, key=lambda c: (c.created_at or c.due_at, c.callback_id), reverse=True)[:limit]

class FakeChatLog:
    """The live chats' log (Redis streams): sessions and messages in memory; ``away`` makes it refuse as Redis
    would when it cannot be reached."""

    def __init__(self) -> None:
        self.kept: dict[str, ChatSession] = {}
        self.messages: dict[str, list[ChatMessage]] = {}
        self.away = False
        self._n = 0

    def _check(self) -> None:
        if self.away:
            raise Unavailable("Redis is away")

    async def save_session(self, session: ChatSession) -> None:
        self._check()
        self.kept[session.chat_id] = session

    async def sessions(self) -> builtins.list[ChatSession]:
        self._check()
        return list(self.kept.values())

    async def append(self, chat_id: str, message: NewMessage) -> ChatMessage:
        self._check()
        self._n += 1
        kept = ChatMessage.kept(f"1700000000000-{self._n}", message)
        self.messages.setdefault(chat_id, []).append(kept)
        return kept

    async def after(self, chat_id: str, after: str | None = None, *,
                    limit: int = 1000) -> builtins.list[ChatMessage]:
        self._check()
        kept = self.messages.get(chat_id, [])
        if after is not None:
            kept = [m for m in kept if message_order(m.message_id) > message_order(after)]
        return kept[:limit]

    async def drop(self, chat_id: str) -> None:
        self._check()
        self.kept.pop(chat_id, None)
        self.messages.pop(chat_id, None)


class FakeTranscripts:
    def __init__(self) -> None:
        self.stored: dict[str, list[ChatMessage]] = {}

    async def save(self, call_id: str, messages: Sequence[ChatMessage]) -> None:
        self.stored[call_id] = list(messages)

    async def transcript(self, call_id: str) -> builtins.list[ChatMessage]:
        return list(self.stored.get(call_id, []))
