"""The composition root: builds every component from the settings, each once and whole, and wires them.

Nothing is assigned after construction: components are built in dependency order (the handler table before the
distributor that uses it, the distributor before the telephony adapter that feeds it), and a handler gets the
distributor it acts for with each command instead of holding it. Components open in order and close in reverse
through aiohttp's ``cleanup_ctx``: the database (migrated, the admin and the shipped scripts installed), then the
live contact center (Redis, ARI, the distributor, the telephony adapter, the dashboards' statistics).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import importlib
import logging
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final
from zoneinfo import ZoneInfo

from aiohttp import web

from cti.acd import (
    AgentChanged,
    Announce,
    CallbackLimits,
    CallbackPolicy,
    CallingHours,
    Channel,
    ConfirmCallback,
    Connect,
    ContactCenter,
    ContactPolicy,
    ContactRules,
    DialCustomer,
    DialExternal,
    HandOff,
    Hangup,
    Hold,
    HoldCall,
    JoinCall,
    MuteAgent,
    Offer,
    Preview,
    RefuseCallback,
    Reject,
    ResumeCall,
    RetryPolicy,
    Rules,
    SendDtmf,
    WorkChanged,
    load_rules_file,
    rules_for_service_numbers,
)
from cti.ari import AriClient
from cti.asterisk import AsteriskRoot
from cti.bootstrap._status import CtiStatus
from cti.cluster import Elector, LeaseTerms, RedisLease, Role
from cti.crm import ExternalCustomer, LookupCache
from cti.cyberagent import QUESTIONS, Persona, faq_questions
from cti.errors import Unavailable
from cti.ivr import Flows, SpeakVerbalizer, load_flows_file
from cti.live import ChatStreams, EdgeShedStream, FrameStream, LiveStore, WebhookOutbox
from cti.messaging import HttpCrmConnector, HttpWebhookSender, LoggingSmsSender, SmtpMailer
from cti.persistence import (
    AgentRepository,
    AlertRepository,
    AuditRepository,
    CallbackRepository,
    ChatTranscriptRepository,
    CustomerMirror,
    CustomerRepository,
    Database,
    DeadLetterRepository,
    DoNotCallRepository,
    FaqRepository,
    FollowUpRepository,
    InteractionRepository,
    OrderRepository,
    PortalRepository,
    QuestionLabelRepository,
    RecordingRepository,
    ScriptRepository,
    StorageFenced,
    SurveyRepository,
    UserRepository,
    WebhookRepository,
    WebSessionRepository,
    WfmRepository,
)
from cti.redis_url import redacted_url
from cti.scripting import RenderLimits, load_script_file
from cti.services import (
    SURVEY_FLOW,
    Accounts,
    AgentService,
    AlertMonitor,
    ArrivalLookup,
    AuditTrail,
    CallbackAttempts,
    CallbackScheduler,
    CallControls,
    CallerIdentity,
    CallerVerification,
    CallRecording,
    CenterView,
    ChatChannel,
    ChatService,
    CommandBus,
    ConnectedCrm,
    CrmConnector,
    CustomerSearch,
    CustomerService,
    CyberAgentDesk,
    CyberAgentLabels,
    DeadLetterService,
    DeliveryPolicy,
    Distributor,
    DoNotCallList,
    Erasure,
    ErasureSubject,
    Faq,
    FollowUps,
    InteractionHistory,
    Journal,
    LiveContact,
    OutboundCalls,
    PartnerAccess,
    Policy,
    PortalSelfService,
    PortalSignIn,
    PostCallSurveys,
    ReportService,
    Retention,
    RoutingRules,
    ScreenPop,
    ScriptLibrary,
    SelfService,
    SignIn,
    StatsFeed,
    SupervisionService,
    SurveyService,
    TransferService,
    Webhooks,
    WfmService,
    WrapUpService,
)
from cti.settings import Settings, SettingsError
from cti.speech import PromptRenderer, SpokenReplies
from cti.speech.asr import PocketSphinxOptions, PocketSphinxTranscriber, build_recognizers, parse_engines
from cti.stats import MetricsConfig, day_start
from cti.surveys import SendingPolicy
from cti.tasks import stop_task
from cti.telephony import (
    AdmissionControl,
    AsrBridge,
    BridgeRecorder,
    EdgeShedRecorder,
    IvrCall,
    IvrRunner,
    MediaNodes,
    Monitors,
    PhoneHomes,
    RoutedRecorder,
    Telephony,
    TtsPrompts,
    VoiceActions,
    VoiceRouter,
    list_endpoints,
    open_questions,
)
from cti.types import Clock, utc_now
from cti.web import (
    ACCOUNTS,
    AGENTS,
    ALERTS,
    AUDIT,
    CALL_CONTROLS,
    CALLBACKS,
    CHAT_STARTS,
    CHATS,
    CRM_SOURCE,
    CUSTOMER_SEARCH,
    CUSTOMERS,
    CYBERAGENT,
    CYBERAGENT_LABELS,
    DEAD_LETTERS,
    DO_NOT_CALL,
    ERASURE,
    FAQ,
    FOLLOW_UPS,
    FRAME_TERM,
    HISTORY,
    HUB,
    MAX_BODY,
    OUTBOUND,
    PARTNERS,
    POLICY,
    PORTAL,
    PORTAL_SELF,
    PORTAL_THROTTLES,
    POST_CALL_SURVEYS,
    QUERY,
    RECORDINGS,
    REPORTS,
    ROUTING,
    SCREENPOP,
    SCRIPTS,
    SESSIONS,
    SETTINGS,
    SIGN_IN,
    STATS,
    STATUS,
    SUPERVISION,
    SURVEYS,
    TRANSFERS,
    VERIFICATION,
    WEBHOOKS,
    WFM,
    WRAP_UP,
    FailureThrottle,
    Hub,
    PortalThrottles,
    Sessions,
    error_middleware,
    make_audit_middleware,
    make_auth_middleware,
    mount,
    partner_fence,
)

__all__ = ["RUNNING", "Running", "create_app"]

log = logging.getLogger("cti")

def _contact_policy(settings: Settings) -> ContactPolicy:
    """May a customer be called now: the numbers callbacks may dial, the calling hours, the default zone."""
    return ContactPolicy(ContactRules(numbers=settings.callback_numbers,
                                      hours=CallingHours.parse(settings.calling_hours),
                                      default_zone=settings.calling_default_zone))


def _render_limits(settings: Settings) -> RenderLimits:
    return RenderLimits(steps=settings.script_render_steps, characters=settings.script_render_characters,
                        seconds=settings.script_render_seconds)


def _mailer(settings: Settings) -> SmtpMailer | None:
    """The SMTP mailer the portal's codes and the surveys' links go through; None without a server."""
    if not settings.smtp_host:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password is not None else None
    return SmtpMailer(settings.smtp_host, settings.smtp_port, security=settings.smtp_security,
                      user=settings.smtp_user, password=password, sender=settings.smtp_sender)


def _crm_connector(settings: Settings) -> CrmConnector | None:
    """The connector to another CRM the settings name (None: cti's own CRM is the source)."""
    if settings.crm_connector == "cti":
        return None
    if settings.crm_connector == "http":
        assert settings.crm_url is not None  # the settings refuse http without it
        return HttpCrmConnector(settings.crm_url, token=_crm_token(settings), timeout=settings.crm_timeout_seconds)
    # An operator's own connector: "package.module:factory", called with the settings (docs/integration.md).
    module, _, factory = settings.crm_connector.partition(":")
    connector: CrmConnector = getattr(importlib.import_module(module), factory)(settings)
    return connector


def _crm_token(settings: Settings) -> str | None:
    """The external CRM's token: from its file when one is named (read once, at start), else the setting."""
    if settings.crm_token_file is not None:
        try:
            return settings.crm_token_file.read_text(encoding="utf-8").strip() or None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"CTI_CRM_TOKEN_FILE cannot be read: {type(exc).__name__}") from exc
    return settings.crm_token.get_secret_value() if settings.crm_token is not None else None


