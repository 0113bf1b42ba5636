"""Who may see what: supervisors are limited to the queues and teams of their scope (none: everything).

Used by every service a supervisor reaches (dashboard, reports, workforce management, monitoring): one
definition of a scope, so a path cannot forget it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cti.errors import Forbidden
from cti.records import UserRecord

__all__ = ["Scope", "can_see_agent", "can_see_queue", "require_queue", "scope_of"]


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
        raise Forbidden(f"queue {queue!r} is outside {user.name!r}'s scope")
