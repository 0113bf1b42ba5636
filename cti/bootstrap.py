"""The composition root: builds the application from settings and wires every component explicitly.

Components open in order and close in reverse through aiohttp's ``cleanup_ctx``: database (migrated, admin
bootstrapped) -> Redis live store -> ARI client -> call controller.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Mapping
from zoneinfo import ZoneInfo

from aiohttp import web

from cti.ari import AriClient
from cti.asterisk import AsteriskRoot
from cti.controller import CallController
from cti.controller.crm_bridge import CrmSelfService, crm_identify
from cti.controller.identity import IdentifyFn, Identity
from cti.controller.ivr import IvrRunner
from cti.controller.ivr_speech import AsrBridge, SpeakVerbalizer, TtsPrompts
from cti.controller.stats_feed import StatsFeed
from cti.ivr.asr.registry import build_recognizers, parse_engines
from cti.ivr.flow import load_flows_file
from cti.ivr.tts import PromptRenderer
from cti.persistence import (
    AgentRepository,
    CustomerRepository,
    Database,
    InteractionRepository,
    ScriptRepository,
    UserRepository,
)
from cti.screenpop.service import ScreenPop
from cti.scripting import load_script_file
from cti.settings import Settings
from cti.state import LiveStore
from cti.stats import MetricsConfig
from cti.stats.windows import day_start
from cti.types import Clock
from cti.web import (
    API_MODULES,
    CONTROLLER,
    CRM,
    DATABASE,
    HUB,
    SCREENPOP,
    SETTINGS,
    STATS,
    dashboard,
    desktop,
    routes,
    scripts,
    supervision,
    ui,
    wfm,
)
from cti.web.auth import TokenCache, make_auth_middleware
from cti.web.errors import error_middleware
from cti.web.sockets import Hub

__all__ = ["create_app"]

log = logging.getLogger("cti")


_POP_HEAD_START = 0.25  # seconds a caller's arrival waits for their screen pop's customer view, at most


def create_app(settings: Settings, *, connect_timeout: float = 0.0, clock: Clock | None = None) -> web.Application:
    """``connect_timeout`` > 0 makes start-up wait that long for the ARI websocket (tests, demo);
    ``clock`` replaces the wall clock for every decision (tests of calendars and escalation)."""
    database = Database(settings.database_url)
    app = web.Application(middlewares=[error_middleware, make_auth_middleware(TokenCache(database))],
                          client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[DATABASE] = database
    hub = app[HUB] = Hub()
    crm = app[CRM] = CustomerRepository(database)
    script_store = ScriptRepository(database)

    async def storage(app: web.Application) -> AsyncIterator[None]:
        await database.upgrade()
        await UserRepository(database).ensure_user_token("admin", "admin", settings.admin_token.get_secret_value())
        await script_store.install(load_script_file())  # the shipped scripts, on a new database
        yield
        await database.close()

    async def controller(app: web.Application) -> AsyncIterator[None]:
        live = LiveStore(settings.redis_url, settings.redis_prefix)
        if not await live.ping():
            log.error("Redis at %s is not answering; live state stays in memory until it does",
                      settings.redis_url)
            live.dirty = True
        ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value(),
                        settings.ari_app, timeout=settings.ari_timeout)
        await ari.start()
        ctl = CallController(settings, ari, live, database, clock=clock)
        app[CONTROLLER] = ctl
        screenpop = app[SCREENPOP] = ScreenPop(hub, crm, script_store, database, calls=ctl.core.calls.get,
                                               clock=ctl.clock, company=settings.company_name)
        ctl.identify = _identify_for_pops(crm_identify(crm), screenpop)
        ctl.observers.append(screenpop.observe)
        tz = ZoneInfo(settings.timezone)
        feed = app[STATS] = StatsFeed(
            hub, ctl.clock, lambda: ctl.core.rules, lambda: ctl.core.agents, tz,
            MetricsConfig(service_level_seconds=settings.service_level_seconds),
            ivr_source=lambda: ctl.ivr.calls if ctl.ivr is not None else ())
        ctl.observers.append(feed.observe)
        renderer = PromptRenderer(settings.sounds_dir or AsteriskRoot(settings.asterisk_root).sounds_dir)
        ctl.prompts = TtsPrompts(renderer)
        if settings.ivr_flows is not None:
            ctl.ivr = await _ivr(settings, ctl, crm, renderer, screenpop)
        await ctl.start()
        midnight = day_start(ctl.clock().astimezone(tz).date(), tz)
        feed.restore(await InteractionRepository(database).between(midnight, ctl.clock()),
                     await AgentRepository(database).states_between(midnight, ctl.clock()), ctl.core.agents.values())
        feed.start()
        # Everything loaded so far lives as long as the server: keep it out of the collector's full passes,
        # which otherwise pause the event loop for hundreds of milliseconds under load.
        gc.freeze()
        if connect_timeout > 0:
            await ctl.wait_connected(connect_timeout)
        yield
        await hub.close()
        await feed.close()
        await ctl.close()
        if ctl.ivr is not None:
            await ctl.ivr.close()
        renderer.close()
        await screenpop.drain()
        await ari.close()
        await live.close()

    app.cleanup_ctx.extend([storage, controller])
    app.add_routes(routes)
    app[API_MODULES] = (ui, supervision, scripts, desktop, dashboard, wfm)
    for module in app[API_MODULES]:
        app.add_routes(module.routes)
    return app


def _identify_for_pops(identify: IdentifyFn, screenpop: ScreenPop) -> IdentifyFn:
    """The arrival lookup also reads the customer's view for the screen pop, so that the offer, often only
    milliseconds later, finds it ready and the pop reaches the desktop with the ring. The view gets a short
    head start; a slow read goes on in the background and the pop waits for it instead of the call."""

    async def identify_and_prefetch(number: str) -> Identity | None:
        identity = await identify(number)
        screenpop.identified(number, None if identity is None else identity.customer_id)
        if identity is not None:
            pending = screenpop.prefetch(identity.customer_id)
            if pending is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(pending), _POP_HEAD_START)
        return identity

    return identify_and_prefetch


async def _ivr(settings: Settings, ctl: CallController, crm: CustomerRepository, renderer: PromptRenderer,
               screenpop: ScreenPop) -> IvrRunner:
    """The IVR: flows validated, every static prompt rendered, speech models loaded, before calls arrive."""
    assert settings.ivr_flows is not None
    flows = load_flows_file(settings.ivr_flows)
    await renderer.render_all((text, "en" if language == "en" else "id") for text, language in flows.static_prompts())
    recognizers = None
    if flows.settings.speech:
        # Loading acoustic models takes seconds: not on the event loop.
        recognizers = await asyncio.to_thread(build_recognizers, parse_engines(settings.asr_engines))
    identify = crm_identify(crm)

    async def known_caller(number: str) -> tuple[str | None, str | None, Mapping[str, str]]:
        identity = await identify(number)
        if identity is None:
            return None, None, {}
        screenpop.prefetch(identity.customer_id)  # the caller spends seconds in the IVR: the pop will be ready
        return identity.customer_id, identity.language, identity.attributes

    log.info("IVR ready: %d flows, %s speech", len(flows.flows), "with" if recognizers else "without")
    return IvrRunner(ctl.ari, flows, prompts=TtsPrompts(renderer),
                     recognizer=None if recognizers is None else AsrBridge(recognizers),
                     self_service=CrmSelfService(crm), verbalizer=SpeakVerbalizer(),
                     on_transfer=ctl.ivr_transfer, on_end=ctl.ivr_end, identify=known_caller)
