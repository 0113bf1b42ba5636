"""What the services need of the adapters, as protocols: the persistence layer's repositories, the live store,
the telephony adapter and the websocket hub implement them; ``tests/unit/fakes.py`` has in-memory twins.

Only the methods the services call are named here. A service never imports an adapter: the composition
root (:mod:`cti.bootstrap`) hands it the real thing.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from cti.acd import Agent, ScheduledCallback, WorkItem
from cti.chat import ChatMessage, ChatSession, NewMessage
from cti.crm import (
    ComplementRecord,
    Consent,
    ContactRecord,
    CustomerCredentials,
    CustomerFields,
    CustomerRecord,
    CustomerView,
    ForgottenCustomer,
    HoldingRecord,
    NewContact,
    OrderRecord,
    ProductRecord,
    PromotionRecord,
)
from cti.cyberagent import AskedQuestion, LabelKind, QuestionLabel
from cti.faq import FaqEntry, FaqStatus, FaqText, FaqVersion
from cti.records import (
    AgentRecord,
    AgentStateRecord,
    AlertRecord,
    AuditRecord,
    DeadLetterRecord,
    DoNotCallEntry,
    InteractionRecord,
    PurgedInteractions,
    Reach,
    RecordingRecord,
    UserRecord,
    WebSessionRecord,
)
from cti.scripting import Script, ScriptSummary, ScriptVersion
from cti.stats import AlertChange, AlertThreshold
from cti.types import Language
from cti.wfm import InteractionSample, Schedule, ScheduleSummary, StoredSchedule

__all__ = [
    "AgentRegistry",
    "AlertStore",
    "AuditLog",
    "Callbacks",
    "ChatLog",
    "ChatTranscripts",
    "ContactRetention",
    "Credentials",
    "Customers",
    "DeadLetters",
    "DoNotCall",
    "ErasableCustomers",
    "FaqStore",
    "InteractionRetention",
    "Interactions",
    "LiveState",
    "MonitorInfo",
    "Phones",
    "QuestionLabels",
    "Recorder",
    "Recordings",
    "Schedules",
    "Scripts",
    "Supervision",
    "Transcriber",
    "Users",
    "WebSessions",
]


class LiveState(Protocol):
    """Redis: the live agents and items, enough for a restarted controller to carry on."""

    dirty: bool

    async def load(self) -> tuple[list[Agent], list[WorkItem]]: ...

    async def save(self, agents: Iterable[Agent] = (), calls: Iterable[WorkItem] = ()) -> bool: ...

    async def resync(self, agents: Iterable[Agent], calls: Iterable[WorkItem]) -> bool: ...

    async def save_sight(self, at: datetime) -> bool: ...

    async def load_sight(self) -> datetime | None: ...


class ChatLog(Protocol):
    """Live chats' sessions and messages, kept while the chats live (Redis: ``cti.live.ChatStreams``)."""

    async def save_session(self, session: ChatSession) -> None: ...

    async def sessions(self) -> builtins.list[ChatSession]: ...

    async def append(self, chat_id: str, message: NewMessage) -> ChatMessage: ...

    async def after(self, chat_id: str, after: str | None = None, *,
                    limit: int = 1000) -> builtins.list[ChatMessage]: ...

    async def drop(self, chat_id: str) -> None: ...


class QuestionLabels(Protocol):
    """Supervisors' labels of the virtual agent's unanswered questions, and those questions (SQL)."""

    async def questions(self, *, within: Reach | None, since: datetime, limit: int = 100,
                        call_id: str | None = None) -> builtins.list[AskedQuestion]: ...

    async def label(self, question: AskedQuestion, kind: LabelKind, target: str | None, *, by: str,
                    at: datetime) -> QuestionLabel: ...

    async def unlabel(self, call_id: str, seq: int) -> QuestionLabel | None: ...

    async def learnt(self) -> builtins.list[QuestionLabel]: ...


class ChatTranscripts(Protocol):
    """Ended chats' transcripts, beside their interactions (SQL)."""

    async def save(self, call_id: str, messages: Sequence[ChatMessage]) -> None: ...

    async def transcript(self, call_id: str) -> builtins.list[ChatMessage]: ...


