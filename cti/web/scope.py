"""What a user may see: supervisors are limited to the queues and teams in their scope (none = all)."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from cti.records import UserRecord

__all__ = ["can_see_agent", "can_see_queue", "require_queue"]


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
        raise web.HTTPForbidden(reason=f"queue {queue!r} is outside {user.name!r}'s scope")
