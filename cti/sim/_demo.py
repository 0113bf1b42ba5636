"""``cti demo``: a live contact center on this machine.

Starts Asterisk (configured from the repository), cti (API + ARI controller) and simulated agents on SIPp
phones; seeds the CRM with Indonesian customers and the database with eight weeks of call history (once); then
feeds a stream of simulated callers through the bilingual IVR to the agents: most wait and talk, some give up,
some serve themselves. The console shows where to go, who can sign in, a line per major event and a short status
now and then; request logs and the server's own go to a log file. Until Ctrl-C (or ``--minutes``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

from cti.asterisk import AsteriskError, AsteriskRoot
from cti.bootstrap import RUNNING, Running, create_app
from cti.errors import NotFound
from cti.ivr import SAMPLE_FLOWS
from cti.services import Accounts, CenterView, SignIn
from cti.settings import Settings, SettingsError, load_settings
from cti.sim._crm_seed import BANDUNG_YOUTH, JAKARTA_GOLD, generate
from cti.sim._demo_callers import BILLING, CARE, CallerPlan, plan_caller, render_utterances
from cti.sim._demo_seed import (
    HISTORY_DAYS,
    caller_numbers,
    history_agents,
    history_callers,
    seed_history,
    seed_schedule,
    starter_faq,
)
from cti.sim._sipp import SippAgent, SippError, SippIvrCaller, sipp_binary
from cti.web import ACCOUNTS, AGENTS, FAQ, QUERY, SIGN_IN, AccessLogger
from cti.wfm import WfmError

__all__ = ["DEMO_FLOWS", "DEMO_LOG", "DEMO_RULES", "DemoUser", "demo_password", "run_demo"]

AGENT_NAMES = ("Siti Rahma", "Bayu Pratama", "Dewi Anggraini", "Agus Wijaya", "Rina Kusuma", "Joko Prasetyo",
               "Maya Sari", "Eko Nugroho", "Putri Ayu", "Hendra Gunawan", "Nyoman Suardana", "Lamhot Simanjuntak",
               "Andi Mappaseng", "Wulan Permata", "Fajar Hidayat", "Ratna Handayani", "Yohanes Tanujaya",
               "Indah Lestari", "Rizky Ramadhan", "Sri Wahyuni")
# Where each demo agent sits and what they know: regional care teams, some also on the billing line, one billing
# specialist.
AGENT_PROFILES = (
    {"region": "jakarta", "skills": {"care": 6, "billing": 3}}, {"region": "surabaya", "skills": {"care": 4}},
    {"region": "jakarta", "skills": {"care": 3}}, {"region": "medan", "skills": {"care": 7, "billing": 6}},
    {"region": "surabaya", "skills": {"care": 5}}, {"region": "denpasar", "skills": {"care": 2}},
    {"region": "jakarta", "skills": {"billing": 8}}, {"region": "makassar", "skills": {"care": 5}},
    {"region": "bandung", "skills": {"care": 4}}, {"region": "surabaya", "skills": {"care": 8, "billing": 2}},
    {"region": "denpasar", "skills": {"care": 6}}, {"region": "medan", "skills": {"care": 5, "billing": 4}},
    {"region": "makassar", "skills": {"care": 4, "billing": 5}}, {"region": "jakarta", "skills": {"care": 5}},
    {"region": "bandung", "skills": {"care": 6, "billing": 3}}, {"region": "jakarta", "skills": {"billing": 6}},
    {"region": "surabaya", "skills": {"care": 3}}, {"region": "jakarta", "skills": {"care": 7, "billing": 5}},
    {"region": "medan", "skills": {"care": 4}}, {"region": "bandung", "skills": {"care": 5, "billing": 2}},
)
DEMO_RULES = Path(__file__).with_name("demo-routing.yaml")
DEMO_FLOWS = SAMPLE_FLOWS
DEMO_RULES_COPY = Path("var/demo-routing.yaml")
"""The rules ``cti demo`` runs on (relative to where it runs): a copy of :data:`DEMO_RULES` made on its first start,
so the routing rules page edits the demo's copy, never the sample in the repository."""
DEMO_LOG = Path("var/cti-demo.log")
"""Where ``cti demo`` writes the request log and the server's log (relative to where it runs: the repository)."""
SOFTPHONE = "1001"
STATUS_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A user the demo makes for a role (the front page takes each to their role's page)."""

    name: str
    role: str
    agent_id: str | None = None


DEMO_USERS = (DemoUser("admin", "admin"), DemoUser("supervisor", "supervisor"),
              DemoUser("agent1", "agent", agent_id="agent1"))


def run_demo(*, minutes: float, agents: int, rate: float, log_file: Path = DEMO_LOG) -> int:
    try:
        settings = demo_settings(load_settings())
        sipp_binary()
        if settings.routing_rules == DEMO_RULES:
            settings = settings.model_copy(update={"routing_rules": own_rules_copy(DEMO_RULES_COPY)})
    except (SettingsError, SippError) as exc:
        print(f"cti demo: {exc}", file=sys.stderr)
        return 2
    if not 1 <= agents <= min(len(AGENT_NAMES), settings.sim_agents):
        print(f"cti demo: --agents must be 1..{min(len(AGENT_NAMES), settings.sim_agents)}", file=sys.stderr)
        return 2
    _log_to_file(log_file)
    root = AsteriskRoot(settings.asterisk_root)
    try:
        print("starting Asterisk", flush=True)
        root.build()
        root.install_config(settings)
        root.start(settings)
    except AsteriskError as exc:
        print(f"cti demo: {exc}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(_demo(settings, minutes=minutes, agents=agents, rate=rate, log_file=log_file))
    finally:
        root.stop()


def own_rules_copy(copy: Path) -> Path:
    """The demo's own rules file: the sample, copied once (an admin's later edits are kept across starts)."""
    if not copy.exists():
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DEMO_RULES, copy)
    return copy


def demo_settings(settings: Settings) -> Settings:
    """The demo's rules and IVR flows unless others are set, the endpoints of its SIPp agent phones (it asks for
    them: no credentials, loopback only; a default configuration never has them) and a softphone account
    (:data:`SOFTPHONE`) when none is configured."""
    update: dict[str, object] = {}
    if settings.routing_rules is None:
        update["routing_rules"] = DEMO_RULES
    if settings.ivr_flows is None:
        update["ivr_flows"] = DEMO_FLOWS
    if settings.sim_agents < len(AGENT_NAMES):
        update["sim_agents"] = len(AGENT_NAMES)
    if not settings.softphones:
        update["softphones"] = f"{SOFTPHONE}:{softphone_password(settings)}"
    return settings.model_copy(update=update) if update else settings


def softphone_password(settings: Settings) -> str:
    """The demo softphone's password: derived from the admin token, so the same on every start of this machine's
    demo (a phone configured once keeps working) and known to nobody without the token."""
    digest = hmac.new(settings.admin_token.get_secret_value().encode(), b"cti demo softphone", hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:18]).decode()


