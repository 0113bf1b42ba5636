"""Every table cti keeps, in one place: the core (calls, agents, users, state history), the CRM, call scripts and
workforce management.

Internal to :mod:`cti.persistence`: the repositories hand out plain records, never these rows. The schema itself
is owned by the Alembic migrations (``migrations/versions``), and a test checks that :data:`METADATA` and the
migrations agree. Class names end in ``Row`` so they never shadow the domain's own ``Agent`` or ``Customer``.

Money is stored as integer minor units (``BigInteger``, ``*_minor`` columns) of one currency, IDR: sums and
comparisons are exact on both backends, whereas SQLite has no decimal type (``Numeric`` comes back through
floats there) and SQLAlchemy warns about it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from cti.records import ROLES

from ._base import Base, UTCDateTime, utcnow

__all__ = [
    "METADATA",
    "AgentRow",
    "AgentStateRow",
    "AuditRow",
    "CaseRow",
    "ChatMessageRow",
    "ContactRow",
    "CustomerPhoneRow",
    "CustomerRow",
    "DeadLetterRow",
    "HoldingRow",
    "InteractionRow",
    "InvoiceRow",
    "OrderRow",
    "ProductComplementRow",
    "ProductRow",
    "PromotionRow",
    "QuestionnaireRow",
    "ScriptRow",
    "ShipmentStepRow",
    "SurveyRow",
    "UserRow",
    "WebSessionRow",
    "WfmScheduleRow",
    "WfmShiftRow",
]


# -- core: calls, agents, API users, agent state history -----------------------------------------------------------


class InteractionRow(Base):
    __tablename__ = "interactions"
    # The retention purge's range scan: rows not yet redacted that arrived before a day.
    __table_args__ = (Index("ix_interactions_redacted_at_arrived_at", "redacted_at", "arrived_at"),)

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(128))
    caller_number: Mapped[str] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    service_number: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agent_extension: Mapped[str | None] = mapped_column(String(32))
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    offers: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    hold_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    hold_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default=text("0"))
    legs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(String(16))
    end_reason: Mapped[str | None] = mapped_column(String(32))
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    ivr: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    direction: Mapped[str] = mapped_column(String(8), default="inbound", server_default="inbound")
    channel: Mapped[str] = mapped_column(String(8), default="voice", server_default="voice")
    disposition: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    script_answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    crosssell: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    follow_up: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    wrapped_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the personal fields were removed (erasure, retention); later writes leave them removed."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RecordingRow(Base):
    """A call's recording (``kind`` ``call``: the conversation; ``survey_comment``: what the caller said in
    the post-call survey): the file is in the recordings directory (``path`` relative to it), the row says what
    it holds; retention and erasure delete both."""

    __tablename__ = "recordings"

    recording_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused: Mapped[list[Any]] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), server_default="call")


class AgentRow(Base):
    __tablename__ = "agents"

    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ({})".format(", ".join(f"'{r}'" for r in ROLES)), name="role"),
                      CheckConstraint("language IN ('id', 'en')", name="language"))

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("agents.agent_id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of the token: a leaked database must not hand out working tokens."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """A supervisor's queues and teams (``{"queues": [...], "teams": [...]}``); none means all."""
    token_issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """None only for a token set by configuration (the bootstrap admin's)."""
    password_hash: Mapped[str | None] = mapped_column(String(255))
    """An argon2id hash (``cti.services.Passwords``); None: the user cannot sign in with a password."""
    language: Mapped[str] = mapped_column(String(2), default="id", server_default=text("'id'"))


class WebSessionRow(Base):
    """People signed in with a password, one row per browser session; only hashes of the session id and of its
    CSRF token are stored."""

    __tablename__ = "web_sessions"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.user_id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    csrf_hash: Mapped[str] = mapped_column(String(64))


class PortalCodeRow(Base):
    """Sign-in codes of the customer portal: one live code per address (e-mail or phone), only its salted hash
    kept, spent by its use, its expiry or too many wrong entries."""

    __tablename__ = "portal_codes"

    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), ForeignKey("customers.customer_id", ondelete="CASCADE"),
                                             index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    salt: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class PortalSessionRow(Base):
    """Customers signed in on the portal, one row per browser session (a kind apart from staff web sessions: a
    table of its own, so neither kind's id can ever open the other's door); only hashes are stored."""

    __tablename__ = "portal_sessions"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), ForeignKey("customers.customer_id", ondelete="CASCADE"),
                                             index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    csrf_hash: Mapped[str] = mapped_column(String(64))


