"""Plain records of what cti keeps: interactions, agents, API users, agent state history and dead letters.

The persistence layer stores and returns these (never ORM objects, which are bound to a session and
would tempt callers into lazy loads outside of one); services and reports take them. Every datetime here is
timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

__all__ = [
    "AUDIT_ACTIONS",
    "DEAD_LETTER_KINDS",
    "OUTCOMES",
    "ROLES",
    "WRAP_UP_FIELDS",
    "AgentRecord",
    "AgentStateRecord",
    "AlertRecord",
    "AuditRecord",
    "DeadLetterRecord",
    "DoNotCallEntry",
    "InteractionRecord",
    "PortalCodeRecord",
    "PortalSessionRecord",
    "PurgedInteractions",
    "Reach",
    "RecordingRecord",
    "UserRecord",
    "WebSessionRecord",
    "WebhookSubscription",
]

ROLES: Final = ("partner", "agent", "supervisor", "admin")
"""Allowed values of :attr:`UserRecord.role`, least privileged first (a partner reaches only the partner API,
within the operations and customers its scope grants: docs/integration.md)."""

OUTCOMES: Final = ("answered", "abandoned", "failed", "rejected", "self_service", "skipped")
"""Values the call handling writes to :attr:`InteractionRecord.outcome` once a call has ended."""


# kw_only: seventeen fields, most of them optional, are too many to pass by position safely.
@dataclass(frozen=True, slots=True, kw_only=True)
class InteractionRecord:
    """One call, from arrival in the queue (or an agent's dialing) to its end."""

    call_id: str
    channel_id: str
    caller_number: str
    caller_name: str | None = None
    service_number: str
    queue: str
    agent_id: str | None = None
    agent_extension: str | None = None
    arrived_at: datetime
    offered_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    wait_seconds: float | None = None
    """arrived → answered, or arrived → ended when the call was never answered."""
    talk_seconds: float | None = None
    """answered → ended."""
    offers: int = 0
    """How many agent phones were rung for this call."""
    hold_count: int = 0
    """How many times an agent put the caller on hold."""
    hold_seconds: float = 0.0
    """Seconds the caller spent on hold (a part of ``talk_seconds``: the agent was on the call)."""
    legs: list[dict[str, Any]] | None = None
    """Who talked on the call besides the caller, in order: each agent who took it and each party consulted
    (``participant``: agent id or number; ``kind``: agent, queue or external; ``role``: answered or consult;
    ``started``, ``ended``, ``seconds``)."""
    outcome: str | None = None
    """One of :data:`OUTCOMES`; ``None`` while the call is in progress."""
    end_reason: str | None = None
    """Why the call ended, e.g. ``caller_hangup``, ``agent_hangup``, ``shutdown``."""
    routing: dict[str, Any] | None = None
    """The routing attributes and every decision made for the call (queue, step, candidates, winner)."""
    customer_id: str | None = None
    """The CRM customer the caller was identified as (by number or by what they keyed in the IVR)."""
    ivr: dict[str, Any] | None = None
    """The caller's path through the IVR: nodes, inputs, recognised intents and confidences."""
    direction: str = "inbound"
    """``inbound`` (the customer called), or ``outbound`` (an agent called the customer: ``caller_number`` is then
    the number dialed and ``service_number`` the caller id shown)."""
    channel: str = "voice"
    """``voice`` (a call) or ``chat`` (a web chat: its transcript is stored beside, by ``call_id``)."""
    disposition: str | None = None
    notes: str | None = None
    script_answers: dict[str, Any] | None = None
    crosssell: dict[str, Any] | None = None
    """Next-best offers shown to the agent, and which were offered and accepted."""
    follow_up: dict[str, Any] | None = None
    wrapped_up_at: datetime | None = None
    """When the agent saved the wrap-up; the fields above it are the agent's, never the call handling's."""
    redacted_at: datetime | None = None
    """When the personal fields (caller number and name, notes, script answers, follow-up, the IVR's keyed
    digits and prompts, transfer notes) were removed: the customer was erased, or the retention period ran out.
    Set by the store only."""


@dataclass(frozen=True, slots=True)
class PurgedInteractions:
    """What a retention purge removed: how many interactions lost their personal fields, and the prompts their
    callers were told (content: only for deleting the audio rendered from it)."""

    interactions: int
    prompts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DoNotCallEntry:
    """A number on the do-not-call list: no outbound call dials it."""

    entry_id: int
    number: str
    """E.164."""
    reason: str | None
    added_by: str
    added_at: datetime


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert of the history: raised when a queue's figure crossed its threshold, cleared once it came back."""

    alert_id: int
    queue: str
    channel: str
    metric: str
    state: str | None
    subject: str
    """The queue, or the agent for an agent-state alert."""
    raise_at: float
    clear_at: float
    value: float
    raised_at: datetime
    cleared_value: float | None = None
    cleared_at: datetime | None = None

    def as_json(self) -> dict[str, object]:
        return {"alert_id": self.alert_id, "queue": self.queue, "channel": self.channel, "metric": self.metric,
                "state": self.state, "subject": self.subject, "raise_at": self.raise_at, "clear_at": self.clear_at,
                "value": self.value, "raised_at": self.raised_at.isoformat(), "cleared_value": self.cleared_value,
                "cleared_at": None if self.cleared_at is None else self.cleared_at.isoformat()}


WRAP_UP_FIELDS: Final = ("disposition", "notes", "script_answers", "crosssell", "follow_up", "wrapped_up_at")
"""Written only by the wrap-up; saving the call's progress leaves them alone."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingRecord:
    """One recording of a call (a call has several when it was transferred or stopped and started again): the
    mixed audio of both sides, in cti's own storage."""

    recording_id: str
    call_id: str
    path: str
    """Relative to the recordings directory (``CTI_RECORDING_DIR``)."""
    format: str
    started_at: datetime
    ended_at: datetime
    paused: tuple[tuple[float, float], ...] = ()
    """Pauses as (from, to) seconds after ``started_at``: their audio is not in the file."""
    size: int = 0
    sha256: str = ""
    agent_id: str | None = None
    """The agent on the call while it was recorded."""
    kind: str = "call"
    """``call``: the conversation (both sides mixed); ``survey_comment``: the caller's spoken comment in the
    post-call survey (the caller alone, no agent)."""

    @property
    def seconds(self) -> float:
        """Wall-clock length, pauses included."""
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class AgentRecord:
    agent_id: str
    name: str
    profile: dict[str, Any] | None = None
    """What routing knows of the agent: skills (name -> level), languages, region, site, team."""


@dataclass(frozen=True, slots=True)
class UserRecord:
    """An API user; the token itself is never part of it (only its hash is stored)."""

    user_id: int
    name: str
    role: str
    agent_id: str | None
    disabled: bool
    scope: dict[str, Any] | None = None
    """A supervisor's queues and teams; ``None`` means everything."""
    token_issued_at: datetime | None = None
    """When the current token was issued: a token held since before is no longer this user's."""
    token_expires_at: datetime | None = None
    """When the token stops working; ``None`` for a token set by configuration (the bootstrap admin's)."""
    language: str = "id"
    """The language the user's pages speak: ``id`` (Bahasa Indonesia) or ``en``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PortalCodeRecord:
    """A sign-in code of the customer portal, as kept: ``address_hash`` names the e-mail or phone it was sent to
    (its SHA-256), ``code_hash`` is the SHA-256 of ``salt`` and the code; never the code itself."""

    address_hash: str
    customer_id: str
    code_hash: str
    salt: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PortalSessionRecord:
    """A customer's session on the portal (a kind apart from :class:`WebSessionRecord`); ``key`` is the SHA-256 of
    the session id, ``csrf_hash`` of its CSRF token."""

    key: str
    customer_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    csrf_hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSessionRecord:
    """A person's session in a browser, after signing in with their password. Only hashes of the session id and
    of its CSRF token are kept; ``key`` is the session id's hash."""

    key: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    """The absolute end, whatever the activity (the idle timeout is counted from ``last_seen_at``)."""
    csrf_hash: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class AgentStateRecord:
    """An agent entered ``state`` at ``at``; it lasts until the agent's next record."""

    agent_id: str
    state: str
    reason: str | None
    extension: str | None
    at: datetime


AUDIT_ACTIONS: Final = ("view", "list", "create", "change", "delete", "export", "erase", "login", "denied", "play",
                        "download", "dial")
"""What an audit entry says was done to its subject (``change`` covers every other state-changing request)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """One entry of the append-only audit log: who did what to which subject, when and from where.

    It names its subject by id and never copies the subject's content, so erasing a customer's data leaves
    the trail of who saw it."""

    audit_id: int = 0
    """Assigned by the database; entries are numbered in the order they were written."""
    at: datetime
    actor: str
    """The user's name (``cti`` for the server itself, ``cli:<os user>`` for the command line)."""
    role: str
    action: str
    """One of :data:`AUDIT_ACTIONS`."""
    subject_type: str
    """What was touched: ``customer``, ``interaction``, ``call``, ``agent``, ``user``, ``route`` (an API path)."""
    subject_id: str
    source: str
    """Where the request came from: the client address, ``cli`` or ``server``."""
    detail: dict[str, Any] | None = None
    """Ids and outcomes only (the HTTP method and path template, the status): never personal content."""


@dataclass(frozen=True, slots=True)
class Reach:
    """The queues and agents whose work a user may see, when it is not everything (see the services' policy)."""

    queues: frozenset[str] = frozenset()
    agents: frozenset[str] = frozenset()


DEAD_LETTER_KINDS: Final = ("interaction", "agent_state", "webhook")
"""What a dead letter may hold: an :class:`InteractionRecord` or an :class:`AgentStateRecord` the database
refused, or a webhook event its receiver did not take after every attempt (``{"subscription_id", "event"}``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetterRecord:
    """A record the database refused, set aside so that the records after it could be written."""

    letter_id: int
    kind: str
    """One of :data:`DEAD_LETTER_KINDS`."""
    key: str
    """Whose record: the call id of an interaction, the agent id of a state change."""
    payload: dict[str, Any]
    """The record as JSON (datetimes in ISO 8601), as it was when the database refused it."""
    error: str
    """Why the database refused it."""
    at: datetime
    """When it was set aside."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSubscription:
    """Where a partner wants events delivered, and which ones (``events``: names or ``prefix.*``)."""

    subscription_id: str
    url: str
    events: tuple[str, ...]
    secret: str
    """The HMAC key of the signatures: shown once when created, never again by the API, never logged."""
    description: str = ""
    active: bool = True
    created_by: str = ""
    created_at: datetime | None = None
