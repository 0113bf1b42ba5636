"""People signing in with a user name and a password, and their web sessions (API tokens stay, for machines).

- **Passwords** are set by an administrator (API or CLI) or changed by their owner (who gives the current one),
  kept as argon2id hashes (:class:`Passwords`), hashed and checked in a worker thread. Setting a password ends
  the user's other sessions. A sign-in with a hash made with older parameters stores a new one.
- **Sessions**: a sign-in hands out a random session id and a CSRF token (256 bits each), returned once; only
  their SHA-256 is kept. A session ends ``idle`` after it was last used, ``lifetime`` after it began whatever
  the activity, at sign-out, when its user is disabled or deleted, or when their password is set.
- **No oracle**: a wrong password, an unknown name, a user with no password and a disabled user all get the
  same answer (None), at the same cost (an argon2 check always runs).

The throttle of failed attempts and the cookies are the web layer's (:mod:`cti.web._sessions`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Final

from cti.errors import Forbidden, InvalidInput, NotFound, Problem
from cti.records import UserRecord, WebSessionRecord
from cti.services._passwords import MAX_PASSWORD, MIN_PASSWORD, Passwords, password_problems
from cti.services._ports import AgentRegistry, Credentials, WebSessions
from cti.types import LANGUAGES, Clock, utc_now

__all__ = ["DEFAULT_IDLE", "DEFAULT_LIFETIME", "NewSession", "SignIn", "WrongPassword", "session_key"]

DEFAULT_IDLE: Final = timedelta(hours=8)
"""An agent's shift: a session unused this long has ended."""
DEFAULT_LIFETIME: Final = timedelta(hours=12)
"""A session ends this long after sign-in, however busy."""
TOUCH_EVERY: Final = timedelta(minutes=1)
"""How stale ``last_seen_at`` may get before a use of the session writes it again (one write a minute at most)."""


class WrongPassword(Forbidden):
    """The current password given to change it is not the user's."""

    code = "wrong_password"


def session_key(secret: str) -> str:
    """Hex SHA-256 of a session id or a CSRF token: the only form in which either is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just begun: the two secrets are here and nowhere else (hand them to the browser, once)."""

    user: UserRecord
    session_id: str
    csrf_token: str
    record: WebSessionRecord

    def __repr__(self) -> str:  # never the secrets, in a log or a traceback
        return f"NewSession(user={self.user.name!r}, expires_at={self.record.expires_at.isoformat()})"


