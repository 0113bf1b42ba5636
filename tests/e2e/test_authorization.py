"""The authorization matrix: every route of the OpenAPI document, for every role, on an object of the caller's
own and on a foreign one, answers the status the policy says. A route the matrix does not know fails the test,
so a new route cannot ship without its entry.

The floor: two queues ('care', 'sales'), agent Ana (care, team north) and agent Bob (sales, team south) each on
a live call through Asterisk, a past interaction and a customer of each, a supervisor Sue whose scope is 'care',
an agent login with no agent ('lone'), the admin, a partner ('pat', granted every partner operation on Ana's
customer), and no token at all. A partner token reaches the partner API (/api/partner/...) and nothing else: every
other route that needs a token answers it 403 (``_partner_fenced``), a public one as it answers anyone.

Requests that would change something are sent with a body that fails validation *after* the authorization
check, so an allowed caller gets 422 and nothing changes; the few that cannot be probed that way (log out,
stop a monitor, reload the rules) run last. An object out of reach answers 404, as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from cti.acd import ScheduledCallback
from cti.crm import NewContact
from cti.persistence import CallbackRepository, CustomerRepository, InteractionRepository, RecordingRepository
from cti.records import InteractionRecord, RecordingRecord
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from cti.web import FEATURES, openapi_document
from tests.e2e.conftest import Cti, monitor_connected, start_phone
from tests.support import eventually

ROLES = ("anon", "lone", "ana", "sue", "admin", "pat")
Expect = dict[str, tuple[int, int]]  # role -> (status on their own object, status on a foreign one)


def _same(**statuses: int) -> Expect:
    return {role: (status, status) for role, status in statuses.items()}


def public(ok: int = 200) -> Expect:
    return _same(anon=ok, lone=ok, ana=ok, sue=ok, admin=ok, pat=ok)


def signed_in(ok: int = 200) -> Expect:
    return _same(anon=401, lone=ok, ana=ok, sue=ok, admin=ok)


def admin_only(ok: int = 200) -> Expect:
    return _same(anon=401, lone=403, ana=403, sue=403, admin=ok)


def staff(ok: int = 200) -> Expect:
    return _same(anon=401, lone=403, ana=403, sue=ok, admin=ok)


def staff_in_scope(ok: int = 200) -> Expect:
    return {"anon": (401, 401), "lone": (403, 403), "ana": (403, 403), "sue": (ok, 404), "admin": (ok, ok)}


def own_work(ok: int = 200) -> Expect:
    """The agent's own, the supervisor's scope, everything for the admin; a login with no agent reaches nothing."""
    return {"anon": (401, 401), "lone": (404, 404), "ana": (ok, 404), "sue": (ok, 404), "admin": (ok, ok)}


def no_chat() -> Expect:
    """A chat's routes with no chat live in this run (a call's id is no chat's): not found for everyone signed in
    (tests/integration/test_chat_api.py drives real chats through their owners and outsiders)."""
    return _same(anon=401, lone=404, ana=404, sue=404, admin=404)


def _partner_api(ok: int = 200, foreign: int = 404) -> Expect:
    """The partner API: the partner's own customer (Ana's), another's is 404; every other token 403."""
    return {**_same(anon=401, lone=403, ana=403, sue=403, admin=403), "pat": (ok, foreign)}


def _partner_fenced(expect: Expect) -> None:
    """A route outside the partner API answers a partner token 403, or as it answers everyone when public."""
    if "pat" not in expect:
        anon = expect["anon"]
        expect["pat"] = anon if anon[0] != 401 else (403, 403)


@dataclass(frozen=True)
class Route:
    expect: Expect
    body: Any = None
    query: str = ""
    last: bool = False
    """Changes something when allowed: sent after every other request."""
    ids: str = "live"
    """Which {call_id} the route takes: a live call's, or a past interaction's ('past')."""
    user: str = "sue"
    """Which user {name} names."""
    before: tuple[str, bool, str] | None = None
    """A call control that changes the call: (its attribute, the value an allowed request must find, the control
    that sets it). Each allowed request meets the same call: the admin puts it right before, if need be."""