class AuditRow(Base):
    """The append-only audit log: triggers (migration 0007) refuse updates and deletes on both backends."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    audit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AgentStateRow(Base):
    __tablename__ = "agent_state_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    extension: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DeadLetterRow(Base):
    """A record the database refused (the journal sets it aside and goes on); its payload is the record as JSON."""

    __tablename__ = "dead_letters"

    letter_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    record_key: Mapped[str] = mapped_column(String(128), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class DoNotCallRow(Base):
    """A number no outbound call may dial (E.164, as the CRM keeps phones); added and removed by staff."""

    __tablename__ = "do_not_call"

    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduledCallbackRow(Base):
    """A callback an agent scheduled (wrap-up, or the API): due at its time, previewed, dialed, retried."""

    __tablename__ = "scheduled_callbacks"
    __table_args__ = (Index("ix_scheduled_callbacks_status_due_at", "status", "due_at"),)

    callback_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    queue: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agent_first: Mapped[bool] = mapped_column(Boolean, default=False)
    phone_index: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(500))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    call_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookSubscriptionRow(Base):
    """Where a partner wants events delivered (docs/integration.md); the secret signs them and leaves only once."""

    __tablename__ = "webhook_subscriptions"

    subscription_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(200), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- CRM: customers, catalog, holdings, orders, invoices, contacts, cases, promotions ------------------------------


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


# Spelled out here rather than imported from cti.crm: the schema must not move when the domain's tuples do
# (the migration 0003 repeats them verbatim).
_LANGUAGES = ("id", "en")
_TIERS = ("bronze", "silver", "gold", "platinum")
_PHONE_KINDS = ("mobile", "fixed", "foreign", "unknown")
_ORDER_STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled", "returned")
_SHIPMENT_STATUSES = ("pending", "in_transit", "out_for_delivery", "delivered", "failed_delivery", "returned")
_CHANNELS = ("call", "email", "web", "chat")
_CASE_STATUSES = ("open", "pending", "resolved", "closed")
_CASE_PRIORITIES = ("low", "normal", "high", "urgent")


class CustomerRow(Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint(_one_of("language", _LANGUAGES), name="language"),
        CheckConstraint(_one_of("value_tier", _TIERS), name="value_tier"),
        CheckConstraint("lifetime_value_minor >= 0", name="lifetime_value"),
    )

    customer_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name folded for the customer search (cti.crm.fold_name): no accents, lower case, plain words.
    search_name: Mapped[str] = mapped_column(String(200), default="", server_default=text("''"))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(2), default="id", server_default=text("'id'"))
    segment: Mapped[str | None] = mapped_column(String(32), index=True)
    value_tier: Mapped[str | None] = mapped_column(String(16))
    lifetime_value_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    consent_marketing_calls: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    consent_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    consent_data_sharing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    consent_phone_calls: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    consent_surveys: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    forgotten_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What a caller who is not calling from one of these phones proves who they are with in the IVR: the PIN only
    # as a salted hash (cti.crm.hash_pin), and the date of birth. Neither is ever shown to an agent.
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date)
    # Another CRM's id for this customer when the row is cti's copy of its record (cti.crm.ExternalCustomer);
    # kept when the customer is erased, so the next lookup does not copy them back (docs/crm.md).
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)


class CustomerPhoneRow(Base):
    __tablename__ = "customer_phones"
    __table_args__ = (CheckConstraint(_one_of("kind", _PHONE_KINDS), name="kind"),)

    # The primary key makes a number belong to one customer at most: a caller must identify one record.
    e164: Mapped[str] = mapped_column(String(16), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), ForeignKey("customers.customer_id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    """Order on the customer's record; the lowest is the primary number."""


class ProductRow(Base):
    __tablename__ = "products"
    __table_args__ = (CheckConstraint("price_minor >= 0", name="price"),)

    sku: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_id: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32), index=True)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class ProductComplementRow(Base):
    __tablename__ = "product_complements"
    __table_args__ = (
        CheckConstraint("sku <> complement_sku", name="not_itself"),
        CheckConstraint("weight > 0", name="weight"),
    )

    sku: Mapped[str] = mapped_column(String(32), ForeignKey("products.sku"), primary_key=True)
    complement_sku: Mapped[str] = mapped_column(String(32), ForeignKey("products.sku"), primary_key=True)
    weight: Mapped[float] = mapped_column(Float)