def _connected_crm(settings: Settings, database: Database, customers: CustomerRepository,
                   connector: CrmConnector) -> ConnectedCrm:
    cache: LookupCache[tuple[str, str], ExternalCustomer] = LookupCache(
        ttl=settings.crm_cache_seconds, negative_ttl=settings.crm_negative_cache_seconds,
        max_entries=settings.crm_cache_size, now=time.monotonic)
    # A quarter second more than the connector's own timeout: the connector stops its request first and says
    # why (this bound is for a connector that has no timeout); 1.75 s at most, within a caller's 2 s.
    return ConnectedCrm(connector, CustomerMirror(database), customers, cache=cache,
                        timeout=settings.crm_timeout_seconds + 0.25)


def _portal(settings: Settings, repos: _Repositories, audit: AuditTrail, clock: Clock) -> PortalSignIn:
    """The customer portal's sign-in: codes by SMTP if a server is set, SMS through the logging sender."""
    mailer = _mailer(settings)
    return PortalSignIn(repos.customers, repos.portal, audit, sms=LoggingSmsSender(), mailer=mailer, clock=clock,
                        code_ttl=timedelta(minutes=settings.portal_code_minutes),
                        attempts=settings.portal_code_attempts,
                        idle=timedelta(minutes=settings.portal_session_idle_minutes),
                        lifetime=timedelta(hours=settings.portal_session_lifetime_hours))


def _load_rules(settings: Settings) -> Rules:
    """The routing rules: the rules file if one is set, else one queue per service number."""
    if settings.routing_rules is not None:
        return load_rules_file(settings.routing_rules)
    return rules_for_service_numbers(settings.queues, settings.default_queue)


@dataclass(frozen=True, slots=True)
class _Repositories:
    users: UserRepository
    agents: AgentRepository
    interactions: InteractionRepository
    customers: CustomerRepository
    scripts: ScriptRepository
    wfm: WfmRepository
    audit: AuditRepository
    dead_letters: DeadLetterRepository
    web_sessions: WebSessionRepository
    portal: PortalRepository

    @classmethod
    def on(cls, database: Database) -> _Repositories:
        return cls(UserRepository(database), AgentRepository(database), InteractionRepository(database),
                   CustomerRepository(database), ScriptRepository(database), WfmRepository(database),
                   AuditRepository(database), DeadLetterRepository(database), WebSessionRepository(database),
                   PortalRepository(database))


@dataclass(frozen=True, slots=True)
class Running:
    """What runs while the server does: the distributor and the adapters around it."""

    distributor: Distributor
    telephony: Telephony
    journal: Journal
    live: LiveStore
    database: Database
    customers: CustomerRepository
    screenpop: ScreenPop
    stats: StatsFeed
    counters: Counter[str]
    erasure: Erasure
    retention: Retention | None
    media: MediaNodes | None = None  # several media nodes; ``telephony`` is then the first node's


