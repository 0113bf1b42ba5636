"""Token lifecycle on the in-memory users (fast): expiry, rotation, disabling and deletion in Accounts; the
throttle of failed attempts; websocket tickets. The same through the real app and database is in
tests/integration/test_tokens_api.py and tests/pages/test_tokens.py."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from cti.errors import Conflict, NotFound
from cti.persistence import StorageError
from cti.records import UserRecord
from cti.services import Accounts
from cti.web import FailureThrottle, Hub, Sessions
from cti.web._sessions import MAX_TICKETS, TICKETS_PER_USER, Refused
from tests.unit.fakes import FakeAgents, FakeUsers

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def accounts(clock: Clock, ttl: timedelta = timedelta(days=30)) -> tuple[Accounts, FakeUsers]:
    users = FakeUsers()
    return Accounts(users, FakeAgents(), clock=clock, token_ttl=ttl), users


async def test_issued_tokens_expire_after_the_lifetime_and_the_configured_admin_token_does_not() -> None:
    clock = Clock()
    service, _ = accounts(clock, timedelta(days=7))
    await service.ensure_admin("configured-token")
    user, token = await service.create_user("sue", "supervisor")
    assert user.token_expires_at == T0 + timedelta(days=7)
    found = await service.user_for_token(token)
    admin = await service.user_for_token("configured-token")
    assert found is not None and admin is not None and admin.token_expires_at is None
    clock.advance(days=7, seconds=-1)
    assert not service.expired(found)
    clock.advance(seconds=1)
    assert service.expired(found)
    clock.advance(days=3650)
    assert not service.expired(admin)


async def test_tokens_from_before_expiry_get_the_lifetime_from_the_next_start() -> None:
    clock = Clock()
    service, users = accounts(clock)
    await users.ensure_user_token("old", "agent", "token-of-old")  # as rows from before revision 0010
    await service.ensure_admin("configured-token")
    assert await service.bound_token_lifetimes() == 1
    assert users.users["old"].token_expires_at == T0 + timedelta(days=30)
    assert users.users["admin"].token_expires_at is None


async def test_rotation_disabling_and_deletion_each_refuse_the_held_token_with_their_reason() -> None:
    clock = Clock()
    service, _ = accounts(clock)
    held, token = await service.create_user("sue", "supervisor")
    assert service.refusal(held, held) is None
    rotated, new = await service.rotate_token("sue")
    assert new != token and await service.user_for_token(token) is None
    assert await service.user_for_token(new) == rotated
    assert service.refusal(held, rotated) == "token rotated"
    assert service.refusal(rotated, rotated) is None
    disabled = await service.set_disabled("sue", True)
    assert service.refusal(rotated, disabled) == "user disabled"
    assert await service.user_for_token(new) is None
    enabled = await service.set_disabled("sue", False)
    assert await service.user_for_token(new) == enabled
    clock.advance(days=31)
    assert service.refusal(rotated, enabled) == "token expired"
    await service.delete_user("sue")
    assert service.refusal(rotated, None) == "user deleted"
    assert await service.user_for_token(new) is None


async def test_an_admin_cannot_disable_or_delete_themself_and_unknown_users_are_not_found() -> None:
    service, _ = accounts(Clock())
    root, _ = await service.create_user("root", "admin")
    with pytest.raises(Conflict, match="cannot disable your own user"):
        await service.set_disabled("root", True, by=root)
    with pytest.raises(Conflict, match="cannot delete your own user"):
        await service.delete_user("root", by=root)
    for action in (service.rotate_token("ghost"), service.set_disabled("ghost", True), service.delete_user("ghost")):
        with pytest.raises(NotFound, match="no user 'ghost'"):
            await action


def test_the_throttle_locks_an_address_out_after_the_limit_within_the_window() -> None:
    clock = Clock()
    throttle = FailureThrottle(clock, limit=3, window=timedelta(minutes=1), lockout=timedelta(minutes=2))
    throttle.failed("10.0.0.1")
    clock.advance(seconds=61)  # out of the window: forgotten
    throttle.failed("10.0.0.1")
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") is None
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 120
    assert throttle.retry_after("10.0.0.2") is None  # per address
    clock.advance(seconds=119.5)
    assert throttle.retry_after("10.0.0.1") == 1
    clock.advance(seconds=0.5)
    assert throttle.retry_after("10.0.0.1") is None
    throttle.failed("10.0.0.1")  # a fresh count after the lockout
    assert throttle.retry_after("10.0.0.1") is None


def test_the_throttle_remembers_a_bounded_number_of_addresses() -> None:
    clock = Clock()
    throttle = FailureThrottle(clock, limit=2, max_clients=100)
    throttle.failed("attacker")
    throttle.failed("attacker")
    for n in range(99):
        throttle.failed(f"10.0.{n // 250}.{n % 250}")
    assert len(throttle) == 100 and throttle.retry_after("attacker") == 60
    throttle.failed("one-more")
    assert len(throttle) == 100
    assert throttle.retry_after("attacker") is None  # the quietest went first
    clock.advance(minutes=2)
    throttle.forget_idle()
    assert len(throttle) == 0


async def test_a_ticket_is_bound_to_its_user_spent_once_and_expires() -> None:
    clock = Clock()
    service, _ = accounts(clock)
    sessions = Sessions(service, Hub(), clock=clock)
    sue, _ = await service.create_user("sue", "supervisor")
    ticket = sessions.issue_ticket(sue)
    assert len(ticket) >= 32
    assert sessions.redeem_ticket(ticket) == sue
    with pytest.raises(Refused, match="invalid or expired ticket") as spent:
        sessions.redeem_ticket(ticket)
    assert spent.value.counted
    late = sessions.issue_ticket(sue)
    clock.advance(seconds=30)
    with pytest.raises(Refused, match="invalid or expired ticket") as expired:
        sessions.redeem_ticket(late)
    assert not expired.value.counted  # a real ticket, only late: not a guess
    voided = sessions.issue_ticket(sue)
    sessions.forget("sue")
    with pytest.raises(Refused):
        sessions.redeem_ticket(voided)


async def test_outstanding_tickets_are_bounded_per_user_and_in_all() -> None:
    clock = Clock()
    service, _ = accounts(clock)
    sessions = Sessions(service, Hub(), clock=clock)
    sue, _ = await service.create_user("sue", "supervisor")
    tickets = [sessions.issue_ticket(sue) for _ in range(TICKETS_PER_USER + 1)]
    with pytest.raises(Refused):
        sessions.redeem_ticket(tickets[0])  # the oldest made room
    assert sessions.redeem_ticket(tickets[-1]) == sue
    others = [replace(sue, name=f"user{n}") for n in range(MAX_TICKETS // TICKETS_PER_USER + 2)]
    for user in others:
        for _ in range(TICKETS_PER_USER):
            sessions.issue_ticket(user)
    assert sessions.outstanding_tickets() == MAX_TICKETS


async def test_a_cached_token_is_refused_once_it_expires_and_forgotten_on_revocation() -> None:
    clock = Clock()
    service, users = accounts(clock)
    sessions = Sessions(service, Hub(), clock=clock)
    sue, token = await service.create_user("sue", "supervisor")
    assert await sessions.authenticate(token) == sue
    await users.set_user_disabled("sue")  # behind the cache's back, as another process would
    assert await sessions.authenticate(token) == sue  # still cached ...
    assert await sessions.revoke("sue", "user disabled") == 0
    with pytest.raises(Refused, match="invalid or disabled token") as refused:
        await sessions.authenticate(token)  # ... until revoked here
    assert refused.value.counted
    await users.set_user_disabled("sue", False)
    assert await sessions.authenticate(token) == sue
    clock.advance(days=30)
    with pytest.raises(Refused, match="token expired") as expired:
        await sessions.authenticate(token)
    assert not expired.value.counted


async def test_requests_that_need_the_same_token_at_once_share_one_look_up_and_its_error() -> None:
    clock = Clock()
    service, users = accounts(clock)
    sessions = Sessions(service, Hub(), clock=clock)
    ana, token = await service.create_user("ana", "agent")
    gate, reads = asyncio.Event(), []
    original = users.user_for_token

    async def slow(found: str) -> UserRecord | None:
        reads.append(found)
        await gate.wait()  # the database is slow: every request arrives while the first read runs
        return await original(found)

    users.user_for_token = slow  # type: ignore[method-assign]
    waiting = [asyncio.create_task(sessions.authenticate(token)) for _ in range(20)]
    await asyncio.sleep(0)
    waiting[0].cancel()  # one client goes: the others still get their answer
    gate.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert len(reads) == 1 and all(r == ana for r in results[1:]) and isinstance(results[0], asyncio.CancelledError)

    async def away(found: str) -> UserRecord | None:
        reads.append(found)
        await asyncio.sleep(0)
        raise StorageError("cannot read the users: the database is away")

    users.user_for_token = away  # type: ignore[method-assign]
    _, other = await service.create_user("budi", "agent")
    failed = await asyncio.gather(*(sessions.authenticate(other) for _ in range(5)), return_exceptions=True)
    assert len(reads) == 2 and all(isinstance(f, StorageError) for f in failed)
