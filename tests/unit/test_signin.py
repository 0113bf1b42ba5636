"""Signing in, on the fakes: argon2id hashes and their rules, rehashing when the parameters change, the same refusal
for every wrong name or password, session expiry (idle and absolute), the CSRF rule, passwords ending sessions,
and the web layer's per-name throttle."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from cti.errors import InvalidInput, NotFound
from cti.records import AgentRecord
from cti.services import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    Accounts,
    Passwords,
    SignIn,
    WrongPassword,
    password_problems,
    session_key,
)
from cti.web import Hub, Sessions, Throttled
from cti.web._sessions import Refused
from tests.unit.fakes import FakeAgents, FakeUsers, FakeWebSessions

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHEAP = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
PASSWORD = "kopi susu 2026!"


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Floor:
    users: FakeUsers
    sessions: FakeWebSessions
    sign_in: SignIn
    clock: Clock


@pytest.fixture
async def floor() -> Floor:
    users, agents, clock = FakeUsers(), FakeAgents(), Clock()
    await agents.upsert(AgentRecord("ana", "Ana Wijaya"))
    await users.create_user("ana", "agent", "ana")
    await users.create_user("sue", "supervisor")
    sessions = FakeWebSessions(users)
    sign_in = SignIn(users, sessions, agents, passwords=CHEAP, clock=clock)
    await sign_in.set_password("ana", PASSWORD)
    return Floor(users, sessions, sign_in, clock)


# -- passwords --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("password", "ok"), [
    ("x" * (MIN_PASSWORD - 1), False), ("x" * MIN_PASSWORD, True), ("x" * MAX_PASSWORD, True),
    ("x" * (MAX_PASSWORD + 1), False), (" " * 12, False), ("  spaces around  ", True), ("kata sandi ✓ ünïcode", True),
])
def test_the_rules_of_a_password(password: str, ok: bool) -> None:
    assert (password_problems(password) == ()) is ok


def test_a_password_is_kept_only_as_an_argon2id_hash() -> None:
    stored = CHEAP.hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$") and PASSWORD not in stored
    assert CHEAP.hash(PASSWORD) != stored  # salted
    assert CHEAP.verify(stored, PASSWORD) == (True, False)
    assert CHEAP.verify(stored, PASSWORD + " ") == (False, False)
    assert CHEAP.verify(None, PASSWORD) == (False, False)
    assert CHEAP.verify("not a hash", PASSWORD) == (False, False)
    assert CHEAP.verify(stored, "x" * (MAX_PASSWORD + 1)) == (False, False)
    with pytest.raises(InvalidInput, match="password: must be 10 to 256 characters"):
        CHEAP.hash("short")


def test_a_hash_made_with_other_parameters_still_verifies_and_asks_to_be_made_again() -> None:
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    assert stronger.verify(CHEAP.hash(PASSWORD), PASSWORD) == (True, True)


async def test_signing_in_with_an_older_hash_stores_a_new_one(floor: Floor) -> None:
    old = floor.users.password_hashes["ana"]
    stronger = SignIn(floor.users, floor.sessions, FakeAgents(), clock=floor.clock,
                      passwords=Passwords(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)))
    assert await stronger.sign_in("ana", PASSWORD) is not None
    new = floor.users.password_hashes["ana"]
    assert new != old and "m=16,t=2,p=1" in new
    assert await floor.sign_in.sign_in("ana", PASSWORD) is not None  # the new hash still works for everyone


# -- signing in -------------------------------------------------------------------------------------------------
async def test_a_session_is_kept_as_hashes_only_and_its_secrets_never_shown(floor: Floor) -> None:
    new = await floor.sign_in.sign_in("ana", PASSWORD)
    assert new is not None and new.user.name == "ana"
    assert len(new.session_id) >= 43 and len(new.csrf_token) >= 43 and new.session_id != new.csrf_token
    [(name, record)] = floor.sessions.sessions.values()
    assert name == "ana" and record.key == hashlib.sha256(new.session_id.encode()).hexdigest()
    assert record.csrf_hash == session_key(new.csrf_token)
    assert (record.created_at, record.last_seen_at, record.expires_at) == (T0, T0, T0 + timedelta(hours=12))
    for secret in (new.session_id, new.csrf_token):
        assert secret not in repr(new) and secret not in repr(record)


@pytest.mark.parametrize(("name", "password"), [
    ("ana", "not the password"), ("ana", PASSWORD.upper()), ("ghost", PASSWORD), ("sue", PASSWORD), ("ana", ""),
    ("ana\x00", PASSWORD), ("", PASSWORD),
])
async def test_every_wrong_name_or_password_is_refused_alike(floor: Floor, name: str, password: str) -> None:
    assert await floor.sign_in.sign_in(name, password) is None
    assert floor.sessions.sessions == {}


async def test_a_disabled_user_cannot_sign_in_and_their_sessions_stop(floor: Floor) -> None:
    new = await floor.sign_in.sign_in("ana", PASSWORD)
    assert new is not None
    await floor.users.set_user_disabled("ana")
    assert await floor.sign_in.sign_in("ana", PASSWORD) is None
    assert await floor.sign_in.session(new.session_id) is None


async def test_a_session_ends_when_idle_or_at_the_end_of_its_lifetime(floor: Floor) -> None:
    new = await floor.sign_in.sign_in("ana", PASSWORD)
    assert new is not None
    for hours in (7, 4):  # used every few hours: on, and the use is remembered
        floor.clock.advance(hours=hours)
        found = await floor.sign_in.session(new.session_id)
        assert found is not None and not floor.sign_in.expired(found[0])
        assert found[0].last_seen_at == floor.clock.now
    floor.clock.advance(hours=1)
    found = await floor.sign_in.session(new.session_id)
    assert found is not None and floor.sign_in.expired(found[0])  # 12 h: the lifetime, however busy

    idle = await floor.sign_in.sign_in("ana", PASSWORD)
    assert idle is not None
    floor.clock.advance(hours=8, seconds=-1)
    assert not floor.sign_in.expired(floor.sessions.sessions[idle.record.key][1])
    floor.clock.advance(seconds=1)
    assert floor.sign_in.expired(floor.sessions.sessions[idle.record.key][1])
    assert await floor.sign_in.purge() == 2 and floor.sessions.sessions == {}


async def test_a_use_is_written_at_most_once_a_minute(floor: Floor) -> None:
    new = await floor.sign_in.sign_in("ana", PASSWORD)
    assert new is not None
    floor.clock.advance(seconds=59)
    await floor.sign_in.session(new.session_id)
    assert floor.sessions.sessions[new.record.key][1].last_seen_at == T0
    floor.clock.advance(seconds=1)
    await floor.sign_in.session(new.session_id)
    assert floor.sessions.sessions[new.record.key][1].last_seen_at == T0 + timedelta(minutes=1)


async def test_the_csrf_token_must_be_the_sessions_own(floor: Floor) -> None:
    new, other = await floor.sign_in.sign_in("ana", PASSWORD), await floor.sign_in.sign_in("ana", PASSWORD)
    assert new is not None and other is not None
    assert SignIn.csrf_matches(new.record, new.csrf_token)
    for wrong in (None, "", other.csrf_token, new.session_id, new.record.csrf_hash):
        assert not SignIn.csrf_matches(new.record, wrong)


# -- passwords set and changed ----------------------------------------------------------------------------------
async def test_setting_a_password_ends_the_users_other_sessions(floor: Floor) -> None:
    mine, elsewhere = await floor.sign_in.sign_in("ana", PASSWORD), await floor.sign_in.sign_in("ana", PASSWORD)
    assert mine is not None and elsewhere is not None
    await floor.sign_in.change_password(mine.user, PASSWORD, "a brand new one", keep=mine.record)
    assert await floor.sign_in.session(mine.session_id) is not None
    assert await floor.sign_in.session(elsewhere.session_id) is None
    assert await floor.sign_in.sign_in("ana", PASSWORD) is None
    assert await floor.sign_in.sign_in("ana", "a brand new one") is not None
    await floor.sign_in.set_password("ana", "set by the admin")  # no session kept
    assert [name for name, _ in floor.sessions.sessions.values()] == []


async def test_changing_ones_password_needs_the_current_one(floor: Floor) -> None:
    ana = floor.users.users["ana"]
    with pytest.raises(WrongPassword, match="the current password is wrong"):
        await floor.sign_in.change_password(ana, "not it at all", "a brand new one")
    with pytest.raises(InvalidInput, match="new: must be 10 to 256 characters"):
        await floor.sign_in.change_password(ana, PASSWORD, "short")
    with pytest.raises(WrongPassword):  # no password yet: nothing to prove
        await floor.sign_in.change_password(floor.users.users["sue"], "", "a brand new one")
    with pytest.raises(NotFound):
        await floor.sign_in.set_password("ghost", "whatever it is")


async def test_the_name_pages_show_and_the_language(floor: Floor) -> None:
    assert await floor.sign_in.display_name(floor.users.users["ana"]) == "Ana Wijaya"
    assert await floor.sign_in.display_name(floor.users.users["sue"]) == "sue"
    assert (await floor.sign_in.set_language(floor.users.users["sue"], "en")).language == "en"
    with pytest.raises(InvalidInput):
        await floor.sign_in.set_language(floor.users.users["sue"], "fr")


# -- the web layer's throttle -----------------------------------------------------------------------------------
async def test_failed_sign_ins_lock_the_name_from_every_address(floor: Floor) -> None:
    sessions = Sessions(Accounts(floor.users, FakeAgents(), clock=floor.clock), Hub(), clock=floor.clock,
                        sign_in=floor.sign_in)
    for n in range(10):
        with pytest.raises(Refused, match="wrong user name or password"):
            await sessions.begin("ana", "guess guess", f"10.0.0.{n}")  # each guess from another address
    with pytest.raises(Throttled) as throttled:
        await sessions.begin("ana", PASSWORD, "10.0.1.1")
    assert throttled.value.retry_after == 15 * 60
    with pytest.raises(Refused):  # another name is not locked (sue has no password: refused, not throttled)
        await sessions.begin("sue", PASSWORD, "10.0.2.1")
    floor.clock.advance(minutes=15)
    assert (await sessions.begin("ana", PASSWORD, "10.0.1.1")).user.name == "ana"


async def test_an_expired_session_is_refused_with_why(floor: Floor) -> None:
    sessions = Sessions(Accounts(floor.users, FakeAgents(), clock=floor.clock), Hub(), clock=floor.clock,
                        sign_in=floor.sign_in)
    new = await sessions.begin("ana", PASSWORD, "10.0.0.1")
    user, _ = await sessions.authenticate_session(new.session_id)
    assert user.name == "ana"
    floor.clock.advance(hours=8)
    with pytest.raises(Refused, match="session expired; sign in again") as refused:
        await sessions.authenticate_session(new.session_id)
    assert not refused.value.counted
    assert await sessions.end(new.session_id)
    with pytest.raises(Refused, match="session ended; sign in again"):
        await sessions.authenticate_session(new.session_id)
