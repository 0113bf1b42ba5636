"""JSON views of core objects. One place decides what the API shows of an agent, a call, a record."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from cti.acd import Agent, WorkItem, WorkState
from cti.records import InteractionRecord, UserRecord

__all__ = ["ID_PATTERN", "agent_view", "call_view", "interaction_view", "user_view"]

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""What an agent id, a user name, a site or a team may look like."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def agent_view(agent: Agent) -> dict[str, Any]:
    return {
        "agent_id": agent.agent_id,
        "name": agent.name,
        "extension": agent.extension,
        "state": agent.state.value,
        "reason": agent.reason,
        "state_since": _iso(agent.state_since),
        "idle_since": _iso(agent.idle_since),
        "call_id": agent.call_id,
        "pending": None if agent.pending is None else {
            "state": agent.pending.state.value, "reason": agent.pending.reason},
        "calls_handled": agent.calls_handled,
        "wrap_up_until": _iso(agent.wrap_up_until),
        "profile": {"skills": dict(agent.skills), "languages": sorted(agent.languages), "region": agent.region,
                    "site": agent.site, "team": agent.team,
                    "capacity": {channel.value: n for channel, n in agent.capacity.limits.items()},
                    "exclusive": sorted(channel.value for channel in agent.capacity.exclusive)},
        "work": {call_id: channel.value for call_id, channel in agent.work.items()},
    }


def call_view(call: WorkItem, now: datetime) -> dict[str, Any]:
    waiting = call.state in (WorkState.WAITING, WorkState.RINGING)
    return {
        "call_id": call.call_id,
        "state": call.state.value,
        "caller_number": call.caller_number,
        "caller_name": call.caller_name,
        "service_number": call.service_number,
        "queue": call.queue,
        "agent_id": call.agent_id,
        "agent_extension": call.agent_extension,
        "arrived_at": _iso(call.arrived_at),
        "offered_at": _iso(call.offered_at),
        "answered_at": _iso(call.answered_at),
        "offers": call.offers,
        "held_since": _iso(call.held_since),
        "hold_count": call.hold_count,
        "muted": call.muted,
        "direction": call.direction.value,
        "customer_id": call.customer_id,
        "consult": None if call.consult is None else call.consult.as_json(),
        "legs": [leg.as_json() for leg in call.legs],
        "wait_seconds": round((now - call.arrived_at).total_seconds(), 3) if waiting else call.wait_seconds,
        "routing": asdict(call.routing),
        "decisions": [d.as_json() for d in call.decisions],
    }


def interaction_view(record: InteractionRecord) -> dict[str, Any]:
    return {k: _iso(v) if isinstance(v, datetime) else v for k, v in asdict(record).items()}


def user_view(user: UserRecord) -> dict[str, Any]:
    expires = user.token_expires_at
    return {"name": user.name, "role": user.role, "agent_id": user.agent_id, "disabled": user.disabled,
            "token_expires_at": None if expires is None else expires.isoformat()}