class Users(Protocol):
    async def create_user(self, name: str, role: str, agent_id: str | None = None, *,
                          expires_at: datetime | None = None) -> tuple[UserRecord, str]: ...

    async def ensure_user_token(self, name: str, role: str, token: str, agent_id: str | None = None, *,
                                expires_at: datetime | None = None) -> UserRecord:
        ...

    async def user_for_token(self, token: str) -> UserRecord | None: ...

    async def user_named(self, name: str) -> UserRecord | None: ...

    async def list_users(self) -> builtins.list[UserRecord]: ...

    async def set_user_scope(self, name: str, scope: Mapping[str, Any] | None) -> UserRecord: ...

    async def set_user_disabled(self, name: str, disabled: bool = True) -> UserRecord: ...

    async def rotate_token(self, name: str, *, expires_at: datetime | None) -> tuple[UserRecord, str]: ...

    async def delete_user(self, name: str) -> bool: ...

    async def bound_token_lifetimes(self, expires_at: datetime, *, keep: str | None = None) -> int: ...


class Credentials(Protocol):
    """Users' password hashes and languages (the users table, as for :class:`Users`)."""

    async def credentials(self, name: str) -> tuple[UserRecord, str | None] | None: ...

    async def user_named(self, name: str) -> UserRecord | None: ...

    async def set_password(self, name: str, password_hash: str) -> UserRecord: ...

    async def set_language(self, name: str, language: str) -> UserRecord: ...


class WebSessions(Protocol):
    """People signed in with their password, by the hash of their session id."""

    async def create(self, name: str, record: WebSessionRecord) -> None: ...

    async def find(self, key: str) -> tuple[WebSessionRecord, UserRecord] | None: ...

    async def touch(self, key: str, at: datetime) -> None: ...

    async def delete(self, key: str) -> bool: ...

    async def delete_of_user(self, name: str, *, keep: str | None = None) -> int: ...

    async def purge(self, *, now: datetime, idle_since: datetime) -> int: ...


class AuditLog(Protocol):
    async def append(self, entries: builtins.list[AuditRecord]) -> None: ...

    async def search(self, *, actor: str | None = None, action: str | None = None,
                     subject_type: str | None = None, subject_id: str | None = None,
                     since: datetime | None = None, until: datetime | None = None,
                     before_id: int | None = None, limit: int = 100) -> builtins.list[AuditRecord]: ...


class AgentRegistry(Protocol):
    async def upsert(self, agent: AgentRecord) -> None: ...

    async def get(self, agent_id: str) -> AgentRecord | None: ...

    async def list(self) -> builtins.list[AgentRecord]: ...

    async def record_state(self, record: AgentStateRecord) -> None: ...

    async def record_states(self, records: builtins.list[AgentStateRecord]) -> None:
        """All of ``records`` in one transaction, or none of them."""
        ...

    async def history(self, agent_id: str, *, limit: int = 100) -> builtins.list[AgentStateRecord]: ...

    async def states_between(self, start: datetime, end: datetime) -> builtins.list[AgentStateRecord]: ...


class Recorder(Protocol):
    """Records a call's bridge (both sides mixed) in Asterisk. Errors are :class:`~cti.errors.Unavailable`."""

    async def start(self, name: str, call_id: str, *, format: str, announcement: str | None) -> None: ...

    async def pause(self, name: str) -> None: ...

    async def resume(self, name: str, *, call_id: str, announcement: str | None) -> None: ...

    async def finish(self, name: str) -> bytes | None:
        """Stop it (if still going), hand over its audio and delete Asterisk's copy; None if it left no file."""
        ...


class Recordings(Protocol):
    async def add(self, record: RecordingRecord, audio: bytes) -> RecordingRecord: ...

    async def get(self, recording_id: str) -> RecordingRecord | None: ...

    async def for_call(self, call_id: str) -> builtins.list[RecordingRecord]: ...

    async def of_agent(self, agent_id: str, *, limit: int) -> builtins.list[RecordingRecord]:
        """The agent's recordings of their ``limit`` most recently recorded calls, newest first."""
        ...

    def file(self, record: RecordingRecord) -> Path: ...

    async def delete_for_calls(self, call_ids: Collection[str]) -> int: ...

    async def delete_before(self, before: datetime) -> int: ...


class Transcriber(Protocol):
    """Speech to text of a recorded comment (a WAV file). CPU work: called in a worker thread."""

    def transcribe(self, wav: bytes, language: str) -> str | None:
        """What was said, or None where there is no model for ``language`` (or nothing was made out)."""
        ...


