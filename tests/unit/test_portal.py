"""The portal's sign-in codes and sessions, on in-memory twins: addresses read, codes random, hashed, single-use,
expiring and spent by too many wrong entries; unknown addresses get nothing sent; sessions end idle, at their
lifetime, at sign-out and when the customer is forgotten; the per-address and per-client throttles."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from cti.services import AuditTrail, PortalSignIn, read_address
from cti.services._portal import SIGNED_IN
from cti.types import Language
from cti.web import PortalThrottles
from tests.unit.fakes import FakeAuditLog, FakeCustomers, FakePortalStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Outbox:
    sent: list[tuple[str, str, Language]] = field(default_factory=list)

    async def send_code(self, to: str, code: str, *, language: Language, minutes: int) -> None:
        self.sent.append((to, code, language))


@dataclass
class Portal:
    service: PortalSignIn
    clock: Clock
    mail: Outbox
    sms: Outbox
    store: FakePortalStore
    customers: FakeCustomers
    audit: FakeAuditLog

    async def code(self, text: str) -> str:
        address = read_address(text)
        assert address is not None
        sent = len(self.mail.sent) + len(self.sms.sent)
        assert await self.service.request_code(address)
        await self.service.close()  # the background send is done
        assert len(self.mail.sent) + len(self.sms.sent) == sent + 1
        return self.mail.sent[-1][1] if address.kind == "email" else self.sms.sent[-1][1]


@pytest.fixture
async def portal() -> Portal:
    customers = FakeCustomers()
    siti = await customers.create_blank_customer("+6285730000002", name="Siti Rahayu", email="Siti@Example.com")
    assert siti.customer_id == "10000001"
    clock, mail, sms, store, log = Clock(), Outbox(), Outbox(), FakePortalStore(), FakeAuditLog()
    service = PortalSignIn(customers, store, AuditTrail(log, clock), sms=sms, mailer=mail, clock=clock)
    return Portal(service, clock, mail, sms, store, customers, log)


def test_addresses_are_read_in_one_canonical_form() -> None:
    assert read_address(" Siti@Example.COM ") == read_address("siti@example.com")
    assert read_address("0857-3000-0002") == read_address("+62 857 3000 0002")
    assert read_address("0857-3000-0002").value == "+6285730000002"  # type: ignore[union-attr]
    for text in ("hello", "@example.com", "a@b", "a b@example.com", "siti\x00@example.com", ""):
        assert read_address(text) is None, text
    email, phone = read_address("siti@example.com"), read_address("+6285730000002")
    assert email is not None and phone is not None and email.key != phone.key and len(email.key) == 64
    assert (email.masked(), phone.masked()) == ("si***@example.com", "+62857***")


async def test_a_code_is_six_digits_kept_only_as_a_salted_hash_and_opens_one_session(portal: Portal) -> None:
    code = await portal.code("siti@example.com")
    assert len(code) == 6 and code.isdigit()
    address = read_address("siti@example.com")
    assert address is not None
    [held] = portal.store.codes.values()
    assert code not in repr(held) and held.expires_at == T0 + timedelta(minutes=10)
    new = await portal.service.sign_in(address, f" {code} ", source="test")
    assert new is not None and new.customer.name == "Siti Rahayu" and new.session_id not in repr(new)
    assert portal.store.codes == {}  # spent
    assert await portal.service.sign_in(address, code, source="test") is None  # single use
    found = await portal.service.session(new.session_id)
    assert found is not None and found[1].customer_id == "10000001"
    assert [k.key for k in portal.store.sessions.values()] == [new.record.key] and new.session_id not in str(
        portal.store.sessions)
    assert PortalSignIn.csrf_matches(new.record, new.csrf_token) and not PortalSignIn.csrf_matches(new.record, None)
    assert [(c.channel, c.reason) for c in portal.customers.contacts] == [("web", SIGNED_IN)]


async def test_unknown_and_forgotten_addresses_get_nothing_sent(portal: Portal) -> None:
    for text in ("nobody@example.com", "+6281100000000"):
        address = read_address(text)
        assert address is not None and not await portal.service.request_code(address)
    portal.customers.customers["10000001"] = replace(portal.customers.customers["10000001"], forgotten_at=T0)
    address = read_address("+6285730000002")
    assert address is not None and not await portal.service.request_code(address)
    assert portal.mail.sent == portal.sms.sent == [] and portal.store.codes == {}


async def test_e_mail_addresses_get_no_code_without_a_mail_server(portal: Portal) -> None:
    service = PortalSignIn(portal.customers, portal.store, AuditTrail(portal.audit, portal.clock), sms=portal.sms)
    address = read_address("siti@example.com")
    assert address is not None and not await service.request_code(address)
    assert await portal.code("0857 3000 0002")  # a phone number goes through the SMS sender
    assert portal.sms.sent[0][0] == "+6285730000002"


async def test_a_code_expires_and_too_many_wrong_entries_spend_it(portal: Portal) -> None:
    address = read_address("siti@example.com")
    assert address is not None
    code = await portal.code("siti@example.com")
    portal.clock.now += timedelta(minutes=10)
    assert await portal.service.sign_in(address, code, source="test") is None
    code = await portal.code("siti@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        assert await portal.service.sign_in(address, wrong, source="test") is None
    assert await portal.service.sign_in(address, "12345x", source="test") is None  # the fifth: spent
    assert portal.store.codes == {}
    assert await portal.service.sign_in(address, code, source="test") is None
    old = await portal.code("siti@example.com")
    new = await portal.code("siti@example.com")  # a new code replaces the old one (one live code per address)
    assert len(portal.store.codes) == 1
    assert old == new or await portal.service.sign_in(address, old, source="test") is None  # 1 in 10^6 alike
    assert await portal.service.sign_in(address, new, source="test") is not None


async def test_sessions_end_idle_at_their_lifetime_at_sign_out_and_with_the_customer(portal: Portal) -> None:
    address = read_address("siti@example.com")
    assert address is not None

    async def session() -> str:
        new = await portal.service.sign_in(address, await portal.code("siti@example.com"), source="test")
        assert new is not None
        return new.session_id

    idle = await session()
    portal.clock.now += timedelta(minutes=29)
    assert await portal.service.session(idle) is not None
    portal.clock.now += timedelta(minutes=30)
    assert await portal.service.session(idle) is None
    busy = await session()
    for _ in range(12 * 4):
        portal.clock.now += timedelta(minutes=15)
        alive = await portal.service.session(busy)
    assert alive is None  # 12 hours, however busy
    out = await session()
    assert await portal.service.sign_out(out) and await portal.service.session(out) is None
    gone = await session()
    portal.customers.customers["10000001"] = replace(portal.customers.customers["10000001"], forgotten_at=T0)
    assert await portal.service.session(gone) is None


def test_the_throttles_count_per_address_and_per_client() -> None:
    clock = Clock()
    throttles = PortalThrottles.default(clock)
    for _ in range(10):
        assert throttles.retry_after("10.0.0.1", "a" * 64) is None
        throttles.count("10.0.0.1", "a" * 64)
    assert throttles.retry_after("10.0.0.1", "a" * 64) == 900
    assert throttles.retry_after("10.0.0.2", "a" * 64) == 900  # the address, from anywhere
    assert throttles.retry_after("10.0.0.1", "b" * 64) is None  # the client, for another address
    for n in range(20):
        throttles.count("10.0.0.1", f"{n:064d}")
    assert throttles.retry_after("10.0.0.1", None) == 900
    clock.now += timedelta(minutes=15)
    assert throttles.retry_after("10.0.0.1", "a" * 64) is None
