"""API users and their tokens: who may call the API, with which role, and (for supervisors) which scope."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select

from cti.records import ROLES, UserRecord

from ._base import utcnow
from ._database import Database
from ._errors import StorageConflict, StorageError
from ._sql import check
from ._tables import METADATA, AgentRow, UserRow

__all__ = ["UserRepository", "hash_token", "user_record"]

_USERS: Final = METADATA.tables["users"]


def hash_token(token: str) -> str:
    """Hex SHA-256 of an API token, the only form in which tokens are stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class UserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_user(self, name: str, role: str, agent_id: str | None = None, *,
                          expires_at: datetime | None = None) -> tuple[UserRecord, str]:
        """Create a user with a fresh random token, returned here and never again."""
        token = new_token()
        return await self._save_user(name, role, token, agent_id, replace=False, expires_at=expires_at), token

    async def ensure_user_token(self, name: str, role: str, token: str, agent_id: str | None = None, *,
                                expires_at: datetime | None = None) -> UserRecord:
        """Create the user, or update its role, agent, token and expiry to the given ones. Idempotent.

        Meant for tokens that come from configuration (the bootstrap admin, demos, tests). A
        disabled user stays disabled: configuration must not silently undo an administrator.
        """
        return await self._save_user(name, role, token, agent_id, replace=True, expires_at=expires_at)

    async def user_named(self, name: str) -> UserRecord | None:
        async with self._db.transaction(f"read user {name!r}") as session:
            user = await session.scalar(select(UserRow).where(UserRow.name == name))
            return None if user is None else user_record(user)

    async def rotate_token(self, name: str, *, expires_at: datetime | None) -> tuple[UserRecord, str]:
        """A fresh token for the user, returned here and never again; the previous one stops working at once."""
        token = new_token()
        async with self._db.transaction(f"rotate the token of user {name!r}") as session:
            user = await session.scalar(select(UserRow).where(UserRow.name == name))
            if user is None:
                raise StorageError(f"cannot rotate the token of user {name!r}: no such user")
            user.token_hash, user.token_issued_at, user.token_expires_at = hash_token(token), utcnow(), expires_at
            await session.flush()
            return user_record(user), token

    async def delete_user(self, name: str) -> bool:
        """Remove the user and its token; False when there was no such user."""
        async with self._db.transaction(f"delete user {name!r}") as session:
            user = await session.scalar(select(UserRow).where(UserRow.name == name))
            if user is None:
                return False
            await session.delete(user)
            return True

    async def bound_token_lifetimes(self, expires_at: datetime, *, keep: str | None = None) -> int:
        """Give every token without an expiry (issued before tokens had one) this one, except user ``keep``'s;
        the number of users changed."""
        query = select(UserRow).where(UserRow.token_expires_at.is_(None))
        if keep is not None:
            query = query.where(UserRow.name != keep)
        async with self._db.transaction("bound token lifetimes") as session:
            users = list(await session.scalars(query))
            for user in users:
                user.token_expires_at = expires_at
            return len(users)

    async def user_for_token(self, token: str) -> UserRecord | None:
        """The enabled user holding ``token``, or ``None``."""
        if not token:
            return None
        # Looked up by hash: the clear token never reaches the database, not even in a query.
        query = select(UserRow).where(UserRow.token_hash == hash_token(token), UserRow.disabled.is_(False))
        async with self._db.transaction("look up token") as session:
            user = await session.scalar(query)
            return None if user is None else user_record(user)

    async def credentials(self, name: str) -> tuple[UserRecord, str | None] | None:
        """The user named ``name`` (disabled or not) and their password hash (None: no password), or None."""
        async with self._db.transaction("read credentials") as session:  # the name may be a mistyped password
            user = await session.scalar(select(UserRow).where(UserRow.name == name))
            return None if user is None else (user_record(user), user.password_hash)

    async def set_password(self, name: str, password_hash: str) -> UserRecord:
        """Store a new password hash (made by ``cti.services.Passwords``, never a clear password)."""
        if not password_hash.startswith("$argon2"):
            raise StorageError(f"cannot set the password of user {name!r}: not an argon2 hash")
        async with self._db.transaction(f"set the password of user {name!r}") as session:
            user = await session.scalar(select(UserRow).where(UserRow.name == name))
            if user is None:
                raise StorageError(f"cannot set the password of user {name!r}: no such user")
            user.password_hash = password_hash
            await session.flush()
            return user_record(user)

    async def set_language(self, name: str, language: str) -> UserRecord:
        """The language of the user's pages: ``id`` or ``en``."""
        if language not in ("id", "en"):
            raise StorageError(f"cannot set the language of user {name!r}: {language!r} is not id or en")
        async with self._db.transaction(f"set the language of user {name!r}") as session:
            user = await session.scalar(select(UserRow).where(UserRow.name == name))
            if user is None:
                raise StorageError(f"cannot set the language of user {name!r}: no such user")
            user.language = language
            await session.flush()
            return user_record(user)

    async def list_users(self) -> list[UserRecord]:
        """All users, disabled ones included, ordered by ``user_id``."""
        async with self._db.transaction("list users") as session:
            return [user_record(user) for user in await session.scalars(select(UserRow).order_by(UserRow.user_id))]

    async def set_user_scope(self, name: str, scope: Mapping[str, Any] | None) -> UserRecord:
        """The queues and teams a supervisor may see (``None``: all of them)."""
        async with self._db.transaction(f"set the scope of user {name!r}") as session:
            user = await session.scalar(select(UserRow).where(UserRow.name == name))
            if user is None:
                raise StorageError(f"cannot set the scope of user {name!r}: no such user")
            user.scope = None if scope is None else dict(scope)
            return user_record(user)

    async def set_user_disabled(self, name: str, disabled: bool = True) -> UserRecord:
        """Disable (or re-enable) a user: a disabled user's token stops working."""
        async with self._db.transaction(f"update user {name!r}") as session:
            user = await session.scalar(select(UserRow).where(UserRow.name == name))
            if user is None:
                raise StorageError(f"cannot update user {name!r}: no such user")
            user.disabled = disabled
            await session.flush()
            return user_record(user)

    async def _save_user(self, name: str, role: str, token: str, agent_id: str | None, *, replace: bool,
                         expires_at: datetime | None) -> UserRecord:
        if role not in ROLES:
            raise StorageError(f"cannot save user {name!r}: role {role!r} is not one of {', '.join(ROLES)}")
        if not name:
            raise StorageError("cannot save user: the name is empty")
        if not token:
            raise StorageError(f"cannot save user {name!r}: the token is empty")
        check(_USERS, {"name": name, "role": role, "agent_id": agent_id})
        token_hash = hash_token(token)
        async with self._db.transaction(
            f"save user {name!r}", conflict=f"user {name!r} or its token is already in use"
        ) as session:
            # Checked up front for a clear message; the foreign key and unique constraints still
            # guard against concurrent writers.
            if agent_id is not None and await session.get(AgentRow, agent_id) is None:
                raise StorageError(f"cannot save user {name!r}: unknown agent_id {agent_id!r}")
            user = await session.scalar(select(UserRow).where(UserRow.name == name))
            if user is None:
                now = utcnow()
                user = UserRow(
                    name=name,
                    role=role,
                    agent_id=agent_id,
                    token_hash=token_hash,
                    created_at=now,
                    disabled=False,
                    token_issued_at=now,
                    token_expires_at=expires_at,
                )
                session.add(user)
            elif not replace:
                raise StorageConflict(f"cannot create user {name!r}: the name is already taken",
                                      code="user_exists", params={"name": name})
            else:
                if user.token_hash != token_hash:
                    user.token_hash, user.token_issued_at = token_hash, utcnow()
                user.role, user.agent_id, user.token_expires_at = role, agent_id, expires_at
            await session.flush()
            return user_record(user)


def new_token() -> str:
    """A fresh API token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def user_record(user: UserRow) -> UserRecord:
    return UserRecord(
        user_id=user.user_id, name=user.name, role=user.role, agent_id=user.agent_id, disabled=user.disabled,
        scope=user.scope, token_issued_at=user.token_issued_at, token_expires_at=user.token_expires_at,
        language=user.language,
    )