MATRIX: dict[tuple[str, str], Route] = {
    ("GET", "/"): Route(public(302)),
    ("GET", "/ui/{name}"): Route(public()),
    ("GET", "/ui/i18n/{lang}/{name}"): Route(public()),
    ("GET", "/ui/vendor/{name}"): Route(public(404)),  # nothing vendored yet: public, and no such file
    ("GET", "/favicon.ico"): Route(public()),
    ("GET", "/healthz"): Route(public()),
    ("GET", "/openapi.json"): Route(public()),
    ("GET", "/metrics"): Route(staff()),
    ("GET", "/api/me"): Route(signed_in()),
    ("PATCH", "/api/me"): Route(signed_in(422), body={"language": "fr"}),
    ("PUT", "/api/me/password"): Route(signed_in(422), body={"current": "", "new": "short"}),
    ("POST", "/api/session"): Route(public(422), body={}),
    # The customers' portal: public sign-in steps; what needs a customer's session is refused to every staff
    # token (tests/integration/test_portal_api.py signs a customer in).
    ("GET", "/portal"): Route(public(302)),
    ("GET", "/portal/"): Route(public(302)),
    ("POST", "/api/portal/code"): Route(public(422), body={}),
    ("POST", "/api/portal/session"): Route(public(422), body={}),
    ("DELETE", "/api/portal/session"): Route(public()),  # signing out with no session: nothing to end
    ("GET", "/api/portal/me"): Route(public(401)),
    ("GET", "/api/portal/account"): Route(public(401)),
    # Self-service (tests/integration/test_portal_selfservice_api.py: a customer's own objects, another's 404).
    ("GET", "/api/portal/orders"): Route(public(401)),
    ("GET", "/api/portal/orders/{order_number}"): Route(public(401)),
    ("PATCH", "/api/portal/details"): Route(public(401), body={}),
    ("GET", "/api/portal/preferences"): Route(public(401)),
    ("PATCH", "/api/portal/preferences"): Route(public(401), body={}),
    ("GET", "/api/portal/history"): Route(public(401)),
    ("GET", "/api/portal/callbacks"): Route(public(401)),
    ("POST", "/api/portal/callbacks"): Route(public(401), body={}),
    ("DELETE", "/api/portal/callbacks/{callback_id}"): Route(public(401)),
    ("GET", "/api/portal/cyberagent/replies/{reply_id}/audio"): Route(public(401)),
    # Web chat: a customer's chat is the cti_chat cookie (none here: not found); no name, no chat.
    ("POST", "/api/portal/chat"): Route(public(422), body={}),
    ("GET", "/api/portal/chat"): Route(public(404)),
    ("POST", "/api/portal/chat/messages"): Route(public(404), body={"text": "halo"}),
    ("POST", "/api/portal/chat/leave"): Route(public(404), body={}),
    ("POST", "/api/portal/chat/left-message"): Route(public(401), body={"text": "halo"}),
    ("GET", "/api/portal/chat/ws"): Route(public(404)),
    ("GET", "/api/portal/chat/replies/{reply_id}/audio"): Route(public(404)),
    ("GET", "/api/chats"): Route(signed_in()),
    ("GET", "/api/chats/{chat_id}/messages"): Route(no_chat()),
    ("POST", "/api/chats/{chat_id}/messages"): Route(no_chat(), body={"text": "halo"}),
    ("POST", "/api/chats/{chat_id}/accept"): Route(no_chat()),
    ("POST", "/api/chats/{chat_id}/decline"): Route(no_chat()),
    ("POST", "/api/chats/{chat_id}/typing"): Route(no_chat()),
    ("POST", "/api/chats/{chat_id}/end"): Route(no_chat()),
    ("GET", "/ws/chats/{chat_id}"): Route(no_chat()),
    ("DELETE", "/api/session"): Route(public()),
    ("PUT", "/api/users/{name}/password"): Route(admin_only(422), body={"password": "short"}),
    ("GET", "/api/users"): Route(admin_only()),
    ("POST", "/api/users"): Route(admin_only(422), body={}),
    ("PUT", "/api/users/{name}/scope"): Route(admin_only(422), body={"queues": "care"}),
    ("POST", "/api/ws-tickets"): Route(signed_in(201)),
    ("GET", "/api/agents"): Route(staff()),
    ("POST", "/api/agents"): Route(admin_only(422), body={}),
    ("GET", "/api/agents/{agent_id}"): Route(own_work()),
    ("PUT", "/api/agents/{agent_id}/profile"): Route(
        {**staff_in_scope(422), "lone": (403, 403)}, body={"skills": "all"}),
    ("POST", "/api/agents/{agent_id}/login"): Route(own_work(422), body={"extension": "x"}),
    ("POST", "/api/agents/{agent_id}/logout"): Route(own_work(), last=True),
    ("POST", "/api/agents/{agent_id}/state"): Route(own_work(422), body={"state": "asleep"}),
    ("GET", "/api/routing"): Route(staff()),
    ("PUT", "/api/routing"): Route(admin_only(422), body={"text": "queues: [care]"}),
    ("GET", "/api/routing/file"): Route(admin_only()),
    ("POST", "/api/routing/check"): Route(admin_only(422), body={}),
    ("POST", "/api/routing/reload"): Route(admin_only(), last=True),
    ("GET", "/api/settings"): Route(admin_only()),
    ("GET", "/api/queues"): Route(staff()),
    ("GET", "/api/queues/{queue}"): Route(staff_in_scope()),
    ("GET", "/api/calls"): Route(staff()),
    ("GET", "/api/calls/{call_id}"): Route(own_work()),
    ("POST", "/api/calls"): Route(signed_in(422), body={}),  # whom to call: refused before anyone's rights
    ("GET", "/api/do-not-call"): Route(staff()),
    ("POST", "/api/do-not-call"): Route(staff(422), body={}),
    ("DELETE", "/api/do-not-call/{entry_id}"): Route(staff(404)),
    ("GET", "/api/callbacks"): Route(signed_in()),
    ("POST", "/api/callbacks"): Route(signed_in(422), body={}),
    ("GET", "/api/callbacks/{callback_id}"): Route(own_work()),
    # Dial and skip are the agent's it is shown to: nobody else's (403), and not now (409): none is previewed.
    ("POST", "/api/callbacks/{callback_id}/dial"): Route(
        {"anon": (401, 401), "lone": (403, 403), "ana": (409, 404), "sue": (403, 403), "admin": (403, 403)}),
    ("POST", "/api/callbacks/{callback_id}/skip"): Route(
        {"anon": (401, 401), "lone": (403, 403), "ana": (409, 404), "sue": (403, 403), "admin": (403, 403)},
        body={}),
    ("DELETE", "/api/callbacks/{callback_id}"): Route(own_work(), last=True),
    # Follow-up tasks (tests/integration/test_follow_up_tasks.py): an agent's are their queues' and their own.
    ("GET", "/api/tasks"): Route(signed_in()),
    ("GET", "/api/tasks/{task_id}"): Route(own_work()),
    # Only an agent takes a task (403 for anyone else); Ana takes hers, so it runs last.
    ("POST", "/api/tasks/{task_id}/claim"): Route(
        {"anon": (401, 401), "lone": (403, 403), "ana": (200, 404), "sue": (403, 403), "admin": (403, 403)},
        last=True),
    # A call follow-up takes no answer to mail: refused after the check (422), so nothing is completed.
    ("POST", "/api/tasks/{task_id}/complete"): Route(own_work(422), body={"answer": "mailed?"}),
    ("POST", "/api/calls/{call_id}/transfer"): Route(own_work(422), body={}),
    # Refused after the check, so nothing changes: no target (422), no consult to step on (409).
    ("POST", "/api/calls/{call_id}/consult"): Route(own_work(422), body={}),
    ("POST", "/api/calls/{call_id}/consult/complete"): Route(own_work(409)),
    ("POST", "/api/calls/{call_id}/consult/cancel"): Route(own_work(409)),
    ("POST", "/api/calls/{call_id}/consult/conference"): Route(own_work(409)),
    ("POST", "/api/calls/{call_id}/conference/leave"): Route(own_work(409)),
    ("POST", "/api/calls/{call_id}/hold"): Route(own_work(), before=("held", False, "resume")),
    ("POST", "/api/calls/{call_id}/resume"): Route(own_work(), before=("held", True, "hold")),
    ("POST", "/api/calls/{call_id}/mute"): Route(own_work(), before=("muted", False, "unmute")),
    ("POST", "/api/calls/{call_id}/unmute"): Route(own_work(), before=("muted", True, "mute")),
    ("POST", "/api/calls/{call_id}/dtmf"): Route(own_work(422), body={"digits": "1x"}),
    # A hang-up ends the call, so the matrix asks it of a call that ended: the rule of who may is the other
    # controls' (one path, tests/e2e/test_call_controls.py hangs up live calls).
    ("POST", "/api/calls/{call_id}/hangup"): Route(_same(anon=401, lone=404, ana=404, sue=404, admin=404),
                                                   ids="past"),
    # Offered only to a known customer with a questionnaire: the matrix's caller is neither (409) once allowed.
    ("POST", "/api/calls/{call_id}/survey"): Route(own_work(409)),
    ("GET", "/api/calls/{call_id}/recording"): Route(own_work()),
    ("POST", "/api/calls/{call_id}/recording"): Route(own_work(422), body={"action": "rewind"}),
    ("GET", "/api/interactions/{call_id}/recordings"): Route(own_work(), ids="past"),
    ("GET", "/api/recordings/{recording_id}"): Route(own_work()),
    # One's own recorded calls: agents only (a login with no agent has none); staff use the calls' recordings.
    ("GET", "/api/me/recordings"): Route(_same(anon=401, lone=200, ana=200, sue=403, admin=403)),
    ("POST", "/api/calls/{call_id}/monitor"): Route(
        {**staff_in_scope(422), "lone": (403, 403)}, body={"mode": "listen", "extension": "9999"}),
    ("GET", "/api/monitors"): Route(staff()),
    ("DELETE", "/api/monitors/{monitor_id}"): Route(
        _same(anon=401, lone=403, ana=403, sue=404, admin=200), last=True),
    ("GET", "/api/interactions"): Route(signed_in()),
    ("GET", "/api/interactions/{call_id}"): Route(own_work(), ids="past"),
    ("POST", "/api/interactions/{call_id}/wrapup"): Route(own_work(422), body={"disposition": "NOT A CODE"},
                                                           ids="past"),
    ("GET", "/api/dispositions"): Route(signed_in()),
    ("POST", "/api/customers"): Route(own_work(422), body={"email": "not-an-address@"}),
    ("GET", "/api/customers"): Route(signed_in(), query="q=customer+of"),  # cut to reach: see below
    ("GET", "/api/customers/{customer_id}"): Route(own_work()),
    ("PUT", "/api/customers/{customer_id}/consent"): Route(own_work(422), body={"phone_calls": "maybe"}),
    ("GET", "/api/customers/{customer_id}/verification"): Route(admin_only()),
    ("PUT", "/api/customers/{customer_id}/verification"): Route(admin_only(422), body={"pin": "12"}),
    ("GET", "/ws/desktop"): Route(own_work(101)),
    ("GET", "/ws/dashboard"): Route(staff(101)),
    # What a web front end asks the leader for a page's socket: checked as the socket itself (docs/scaling.md).
    ("GET", "/api/live/snapshot"): Route(own_work(), query="socket=desktop"),
    ("POST", "/api/live/grants"): Route(public(), body={}),  # the grants in the body are the only authority
    ("POST", "/api/live/frame"): Route(public(422), body={}),
    # Only an agent listed in CTI_WEBPHONES has a browser phone (tests/e2e/test_webphone.py): nobody here.
    ("GET", "/api/me/phone"): Route(_same(anon=401, lone=404, ana=404, sue=404, admin=404)),
    ("GET", "/ws/phone"): Route(_same(anon=401, lone=404, ana=404, sue=404, admin=404)),
    ("GET", "/api/stats"): Route(staff()),
    ("GET", "/api/reports/queues"): Route(staff()),
    ("GET", "/api/reports/agents"): Route(staff()),
    ("GET", "/api/reports/outbound"): Route(staff()),
    ("GET", "/api/reports/surveys"): Route(staff(400)),  # no from: allowed callers get 400, nothing read
    ("GET", "/api/surveys/questionnaires"): Route(staff()),
    ("GET", "/api/surveys/questionnaires/{questionnaire_id}"): Route(staff(404)),  # none defined on the floor
    ("PUT", "/api/surveys/questionnaires/{questionnaire_id}"): Route(staff(422), body={"title": "none"}),
    ("POST", "/api/survey/open"): Route(public(422), body={}),  # the link's token is the only authority
    ("POST", "/api/survey/answer"): Route(public(422), body={}),
    ("GET", "/api/customers/{customer_id}/surveys"): Route(own_work()),
    ("GET", "/api/alerts"): Route(staff()),
    ("GET", "/api/alerts/thresholds"): Route(staff()),
    ("PUT", "/api/alerts/thresholds/{queue}"): Route(staff_in_scope(422), body={"thresholds": "none"}),
    ("GET", "/api/scripts"): Route(signed_in()),
    ("GET", "/api/scripts/{script_id}"): Route(signed_in()),
    ("PUT", "/api/scripts/{script_id}"): Route(staff(422), body={}),
    ("GET", "/api/scripts/{script_id}/versions"): Route(staff()),
    ("POST", "/api/scripts/{script_id}/activate"): Route(staff(422), body={}),
    ("GET", "/api/faq"): Route(staff()),
    ("POST", "/api/faq"): Route(staff(422), body={}),
    ("GET", "/api/faq/search"): Route(public(), query="q=internet&lang=id"),
    ("GET", "/api/faq/{entry_id}"): Route(staff(404)),
    ("PUT", "/api/faq/{entry_id}"): Route(staff(422), body={}),
    ("DELETE", "/api/faq/{entry_id}"): Route(staff(404)),
    ("GET", "/api/faq/{entry_id}/versions"): Route(staff(404)),
    ("POST", "/api/faq/{entry_id}/status"): Route(staff(422), body={}),
    ("POST", "/api/faq/{entry_id}/feedback"): Route(public(422), body={}),
    # The virtual agent's questions: none in this run (no chat); a call's interaction, in scope or not, holds no
    # question to label (tests/integration/test_cyberagent_labels_api.py labels real ones, in and out of scope).
    ("GET", "/api/cyberagent/questions"): Route(staff()),
    ("PUT", "/api/cyberagent/questions/{call_id}/{seq}/label"): Route(staff(404), body={"kind": "ignore"},
                                                                       ids="past"),
    ("DELETE", "/api/cyberagent/questions/{call_id}/{seq}/label"): Route(staff(404), ids="past"),
    ("POST", "/api/wfm/staffing"): Route(staff(422), body={}),
    ("POST", "/api/wfm/forecast"): Route(staff(422), body={}),
    ("POST", "/api/wfm/schedules"): Route(staff(422), body={}),
    ("GET", "/api/wfm/schedules"): Route(staff()),
    ("GET", "/api/wfm/schedules/{schedule_id}"): Route(staff(404)),
    ("GET", "/api/wfm/adherence"): Route(staff()),
    ("GET", "/api/audit"): Route(admin_only()),
    # What changes users runs last of all, on a user of its own, and every one's own token last.
    ("DELETE", "/api/customers/{customer_id}"): Route(admin_only(), last=True),
    ("DELETE", "/api/users/{name}/scope"): Route(admin_only(), last=True, user="temp"),
    ("POST", "/api/users/{name}/disable"): Route(admin_only(), last=True, user="temp"),
    ("POST", "/api/users/{name}/enable"): Route(admin_only(), last=True, user="temp"),
    ("POST", "/api/users/{name}/token"): Route(admin_only(), last=True, user="temp"),
    ("DELETE", "/api/users/{name}"): Route(admin_only(), last=True, user="temp"),
    ("POST", "/api/me/token"): Route(signed_in(), last=True),
    # Partner integration (docs/integration.md): admins manage subscriptions and partners; only partners call
    # the partner API, on their own customers (Ana's), for the operations granted.
    ("GET", "/api/webhooks/events"): Route(admin_only()),
    ("GET", "/api/webhooks"): Route(admin_only()),
    ("POST", "/api/webhooks"): Route(admin_only(422), body={"url": "ftp://x", "events": []}),
    ("GET", "/api/webhooks/{subscription_id}"): Route(admin_only(404)),
    ("PATCH", "/api/webhooks/{subscription_id}"): Route(admin_only(422), body={"active": "maybe"}),
    ("DELETE", "/api/webhooks/{subscription_id}"): Route(admin_only(404)),
    ("GET", "/api/webhooks/dead-letters"): Route(admin_only()),
    ("POST", "/api/webhooks/dead-letters/{letter_id}/replay"): Route(admin_only(404)),
    ("POST", "/api/crm/invalidate"): Route(admin_only(422), body={}),  # names nothing to forget
    ("GET", "/api/partners"): Route(admin_only()),
    ("POST", "/api/partners"): Route(admin_only(422), body={}),
    ("PUT", "/api/partners/{name}"): Route(admin_only(422), body={"operations": "all"}),
    ("GET", "/api/partner/customers/{customer_id}"): Route(_partner_api()),
    ("PATCH", "/api/partner/customers/{customer_id}"): Route(_partner_api(422), body={"segment": "gold"}),
    ("POST", "/api/partner/callbacks"): Route(_partner_api(422, 422), body={}),  # whose: in the body
    # Whose: the partner's grants, not the path (tests/integration/test_partner_surveys_api.py: exactly its own).
    ("GET", "/api/partner/surveys"): Route(_partner_api(200, 200)),
}

