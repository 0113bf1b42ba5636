"""Partner access: partner companies call the partner API with a token of their own, scoped to named operations
and to their customers, at a bounded rate; every call is audited (the web's audit middleware writes one row per
partner request, reads included; the operations here write what they read or changed).

A partner is an API user of role ``partner`` (the one token model of :class:`Accounts`: hashed, expiring, rotated
and disabled like any other), whose scope holds its grants (:class:`cti.services.PartnerGrants`). The
authorization stays the :class:`Policy`'s: a customer outside the grants is not found, as one that does not exist.
"""

from __future__ import annotations

import builtins
import math
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from cti.crm import CustomerRecord
from cti.errors import Forbidden, InvalidInput, NotFound, TooMany, Unavailable
from cti.records import UserRecord
from cti.services._audit import AuditTrail
from cti.services._policy import PARTNER_OPERATIONS, Policy, partner_grants
from cti.services._ports import Customers
from cti.services._users import Accounts
from cti.services._webhooks import Notify
from cti.surveys import SurveyRecord
from cti.types import Clock

__all__ = ["PartnerAccess", "PartnerChange", "PartnerSurveyQuery", "PartnerSurveys", "check_grants"]

PartnerChange = Mapping[str, Any]
"""Fields a partner may push to a customer: name, email, address, city, language."""
_PUSHABLE = ("name", "email", "address", "city", "language")


def check_grants(operations: Sequence[str], customers: Sequence[str], segments: Sequence[str]) -> dict[str, Any]:
    """A partner's scope as stored; unknown operations refused."""
    unknown = sorted(set(operations) - set(PARTNER_OPERATIONS))
    if unknown:
        raise InvalidInput(f"unknown operations: {', '.join(unknown)} (known: {', '.join(PARTNER_OPERATIONS)})",
                           code="unknown_operation", params={"operations": unknown})
    return {"operations": sorted(set(operations)), "customers": sorted(set(customers)),
            "segments": sorted(set(segments))}


class PartnerSurveys(Protocol):
    """The survey answers a partner reads (:meth:`cti.persistence.SurveyRepository.answered_of`)."""

    async def answered_of(self, *, customers: Collection[str], segments: Collection[str],
                          since: datetime | None = None, until: datetime | None = None,
                          channel: str | None = None, interaction_channel: str | None = None,
                          after: tuple[datetime, str] | None = None,
                          limit: int = 100) -> builtins.list[SurveyRecord]: ...


@dataclass(frozen=True, slots=True)
class PartnerSurveyQuery:
    """Which answered surveys a partner asks for: answered in [since, until), answered on ``channel`` (web,
    email, ivr), after an interaction of ``interaction_channel`` (call, chat, web), the page after ``after``."""

    since: datetime | None = None
    until: datetime | None = None
    channel: str | None = None
    interaction_channel: str | None = None
    after: tuple[datetime, str] | None = None
    limit: int = 100


