"""People's passwords: the rules a new one must meet, and their argon2id hashes (argon2-cffi).

Only the hash is kept (``$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>``: the parameters travel with it, so
raising them later keeps older hashes readable, and a sign-in with an older hash stores a new one). Hashing is
CPU and memory work (tens of milliseconds, 64 MiB by default): the services run it in a worker thread, never on
the event loop. A password is never logged, stored in clear or answered back.
"""

from __future__ import annotations

from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cti.errors import InvalidInput, Problem

__all__ = ["MAX_PASSWORD", "MIN_PASSWORD", "Passwords", "password_problems"]

MIN_PASSWORD: Final = 10
"""Characters a password needs at least: long enough that the per-name throttle and argon2 outlast guessing."""
MAX_PASSWORD: Final = 256
"""Characters a password may have at most: hashing a megabyte is a denial of service, not a password."""


def password_problems(password: str, *, field: str = "password") -> tuple[Problem, ...]:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return (Problem(field, f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters", "password_length"),)
    if not password.strip():
        return (Problem(field, "must not be only spaces", "password_blank"),)
    return ()


class Passwords:
    """Hash and check passwords with one set of argon2id parameters (argon2-cffi's defaults unless given)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # Checked when a name has no password (or no user), so that a miss costs what a wrong password costs.
        self._nothing = self._hasher.hash("no password is set for this name")

    def hash(self, password: str) -> str:
        """The stored form of ``password``; :class:`InvalidInput` if it breaks the rules."""
        problems = password_problems(password)
        if problems:
            raise InvalidInput("; ".join(map(str, problems)), problems, code="weak_password",
                               params={"min": MIN_PASSWORD, "max": MAX_PASSWORD})
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> tuple[bool, bool]:
        """Whether ``password`` is the one ``stored`` was made from, and whether ``stored`` should be made again
        with today's parameters. As slow for no hash (or a malformed one) as for a wrong password."""
        if len(password) > MAX_PASSWORD:
            return False, False
        try:
            self._hasher.verify(stored or self._nothing, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False, False
        if stored is None:
            return False, False
        return True, self._hasher.check_needs_rehash(stored)