for _route in MATRIX.values():
    _partner_fenced(_route.expect)

RULES = {
    "queues": {"care": {"skills": {"care": 1}}, "sales": {"skills": {"sales": 1}}},
    "routes": [{"name": "care line", "when": {"service_number": "1500100"}, "queue": "care"},
               {"name": "sales line", "when": {"service_number": "1500200"}, "queue": "sales"}],
    "default_queue": "care",
}


@pytest.fixture
def cti_settings_overrides(tmp_path: Path) -> dict[str, Any]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(RULES))
    return {"routing_rules": rules, "recording_dir": tmp_path / "recordings"}


@pytest.fixture
def supervisor_phone(base_settings: Settings) -> Iterator[SippAgent]:
    phone = SippAgent(base_settings.sim_agent_port("7040"), ring_ms=100, trace=True)
    yield phone
    phone.stop()


def test_the_matrix_covers_every_route_of_the_api() -> None:
    document = openapi_document(FEATURES)
    routes = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    assert set(MATRIX) == routes, "every route needs an entry in MATRIX (and every entry a route)"
    assert all(set(route.expect) == set(ROLES) for route in MATRIX.values())


async def test_every_route_answers_every_role_as_the_policy_says(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings,
    supervisor_phone: SippAgent,
) -> None:
    tokens = {"admin": cti.settings.admin_token.get_secret_value(),
              "ana": await cti.create_agent("ana", skills={"care": 1}, team="north"),
              "bob": await cti.create_agent("bob", skills={"sales": 1}, team="south")}
    for name, role, agent_id in (("sue", "supervisor", None), ("lone", "agent", None), ("temp", "agent", None)):
        created = await cti.api("POST", "/api/users", expect=201,
                                json={"name": name, "role": role, "agent_id": agent_id})
        tokens[name] = created["token"]
    await cti.api("PUT", "/api/users/sue/scope", json={"queues": ["care"], "teams": []})
    for agent_id, extension in (("ana", "7001"), ("bob", "7002")):
        start_phone(phones, base_settings, extension, ring_ms=100)
        await cti.login(agent_id, extension)
    for service, number in (("1500100", "0215550101"), ("1500200", "0215550202")):
        callers.append(SippCaller(service, caller=number, duration_ms=60_000))

    def answered() -> dict[str, str] | None:
        calls = {c.agent_id: c.call_id for c in cti.query.calls() if c.answered_at and c.agent_id}
        return calls if len(calls) == 2 else None

    answered_calls = await eventually(answered, timeout=20, message="both calls answered")
    assert answered_calls is not None
    live: dict[str, str] = answered_calls

    customers, interactions = CustomerRepository(cti.db), InteractionRepository(cti.db)
    past: dict[str, str] = {}
    customer_of: dict[str, str] = {}
    recording_of: dict[str, str] = {}
    callback_of: dict[str, str] = {}
    task_of: dict[str, int] = {}
    for agent_id, queue, number in (("ana", "care", "0215550301"), ("bob", "sales", "0215550302")):
        customer = await customers.create_blank_customer(number, name=f"Customer of {agent_id}")
        customer_of[agent_id] = customer.customer_id
        past[agent_id] = f"past-{agent_id}"
        now = cti.query.now()
        await interactions.save(InteractionRecord(
            call_id=past[agent_id], channel_id=f"leg-{agent_id}", caller_number=number, service_number="1500100",
            queue=queue, agent_id=agent_id, arrived_at=now - timedelta(hours=1), ended_at=now - timedelta(minutes=55),
            outcome="answered", customer_id=customer.customer_id))
        callback_of[agent_id] = agent_id[0] * 32
        await CallbackRepository(cti.db).save(ScheduledCallback(
            callback_id=callback_of[agent_id], customer_id=customer.customer_id, queue=queue,
            due_at=now + timedelta(days=1), reason="call back", agent_id=agent_id, created_by=agent_id))
        task_of[agent_id] = (await customers.add_contact(NewContact(
            customer_id=customer.customer_id, channel="call", at=now, agent_id=agent_id, call_id=past[agent_id],
            follow_up_at=now, follow_up_task="call back", follow_up_queue=queue))).contact_id
        recording_of[agent_id] = (await RecordingRepository(cti.db, cti.settings.recording_dir).add(RecordingRecord(
            recording_id=agent_id[0] * 32,
            call_id=past[agent_id], path=f"{agent_id}.wav", format="wav", started_at=now - timedelta(hours=1),
            ended_at=now - timedelta(minutes=55), agent_id=agent_id), b"RIFF")).recording_id
    partner = await cti.api("POST", "/api/partners", expect=201, json={
        "name": "pat", "operations": ["customers.read", "customers.update", "callbacks.create", "surveys.read"],
        "customers": [customer_of["ana"]]})
    tokens["pat"] = partner["token"]
    monitor = await cti.api("POST", f"/api/calls/{live['bob']}/monitor", expect=201,
                            json={"mode": "listen", "extension": "7040"})

    # The supervisor's phone has answered: the monitor lasts as long as the call, whatever the matrix takes.
    await eventually(lambda: monitor_connected(cti, monitor["monitor_id"], supervisor_phone), timeout=15,
                     message="the supervisor's phone to answer the monitor")
    [script, *_] = await cti.api("GET", "/api/scripts")

    def fill(method: str, path: str, route: Route, whose: str) -> tuple[str, Any]:
        values = {"agent_id": whose, "call_id": (past if route.ids == "past" else live)[whose],
                  "customer_id": customer_of[whose], "queue": "care" if whose == "ana" else "sales",
                  "name": route.user, "monitor_id": monitor["monitor_id"], "script_id": script["script_id"],
                  "schedule_id": "999999", "lang": "id", "recording_id": recording_of[whose],
                  "callback_id": callback_of[whose], "entry_id": "999999", "order_number": "50000002",
                  "reply_id": "0" * 22, "chat_id": live[whose], "subscription_id": "0" * 16, "letter_id": "999999",
                  "questionnaire_id": "none", "task_id": task_of[whose], "seq": "1"}
        url = path.format(**values)
        if path == "/ui/{name}":
            url = "/ui/index.html"
        if path == "/ui/i18n/{lang}/{name}":
            url = "/ui/i18n/id/common.json"  # {name} above is a user's
        if path == "/ui/vendor/{name}":
            url = "/ui/vendor/nothing.js"
        if path in ("/ws/desktop", "/api/live/snapshot"):
            url += f"?agent_id={whose}"
        if route.query:
            url += f"{'&' if '?' in url else '?'}{route.query}"
        body = route.body
        if path == "/api/customers" and method == "POST":
            body = {**body, "call_id": live[whose]}
        return url, body

    async def send(http: aiohttp.ClientSession, role: str, method: str, url: str, body: Any,
                   expected: int) -> int:
        headers = {} if role == "anon" else {"Authorization": f"Bearer {tokens[role]}"}
        full = cti.client.make_url(url)
        if expected == 101:
            async with http.ws_connect(full, headers=headers) as ws:
                frame = await ws.receive_json(timeout=5)
                assert frame["type"] == "snapshot"
                return 101
        async with http.request(method, full, headers=headers, json=body, allow_redirects=False) as response:
            return response.status

    try:
        await _lists_are_cut_to_reach(cti, tokens, live, past)  # first: the matrix ends rotating every token
        await _run_matrix(cti, tokens, fill, send)
    finally:
        for call in cti.query.calls():  # the callers hang up (as far as cti can tell) and the floor settles
            await cti.ari.hangup(call.channel_id)
    await cti.settled()