RUNNING = web.AppKey("running", Running)
"""The running components (tests and the demo look inside; the web layer never does)."""


GC_THRESHOLDS: Final = (10_000, 20, 100)
"""The collector's thresholds in the server (CPython's defaults: 700, 10, 10). Every collection stops the event
loop while it walks its generations: at 700 net allocations a young collection runs dozens of times a second
under load (444 chat messages/s, bench/chat.py), each moving the objects of the requests then in flight to the
older generations, whose collections then come every second or so and, for the oldest, walk every live chat's
sessions, sockets and tasks (0.2-5 s each at 1,000 chats on a busy 2-core machine). Fewer young collections move
far fewer short-lived objects up; the oldest generation is then walked only after 100 middle collections, and
still only once what was moved there is a quarter of what it holds (CPython's own rule). cti's request paths
make little cyclic garbage (freed by reference counting, not by the collector), so collecting it later costs
little memory."""


def _tune_collector() -> None:
    """Once the server has started: everything loaded so far lives as long as the server, so it leaves the
    collector's passes for good (``gc.freeze``); and the thresholds above."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_app(settings: Settings, *, connect_timeout: float = 0.0, clock: Clock | None = None,
               on_deposed: Callable[[], None] | None = None) -> web.Application:
    """``connect_timeout`` > 0 makes start-up wait that long for the ARI websocket (tests, demo);
    ``clock`` replaces the wall clock for every decision (tests of calendars and escalation); ``on_deposed``
    replaces what a standby controller does when it stops leading (the process ends at once: :func:`_step_down`)."""
    database = Database(settings.database_url)
    repos = _Repositories.on(database)
    accounts = Accounts(repos.users, repos.agents, clock=clock or utc_now,
                        token_ttl=timedelta(days=settings.token_ttl_days))
    library = ScriptLibrary(repos.scripts, render_limits=_render_limits(settings))
    audit = AuditTrail(repos.audit, clock or utc_now)
    # Web front ends (docs/scaling.md): the hub's frames mirrored into Redis once this controller leads.
    frames = FrameStream(settings.redis_url, settings.redis_prefix) if settings.frame_stream else None
    hub = Hub(tap=frames)
    sign_in = SignIn(repos.users, repos.web_sessions, repos.agents, clock=clock or utc_now,
                     idle=timedelta(minutes=settings.session_idle_minutes),
                     lifetime=timedelta(hours=settings.session_lifetime_hours))
    sessions = Sessions(accounts, hub, clock=clock or utc_now, sign_in=sign_in, secure_cookies=settings.secure_cookies)
    app = web.Application(middlewares=[error_middleware, make_auth_middleware(sessions),
                                       make_audit_middleware(audit), partner_fence],
                          client_max_size=MAX_BODY)
    app[SETTINGS] = settings
    app[AUDIT] = audit
    app[HUB] = hub
    app[ACCOUNTS] = accounts
    app[SESSIONS] = sessions
    app[SIGN_IN] = sign_in
    app[SCRIPTS] = library
    portal = _portal(settings, repos, audit, clock or utc_now)
    app[PORTAL] = portal
    app[PORTAL_THROTTLES] = PortalThrottles.default(clock or utc_now)
    # Customers' callback requests go into the scheduler's own table, changed under its lock.
    app[PORTAL_SELF] = PortalSelfService(
        repos.customers, OrderRepository(database), CallbackRepository(database), DoNotCallRepository(database),
        _contact_policy(settings), audit, queue=lambda: settings.outbound_queue or app[QUERY].rules.default_queue,
        lock=asyncio.Lock(), clock=clock or utc_now)
    # The agent learns from customers' questions beside the FAQ's own phrasings (cti.cyberagent.QUESTIONS).
    app[FAQ] = Faq(FaqRepository(database), clock=clock or utc_now, questions=faq_questions(QUESTIONS))
    voice = SpokenReplies()
    app[CYBERAGENT] = CyberAgentDesk(app[FAQ], repos.customers, audit, clock=clock or utc_now, voice=voice,
                                     persona=Persona({"id": settings.cyberagent_name_id,
                                                      "en": settings.cyberagent_name_en},
                                                     own_names=(settings.company_name,)),
                                     questions=QUESTIONS, labels=QuestionLabelRepository(database))

    async def close_voice(_: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(None, voice.close)

    app.on_cleanup.append(close_voice)

    async def storage(app: web.Application) -> AsyncIterator[None]:
        await database.upgrade()
        bounded = await accounts.bound_token_lifetimes()
        if bounded:
            log.info("%d tokens issued before tokens expired now expire in %g days", bounded,
                     settings.token_ttl_days)
        await accounts.ensure_admin(settings.admin_token.get_secret_value())
        await library.install(load_script_file())  # the shipped scripts, on a new database
        sessions.start()
        purged = await portal.purge()
        if purged:
            log.info("deleted %d portal code(s) and session(s) that ended by time", purged)
        yield
        await portal.close()
        await sessions.close()
        await audit.close()
        await database.close()

    async def contact_center(app: web.Application) -> AsyncIterator[None]:
        async with _contact_center(app, settings, database, repos, clock or utc_now, connect_timeout,
                                   on_deposed or _step_down, frames):
            yield

    app.cleanup_ctx.extend([storage, contact_center])
    mount(app)
    return app


@contextlib.asynccontextmanager
async def _contact_center(app: web.Application, settings: Settings, database: Database, repos: _Repositories,
                          clock: Clock, connect_timeout: float, on_deposed: Callable[[], None],
                          frames: FrameStream | None = None) -> AsyncIterator[None]:
    """The live contact center's components, built in order when the server starts, closed in reverse (each
    one's closing is registered as soon as it exists, so a failed start closes what was opened). A standby
    controller builds them only once it leads."""
    async with contextlib.AsyncExitStack() as stack:
        hub = app[HUB]
        elector = await _lead(settings, stack, on_deposed) if settings.standby else None
        if elector is not None:
            await _claim_database(database, elector, on_deposed)
        if frames is not None:
            # The term numbers this leader's frames: its fencing token, or (a single controller) when it started.
            term = elector.token if elector is not None and elector.token is not None else int(time.time() * 1000)
            hub.number_from_term(term)
            frames.start(term, settings.advertise_url or f"http://{settings.http_host}:{settings.http_port}",
                         fence=elector)
            stack.push_async_callback(frames.close)
            app[FRAME_TERM] = lambda: frames.term
        live = LiveStore(settings.redis_url, settings.redis_prefix, fence=elector)
        stack.push_async_callback(live.close)
        if not await live.ping():
            log.error("Redis at %s is not answering; live state stays in memory until it does",
                      redacted_url(settings.redis_url))
            live.dirty = True
        # One Asterisk (CTI_ARI_URL), or several media nodes: an ARI client each (docs/scaling.md).
        node_urls: dict[str | None, str] = {None: settings.ari_url}
        if settings.media_nodes:
            node_urls = {name: url for name, url in settings.media_nodes.items()}
        aris: dict[str | None, AriClient] = {}
        for node, url in node_urls.items():
            aris[node] = AriClient(url, settings.ari_user, settings.ari_password.get_secret_value(),
                                   settings.ari_app, timeout=settings.ari_timeout,
                                   may_act=None if elector is None else (lambda: elector.token is not None))
            await aris[node].start()
            stack.push_async_callback(aris[node].close)
        homes = PhoneHomes([n for n in node_urls if n is not None]) if settings.media_nodes else None
        renderer = PromptRenderer(settings.sounds_dir or AsteriskRoot(settings.asterisk_root).sounds_dir)
        stack.callback(renderer.close)
        # Prompts rendered for one caller that a previous process left (it died mid-call): nobody plays them now.
        renderer.sweep()
        flows = load_flows_file(settings.ivr_flows) if settings.ivr_flows is not None else None
        prompts = TtsPrompts(renderer, shared=[] if flows is None else [t for _, t in flows.static_prompts()])
        core = ContactCenter(_load_rules(settings), callbacks=CallbackPolicy(CallbackLimits(
            numbers=settings.callback_numbers, per_number=settings.callback_max_per_number,
            total=settings.callback_max_total, window=timedelta(seconds=settings.callback_window_seconds))))
        query = CenterView(core, clock)
        journal = Journal(live, repos.interactions, repos.agents, query, dead_letters=repos.dead_letters)
        stack.push_async_callback(journal.close)
        # Partners' webhooks: subscriptions in SQL, the outbox in Redis, requests over HTTP (docs/integration.md).
        outbox = WebhookOutbox(settings.redis_url, settings.redis_prefix, fence=elector)
        stack.push_async_callback(outbox.close)
        sender = HttpWebhookSender(timeout=settings.webhook_timeout_seconds,
                                   allow_private=settings.webhook_allow_private)
        stack.push_async_callback(sender.close)
        webhooks = Webhooks(WebhookRepository(database), outbox, sender, repos.dead_letters, app[AUDIT], clock=clock,
                            policy=DeliveryPolicy(max_attempts=settings.webhook_max_attempts,
                                                  retry_base=settings.webhook_retry_seconds,
                                                  retry_cap=settings.webhook_retry_max_seconds))
        # Where customer records come from: cti's own CRM, or another through a connector (docs/crm.md).
        connector = _crm_connector(settings)
        source = None if connector is None else _connected_crm(settings, database, repos.customers, connector)
        app[PORTAL].lookup = source  # customers sign in to the portal with the other CRM's address or number too
        close_connector = getattr(connector, "close", None)
        if close_connector is not None:
            stack.push_async_callback(close_connector)
        screenpop = ScreenPop(hub, repos.customers, repos.scripts, query, clock=clock, company=settings.company_name,
                              audit=app[AUDIT], render_limits=_render_limits(settings), source=source)
        stack.push_async_callback(screenpop.drain)
        arrivals = ArrivalLookup(CallerIdentity(source if source is not None else repos.customers), screenpop)
        verification = CallerVerification(repos.customers, clock=clock)
        make_ivr = await _ivr(settings, flows, renderer, prompts, SelfService(repos.customers, verification), arrivals)
        ivrs: dict[str | None, IvrRunner] = {}
        if make_ivr is not None:
            for node, node_ari in aris.items():
                ivrs[node] = make_ivr(node_ari)
                stack.push_async_callback(ivrs[node].close)

        def ivr_calls() -> dict[str, IvrCall]:
            return {channel: call for runner in ivrs.values() for channel, call in runner.calls.items()}
        tz = ZoneInfo(settings.timezone)
        stats = StatsFeed(hub, clock, lambda: query.rules, query.agent_map, tz,
                          MetricsConfig(service_level_seconds=settings.service_level_seconds),
                          ivr_source=ivr_calls if ivrs else None)
        counters: Counter[str] = Counter()
        # Per node: its monitors and actions; a phone homed on another node is dialled over the trunk to it.
        monitors: dict[str | None, Monitors] = {}
        node_actions: dict[str | None, VoiceActions] = {}
        spoken = TtsPrompts(renderer)
        for node, node_ari in aris.items():
            dial = None if homes is None or node is None else functools.partial(homes.dial, node)
            monitors[node] = Monitors(node_ari, ring_timeout=max(1, round(settings.callback_ring_timeout)), dial=dial)
            node_actions[node] = VoiceActions(node_ari, query, monitors[node], counters,
                                              ring_timeout=settings.ring_timeout,
                                              callback_ring_timeout=settings.callback_ring_timeout, prompts=spoken,
                                              dial=dial)
        router = None if homes is None else VoiceRouter({n: a for n, a in node_actions.items() if n is not None},
                                                        query)
        actions: VoiceActions | VoiceRouter = router if router is not None else node_actions[None]
        policy = Policy(query, repos.interactions, repos.customers)
        recordings = RecordingRepository(database, settings.recording_dir)
        recorder = BridgeRecorder(aris[None], node_actions[None].bridge_of) if router is None else RoutedRecorder(
            {n: BridgeRecorder(a, node_actions[n].bridge_of) for n, a in aris.items() if n is not None}, router)
        recording = CallRecording(query, policy, recorder, recordings, app[AUDIT], clock,
                                  format=settings.recording_format)
        stack.push_async_callback(recording.close)
        for each in node_actions.values():
            each.bridged_hooks.append(recording.bridged)
        chat_log = ChatStreams(settings.redis_url, settings.redis_prefix)
        stack.push_async_callback(chat_log.close)
        chat = ChatChannel(chat_log, ChatTranscriptRepository(database), hub, query, clock, record=journal.record)
        stack.push_async_callback(chat.close)
        voice, text = Channel.VOICE, Channel.CHAT
        portal_self = app[PORTAL_SELF]  # the customers' callback requests share the table and its lock
        retry = RetryPolicy(
            max_attempts=settings.scheduled_callback_attempts,
            interval=timedelta(seconds=settings.scheduled_callback_retry_seconds),
            agent_first=timedelta(seconds=settings.scheduled_callback_agent_first_seconds),
            preview=timedelta(seconds=settings.scheduled_callback_preview_seconds))
        callback_attempts = CallbackAttempts(portal_self.callback_store, retry, lock=portal_self.callback_lock)
        # Built before the surveys: every rating stored goes to the alerts' CSAT at once.
        alerts = AlertMonitor(AlertRepository(database), stats, lambda: list(query.rules.queues),
                              notify=webhooks.notify, surveys=SurveyRepository(database))
        surveys = SurveyService(
            SurveyRepository(database), repos.customers, app[AUDIT], mailer=_mailer(settings),
            link_base=settings.survey_link_base, clock=clock,
            policy=SendingPolicy(every_days=settings.survey_every_days,
                                 delay=timedelta(minutes=settings.survey_delay_minutes),
                                 valid=timedelta(days=settings.survey_valid_days)),
            team_of=lambda agent_id: query.agent(agent_id).team if query.has_agent(agent_id) else None,
            changed=screenpop.customer_changed, notify=webhooks.notify, answered=alerts.survey_answered)
        stack.push_async_callback(surveys.close)
        screenpop.survey_profiles = surveys.profile_json  # the customer's survey profile in the agent's pop
        post_call = PostCallSurveys(surveys, policy, app[AUDIT], is_live=query.is_live,
                                    available=bool(ivrs) and flows is not None and SURVEY_FLOW in flows.flows,
                                    recordings=recordings, transcriber=_transcriber(settings, flows), clock=clock)
        stack.push_async_callback(post_call.drain)
        bus = CommandBus({
            (Offer, voice): [actions.offer], (Connect, voice): [actions.connect], (Hangup, voice): [actions.hangup],
            (Hold, voice): [actions.hold], (Reject, voice): [actions.reject],
            (ConfirmCallback, voice): [actions.confirm_callback], (RefuseCallback, voice): [actions.refuse_callback],
            (DialCustomer, voice): [actions.dial_customer],
            (Announce, voice): [actions.announce],
            (HoldCall, voice): [actions.hold_call], (ResumeCall, voice): [actions.resume_call],
            (MuteAgent, voice): [actions.mute_agent], (SendDtmf, voice): [actions.send_dtmf],
            (Preview, voice): [screenpop.previewed],  # a preview is carried out on the desktop
            (DialExternal, voice): [actions.dial_external], (JoinCall, voice): [actions.join_call],
            (HandOff, voice): [actions.hand_off],
            (Offer, text): [chat.offered], (Connect, text): [chat.connected], (Hangup, text): [chat.hung_up],
            (Hold, text): [chat.held], (Reject, text): [chat.rejected], (Announce, text): [chat.announced],
            Offer: [screenpop.offered],
            AgentChanged: [journal.agent_changed, screenpop.agent_changed, stats.agent_changed,
                           webhooks.agent_changed],
            WorkChanged: [journal.work_changed, actions.work_changed, screenpop.work_changed, stats.work_changed,
                          recording.work_changed, callback_attempts.work_changed, chat.work_changed,
                          webhooks.work_changed, surveys.work_changed, post_call.work_changed],
        })
        distributor = Distributor(core, clock, bus, placement=None if homes is None else homes.home)
        admission = AdmissionControl(settings.max_call_setups, settings.max_arrival_rate, settings.max_ivr_sessions)
        telephonies: dict[str | None, Telephony] = {}
        for node, node_ari in aris.items():
            telephonies[node] = Telephony(
                node_ari, node_urls[node], settings.ari_user, settings.ari_password.get_secret_value(),
                settings.ari_app, distributor=distributor, actions=node_actions[node], monitors=monitors[node],
                admission=admission, journal=journal, counters=counters, ivr=ivrs.get(node),
                identify=arrivals.identify, record_ended=journal.record, surveys=post_call, node=node,
                owns=None if router is None or node is None else functools.partial(router.calls_of, node),
                ticks=router is None,  # with several nodes, MediaNodes ticks the routing once for all
                on_resync=None if homes is None or node is None else _phones_of(node, node_ari, homes))
        media = None if router is None or homes is None else MediaNodes(
            {n: t for n, t in telephonies.items() if n is not None}, homes, router, distributor,
            dead_after=settings.node_dead_seconds)
        telephony = next(iter(telephonies.values()))
        phones: Telephony | MediaNodes = telephony if media is None else media
        stack.push_async_callback(phones.close)
        app[QUERY] = query
        app[POLICY] = policy
        app[CYBERAGENT_LABELS] = CyberAgentLabels(QuestionLabelRepository(database), policy, app[FAQ],
                                                  app[CYBERAGENT], app[AUDIT], clock=clock)
        app[AGENTS] = AgentService(distributor, repos.agents, app[ACCOUNTS], phones)
        app[ROUTING] = RoutingRules(distributor, lambda: _load_rules(settings), path=settings.routing_rules,
                                    audit=app[AUDIT])
        app[HISTORY] = InteractionHistory(repos.interactions, policy, app[AUDIT])
        app[TRANSFERS] = TransferService(distributor, policy)
        app[CALL_CONTROLS] = CallControls(distributor, policy, settings.consult_numbers)
        app[RECORDINGS] = recording
        # Customers' left messages and wrap-ups' follow-ups as staff's tasks; answers by the portal's mailer; each
        # change pushed to the desktops that list the task.
        app[FOLLOW_UPS] = FollowUps(FollowUpRepository(database), repos.customers, policy, query, portal_self,
                                    app[AUDIT], mailer=_mailer(settings), clock=clock, hub=hub)
        app[FOLLOW_UPS].watch(screenpop.customer_changed)
        app[WRAP_UP] = WrapUpService(distributor, policy, repos.interactions, repos.customers, screenpop,
                                     settings.dispositions, notify=webhooks.notify, task_set=app[FOLLOW_UPS].announce)
        app[CUSTOMERS] = CustomerService(distributor, policy, repos.customers, screenpop, app[AUDIT],
                                         notify=webhooks.notify)
        app[CUSTOMER_SEARCH] = CustomerSearch(policy, repos.customers, app[AUDIT], clock=clock)
        do_not_call = DoNotCallRepository(database)
        app[DO_NOT_CALL] = DoNotCallList(do_not_call, app[AUDIT])
        app[OUTBOUND] = OutboundCalls(distributor, policy, repos.customers, do_not_call, _contact_policy(settings),
                                      app[AUDIT], caller_id=settings.outbound_caller_id, queue=settings.outbound_queue)
        app[CALLBACKS] = CallbackScheduler(distributor, policy, callback_attempts, app[OUTBOUND], app[AUDIT],
                                           queue=settings.outbound_queue, notify=webhooks.notify)
        app[WEBHOOKS] = webhooks
        app[DEAD_LETTERS] = DeadLetterService(repos.dead_letters, repos.interactions, repos.agents,
                                              requeue=webhooks.requeue)
        if source is not None:
            app[CRM_SOURCE] = source
        app[PARTNERS] = PartnerAccess(app[ACCOUNTS], policy, repos.customers, app[AUDIT], clock=clock,
                                      per_minute=settings.partner_requests_per_minute, notify=webhooks.notify,
                                      surveys=SurveyRepository(database))
        app[VERIFICATION] = verification
        app[SCREENPOP] = screenpop
        portal_self.watch(screenpop.customer_changed)  # what a customer did on the portal, in their next pop
        app[STATS] = stats
        app[SURVEYS] = surveys
        app[POST_CALL_SURVEYS] = post_call
        surveys.start()
        app[ALERTS] = alerts
        app[SUPERVISION] = SupervisionService(policy, phones)
        app[REPORTS] = ReportService(query, repos.interactions, repos.agents, clock, callbacks=callback_attempts.store)
        app[WFM] = WfmService(query, repos.interactions, repos.agents, repos.wfm)
        app[STATUS] = CtiStatus(phones, live, journal, query, counters, database.ping, webhooks, source,
                                term=None if elector is None else (lambda: elector.token))
        erasure = _erasure(repos, query, ivr_calls, journal, live, hub, screenpop, prompts, recordings, chat,
                           SurveyRepository(database), source, app[CYBERAGENT], frames)
        app[ERASURE] = erasure
        retention = None
        if settings.interaction_retention_days > 0:
            retention = Retention(repos.interactions, repos.customers, days=settings.interaction_retention_days,
                                  clock=clock, discard_prompts=prompts.discard,
                                  discard_recordings=recordings.delete_before,
                                  discard_survey_answers=SurveyRepository(database).purge_answers,
                                  forget_labels=app[CYBERAGENT].reload_labels)
        app[RUNNING] = Running(distributor, telephony, journal, live, database, repos.customers, screenpop, stats,
                               counters, erasure, retention, media)

        # Start: what the previous controller left (the registry, Redis), then Asterisk's picture on connect.
        registry = [(r.agent_id, r.name, r.profile) for r in await repos.agents.list()]
        live_agents, live_calls = await journal.load()
        distributor.restore(registry, live_agents, live_calls)
        if media is not None:
            media.router.learn(query.calls())  # which node each live call is on, from the live state
            await media.learn_homes()  # before any node's first decision: where each phone is
        try:
            await chat.restore()  # the chats go on where the previous process left them
        except Unavailable as exc:
            log.error("the live chats were not loaded: %s", exc)
        app[CHATS] = ChatService(distributor, chat, policy, repos.customers,
                                 bot=app[CYBERAGENT] if settings.chat_bot else None)
        stack.callback(app[CHATS].close)
        app[CHATS].watch_restored()
        if settings.chat_bot:
            # The virtual agent's classifiers take a second or two to train: now, not in the first customer's chat.
            warm = asyncio.get_running_loop().create_task(_warm(app[CYBERAGENT]), name="cti-cyberagent-warm-up")
            stack.push_async_callback(stop_task, warm)
        app[CHAT_STARTS] = FailureThrottle(clock, limit=10, window=timedelta(minutes=15),
                                           lockout=timedelta(minutes=15), what="chats started from %s")
        journal.start()
        if settings.edge_shed_stream:
            edge = EdgeShedRecorder(EdgeShedStream(settings.redis_url, settings.edge_shed_stream), journal.record,
                                    journal.flush, counters, clock)
            edge.start()
            stack.push_async_callback(edge.close)
        await webhooks.start()  # what the outbox held when the last server stopped goes out first
        stack.push_async_callback(webhooks.close)
        phones.start()
        midnight = day_start(clock().astimezone(tz).date(), tz)
        stats.restore(await repos.interactions.between(midnight, clock()),
                      await repos.agents.states_between(midnight, clock()), query.agent_map().values(),
                      query.calls())
        stats.start()
        stack.push_async_callback(stats.close)
        await alerts.start(clock())
        stack.push_async_callback(alerts.close)
        await app[CALLBACKS].recover()
        app[CALLBACKS].start()
        stack.push_async_callback(app[CALLBACKS].close)
        if retention is not None:
            retention.start()
            stack.push_async_callback(retention.close)
        notices = asyncio.get_running_loop().create_task(_erasure_notices(live, erasure), name="cti-erasure-notices")
        stack.push_async_callback(stop_task, notices)
        stack.push_async_callback(hub.close)
        _tune_collector()
        if connect_timeout > 0:
            await phones.wait_connected(connect_timeout)
        yield


def _lease_terms(settings: Settings) -> LeaseTerms:
    """Renewed every fifth of the lease: four renewals may fail before the leader stands down."""
    seconds = settings.lease_seconds
    return LeaseTerms(ttl=seconds, renew_every=seconds / 5, retry_every=min(1.0, seconds / 5),
                      margin=max(0.2, seconds / 20))


async def _lead(settings: Settings, stack: contextlib.AsyncExitStack, on_deposed: Callable[[], None]) -> Elector:
    """A standby controller waits for the lease before anything of the contact center exists (no ARI
    connection, no routing, no deliveries); once it leads, its live-state writes carry its fencing token, and
    ``on_deposed`` runs as soon as it no longer leads. The lease is released last on a clean stop."""
    lease = RedisLease(settings.redis_url, settings.redis_prefix)
    stack.push_async_callback(lease.close)
    elector = Elector(lease, _lease_terms(settings))
    elector.start()
    stack.push_async_callback(elector.close)
    log.warning("standing by as %s until this controller holds the lease", lease.holder)
    token = await elector.wait_role(Role.LEADER)
    log.warning("leading (term %s): starting the contact center", token)

    async def watch() -> None:
        await elector.wait_role(Role.STANDBY)
        on_deposed()

    watching = asyncio.get_running_loop().create_task(watch(), name="cti-deposed")
    stack.push_async_callback(stop_task, watching)
    return elector


async def _claim_database(database: Database, elector: Elector, on_deposed: Callable[[], None]) -> None:
    """The new leader's term fences the database too (:meth:`Database.claim_term`): an older leader's writes still
    under way finish first, later ones are refused. A newer term there already means this one is over."""
    token = elector.token
    if token is None:
        on_deposed()
        return
    try:
        await database.claim_term(token, elector.lease.holder)
    except StorageFenced as exc:
        log.critical("%s", exc)
        on_deposed()


def _step_down() -> None:
    """No longer the leader: another controller may lead now, so this one must not touch Asterisk again, not
    even to close its bridges on the way out. The process ends at once; its supervisor starts it again, as a
    standby (exit status 75, EX_TEMPFAIL)."""
    log.critical("no longer the leader: stopping at once")
    logging.shutdown()
    os._exit(75)


async def _warm(desk: CyberAgentDesk) -> None:
    try:
        await desk.agent()
    except Exception:  # the first chat builds it again, and says why if it fails there too
        log.exception("the virtual agent could not be prepared at start")


def _erasure(repos: _Repositories, query: CenterView, ivr_calls: Callable[[], Mapping[str, IvrCall]],
             journal: Journal, live: LiveStore,
             hub: Hub, screenpop: ScreenPop, prompts: TtsPrompts, recordings: RecordingRepository,
             chat: ChatChannel, surveys: SurveyRepository, source: ConnectedCrm | None,
             desk: CyberAgentDesk, frames: FrameStream | None = None) -> Erasure:
    """Erasure with every place this server keeps copies of a customer's data besides the database."""

    async def live_contacts() -> list[LiveContact]:
        calls = [LiveContact(c.call_id, c.customer_id, c.caller_number) for c in query.calls()]
        # Callers in the IVR are not the core's yet.
        calls += [LiveContact(c.channel_id, c.customer_id, c.caller_number) for c in ivr_calls().values()]
        return calls

    async def replay_buffers(subject: ErasureSubject) -> int:
        return hub.forget(subject.mentions())

    async def live_calls(subject: ErasureSubject) -> int:
        return await live.forget(subject.mentions(), call_ids=subject.call_ids,
                                 keep={c.call_id for c in query.calls()})

    async def prompt_files(subject: ErasureSubject) -> int:
        return await prompts.discard(subject.prompts)

    async def recording_files(subject: ErasureSubject) -> int:
        return await recordings.delete_for_calls(subject.call_ids)

    async def survey_answers(subject: ErasureSubject) -> int:
        return await surveys.forget(subject.customer_id)  # their words; the scores stay in the figures

    async def learnt_questions(_: ErasureSubject) -> int:
        return await desk.reload_labels()  # their questions, which supervisors labelled: the agent forgets them

    holders = {
        "screen_pops": screenpop.forget_customer, "replay_buffers": replay_buffers, "live_calls": live_calls,
        "prompt_files": prompt_files, "recordings": recording_files, "live_chats": chat.forget_customer,
        "survey_answers": survey_answers, "cyberagent_labels": learnt_questions}
    if frames is not None:
        async def frame_stream(subject: ErasureSubject) -> int:
            return await frames.forget(subject.mentions())  # the frames mirrored for the web front ends

        holders["frame_stream"] = frame_stream
    if source is not None:
        holders["crm_cache"] = source.forget_customer  # the external record, cached: their name, phones, e-mail
    return Erasure(repos.customers, live=live_contacts, settle=lambda: journal.flush(10.0), holders=holders)


