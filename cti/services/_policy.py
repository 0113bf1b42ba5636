"""Who may see and touch what: one authorization policy for every path.

A supervisor's *scope* is the queues and teams they look after (none: everything); :class:`Policy` says which
live calls, interactions, agents and customers each user reaches. Every service and handler asks here, so a
path cannot forget a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cti.acd import Agent, WorkItem, qualified
from cti.errors import Forbidden, NotFound
from cti.records import InteractionRecord, Reach, UserRecord
from cti.services._ports import Customers, Interactions
from cti.services._query import CenterView, Placement

__all__ = ["PARTNER_OPERATIONS", "PartnerGrants", "Policy", "Scope", "can_see_agent", "can_see_queue", "handled_by",
           "partner_grants", "require_queue", "scope_of"]

PARTNER_OPERATIONS: Final[dict[str, str]] = {
    "customers.read": "read a customer of the partner's (GET /api/partner/customers/{customer_id})",
    "customers.update": "push a change to a customer of the partner's (PATCH /api/partner/customers/{customer_id})",
    "callbacks.create": "schedule a callback to a customer of the partner's (POST /api/partner/callbacks)",
    "surveys.read": "read the survey answers of the partner's customers (GET /api/partner/surveys)",
}
"""What a partner token may be granted, by name (its scope's ``operations``)."""


@dataclass(frozen=True, slots=True)
class PartnerGrants:
    """A partner's scope: the operations it may call and the customers it reaches (listed, or by segment, the
    CRM's product line of a customer)."""

    operations: frozenset[str] = frozenset()
    customers: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()

    def reaches(self, customer_id: str, segment: str | None) -> bool:
        return customer_id in self.customers or (segment is not None and segment in self.segments)


def partner_grants(user: UserRecord) -> PartnerGrants:
    """A partner user's grants from its stored scope (nothing for anyone else)."""
    scope = user.scope or {}
    if user.role != "partner":
        return PartnerGrants()
    return PartnerGrants(frozenset(scope.get("operations") or ()), frozenset(map(str, scope.get("customers") or ())),
                         frozenset(scope.get("segments") or ()))


@dataclass(frozen=True, slots=True)
class Scope:
    """What one supervisor sees: ``None`` for everything."""

    queues: frozenset[str] | None = None
    teams: frozenset[str] | None = None

    @property
    def key(self) -> str:
        if self.queues is None and self.teams is None:
            return "all"
        return "q=" + ",".join(sorted(self.queues or ())) + ";t=" + ",".join(sorted(self.teams or ()))

    @property
    def everything(self) -> bool:
        return self.queues is None and self.teams is None


def scope_of(scope: Mapping[str, Any] | None) -> Scope:
    """A user's stored scope (``{"queues": [...], "teams": [...]}``, or none for everything)."""
    if scope is None:
        return Scope()
    return Scope(frozenset(scope.get("queues") or ()), frozenset(scope.get("teams") or ()))


def can_see_queue(user: UserRecord, queue: str) -> bool:
    if user.role == "admin" or user.scope is None:
        return user.role in ("admin", "supervisor")
    return user.role == "supervisor" and queue in (user.scope.get("queues") or ())


def can_see_agent(user: UserRecord, agent_id: str, team: str | None, queues: Iterable[str] = ()) -> bool:
    """A supervisor sees agents of their teams, and agents qualified for one of their queues."""
    if user.role == "agent":
        return user.agent_id == agent_id
    if user.role == "admin" or user.scope is None:
        return True
    if team is not None and team in (user.scope.get("teams") or ()):
        return True
    return any(can_see_queue(user, q) for q in queues)


def require_queue(user: UserRecord, queue: str) -> None:
    if not can_see_queue(user, queue):
        raise Forbidden(f"queue {queue!r} is outside {user.name!r}'s scope", code="queue_out_of_scope",
                        params={"queue": queue})


class Policy:
    """Who may touch which object, for every HTTP handler and websocket.

    - an **admin** reaches everything;
    - a **supervisor** reaches the queues and teams of their scope (everything without one): the live calls
      and interactions of those queues or handled by those teams' agents, those agents, and the customers
      of those calls and interactions — for reads and writes alike;
    - an **agent** reaches their own work only: themself, the calls offered to or held by them, the
      interactions they handled, and the customers of those; an agent login with no agent reaches nothing;
    - a **partner** reaches no call, interaction or agent, and only the customers its grants name
      (:class:`PartnerGrants`); the web lets it call the partner API alone.

    An object outside the caller's reach is *not found*, in the same words as one that does not exist, so
    nobody can learn what exists by probing (no existence oracle).
    """

    def __init__(self, query: CenterView, interactions: Interactions, customers: Customers | None = None) -> None:
        self._query = query
        self._interactions = interactions
        self._customers = customers

    # -- what a user reaches ---------------------------------------------------------------------------------
    def reach(self, user: UserRecord) -> Reach | None:
        """The queues and agents whose work ``user`` sees; ``None`` for everything."""
        if user.role == "admin" or (user.role == "supervisor" and user.scope is None):
            return None
        if user.role == "agent":
            return Reach(agents=frozenset({user.agent_id}) if user.agent_id else frozenset())
        if user.role != "supervisor":
            return Reach()
        scope = scope_of(user.scope)
        teams = scope.teams or frozenset()
        agents = frozenset(a.agent_id for a in self._query.agent_map().values() if a.team in teams)
        return Reach(queues=scope.queues or frozenset(), agents=agents)

    def sees_agent(self, user: UserRecord, agent: Agent) -> bool:
        if user.role == "agent":
            return user.agent_id is not None and user.agent_id == agent.agent_id
        rules = self._query.rules
        return can_see_agent(user, agent.agent_id, agent.team,
                             (name for name, queue in rules.queues.items() if qualified(agent, queue)))

    def sees_call(self, user: UserRecord, call: WorkItem) -> bool:
        return _call_in(self.reach(user), user, call)

    def calls(self, user: UserRecord) -> list[WorkItem]:
        """The live calls ``user`` reaches, in arrival order (their reach worked out once, not per call)."""
        reach = self.reach(user)
        return [c for c in self._query.calls() if _call_in(reach, user, c)]

    def sees_interaction(self, user: UserRecord, record: InteractionRecord) -> bool:
        reach = self.reach(user)
        if reach is None:
            return True
        if user.role == "agent":
            return bool(handled_by(record) & reach.agents)
        return record.queue in reach.queues or record.agent_id in reach.agents

    async def sees_customer(self, user: UserRecord, customer_id: str) -> bool:
        """Through a live call in reach, or an interaction in reach, with that customer; a partner's by its grants."""
        if user.role == "partner":
            grants = partner_grants(user)
            if customer_id in grants.customers:
                return True
            if not grants.segments or self._customers is None:
                return False
            record = await self._customers.customer(customer_id)
            return record is not None and grants.reaches(customer_id, record.segment)
        reach = self.reach(user)
        if reach is None:
            return True
        if any(c.customer_id == customer_id and _call_in(reach, user, c) for c in self._query.calls()):
            return True
        if not reach.queues and not reach.agents:
            return False
        return await self._interactions.involves(customer_id, reach)

    def customers_in_reach(self, user: UserRecord) -> tuple[Reach | None, frozenset[str]]:
        """What :meth:`sees_customer` asks, for many customers at once: the reach whose interactions' customers
        ``user`` sees (``None``: every customer), and the customers of the live calls in reach."""
        reach = self.reach(user)
        if reach is None:
            return None, frozenset()
        return reach, frozenset(c.customer_id for c in self._query.calls()
                                if c.customer_id is not None and _call_in(reach, user, c))

    # -- the object, or not found ----------------------------------------------------------------------------
    def agent(self, user: UserRecord, agent_id: str) -> Agent:
        agent = self._query.agent(agent_id) if self._query.has_agent(agent_id) else None
        if agent is None or not self.sees_agent(user, agent):
            raise NotFound(f"no agent {agent_id!r}", code="agent_not_found", params={"agent_id": agent_id})
        return agent

    def call(self, user: UserRecord, call_id: str) -> WorkItem:
        call = self._query.find_call(call_id)
        if call is None or not self.sees_call(user, call):
            raise NotFound(f"no call {call_id!r}", code="call_not_found", params={"call_id": call_id})
        return call

    def placement(self, user: UserRecord, call_id: str) -> Placement:
        """As :meth:`call` (the same check, the same not found), answering only where the item is."""
        placed = self._query.placement(call_id)
        if placed is None or not _call_in(self.reach(user), user, placed):
            raise NotFound(f"no call {call_id!r}", code="call_not_found", params={"call_id": call_id})
        return placed

    async def interaction(self, user: UserRecord, call_id: str) -> InteractionRecord:
        record = await self._interactions.get(call_id)
        if record is None or not self.sees_interaction(user, record):
            raise NotFound(f"no interaction {call_id!r}", code="interaction_not_found", params={"call_id": call_id})
        return record

    async def customer(self, user: UserRecord, customer_id: str) -> None:
        """Raises not found unless ``user`` may see the customer (whether the customer exists is the caller's
        next question, answered in the same words)."""
        if not await self.sees_customer(user, customer_id):
            raise NotFound(f"no customer {customer_id!r}", code="customer_not_found",
                           params={"customer_id": customer_id})


def _call_in(reach: Reach | None, user: UserRecord, call: WorkItem | Placement) -> bool:
    if reach is None:
        return True
    if user.role == "agent":
        return call.agent_id is not None and call.agent_id in reach.agents
    return call.queue in reach.queues or (call.agent_id is not None and call.agent_id in reach.agents)


def handled_by(record: InteractionRecord) -> set[str]:
    """The agents who talked to the caller: the last one, and any who transferred the call on."""
    decisions = (record.routing or {}).get("decisions") or ()
    agents = {record.agent_id} | {d.get("winner") for d in decisions if d.get("kind") == "transferred"}
    return {a for a in agents if isinstance(a, str)}