def _log_to_file(path: Path) -> None:
    """Everything logged goes to ``path``; the console keeps only warnings and errors (and what the demo prints)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for handler in root.handlers:
        handler.setLevel(max(handler.level, logging.WARNING))
    root.addHandler(to_file)


@contextlib.contextmanager
def _native_output_to(path: Path) -> Iterator[None]:
    """Meanwhile, what native code writes to the standard output (file descriptor 1) goes to ``path``."""
    sys.stdout.flush()
    saved = os.dup(1)
    target = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.dup2(target, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(target)


def _access_log(path: Path) -> logging.Logger:
    """The request log of the demo's server: into ``path``, never to the console."""
    path.parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("cti.demo.access")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if not any(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path.resolve()
               for h in logger.handlers):
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
    return logger


async def _demo(settings: Settings, *, minutes: float, agents: int, rate: float,
                log_file: Path = DEMO_LOG, stop: asyncio.Event | None = None) -> int:
    """The demo until Ctrl-C, ``minutes`` or ``stop`` (set by whoever runs it in-process, e.g. a test whose
    checks are done: it ends as on Ctrl-C)."""
    app = create_app(settings, connect_timeout=20)
    runner = web.AppRunner(app, access_log_class=AccessLogger, access_log=_access_log(log_file))
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    running = app[RUNNING]
    phones: list[SippAgent] = []
    callers: list[SippIvrCaller] = []
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scratch = Path(tempfile.mkdtemp(prefix="cti-demo-"))
    try:
        dataset = generate(now=datetime.now(UTC), customers=500)
        if await running.customers.customer(JAKARTA_GOLD) is None:
            await running.customers.seed(dataset)
            print(f"CRM: {len(dataset.customers)} customers with products, orders, invoices and histories",
                  flush=True)
        else:
            dewi = await running.customers.customer(BANDUNG_YOUTH)
            if dewi is not None and "<" in dewi.name:  # seeded by a demo from before its data was clean
                print("CRM: this database holds an older demo's customers (with test strings); stop the demo and "
                      "remove it (var/demo.db) to start with the current ones", flush=True)
        faq = await app[FAQ].install(starter_faq())
        if faq:
            print(f"FAQ: {len(faq)} starter entries published, in Bahasa Indonesia and English", flush=True)
        extensions = settings.sim_agent_extensions()[:len(AGENT_NAMES)]
        for n, name in enumerate(AGENT_NAMES):
            if not app[QUERY].has_agent(f"agent{n + 1}"):
                await app[AGENTS].enroll(f"agent{n + 1}", name, AGENT_PROFILES[n])
        callers_known = history_callers(dataset)
        zone = ZoneInfo(settings.timezone)
        today = datetime.now(zone).date()
        added = await seed_history(running.database, today=today, zone=zone,
                                   agents=history_agents(AGENT_PROFILES, extensions), callers=callers_known)
        if added.days:
            print(f"history: {added.calls} calls over {added.days} days before today, for the forecast and reports",
                  flush=True)
        try:
            with _native_output_to(log_file):  # HiGHS greets from C, past sys.stdout: into the log
                schedule = await seed_schedule(running.database, today=today, zone=zone,
                                               agents=history_agents(AGENT_PROFILES, extensions))
        except WfmError as exc:  # the demo goes on without one: adherence then says there is no schedule
            print(f"schedule: today's could not be solved ({exc})", flush=True)
        else:
            if schedule is not None:
                print(f"schedule: today's, {len(schedule.schedule.shifts)} shifts solved from the forecast "
                      "(WFM page: schedules and adherence)", flush=True)
        for n, ext in enumerate(extensions[:agents]):
            phones.append(SippAgent(settings.sim_agent_port(ext), ring_ms=random.randint(300, 1500),
                                    talk_ms=random.randint(4000, 12000)))
            await app[AGENTS].login(f"agent{n + 1}", ext, ready=True)
        base = f"http://{settings.http_host}:{settings.http_port}"
        ways_in = [await _way_in(app[ACCOUNTS], app[SIGN_IN], settings, user) for user in DEMO_USERS]
        spare = f"agent{len(AGENT_NAMES)}" if agents < len(AGENT_NAMES) else None
        utterances = render_utterances(scratch)
        first_day = today - timedelta(days=HISTORY_DAYS)
        print(_banner(settings, base, agents=agents, rate=rate, ways_in=ways_in, spare=spare, log_file=log_file,
                      speech=utterances is not None, history=(first_day.isoformat(), today.isoformat())),
              flush=True)
        numbers = caller_numbers(callers_known)
        known = {caller.number: caller.language for caller in callers_known if caller.customer_id}
        rng = random.Random()
        deadline = time.monotonic() + minutes * 60 if minutes > 0 else float("inf")
        next_status = time.monotonic() + STATUS_SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            plan = plan_caller(rng, numbers, known, utterances)
            callers.append(_call(plan, settings.sip_bind))
            for done in [c for c in callers if c.proc is not None and c.proc.poll() is not None]:
                done.stop()  # removes its scratch directory
                callers.remove(done)
            if time.monotonic() >= next_status:
                next_status = time.monotonic() + STATUS_SECONDS
                print(_status(app[QUERY], running), flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.expovariate(rate))
        print("stopping: hanging up callers and agents", flush=True)
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C is the caller's again (a test's pytest)
            loop.remove_signal_handler(sig)
        for proc in (*callers, *phones):
            proc.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        await asyncio.sleep(1)
        await runner.cleanup()