async def _run_matrix(cti: Cti, tokens: dict[str, str], fill: Any, send: Any) -> None:
    requests = []
    for (method, path), route in MATRIX.items():
        for role in ROLES:
            own_status, foreign_status = route.expect[role]
            for whose, expected in (("ana", own_status), ("bob", foreign_status)):
                requests.append((route.last and expected < 400, method, path, route, role, whose, expected))
    # Refusals first (they change nothing whatever happens), then what is allowed, the changes last of all.
    requests.sort(key=lambda r: (r[0], r[6] < 400))
    wrong = []
    sent: set[tuple[str, str, str]] = set()
    async with aiohttp.ClientSession() as http:
        for _, method, path, route, role, whose, expected in requests:
            url, body = fill(method, path, route, whose)
            if (role, method, url) in sent:
                continue  # no object of one's own (a list, one's token, the one monitor): asked once
            sent.add((role, method, url))
            if route.before is not None and expected < 400:
                await _put_right(cti, http, tokens["admin"], url.rsplit("/", 2)[1], route.before)
            got = await send(http, role, method, url, body, expected)
            if got != expected:
                wrong.append(f"{role:5} {method} {url} ({'own' if whose == 'ana' else 'foreign'}): "
                             f"{got}, expected {expected}")
    assert wrong == []


