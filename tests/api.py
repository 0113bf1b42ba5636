"""A partial cti web app over a real database, for the integration tests of single features: the real
middlewares, the real services and repositories, a core with no telephony behind it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from aiohttp import web
from argon2 import PasswordHasher
from pydantic import SecretStr

from cti.acd import CallingHours, ContactCenter, ContactPolicy, ContactRules
from cti.cyberagent import QUESTIONS, faq_questions
from cti.messaging import LoggingSmsSender, SmtpMailer
from cti.persistence import (
    AgentRepository,
    AuditRepository,
    CallbackRepository,
    CustomerRepository,
    Database,
    DoNotCallRepository,
    FaqRepository,
    FollowUpRepository,
    InteractionRepository,
    OrderRepository,
    PortalRepository,
    QuestionLabelRepository,
    ScriptRepository,
    UserRepository,
    WebSessionRepository,
    WfmRepository,
)
from cti.services import (
    Accounts,
    AuditTrail,
    CallerVerification,
    CenterView,
    CommandBus,
    CustomerSearch,
    CustomerService,
    CyberAgentDesk,
    CyberAgentLabels,
    Distributor,
    Faq,
    FollowUps,
    Handler,
    HandlerKey,
    InteractionHistory,
    Passwords,
    Policy,
    PortalSelfService,
    PortalSignIn,
    ReplyVoice,
    ScriptLibrary,
    SignIn,
    TransferService,
    WfmService,
    WrapUpService,
)
from cti.settings import Settings
from cti.types import Clock, utc_now
from cti.web import (
    ACCOUNTS,
    AUDIT,
    CUSTOMER_SEARCH,
    CUSTOMERS,
    CYBERAGENT,
    CYBERAGENT_LABELS,
    FAQ,
    FOLLOW_UPS,
    HISTORY,
    HUB,
    POLICY,
    PORTAL,
    PORTAL_SELF,
    PORTAL_THROTTLES,
    QUERY,
    SCRIPTS,
    SESSIONS,
    SETTINGS,
    SIGN_IN,
    TRANSFERS,
    VERIFICATION,
    WFM,
    WRAP_UP,
    ApiModule,
    Hub,
    PortalThrottles,
    Sessions,
    error_middleware,
    make_audit_middleware,
    make_auth_middleware,
    mount,
    partner_fence,
)

__all__ = ["FAST_PASSWORDS", "PopsSeen", "api_app"]

FAST_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
"""argon2id at its cheapest, for tests that sign in many times (the real parameters are argon2-cffi's)."""


@dataclass
class PopsSeen:
    """Stands in for the screen pop's cache: remembers which customers it was told changed."""

    changed: list[str] = field(default_factory=list)

    def customer_changed(self, customer_id: str) -> None:
        self.changed.append(customer_id)

    def wrapped_up(self, agent_id: str, call_id: str) -> None:
        pass


def api_app(db: Database, features: Sequence[ApiModule], *, core: ContactCenter | None = None,
            clock: Clock = utc_now, pops: PopsSeen | None = None,
            dispositions: Sequence[str] = ("resolved",), settings: Settings | None = None,
            passwords: Passwords = FAST_PASSWORDS,
            mailer: SmtpMailer | None = None, voice: ReplyVoice | None = None,
            handlers: Callable[[Hub, CenterView], Mapping[HandlerKey, Sequence[Handler]]] | None = None,
            ) -> tuple[web.Application, Distributor]:
    """The app serving ``features`` (cti.web's feature modules), and the distributor behind it; the portal's codes
    and the agents' answers to e-mail tasks go through ``mailer`` (none: e-mail addresses get no code, e-mail tasks
    are refused) and the logging SMS sender; the virtual agent's replies are spoken by ``voice`` (none: they have no
    audio). ``handlers`` builds the handler table from the app's hub and
    a view of the core (none: the core's commands go nowhere)."""
    users, agents = UserRepository(db), AgentRepository(db)
    interactions, customers = InteractionRepository(db), CustomerRepository(db)
    accounts = Accounts(users, agents, clock=clock)
    core = core or ContactCenter()
    hub = Hub()
    table = handlers(hub, CenterView(core, clock)) if handlers is not None else {}
    distributor = Distributor(core, clock, CommandBus(table))
    seen = pops if pops is not None else PopsSeen()
    audit = AuditTrail(AuditRepository(db), clock)
    policy = Policy(distributor.query, interactions, customers)
    settings = settings or Settings(admin_token=SecretStr("admin-Zq3vN8kR1tXw6YpL0mB4cD7fH2jS9uEa"),
                                    ari_password=SecretStr("unused-here"))
    sign_in = SignIn(users, WebSessionRepository(db), agents, passwords=passwords, clock=clock,
                     idle=timedelta(minutes=settings.session_idle_minutes),
                     lifetime=timedelta(hours=settings.session_lifetime_hours))
    sessions = Sessions(accounts, hub, clock=clock, sign_in=sign_in, secure_cookies=settings.secure_cookies)
    app = web.Application(middlewares=[error_middleware, make_auth_middleware(sessions),
                                       make_audit_middleware(audit), partner_fence])
    app[ACCOUNTS] = accounts
    app[AUDIT] = audit
    app[POLICY] = policy
    app[HUB] = hub
    app[SESSIONS] = sessions
    app[SIGN_IN] = sign_in
    app[SETTINGS] = settings
    app[QUERY] = distributor.query
    app[SCRIPTS] = ScriptLibrary(ScriptRepository(db))
    app[FAQ] = Faq(FaqRepository(db), clock=clock, questions=faq_questions(QUESTIONS))
    app[WFM] = WfmService(distributor.query, interactions, agents, WfmRepository(db))
    app[HISTORY] = InteractionHistory(interactions, policy, audit)
    app[TRANSFERS] = TransferService(distributor, policy)
    app[CUSTOMERS] = CustomerService(distributor, policy, customers, seen, audit)
    app[CUSTOMER_SEARCH] = CustomerSearch(policy, customers, audit, clock=clock)
    app.on_cleanup.append(lambda _: audit.close())
    app[VERIFICATION] = CallerVerification(customers, clock=clock)
    app[PORTAL] = PortalSignIn(customers, PortalRepository(db), audit, sms=LoggingSmsSender(), mailer=mailer,
                               clock=clock, code_ttl=timedelta(minutes=settings.portal_code_minutes),
                               attempts=settings.portal_code_attempts,
                               idle=timedelta(minutes=settings.portal_session_idle_minutes),
                               lifetime=timedelta(hours=settings.portal_session_lifetime_hours))
    app[PORTAL_THROTTLES] = PortalThrottles.default(clock)
    contact = ContactPolicy(ContactRules(numbers=settings.callback_numbers,
                                         hours=CallingHours.parse(settings.calling_hours),
                                         default_zone=settings.calling_default_zone))
    app[PORTAL_SELF] = PortalSelfService(customers, OrderRepository(db), CallbackRepository(db),
                                         DoNotCallRepository(db), contact, audit,
                                         queue=lambda: distributor.query.rules.default_queue, lock=asyncio.Lock(),
                                         clock=clock)
    app[PORTAL_SELF].watch(seen.customer_changed)
    app[FOLLOW_UPS] = FollowUps(FollowUpRepository(db), customers, policy, distributor.query, app[PORTAL_SELF], audit,
                                mailer=mailer, clock=clock, hub=hub)
    app[FOLLOW_UPS].watch(seen.customer_changed)
    app[WRAP_UP] = WrapUpService(distributor, policy, interactions, customers, seen, dispositions,
                                 task_set=app[FOLLOW_UPS].announce)
    labels = QuestionLabelRepository(db)
    app[CYBERAGENT] = CyberAgentDesk(app[FAQ], customers, audit, clock=clock, voice=voice, questions=QUESTIONS,
                                     labels=labels)
    app[CYBERAGENT_LABELS] = CyberAgentLabels(labels, policy, app[FAQ], app[CYBERAGENT], audit, clock=clock)
    app.on_cleanup.append(lambda _: app[PORTAL].close())
    mount(app, tuple(features))
    return app, distributor
