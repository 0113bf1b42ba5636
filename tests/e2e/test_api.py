"""The JSON API against the real stack where it needs Asterisk: the health of the Asterisk link, logging in at
extensions, the agent flow. The rest of the API's tests need no phone: tests/pages/test_api.py."""

from __future__ import annotations

import re

from cti.persistence import AgentRepository
from tests.e2e.conftest import Cti
from tests.pages.test_api import assert_error, issued_for_30_days, raw


async def test_healthz_is_public_and_reports_components(cti: Cti) -> None:
    body, _ = await raw(cti, "GET", "/healthz", expect=200)
    assert body == {"status": "ok", "role": "single", "term": None,
                    "components": {"asterisk": True, "redis": True, "database": True}}


async def test_supervisor_can_watch_but_not_administer(cti: Cti) -> None:
    await cti.create_agent("ana", "Ana")
    created = await cti.api("POST", "/api/users", json={"name": "sam", "role": "supervisor"}, expect=201)
    assert issued_for_30_days(created["user"]) == {"name": "sam", "role": "supervisor", "agent_id": None,
                                                   "disabled": False}
    sam = created["token"]
    assert isinstance(sam, str) and len(sam) >= 32
    assert (await cti.api("GET", "/api/me", token=sam))["role"] == "supervisor"

    agents = await cti.api("GET", "/api/agents", token=sam)
    assert [a["agent_id"] for a in agents["agents"]] == ["ana"]
    await cti.api("GET", "/api/queues", token=sam)
    await cti.api("GET", "/api/calls", token=sam)
    await cti.api("GET", "/metrics", token=sam)
    await cti.api("GET", "/api/interactions", token=sam)
    # Supervisors act on agents...
    assert (await cti.api("POST", "/api/agents/ana/login", token=sam, json={"extension": "7001"}))["state"] == (
        "not_ready")
    await cti.api("POST", "/api/agents/ana/logout", token=sam)
    # ...but only the admin manages users and agents.
    body = await cti.api("POST", "/api/users", token=sam, json={"name": "mallory", "role": "admin"}, expect=403)
    assert_error(body, 403, "admin")
    await cti.api("GET", "/api/users", token=sam, expect=403)
    await cti.api("POST", "/api/agents", token=sam, json={"agent_id": "eve", "name": "Eve"}, expect=403)

    users = await cti.api("GET", "/api/users")
    assert {u["name"]: u["role"] for u in users["users"]} == {"admin": "admin", "agent-ana": "agent",
                                                             "sam": "supervisor"}


async def test_login_conflicts(cti: Cti) -> None:
    ana = await cti.create_agent("ana", "Ana")
    bob = await cti.create_agent("bob", "Bob")
    body = await cti.api("POST", "/api/agents", json={"agent_id": "ana", "name": "Other Ana"}, expect=409)
    assert_error(body, 409, "ana")

    body = await cti.api("POST", "/api/agents/ana/state", token=ana, json={"state": "ready"}, expect=409)
    assert_error(body, 409, "log in")
    body = await cti.api("POST", "/api/agents/ana/state", token=ana, json={"state": "not_ready"}, expect=409)
    assert_error(body, 409)

    body = await cti.api("POST", "/api/agents/ana/login", token=ana, json={"extension": "5555"}, expect=422)
    assert_error(body, 422, "5555")
    assert (await cti.api("GET", "/api/agents/ana"))["state"] == "logged_out"

    await cti.api("POST", "/api/agents/ana/login", token=ana, json={"extension": "7001"})
    body = await cti.api("POST", "/api/agents/bob/login", token=bob, json={"extension": "7001"}, expect=409)
    assert_error(body, 409, "7001")
    bob_view = await cti.api("GET", "/api/agents/bob", token=bob)
    assert (bob_view["state"], bob_view["extension"]) == ("logged_out", None)
    # The softphone endpoint exists too.
    assert (await cti.api("POST", "/api/agents/bob/login", token=bob, json={"extension": "1001"}))[
        "extension"] == "1001"
    await cti.api("POST", "/api/agents/ana/logout", token=ana)
    await cti.api("POST", "/api/agents/bob/logout", token=bob)


# -- an agent's day through the API -----------------------------------------------------------------------
def agent_gauge(metrics: str, state: str) -> float:
    match = re.search(rf'^cti_agents\{{state="{state}"\}} (\S+)$', metrics, re.MULTILINE)
    assert match, f"no cti_agents gauge for {state} in:\n{metrics}"
    return float(match.group(1))


async def test_agent_flow_and_state_history(cti: Cti) -> None:
    created = await cti.api("POST", "/api/agents", json={"agent_id": "ana", "name": "Ana Wijaya"}, expect=201)
    assert created["agent"]["state"] == "logged_out" and created["agent"]["name"] == "Ana Wijaya"
    assert issued_for_30_days(created["user"]) == {"name": "agent-ana", "role": "agent", "agent_id": "ana",
                                                   "disabled": False}
    token = created["token"]
    listed = await cti.api("GET", "/api/agents")
    assert "token" not in str(listed)  # shown once, at creation
    await cti.create_agent("bob", "Bob")

    agent = await cti.api("POST", "/api/agents/ana/login", token=token, json={"extension": "7001"})
    assert (agent["state"], agent["reason"], agent["extension"], agent["idle_since"]) == (
        "not_ready", "login", "7001", None)

    agent = await cti.api("POST", "/api/agents/ana/state", token=token, json={"state": "ready"})
    assert (agent["state"], agent["reason"], agent["call_id"]) == ("ready", None, None)
    assert agent["idle_since"] == agent["state_since"]
    metrics = await cti.api("GET", "/metrics")
    assert isinstance(metrics, str)
    assert agent_gauge(metrics, "ready") == 1
    assert agent_gauge(metrics, "logged_out") == 1  # bob
    assert agent_gauge(metrics, "not_ready") == 0
    body = await cti.api("GET", "/metrics", token=token, expect=403)
    assert_error(body, 403)

    agent = await cti.api("POST", "/api/agents/ana/state", token=token, json={"state": "not_ready", "reason": "lunch"})
    assert (agent["state"], agent["reason"]) == ("not_ready", "lunch")
    assert agent_gauge(await cti.api("GET", "/metrics"), "ready") == 0

    agent = await cti.api("POST", "/api/agents/ana/logout", token=token)
    assert (agent["state"], agent["reason"], agent["extension"]) == ("logged_out", None, None)

    await cti.drain()
    history = await AgentRepository(cti.db).history("ana")
    assert [(h.state, h.reason, h.extension) for h in history] == [
        ("not_ready", "login", "7001"),
        ("ready", None, "7001"),
        ("not_ready", "lunch", "7001"),
        ("logged_out", None, None),
    ]
    assert [h.at for h in history] == sorted(h.at for h in history)
    assert await AgentRepository(cti.db).history("bob") == []
