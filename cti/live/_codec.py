"""JSON encoding of agents and work items for the live store. Versioned so a newer controller can read it.

Version 2 keeps what an agent holds as ``work`` (item id -> channel) and their ``capacity``; version 1 (an
agent's single ``call_id``) is still read, so a controller upgraded with calls live carries on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from datetime import datetime
from enum import Enum
from typing import Any

from cti.acd import (
    Agent,
    AgentState,
    Capacity,
    Channel,
    Consult,
    Decision,
    Direction,
    EndReason,
    Leg,
    Outcome,
    PendingChange,
    Routing,
    Why,
    WorkItem,
    WorkState,
)

__all__ = ["decode_agent", "decode_call", "decode_decision", "encode_agent", "encode_call"]

VERSION = 2


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def encode_agent(agent: Agent) -> str:
    data = {f.name: _plain(getattr(agent, f.name)) for f in fields(agent)
            if f.name not in ("pending", "work", "capacity")}
    data["work"] = {call_id: channel.value for call_id, channel in agent.work.items()}
    data["capacity"] = agent.capacity.as_json()
    if agent.pending is not None:
        data["pending"] = {"state": agent.pending.state.value, "reason": agent.pending.reason}
    data["v"] = VERSION
    return json.dumps(data)


def encode_call(call: WorkItem) -> str:
    data = {f.name: _plain(getattr(call, f.name)) for f in fields(call)
            if f.name not in ("routing", "decisions", "consult", "legs")}
    data["routing"] = asdict(call.routing)
    if call.consult is not None:
        data["consult"] = {name: _plain(value) for name, value in asdict(call.consult).items()}
    data["legs"] = [{**leg.as_json(), "channel_id": leg.channel_id} for leg in call.legs]
    data["decisions"] = [d.as_json() for d in call.decisions]
    data["v"] = VERSION
    return json.dumps(data)


def decode_decision(data: dict[str, Any]) -> Decision:
    at = _dt(data["at"])
    assert at is not None
    return Decision(
        at=at, kind=data["kind"], queue=data["queue"], route=data["route"], step=int(data["step"]),
        reason=data["reason"], strategy=data.get("strategy"), winner=data.get("winner"),
        candidates=tuple(data.get("candidates") or ()), candidate_count=int(data.get("candidate_count", 0)),
        note=data.get("note"),
        why=tuple(Why(part["code"], part.get("params") or {}) for part in data.get("why") or ()),
    )


def _dt(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def decode_agent(raw: str | bytes) -> Agent:
    data = json.loads(raw)
    pending = data.get("pending")
    if "work" in data:
        work = {str(call_id): Channel(channel) for call_id, channel in data["work"].items()}
    else:  # version 1: one call, on voice
        work = {data["call_id"]: Channel.VOICE} if data.get("call_id") else {}
    capacity = data.get("capacity")
    return Agent(
        agent_id=data["agent_id"],
        name=data.get("name", ""),
        extension=data.get("extension"),
        state=AgentState(data["state"]),
        reason=data.get("reason"),
        state_since=_dt(data.get("state_since")),
        idle_since=_dt(data.get("idle_since")),
        work=work,
        pending=None if pending is None else PendingChange(AgentState(pending["state"]), pending.get("reason")),
        calls_handled=int(data.get("calls_handled", 0)),
        skills={str(k): int(v) for k, v in (data.get("skills") or {}).items()},
        languages=frozenset(data.get("languages") or ()),
        region=data.get("region"),
        site=data.get("site"),
        team=data.get("team"),
        capacity=Capacity() if capacity is None else Capacity.of(capacity.get("limits"), capacity.get("exclusive")),
        logged_in_at=_dt(data.get("logged_in_at")),
        busy_seconds=float(data.get("busy_seconds", 0.0)),
        wrap_up_until=_dt(data.get("wrap_up_until")),
    )


def decode_call(raw: str | bytes) -> WorkItem:
    data = json.loads(raw)
    arrived = _dt(data["arrived_at"])
    assert arrived is not None
    return WorkItem(
        call_id=data["call_id"],
        channel_id=data["channel_id"],
        caller_number=data["caller_number"],
        service_number=data["service_number"],
        queue=data["queue"],
        arrived_at=arrived,
        caller_name=data.get("caller_name"),
        state=WorkState(data["state"]),
        agent_id=data.get("agent_id"),
        agent_extension=data.get("agent_extension"),
        agent_channel_id=data.get("agent_channel_id"),
        offered_at=_dt(data.get("offered_at")),
        answered_at=_dt(data.get("answered_at")),
        ended_at=_dt(data.get("ended_at")),
        offers=int(data.get("offers", 0)),
        # Before connections were counted, a connected call had had one (its bridge's id says so).
        connections=int(data.get("connections", 1 if data.get("answered_at") else 0)),
        outcome=None if data.get("outcome") is None else Outcome(data["outcome"]),
        end_reason=None if data.get("end_reason") is None else EndReason(data["end_reason"]),
        routing=Routing(**(data.get("routing") or {})),
        decisions=[decode_decision(d) for d in data.get("decisions") or ()],
        queued_at=_dt(data.get("queued_at")),
        announced_at=_dt(data.get("announced_at")),
        callback=bool(data.get("callback", False)),
        caller_present=bool(data.get("caller_present", True)),
        not_before=_dt(data.get("not_before")),
        customer_id=data.get("customer_id"),
        ivr=data.get("ivr"),
        channel=Channel(data.get("channel", "voice")),
        held_since=_dt(data.get("held_since")),
        hold_count=int(data.get("hold_count", 0)),
        held_seconds=float(data.get("held_seconds", 0.0)),
        muted=bool(data.get("muted", False)),
        direction=Direction(data.get("direction", "inbound")),
        callback_id=data.get("callback_id"),
        node=data.get("node"),
        consult=_consult(data.get("consult")),
        consults=int(data.get("consults", 0)),
        legs=[Leg.from_json(leg) for leg in data.get("legs") or ()],
    )


def _consult(data: dict[str, Any] | None) -> Consult | None:
    if data is None:
        return None
    started = _dt(data["started_at"])
    assert started is not None
    return Consult(kind=data["kind"], target=data["target"], channel_id=data["channel_id"], started_at=started,
                   queue=data.get("queue"), extension=data.get("extension"), note=data.get("note"),
                   answered_at=_dt(data.get("answered_at")), conference=bool(data.get("conference", False)))