async def _put_right(cti: Cti, http: aiohttp.ClientSession, admin: str, call_id: str,
                     before: tuple[str, bool, str]) -> None:
    attribute, value, control = before
    call = cti.query.find_call(call_id)
    assert call is not None, f"call {call_id} ended during the matrix"
    if getattr(call, attribute) != value:
        async with http.post(cti.client.make_url(f"/api/calls/{call_id}/{control}"),
                             headers={"Authorization": f"Bearer {admin}"}) as response:
            assert response.status == 200, f"{control} of {call_id}: {response.status}"


async def _lists_are_cut_to_reach(cti: Cti, tokens: dict[str, str], live: dict[str, str],
                                  past: dict[str, str]) -> None:
    sue = {"Authorization": f"Bearer {tokens['sue']}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(cti.client.make_url("/api/calls"), headers=sue) as response:
            assert [c["call_id"] for c in (await response.json())["calls"]] == [live["ana"]]
        async with http.get(cti.client.make_url("/api/monitors"), headers=sue) as response:
            assert (await response.json())["monitors"] == []  # the admin's monitor is not hers
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        async with http.get(cti.client.make_url("/api/monitors"), headers=admin) as response:
            assert [m["call_id"] for m in (await response.json())["monitors"]] == [live["bob"]]
        async with http.get(cti.client.make_url("/api/agents"), headers=sue) as response:
            assert [a["agent_id"] for a in (await response.json())["agents"]] == ["ana"]
        async with http.get(cti.client.make_url("/api/interactions"), headers=sue) as response:
            assert past["bob"] not in [i["call_id"] for i in (await response.json())["interactions"]]
        async with http.get(cti.client.make_url("/api/queues"), headers=sue) as response:
            assert [q["queue"] for q in (await response.json())["queues"]] == ["care"]
        # The customer search finds Ana's customer for Ana and for Sue (care), both for the admin, none for Lone.
        for role, names in (("ana", ["Customer of ana"]), ("sue", ["Customer of ana"]), ("lone", []),
                            ("admin", ["Customer of ana", "Customer of bob"])):
            async with http.get(cti.client.make_url("/api/customers"), params={"q": "customer of"},
                                headers={"Authorization": f"Bearer {tokens[role]}"}) as response:
                assert [c["name"] for c in (await response.json())["customers"]] == names, role
