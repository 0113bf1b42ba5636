"""Callers proving who they are in the IVR, and how an administrator sets what they prove it with.

A caller calling from one of a customer's phones is that customer (the arrival lookup, :mod:`._identity`);
another keys the customer number and then the PIN or date of birth set on that record (:mod:`cti.crm`'s
``check_keys``: the PIN is kept only hashed). The flows decide when (a ``verify`` node, docs/ivr.md); this is the
check itself and the setting of the secrets. Hashing takes tens of milliseconds of CPU by design, so it runs in
a worker thread, never on the event loop. Neither the PIN nor the keys a caller entered are ever logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date
from typing import Literal

from cti.crm import CrmInputError, birth_date_problems, check_keys, hash_pin, pin_problems
from cti.errors import Conflict, NotFound, Problem
from cti.ivr import VerifyResult
from cti.services._ports import Customers
from cti.types import Clock

__all__ = ["CallerVerification", "CredentialsState"]

log = logging.getLogger("cti.services.verification")


@dataclass(frozen=True, slots=True)
class CredentialsState:
    """What an administrator may know of a customer's secrets: whether they are set, never what they are."""

    customer_id: str
    pin_set: bool
    birth_date_set: bool


class CallerVerification:
    def __init__(self, customers: Customers, *, clock: Clock) -> None:
        self._customers = customers
        self._clock = clock

    async def verify(self, customer_id: str, keys: str) -> VerifyResult:
        """Whether ``keys`` (a PIN, or a date of birth as DDMMYYYY) are those of customer ``customer_id``.

        A number that is no customer's answers like a wrong PIN, in about the same time: the IVR is no oracle of
        which customer numbers exist."""
        credentials = await self._customers.credentials(customer_id)
        method, matched = await asyncio.to_thread(check_keys, credentials, keys)
        return VerifyResult(matched, method)

    async def state(self, customer_id: str) -> CredentialsState:
        credentials = await self._customers.credentials(customer_id)
        if credentials is None or credentials.forgotten:
            raise NotFound(f"no customer {customer_id!r}", code="customer_not_found",
                           params={"customer_id": customer_id})
        return CredentialsState(customer_id, credentials.has_pin, credentials.birth_date is not None)

    async def set_credentials(self, customer_id: str, *, pin: str | None = None, birth_date: date | None = None,
                              clear: frozenset[Literal["pin", "birth_date"]] = frozenset()) -> CredentialsState:
        """Set the customer's PIN (4 to 6 digits, stored hashed) and date of birth when given, remove those in
        ``clear``. Refuses invalid values (nothing changes) and erased customers."""
        problems = [*(pin_problems(pin) if pin is not None else ()),
                    *(birth_date_problems(birth_date, today=self._clock().date()) if birth_date is not None else ())]
        problems += [Problem(name, "cannot be set and removed at once") for name, value in (
            ("pin", pin), ("birth_date", birth_date)) if value is not None and name in clear]
        if problems:
            raise CrmInputError(f"set the verification data of customer {customer_id}", problems)
        credentials = await self._customers.credentials(customer_id)
        if credentials is None:
            raise NotFound(f"no customer {customer_id!r}", code="customer_not_found",
                           params={"customer_id": customer_id})
        if credentials.forgotten:
            raise Conflict(f"customer {customer_id}'s data was erased", code="customer_erased",
                           params={"customer_id": customer_id})
        pin_hash = None if pin is None else await asyncio.to_thread(hash_pin, pin)
        saved = await self._customers.set_credentials(customer_id, pin_hash=pin_hash, birth_date=birth_date,
                                                      clear=clear)
        log.info("verification data of customer %s changed (PIN %s, date of birth %s)", customer_id,
                 "set" if pin is not None else "removed" if "pin" in clear else "kept",
                 "set" if birth_date is not None else "removed" if "birth_date" in clear else "kept")
        return CredentialsState(customer_id, saved.has_pin, saved.birth_date is not None)