class SignIn:
    def __init__(self, credentials: Credentials, sessions: WebSessions, registry: AgentRegistry, *,
                 passwords: Passwords | None = None, clock: Clock = utc_now, idle: timedelta = DEFAULT_IDLE,
                 lifetime: timedelta = DEFAULT_LIFETIME) -> None:
        self._credentials = credentials
        self._sessions = sessions
        self._registry = registry
        self._passwords = passwords or Passwords()
        self._clock = clock
        self.idle = idle
        self.lifetime = lifetime

    # -- signing in and out ------------------------------------------------------------------------------------
    async def sign_in(self, name: str, password: str) -> NewSession | None:
        """A new session for ``name`` if ``password`` is theirs and they are enabled; None otherwise, for every
        reason alike."""
        # A name with control characters is nobody's (and PostgreSQL's text cannot even hold a NUL to compare).
        found = await self._credentials.credentials(name) if name.isprintable() else None
        user, stored = found if found is not None else (None, None)
        matched, stale = await asyncio.to_thread(self._passwords.verify, stored, password)
        if user is None or not matched or user.disabled:
            return None
        if stale and stored is not None:
            user = await self._credentials.set_password(
                user.name, await asyncio.to_thread(self._passwords.hash, password))
        now = self._clock()
        session_id, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        record = WebSessionRecord(key=session_key(session_id), user_id=user.user_id, created_at=now,
                                  last_seen_at=now, expires_at=now + self.lifetime, csrf_hash=session_key(csrf_token))
        await self._sessions.create(user.name, record)
        return NewSession(user, session_id, csrf_token, record)

    async def session(self, session_id: str) -> tuple[WebSessionRecord, UserRecord] | None:
        """The session ``session_id`` names and its enabled user, expired or not (see :meth:`expired`); None if
        it names none (never was, signed out, ended by a new password) or its user is disabled."""
        found = await self._sessions.find(session_key(session_id))
        if found is None or found[1].disabled:
            return None
        record, now = found[0], self._clock()
        if not self.expired(record) and now - record.last_seen_at >= TOUCH_EVERY:
            await self._sessions.touch(record.key, now)
            record = replace(record, last_seen_at=now)
        return record, found[1]

    async def find(self, key: str) -> tuple[WebSessionRecord, UserRecord] | None:
        """As :meth:`session`, by the session id's hash (what is kept of it), and without marking it used."""
        found = await self._sessions.find(key)
        return None if found is None or found[1].disabled else found

    def expired(self, record: WebSessionRecord) -> bool:
        """Whether the session has ended by time: past its lifetime, or unused for ``idle``."""
        now = self._clock()
        return record.expires_at <= now or record.last_seen_at + self.idle <= now

    @staticmethod
    def csrf_matches(record: WebSessionRecord, token: str | None) -> bool:
        """Whether ``token`` (the request's ``X-CSRF-Token``) is the session's CSRF token."""
        return token is not None and hmac.compare_digest(session_key(token), record.csrf_hash)

    async def sign_out(self, session_id: str) -> bool:
        return await self._sessions.delete(session_key(session_id))

    async def purge(self) -> int:
        """Delete the sessions that have ended by time (housekeeping); how many."""
        now = self._clock()
        return await self._sessions.purge(now=now, idle_since=now - self.idle)

    # -- passwords and the user's preferences ------------------------------------------------------------------
    async def set_password(self, name: str, password: str, *, keep: WebSessionRecord | None = None) -> UserRecord:
        """Give ``name`` a new password; every session of theirs ends but ``keep`` (the one that changed it)."""
        problems = password_problems(password)
        if problems:
            raise InvalidInput("; ".join(map(str, problems)), problems, code="weak_password",
                               params={"min": MIN_PASSWORD, "max": MAX_PASSWORD})
        if await self._credentials.user_named(name) is None:
            raise NotFound(f"no user {name!r}", code="user_not_found", params={"name": name})
        user = await self._credentials.set_password(name, await asyncio.to_thread(self._passwords.hash, password))
        await self._sessions.delete_of_user(name, keep=None if keep is None else keep.key)
        return user

    async def change_password(self, user: UserRecord, current: str, new: str, *,
                              keep: WebSessionRecord | None = None) -> UserRecord:
        """``user`` changes their own password, proving the current one (:class:`WrongPassword` if not)."""
        problems = password_problems(new, field="new")
        if problems:
            raise InvalidInput("; ".join(map(str, problems)), problems, code="weak_password",
                               params={"min": MIN_PASSWORD, "max": MAX_PASSWORD})
        found = await self._credentials.credentials(user.name)
        matched, _ = await asyncio.to_thread(self._passwords.verify, None if found is None else found[1], current)
        if not matched:
            raise WrongPassword("the current password is wrong")
        return await self.set_password(user.name, new, keep=keep)

    async def set_language(self, user: UserRecord, language: str) -> UserRecord:
        if language not in LANGUAGES:
            raise InvalidInput("unknown language", [Problem("language", "must be 'id' or 'en'", "unknown_language")],
                               code="unknown_language")
        return await self._credentials.set_language(user.name, language)

    async def display_name(self, user: UserRecord) -> str:
        """How pages name the user: an agent user's registered agent name, else the user name."""
        if user.agent_id is None:
            return user.name
        agent = await self._registry.get(user.agent_id)
        return user.name if agent is None or not agent.name else agent.name