class Interactions(Protocol):
    async def save(self, record: InteractionRecord) -> None: ...

    async def save_many(self, records: Collection[InteractionRecord]) -> None:
        """:meth:`save` of distinct calls in one transaction: all of them, or none."""
        ...

    async def save_unless_newer(self, record: InteractionRecord, at: datetime) -> bool: ...

    async def save_wrap_up(self, call_id: str, *, at: datetime, disposition: str, notes: str = "",
                           script_answers: Mapping[str, Any] | None = None,
                           crosssell: Mapping[str, Any] | None = None, follow_up: Mapping[str, Any] | None = None,
                           customer_id: str | None = None) -> InteractionRecord: ...

    async def get(self, call_id: str) -> InteractionRecord | None: ...

    async def list(self, *, limit: int = 100, agent_id: str | None = None, queue: str | None = None,
                   within: Reach | None = None) -> builtins.list[InteractionRecord]: ...

    async def involves(self, customer_id: str, within: Reach) -> bool: ...

    async def between(self, start: datetime, end: datetime, *,
                      queues: Collection[str] | None = None) -> builtins.list[InteractionRecord]: ...

    async def samples(self, queue: str, start: datetime, end: datetime) -> builtins.list[InteractionSample]: ...

    async def outbound_between(self, start: datetime, end: datetime, *,
                               queues: Collection[str] | None = None) -> builtins.list[InteractionRecord]: ...


class DeadLetters(Protocol):
    """Records the database refused, set aside (the journal) until an operator replays or discards them."""

    async def add(self, kind: str, key: str, payload: Mapping[str, Any], error: str) -> int: ...

    async def get(self, letter_id: int) -> DeadLetterRecord | None: ...

    async def list(self, *, kind: str | None = None, key: str | None = None,
                   limit: int = 100) -> builtins.list[DeadLetterRecord]: ...

    async def delete(self, letter_id: int) -> bool: ...


class Customers(Protocol):
    async def customer(self, customer_id: str) -> CustomerRecord | None: ...

    async def set_consent(self, customer_id: str, consent: Consent) -> CustomerRecord: ...

    async def update_customer(self, customer_id: str, fields: CustomerFields) -> CustomerRecord: ...

    async def customer_by_phone(self, number: str) -> CustomerRecord | None: ...

    async def search_customers(self, query: str, *, limit: int = 20, within: Reach | None = None,
                               also: Collection[str] = ()) -> builtins.list[CustomerRecord]: ...

    async def customer_view(self, customer_id: str, *, contacts: int = 5) -> CustomerView | None: ...

    async def create_blank_customer(self, caller_number: str | None, *, name: str = "", email: str | None = None,
                                    language: Language = "id") -> CustomerRecord: ...

    async def add_contact(self, contact: NewContact) -> ContactRecord: ...

    async def order_status(self, order_number: str) -> OrderRecord | None: ...

    async def credentials(self, customer_id: str) -> CustomerCredentials | None: ...

    async def set_credentials(self, customer_id: str, *, pin_hash: str | None = None, birth_date: date | None = None,
                              clear: Collection[Literal["pin", "birth_date"]] = ()) -> CustomerCredentials: ...

    async def catalog(self, *, include_inactive: bool = False) -> builtins.list[ProductRecord]: ...

    async def complements(self) -> builtins.list[ComplementRecord]: ...

    async def segment_holdings(self, segment: str, *, consented_only: bool = True) -> builtins.list[HoldingRecord]: ...

    async def active_promotions(self, at: datetime, *,
                                segment: str | None = None) -> builtins.list[PromotionRecord]: ...


class Callbacks(Protocol):
    """Scheduled callbacks, kept across restarts."""

    async def save(self, callback: ScheduledCallback) -> None: ...

    async def get(self, callback_id: str) -> ScheduledCallback | None: ...

    async def due(self, now: datetime, *, limit: int = 100) -> builtins.list[ScheduledCallback]: ...

    async def in_progress(self) -> builtins.list[ScheduledCallback]: ...

    async def list(self, *, within: Reach | None = None, statuses: Collection[str] | None = None,
                   limit: int = 100) -> builtins.list[ScheduledCallback]: ...

    async def finished_between(self, start: datetime, end: datetime, *,
                               queues: Collection[str] | None = None) -> builtins.list[ScheduledCallback]: ...

    async def of_customer(self, customer_id: str, *, created_by: str,
                          limit: int = 20) -> builtins.list[ScheduledCallback]: ...


class DoNotCall(Protocol):
    """The do-not-call list: E.164 numbers no outbound call dials."""

    async def contains(self, number: str) -> bool: ...

    async def list(self, *, limit: int = 1000) -> builtins.list[DoNotCallEntry]: ...

    async def add(self, number: str, *, reason: str | None, added_by: str) -> DoNotCallEntry: ...

    async def remove(self, entry_id: int) -> DoNotCallEntry | None: ...