class HoldingRow(Base):
    __tablename__ = "holdings"

    customer_id: Mapped[str] = mapped_column(String(16), ForeignKey("customers.customer_id"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), ForeignKey("products.sku"), primary_key=True, index=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(_one_of("status", _ORDER_STATUSES), name="status"),
        CheckConstraint(_one_of("shipment_status", _SHIPMENT_STATUSES), name="shipment_status"),
        CheckConstraint("total_minor >= 0", name="total"),
    )

    order_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), ForeignKey("customers.customer_id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    total_minor: Mapped[int] = mapped_column(BigInteger)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipment_status: Mapped[str | None] = mapped_column(String(24))
    carrier: Mapped[str | None] = mapped_column(String(32))
    tracking_number: Mapped[str | None] = mapped_column(String(64))


_SHIPMENT_STEPS = ("packed", "picked_up", "in_transit", "at_hub", "out_for_delivery", "delivered", "failed_delivery",
                   "returned")


class ShipmentStepRow(Base):
    """One step of an order's shipment (a carrier's scan): the history the portal tracks an order by."""

    __tablename__ = "shipment_steps"
    __table_args__ = (
        CheckConstraint(_one_of("step", _SHIPMENT_STEPS), name="step"),
        Index("ix_shipment_steps_order_number_at", "order_number", "at"),
    )

    step_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_number: Mapped[str] = mapped_column(String(32), ForeignKey("orders.order_number", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    step: Mapped[str] = mapped_column(String(24))
    location: Mapped[str | None] = mapped_column(String(64))


class InvoiceRow(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount"),
        CheckConstraint("paid_minor >= 0 AND paid_minor <= amount_minor", name="paid"),
    )

    invoice_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), ForeignKey("customers.customer_id"), index=True)
    order_number: Mapped[str | None] = mapped_column(String(32), ForeignKey("orders.order_number"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_date: Mapped[date] = mapped_column(Date)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ContactRow(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        CheckConstraint(_one_of("channel", _CHANNELS), name="channel"),
        CheckConstraint(_one_of("language", _LANGUAGES), name="language"),
        # The screen pop reads a customer's last contacts: one range scan.
        Index("ix_contacts_customer_id_at", "customer_id", "at"),
        # The staff's task list reads the open follow-ups, due first.
        Index("ix_contacts_follow_up_open", "follow_up_done_at", "follow_up_at"),
    )

    contact_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(16), ForeignKey("customers.customer_id"))
    channel: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(64))
    disposition: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(Text)
    agent_id: Mapped[str | None] = mapped_column(String(64))
    # Not a foreign key: interactions are written by the journal's asynchronous writer, and a wrap-up
    # must not fail because the call's row is still on its way. Indexed for the join.
    call_id: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[str | None] = mapped_column(String(2))
    script_answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cross_sell_offered: Mapped[list[str] | None] = mapped_column(JSON)
    cross_sell_accepted: Mapped[list[str] | None] = mapped_column(JSON)
    follow_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follow_up_task: Mapped[str | None] = mapped_column(String(500))
    # The follow-up as a task: whose queue sees it, how it answers, who took it, who completed it.
    follow_up_queue: Mapped[str | None] = mapped_column(String(64))
    follow_up_reply: Mapped[str | None] = mapped_column(String(8))
    follow_up_claimed_by: Mapped[str | None] = mapped_column(String(64))
    follow_up_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follow_up_done_by: Mapped[str | None] = mapped_column(String(64))
    follow_up_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(_one_of("status", _CASE_STATUSES), name="status"),
        CheckConstraint(_one_of("priority", _CASE_PRIORITIES), name="priority"),
    )

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(16), ForeignKey("customers.customer_id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PromotionRow(Base):
    __tablename__ = "promotions"
    __table_args__ = (
        CheckConstraint("sku IS NOT NULL OR category IS NOT NULL", name="target"),
        CheckConstraint("ends_at > starts_at", name="period"),
        CheckConstraint("boost > 0", name="boost"),
    )

    promotion_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sku: Mapped[str | None] = mapped_column(String(32), ForeignKey("products.sku"))
    category: Mapped[str | None] = mapped_column(String(32))
    segment: Mapped[str | None] = mapped_column(String(32))
    """``None``: every segment."""
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    boost: Mapped[float] = mapped_column(Float)
    text_id: Mapped[str] = mapped_column(String(500))
    text_en: Mapped[str] = mapped_column(String(500))


# -- workforce management: schedules and their shifts --------------------------------------------------------------


class WfmScheduleRow(Base):
    __tablename__ = "wfm_schedules"

    schedule_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    interval_minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[float] = mapped_column(Float)
    coverage: Mapped[list[Any]] = mapped_column(JSON)
    """Per interval and skill: ``[start ISO, skill, required, scheduled]``."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WfmShiftRow(Base):
    __tablename__ = "wfm_shifts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("wfm_schedules.schedule_id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[str] = mapped_column(String(64), index=True)
    pattern: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activities: Mapped[list[Any]] = mapped_column(JSON)
    """``[{"start": ISO, "end": ISO, "kind": "work" | "break", "skill": name | null}, ...]``."""


# -- call scripts: every saved version -----------------------------------------------------------------------------


class ScriptRow(Base):
    """One saved version of one script; saving never overwrites, it adds the next version."""

    __tablename__ = "scripts"

    script_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """At most one version per script is active: the one calls get."""


class FaqEntryRow(Base):
    """An FAQ entry as it is now: status, latest version, product line and the helpful counters."""

    __tablename__ = "faq_entries"

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    version: Mapped[int] = mapped_column(Integer)
    product_line: Mapped[str | None] = mapped_column(String(32))
    helpful: Mapped[int] = mapped_column(Integer, default=0)
    not_helpful: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FaqVersionRow(Base):
    """One saved version of an FAQ entry's texts; editing never overwrites, it adds the next version."""

    __tablename__ = "faq_versions"

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    product_line: Mapped[str | None] = mapped_column(String(32))
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Per language: question, answer, keywords."""
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertThresholdRow(Base):
    """A supervisor's alert threshold on a queue: one per metric, channel and (agent-state) state."""

    __tablename__ = "alert_thresholds"

    threshold_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str] = mapped_column(String(32))
    state: Mapped[str | None] = mapped_column(String(16))
    raise_at: Mapped[float] = mapped_column(Float)
    clear_at: Mapped[float] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertRow(Base):
    """An alert raised (and, once the figure came back, cleared): the alert history."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_queue_raised_at", "queue", "raised_at"),)

    alert_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_key: Mapped[str] = mapped_column(String(200), index=True)
    queue: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str] = mapped_column(String(32))
    state: Mapped[str | None] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    raise_at: Mapped[float] = mapped_column(Float)
    clear_at: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    """The figure when raised."""
    cleared_value: Mapped[float | None] = mapped_column(Float)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChatMessageRow(Base):
    """One message of a chat's transcript, stored with its interaction (``call_id``) when the chat ended."""

    __tablename__ = "chat_messages"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    message_id: Mapped[str] = mapped_column(String(48))
    sender: Mapped[str] = mapped_column(String(8))
    author: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(128))
    text: Mapped[str | None] = mapped_column(Text)
    """None once redacted (erasure, retention)."""
    links: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    code: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, str] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuestionLabelRow(Base):
    """A supervisor's label of a customer's question in a chat the virtual agent handed over or answered unsure
    (:class:`cti.cyberagent.QuestionLabel`): one per question (the chat and its message's ``seq``)."""

    __tablename__ = "cyberagent_labels"
    __table_args__ = (Index("ux_cyberagent_labels_question", "call_id", "seq", unique=True),)

    label_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    lang: Mapped[str] = mapped_column(String(8))
    question: Mapped[str | None] = mapped_column(Text)
    """The customer's words, copied from the transcript; None once those were redacted (erasure, retention)."""
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(64))
    labelled_by: Mapped[str] = mapped_column(String(64))
    labelled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ControllerTermRow(Base):
    """The leading controller's term (its fencing token), one row: see :meth:`cti.persistence.Database.claim_term`."""

    __tablename__ = "controller_terms"

    term_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token: Mapped[int] = mapped_column(BigInteger)
    holder: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QuestionnaireRow(Base):
    """A survey questionnaire, every saved version (the highest is the one in use)."""

    __tablename__ = "survey_questionnaires"

    questionnaire_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SurveyRow(Base):
    """One survey of a customer: owed, sent (its link's token only as a hash), answered or partial."""

    __tablename__ = "surveys"
    __table_args__ = (Index("ix_surveys_status_send_after", "status", "send_after"),
                      Index("ix_surveys_customer_created", "customer_id", "created_at"))

    survey_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str] = mapped_column(String(32))
    call_id: Mapped[str | None] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(64))
    queue: Mapped[str | None] = mapped_column(String(64))
    segment: Mapped[str] = mapped_column(String(200))
    questionnaire_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    send_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answer_channel: Mapped[str | None] = mapped_column(String(8))
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rating: Mapped[int | None] = mapped_column(Integer)
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    comment_recording_id: Mapped[str | None] = mapped_column(String(64))


METADATA: Final[MetaData] = Base.metadata
"""Every table above: what Alembic's autogenerate and the models-match-the-migrations test compare."""
