"""The customer search of the desktop: agents, supervisors and admins find a customer by name, phone or customer
number, each within what they may see.

Scoped by the one policy: an agent finds the customers of their own calls and interactions, a supervisor those of
their scope, an admin everyone; erased customers are never found. Each search is audited before the answer
leaves, like every read of personal data, with ids and outcomes only (what kind of query, how many results, which
customer numbers), never the name or phone typed: the audit log outlives an erasure. Against scraping, the list
is short (at most :data:`MAX_RESULTS`), an agent sees phones masked to their last four digits (the full record
is one audited view away), and each user may search :data:`SEARCHES_PER_MINUTE` times a minute.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from cti.crm import QUERY_LENGTH, CustomerRecord, mask_phone, read_query
from cti.errors import InvalidInput, Problem, TooMany
from cti.records import UserRecord
from cti.services._audit import AuditTrail
from cti.services._policy import Policy
from cti.services._ports import Customers
from cti.types import Clock

__all__ = ["DEFAULT_RESULTS", "MAX_RESULTS", "SEARCHES_PER_MINUTE", "CustomerHit", "CustomerSearch"]

DEFAULT_RESULTS: Final = 10
MAX_RESULTS: Final = 25
SEARCHES_PER_MINUTE: Final = 30
"""A person typing searches a few times a minute; a script walking the CRM would need thousands."""
_WINDOW: Final = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class CustomerHit:
    """One customer found, as the result list shows them (the full record is ``GET /api/customers/{id}``)."""

    customer_id: str
    name: str
    phones: tuple[str, ...]
    """E.164, primary first; masked for agents (:func:`cti.crm.mask_phone`)."""
    city: str | None
    value_tier: str | None
    language: str


class CustomerSearch:
    def __init__(self, policy: Policy, customers: Customers, audit: AuditTrail, *, clock: Clock) -> None:
        self._policy = policy
        self._customers = customers
        self._audit = audit
        self._clock = clock
        self._recent: dict[str, deque[float]] = {}

    async def search(self, actor: UserRecord, query: str, *, limit: int = DEFAULT_RESULTS,
                     source: str) -> list[CustomerHit]:
        """Most relevant first (:meth:`cti.persistence.CustomerRepository.search_customers`). Raises
        :class:`InvalidInput` for a query under two characters or over :data:`QUERY_LENGTH`, or a limit outside
        1 to :data:`MAX_RESULTS`; :class:`TooMany` past :data:`SEARCHES_PER_MINUTE`."""
        problems = []
        if len(query) > QUERY_LENGTH:
            problems.append(Problem("q", f"at most {QUERY_LENGTH} characters", code="too_long"))
        elif read_query(query) is None:
            problems.append(Problem("q", "at least 2 characters: a name, a phone number or a customer number",
                                        code="too_short"))
        if not 1 <= limit <= MAX_RESULTS:
            problems.append(Problem("limit", f"from 1 to {MAX_RESULTS}", code="out_of_range"))
        if problems:
            raise InvalidInput("cannot search customers", problems, code="invalid_search",
                               params={"min": 2, "max": QUERY_LENGTH})
        self._throttle(actor)
        reach, live = self._policy.customers_in_reach(actor)
        if reach is not None and not reach.queues and not reach.agents and not live:
            found: list[CustomerRecord] = []
        else:
            found = await self._customers.search_customers(query, limit=limit, within=reach, also=live)
        read = read_query(query)
        await self._audit.record(actor, "search", "customer", "*", source=source, detail={
            "kind": read.kind if read is not None else "name", "results": len(found),
            "customer_ids": [c.customer_id for c in found]})
        masked = actor.role == "agent"
        return [CustomerHit(customer_id=c.customer_id, name=c.name,
                            phones=tuple(mask_phone(p) for p in c.phones) if masked else c.phones,
                            city=c.city, value_tier=c.value_tier, language=c.language) for c in found]

    def _throttle(self, actor: UserRecord) -> None:
        now = self._clock().timestamp()
        window = _WINDOW.total_seconds()
        recent = self._recent.setdefault(actor.name, deque())
        while recent and recent[0] <= now - window:
            recent.popleft()
        if len(recent) >= SEARCHES_PER_MINUTE:
            wait = max(1, int(recent[0] + window - now + 0.999))
            raise TooMany(f"too many customer searches; retry in {wait} s", wait)
        recent.append(now)
        # Users who stopped searching leave no queue behind.
        for name in [n for n, q in self._recent.items() if not q or q[-1] <= now - window]:
            del self._recent[name]
