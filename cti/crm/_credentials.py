"""What a caller proves who they are with in the IVR, besides calling from one of the record's phones: a PIN or
their date of birth, keyed on the telephone. Pure (hashing is CPU work, no I/O).

The PIN is kept only as a salted scrypt hash (:func:`hash_pin`), never in clear, never logged. The keys a caller
enters tell which one they mean by their length: four to six digits are a PIN, eight a date of birth written
day, month, year (``DDMMYYYY``), so both can be offered with one question.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal

from ._errors import Problem

__all__ = [
    "BIRTH_DATE_KEYS",
    "PIN",
    "CustomerCredentials",
    "KeyedMethod",
    "birth_date_from_keys",
    "birth_date_problems",
    "check_keys",
    "hash_pin",
    "pin_matches",
    "pin_problems",
]

PIN: Final = re.compile(r"[0-9]{4,6}")
"""Four to six digits: short enough to key, and never eight, the length of a date of birth."""
BIRTH_DATE_KEYS: Final = 8
"""``DDMMYYYY``."""

KeyedMethod = Literal["pin", "dob"]

# scrypt's cost: 16 MiB and tens of milliseconds per check, so trying the 1.1 million possible PINs against one
# stolen hash takes about a core-day (a PIN is short: the hash slows an attacker down, it cannot stop one). The
# parameters are stored with each hash, so raising them later keeps older hashes readable.
_N: Final = 2**14
_R: Final = 8
_P: Final = 1
_SALT_BYTES: Final = 16
_SCHEME: Final = "scrypt"
# Compared against when a record has no PIN, so that "no PIN" takes as long to answer as "wrong PIN".
_NO_PIN: Final = "$".join((_SCHEME, str(_N), str(_R), str(_P),
                           base64.b64encode(bytes(_SALT_BYTES)).decode(), base64.b64encode(bytes(64)).decode()))


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerCredentials:
    """What a customer's identity is checked against in the IVR; the secrets are left out of ``repr``."""

    customer_id: str
    pin_hash: str | None = field(default=None, repr=False)
    birth_date: date | None = field(default=None, repr=False)
    forgotten: bool = False

    @property
    def has_pin(self) -> bool:
        return self.pin_hash is not None


def pin_problems(pin: str) -> tuple[Problem, ...]:
    if PIN.fullmatch(pin) is None:
        return (Problem("pin", "must be 4 to 6 digits"),)
    return ()


def birth_date_problems(birth_date: date, *, today: date) -> tuple[Problem, ...]:
    if not date(1900, 1, 1) <= birth_date <= today:
        return (Problem("birth_date", f"must be between 1900-01-01 and {today.isoformat()}"),)
    return ()


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """The stored form of a PIN: ``scrypt$N$r$p$<salt>$<hash>`` (base64). Refuses a PIN that is not one."""
    if PIN.fullmatch(pin) is None:
        raise ValueError("a PIN is 4 to 6 digits")
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P)
    return "$".join((_SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(digest)))


def pin_matches(pin: str, stored: str | None) -> bool:
    """Whether ``pin`` is the one ``stored`` was made from; as slow for no PIN or a malformed hash as for a miss."""
    try:
        scheme, n, r, p, salt, expected = (stored or _NO_PIN).split("$")
        if scheme != _SCHEME:
            raise ValueError(scheme)
        digest = hashlib.scrypt(pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                maxmem=2 * 128 * int(r) * int(n) * int(p) + 1024 * 1024)
        matched = hmac.compare_digest(digest, base64.b64decode(expected))
    except (ValueError, TypeError):
        return False
    return matched and stored is not None and PIN.fullmatch(pin) is not None


def birth_date_from_keys(keys: str) -> date | None:
    """``DDMMYYYY`` as keyed on a telephone, or ``None`` if that is no date."""
    if len(keys) != BIRTH_DATE_KEYS or not keys.isascii() or not keys.isdigit():
        return None
    try:
        return date(int(keys[4:]), int(keys[2:4]), int(keys[:2]))
    except ValueError:
        return None


def check_keys(credentials: CustomerCredentials | None, keys: str) -> tuple[KeyedMethod, bool]:
    """Which secret the caller's keys are (by their length) and whether they match the record's.

    A record that does not exist, was erased or has no such secret never matches; the PIN check costs the same
    either way."""
    usable = credentials is not None and not credentials.forgotten
    if len(keys) == BIRTH_DATE_KEYS:
        born = birth_date_from_keys(keys)
        return "dob", usable and credentials is not None and born is not None and credentials.birth_date == born
    stored = credentials.pin_hash if usable and credentials is not None else None
    return "pin", pin_matches(keys, stored)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