class AlertStore(Protocol):
    """Supervisors' alert thresholds and the alert history."""

    async def thresholds(self, queues: Collection[str] | None = None) -> builtins.list[AlertThreshold]: ...

    async def replace_thresholds(self, queue: str, thresholds: Sequence[AlertThreshold], *, by: str) -> None: ...

    async def raised(self, change: AlertChange) -> int: ...

    async def cleared(self, change: AlertChange) -> None: ...

    async def close_open(self, at: datetime) -> int: ...

    async def history(self, *, queues: Collection[str] | None = None, open_only: bool = False,
                      limit: int = 200) -> builtins.list[AlertRecord]: ...


class ErasableCustomers(Protocol):
    """The CRM's store, as erasure needs it."""

    async def customer(self, customer_id: str) -> CustomerRecord | None: ...

    async def forget(self, customer_id: str) -> ForgottenCustomer: ...


class InteractionRetention(Protocol):
    async def purge_personal(self, before: datetime, *, at: datetime | None = None,
                             batch: int = 500) -> PurgedInteractions: ...


class ContactRetention(Protocol):
    async def purge_contacts(self, before: datetime) -> int: ...


class Scripts(Protocol):
    async def active_scripts(self) -> tuple[Script, ...]: ...

    async def list_scripts(self) -> builtins.list[ScriptSummary]: ...

    async def get(self, script_id: str, version: int | None = None) -> ScriptVersion | None: ...

    async def versions(self, script_id: str) -> builtins.list[ScriptVersion]: ...

    async def save(self, definition: Mapping[str, object], *, author: str, script_id: str | None = None,
                   activate: bool = True) -> ScriptVersion: ...

    async def activate(self, script_id: str, version: int) -> ScriptVersion | None: ...

    async def install(self, scripts: Iterable[Script], *, author: str = "cti") -> builtins.list[str]: ...


class FaqStore(Protocol):
    async def create(self, entry_id: str, texts: Mapping[str, FaqText], *, product_line: str | None, author: str,
                     status: FaqStatus = "draft") -> FaqEntry: ...

    async def edit(self, entry_id: str, texts: Mapping[str, FaqText], *, product_line: str | None,
                   author: str) -> FaqEntry | None: ...

    async def set_status(self, entry_id: str, status: FaqStatus) -> FaqEntry | None: ...

    async def delete(self, entry_id: str) -> bool: ...

    async def get(self, entry_id: str) -> FaqEntry | None: ...

    async def entries(self, *, status: FaqStatus | None = None,
                      product_line: str | None = None) -> builtins.list[FaqEntry]: ...

    async def versions(self, entry_id: str) -> builtins.list[FaqVersion]: ...

    async def count_feedback(self, entry_id: str, *, helpful: bool) -> bool: ...


class Schedules(Protocol):
    async def save_schedule(self, name: str, schedule: Schedule) -> StoredSchedule: ...

    async def get_schedule(self, schedule_id: int) -> StoredSchedule | None: ...

    async def get_schedules(self, schedule_ids: Sequence[int]) -> builtins.list[StoredSchedule]: ...

    async def list_schedules(self, *, overlapping: tuple[datetime, datetime] | None = None, limit: int = 100,
                             offset: int = 0) -> builtins.list[ScheduleSummary]: ...

    async def current_schedule(self, start: datetime, end: datetime) -> StoredSchedule | None: ...


class Phones(Protocol):
    """The telephony adapter, as agents' logins need it."""

    async def endpoint_exists(self, extension: str) -> bool: ...


class MonitorInfo(Protocol):
    """A supervisor's monitor of a call, as the API shows it."""

    @property
    def monitor_id(self) -> str: ...

    @property
    def call_id(self) -> str: ...

    @property
    def mode(self) -> Any: ...

    @property
    def extension(self) -> str: ...

    @property
    def supervisor(self) -> str: ...

    @property
    def answered(self) -> bool: ...


class Supervision(Protocol):
    """The telephony adapter, as supervisors' listen, whisper and barge need it."""

    async def start_monitor(self, call_id: str, mode: str, extension: str, supervisor: str) -> MonitorInfo: ...

    async def stop_monitor(self, monitor_id: str) -> bool: ...

    def monitor(self, monitor_id: str) -> MonitorInfo | None: ...

    def active_monitors(self) -> Sequence[MonitorInfo]: ...