class PartnerAccess:
    def __init__(self, accounts: Accounts, policy: Policy, customers: Customers, audit: AuditTrail, *,
                 clock: Clock, per_minute: int, notify: Notify | None = None,
                 surveys: PartnerSurveys | None = None) -> None:
        self._surveys = surveys
        self._accounts = accounts
        self._policy = policy
        self._customers = customers
        self._audit = audit
        self._clock = clock
        self._per_minute = per_minute
        self._notify = notify
        self._calls: dict[str, deque[float]] = {}

    # -- admins' management --------------------------------------------------------------------------------------
    async def create(self, name: str, grants: dict[str, Any]) -> tuple[UserRecord, str]:
        """A partner user with its grants, and its token (shown once)."""
        _, token = await self._accounts.create_user(name, "partner")
        return await self._accounts.set_scope(name, grants), token

    async def list(self) -> builtins.list[UserRecord]:
        return [u for u in await self._accounts.list_users() if u.role == "partner"]

    async def set_grants(self, name: str, grants: dict[str, Any]) -> UserRecord:
        user = await self._accounts.user(name)
        if user.role != "partner":
            raise NotFound(f"no partner {name!r}", code="partner_not_found", params={"name": name})
        return await self._accounts.set_scope(name, grants)

    # -- a partner's calls -----------------------------------------------------------------------------------------
    def admit(self, user: UserRecord, operation: str) -> None:
        """May ``user`` call ``operation`` now: a partner granted it, within its rate."""
        if user.role != "partner":
            raise Forbidden("the partner API is for partner tokens", code="partner_only")
        if operation not in partner_grants(user).operations:
            raise Forbidden(f"this partner token is not granted {operation!r}", code="operation_not_granted",
                            params={"operation": operation})
        now = self._clock().timestamp()
        calls = self._calls.setdefault(user.name, deque())
        while calls and calls[0] <= now - 60.0:
            calls.popleft()
        if len(calls) >= self._per_minute:
            raise TooMany(f"more than {self._per_minute} requests in a minute",
                          retry_after=max(1, math.ceil(calls[0] + 60.0 - now)))
        calls.append(now)

    async def customer(self, user: UserRecord, customer_id: str, *, source: str) -> CustomerRecord:
        """A customer of the partner's grants (not found otherwise); audited before it leaves."""
        self.admit(user, "customers.read")
        record = await self._reachable(user, customer_id)
        await self._audit.record(user, "view", "customer", customer_id, source=source,
                                 detail={"operation": "customers.read"})
        return record

    async def surveys(self, user: UserRecord, query: PartnerSurveyQuery, *,
                      source: str) -> tuple[builtins.list[SurveyRecord], tuple[datetime, str] | None]:
        """The answered surveys of the partner's customers (listed, or of its segments: the customers' product
        line in the CRM now, as for every partner read), oldest answer first, and where the next page starts
        (None: this was the last). Admitted to ``surveys.read`` first (:meth:`admit`: the rate counts each request
        once). Each customer whose answers leave is audited first, one row each."""
        if "surveys.read" not in partner_grants(user).operations:
            raise Forbidden("this partner token is not granted 'surveys.read'", code="operation_not_granted",
                            params={"operation": "surveys.read"})
        if self._surveys is None:
            raise Unavailable("survey results are not kept by this server")
        grants = partner_grants(user)
        page = await self._surveys.answered_of(
            customers=grants.customers, segments=grants.segments, since=query.since, until=query.until,
            channel=query.channel, interaction_channel=query.interaction_channel, after=query.after,
            limit=query.limit + 1)  # one more: whether a next page exists, without a count
        page, more = page[:query.limit], len(page) > query.limit
        counts: dict[str, int] = {}
        for survey in page:
            counts[survey.customer_id] = counts.get(survey.customer_id, 0) + 1
        await self._audit.record_each(user, "view", "customer", {
            customer_id: {"operation": "surveys.read", "surveys": n} for customer_id, n in counts.items()},
            source=source)
        last = page[-1] if more else None
        return page, None if last is None or last.answered_at is None else (last.answered_at, last.survey_id)

    async def update_customer(self, user: UserRecord, customer_id: str, change: PartnerChange, *,
                              source: str) -> CustomerRecord:
        """Push ``change`` to a customer of the partner's (admitted and reached first: :meth:`reach`)."""
        unknown = sorted(set(change) - set(_PUSHABLE))
        if unknown:
            raise InvalidInput(f"a partner may not change {', '.join(unknown)}", code="field_not_allowed",
                               params={"fields": unknown})
        record = await self._reachable(user, customer_id)
        updated = await self._customers.update_customer(customer_id, replace(record.fields(), **dict(change)))
        await self._audit.record(user, "change", "customer", customer_id, source=source,
                                 detail={"operation": "customers.update", "fields": sorted(change)})
        if self._notify is not None:
            self._notify("customer.changed", f"customer:{customer_id}",
                         {"customer_id": customer_id, "change": "changed", "fields": sorted(change)})
        return updated

    async def reach(self, user: UserRecord, operation: str, customer_id: str) -> CustomerRecord:
        """Admitted to ``operation``, and the customer is the partner's: the record (not found otherwise)."""
        self.admit(user, operation)
        return await self._reachable(user, customer_id)

    async def _reachable(self, user: UserRecord, customer_id: str) -> CustomerRecord:
        await self._policy.customer(user, customer_id)
        record = await self._customers.customer(customer_id)
        if record is None or record.forgotten_at is not None:
            raise NotFound(f"no customer {customer_id!r}", code="customer_not_found",
                           params={"customer_id": customer_id})
        return record