def _call(plan: CallerPlan, target: str) -> SippIvrCaller:
    return SippIvrCaller(plan.service, list(plan.steps), target=target, caller=plan.caller, caller_name=plan.caller,
                         duration_ms=plan.duration_ms)


def demo_password(settings: Settings, user: DemoUser) -> str:
    """The password ``user`` signs in with on the demo: derived from the admin token like the softphone's, so the
    same on every start of this machine's demo and known to nobody without the token."""
    digest = hmac.new(settings.admin_token.get_secret_value().encode(), f"cti demo user {user.name}".encode(),
                      hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:12]).decode()


async def _way_in(accounts: Accounts, sign_in: SignIn, settings: Settings, user: DemoUser) -> str:
    """How ``user`` signs in, as the console shows it: their name and demo password (set on every start)."""
    try:
        await accounts.user(user.name)
    except NotFound:
        await accounts.create_user(user.name, user.role, user.agent_id)
    password = demo_password(settings, user)
    await sign_in.set_password(user.name, password)
    return f"  {user.role:<11} {user.name:<11} password {password}"


def _banner(settings: Settings, base: str, *, agents: int, rate: float, ways_in: list[str], spare: str | None,
            log_file: Path, speech: bool, history: tuple[str, str]) -> str:
    token = settings.admin_token.get_secret_value()
    softphone = settings.softphone_accounts()
    lines = [
        "",
        f"cti demo is running: open {base}/ui/index.html",
        "",
        f"Sign in at {base}/ui/signin.html (each role's page follows) as:",
        *ways_in,
        "",
        f"Calls: about {rate:g} a second to {CARE} (care) and {BILLING} (billing), all through the bilingual IVR",
        f"  ({'keypad and speech' if speech else 'keypad'}); {agents} agents on simulated phones answer them.",
        f"WFM: history from {history[0]} to {history[1]} (queues care and billing) for the forecast and staffing.",
    ]
    if spare is not None and SOFTPHONE in softphone:
        lines += [
            f"Softphone (docs/softphones.md): extension {SOFTPHONE}, password {softphone[SOFTPHONE]}, registrar"
            f" {settings.sip_bind}; take calls on it as {spare}:",
            f"  curl -H 'Authorization: Bearer {token}' -d '{{\"extension\": \"{SOFTPHONE}\", \"ready\": true}}'"
            f" {base}/api/agents/{spare}/login",
        ]
    lines += [f"Logs (requests, server): {log_file}", "", "Press Ctrl-C to stop.", ""]
    return "\n".join(lines)


def _status(query: CenterView, running: Running) -> str:
    calls = query.calls()
    states: Counter[str] = Counter(agent.state.value for agent in query.agents() if agent.state.value != "logged_out")
    ivr = running.telephony.ivr
    stats = running.counters
    return (f"{time.strftime('%H:%M:%S')}  in IVR {len(ivr.calls) if ivr is not None else 0:2d}  "
            f"waiting {sum(c.state.value == 'waiting' for c in calls):2d}  "
            f"talking {sum(c.state.value == 'connected' for c in calls):2d}  "
            f"agents {', '.join(f'{n} {state}' for state, n in sorted(states.items()))}  "
            f"answered {stats['calls_answered']}  abandoned {stats['calls_abandoned']}")
