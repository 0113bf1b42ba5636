"""Persistence: everything cti keeps in SQL, behind one repository per aggregate.

SQLAlchemy 2 (async) over SQLite (the default) or PostgreSQL, the schema managed by Alembic (its migrations are
in ``migrations/``, every table in one private module). A :class:`Database` is the engine's lifecycle only; the
repositories are built on a started one, take and return plain records (:mod:`cti.records`, and the domain's:
:mod:`cti.crm`, :mod:`cti.scripting`, :mod:`cti.wfm`), never ORM objects, and raise only :class:`StorageError`
(:class:`StorageConflict` for a clash with what is stored) — besides the domain's own refusals of invalid values,
made before any database sees them. A :class:`StorageRejected` (also an ``InvalidInput``) says the database
refused the values themselves, so retrying the same record is pointless::

    db = Database(settings.database_url)
    await db.upgrade()          # starts the engine, then migrates to the newest schema
    users = UserRepository(db)
    user = await users.user_for_token(token)
    ...
    await db.close()

- :class:`UserRepository`: API users, their hashed tokens, roles, scopes, password hashes and languages;
- :class:`InteractionRepository`: one row per call, saved by the call handling and completed by the wrap-up;
  read by the API, the screen pop, reports and the forecast;
- :class:`AgentRepository`: the agents the controller loads on start, and the history of their states;
- :class:`CustomerRepository`: the CRM (customers, catalog, orders, invoices, contacts, cases, promotions), its
  CSV import and seed data;
- :class:`CustomerMirror`: cti's copies of customers another CRM keeps (``customers.external_ref``);
- :class:`ScriptRepository`: call scripts, every saved version;
- :class:`FaqRepository`: the FAQ knowledge base, every saved version of each entry;
- :class:`WfmRepository`: workforce-management schedules and their shifts;
- :class:`AuditRepository`: the append-only audit log of who viewed or changed what;
- :class:`RecordingRepository`: calls' recordings, the audio files and their rows together;
- :class:`ChatTranscriptRepository`: chats' transcripts, stored with their interactions when they end;
- :class:`CallbackRepository`: scheduled callbacks, their attempts and status;
- :class:`FollowUpRepository`: contacts' follow-ups as staff's tasks (taken, completed with their answer);
- :class:`DoNotCallRepository`: the numbers no outbound call may dial;
- :class:`AlertRepository`: supervisors' alert thresholds and the history of alerts raised and cleared;
- :class:`DeadLetterRepository`: records the database refused, set aside by the journal until replayed;
- :class:`WebSessionRepository`: people signed in with their password (hashes of session ids only);
- :class:`PortalRepository`: the customer portal's sign-in codes and customers' sessions (hashes only);
- :class:`OrderRepository`: orders as their customer tracks them (shipment steps, invoices);
- :class:`SurveyRepository`: survey questionnaires (every version) and customers' surveys (link tokens as hashes);
- :class:`WebhookRepository`: partners' webhook subscriptions (the events wait in Redis);
- :class:`QuestionLabelRepository`: supervisors' labels of the virtual agent's unanswered questions, and those
  questions read from the chats' transcripts.

Repositories are cheap (they hold the database and nothing else): build one where it is needed.
"""

from ._agents import AgentRepository
from ._alerts import AlertRepository
from ._audit import AuditRepository
from ._callbacks import CallbackRepository
from ._chat import ChatTranscriptRepository
from ._customer_mirror import CustomerMirror
from ._customers import CustomerRepository
from ._database import Database
from ._dead_letters import DeadLetterRepository
from ._do_not_call import DoNotCallRepository
from ._errors import StorageConflict, StorageError, StorageFenced, StorageRejected
from ._faq import FaqRepository
from ._follow_ups import FollowUpRepository
from ._interactions import InteractionRepository
from ._labels import QuestionLabelRepository
from ._orders import OrderRepository
from ._portal import PortalRepository
from ._recordings import RecordingRepository
from ._scripts import ScriptRepository
from ._surveys import SurveyRepository
from ._users import UserRepository, hash_token
from ._web_sessions import WebSessionRepository
from ._webhooks import WebhookRepository
from ._wfm import WfmRepository

__all__ = [
    "AgentRepository",
    "AlertRepository",
    "AuditRepository",
    "CallbackRepository",
    "ChatTranscriptRepository",
    "CustomerMirror",
    "CustomerRepository",
    "Database",
    "DeadLetterRepository",
    "DoNotCallRepository",
    "FaqRepository",
    "FollowUpRepository",
    "InteractionRepository",
    "OrderRepository",
    "PortalRepository",
    "QuestionLabelRepository",
    "RecordingRepository",
    "ScriptRepository",
    "StorageConflict",
    "StorageError",
    "StorageFenced",
    "StorageRejected",
    "SurveyRepository",
    "UserRepository",
    "WebSessionRepository",
    "WebhookRepository",
    "WfmRepository",
    "hash_token",
]