async def _erasure_notices(live: LiveStore, erasure: Erasure, *, retry: float = 5.0) -> None:
    """Customers erased by ``cti customers forget``: drop what this server keeps of them in memory."""
    deaf = False  # one warning per Redis outage, not one per retry
    while True:
        try:
            async for customer_id, call_ids in live.erasures():
                deaf = False
                try:
                    await erasure.forget_copies(ErasureSubject(customer_id, call_ids=frozenset(call_ids)))
                except Unavailable as exc:
                    log.warning("customer %s erased elsewhere, not all copies here: %s", customer_id, exc)
        except Unavailable as exc:
            if not deaf:
                log.warning("not hearing of erasures made elsewhere until Redis answers: %s", exc)
            deaf = True
        await asyncio.sleep(retry)


def _transcriber(settings: Settings, flows: Flows | None) -> PocketSphinxTranscriber | None:
    """Transcripts of spoken survey comments: English, where its menus' engine is PocketSphinx (the model is
    the same; it loads at the first comment)."""
    if flows is None or not flows.settings.speech:
        return None
    english = parse_engines(settings.asr_engines)["en"]
    if english.engine != "pocketsphinx":
        return None
    return PocketSphinxTranscriber(PocketSphinxOptions(model_dir=english.model))


async def _ivr(settings: Settings, flows: Flows | None, renderer: PromptRenderer, prompts: TtsPrompts,
               self_service: SelfService, arrivals: ArrivalLookup) -> Callable[[AriClient], IvrRunner] | None:
    """The IVR: flows validated, every static prompt rendered, speech models loaded, before calls arrive; then an
    IVR runner per media node, sharing the recognizers."""
    if flows is None:
        return None
    await renderer.render_all((text, "en" if language == "en" else "id") for language, text in flows.static_prompts())
    bridge = None
    if flows.settings.speech:
        # Loading acoustic models and compiling the open questions' language models take seconds: not on the loop.
        recognizers = await asyncio.to_thread(build_recognizers, parse_engines(settings.asr_engines))
        questions = await asyncio.to_thread(open_questions, flows.steering_models(), recognizers)
        bridge = AsrBridge(recognizers, open_questions=questions)
    log.info("IVR ready: %d flows, %s speech", len(flows.flows), "with" if bridge else "without")

    def runner(ari: AriClient) -> IvrRunner:
        return IvrRunner(ari, flows, prompts=prompts, recognizer=bridge, self_service=self_service,
                         verbalizer=SpeakVerbalizer(), identify=arrivals.known_caller)

    return runner


def _phones_of(node: str, ari: AriClient, homes: PhoneHomes) -> Callable[[], Awaitable[None]]:
    """On each (re)connect of a media node, first the phones it defines: where each phone is homed."""

    async def learn() -> None:
        homes.learn(node, await list_endpoints(ari))

    return learn
