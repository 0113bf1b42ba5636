"""The JSON API of the whole app (create_app) with no Asterisk: authentication, roles, input errors and the docs.
What needs a phone (logging in at an extension, the health of the Asterisk link) is in tests/e2e/test_api.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fullapp import Cti

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def assert_error(body: Any, status: int, *fragments: str) -> dict[str, Any]:
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["status"] == status
    assert isinstance(error["message"], str) and error["message"]
    for fragment in fragments:
        assert fragment in error["message"], (fragment, error["message"])
    return error


async def raw(cti: Cti, method: str, path: str, *, expect: int, headers: dict[str, str] | None = None,
              **kwargs: Any) -> tuple[Any, dict[str, str]]:
    """A request with exactly the given headers (no token unless passed)."""
    async with cti.client.request(method, path, headers=headers or {}, **kwargs) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        assert resp.status == expect, f"{method} {path}: {resp.status} {body}"
        return body, dict(resp.headers)


def issued_for_30_days(user: dict[str, Any]) -> dict[str, Any]:
    """The user view without its token's expiry, once that is checked: 30 days (the default) from now."""
    left = datetime.fromisoformat(user["token_expires_at"]) - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < left <= timedelta(days=30), user
    return {key: value for key, value in user.items() if key != "token_expires_at"}


# -- authentication and roles -----------------------------------------------------------------------------
async def test_requests_without_a_valid_token_are_refused(cti: Cti) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer   "},
                    {"Authorization": f"Basic {cti.settings.admin_token.get_secret_value()}"}):
        body, resp_headers = await raw(cti, "GET", "/api/agents", headers=headers, expect=401)
        assert_error(body, 401, "missing bearer token")
        assert resp_headers["WWW-Authenticate"] == 'Bearer realm="cti"'
    body, resp_headers = await raw(cti, "GET", "/api/agents", expect=401,
                                   headers={"Authorization": "Bearer not-a-real-token"})
    assert_error(body, 401, "invalid")
    assert resp_headers["WWW-Authenticate"] == 'Bearer realm="cti"'
    # A wrong token is refused before anything else is looked at, even on unknown paths and with bad bodies.
    body, _ = await raw(cti, "POST", "/api/agents", data="{", expect=401,
                        headers={"Authorization": "Bearer wrong", "Content-Type": "application/json"})
    assert_error(body, 401)
    await raw(cti, "GET", "/api/no-such-thing", expect=401)


async def test_admin_token_identifies_the_admin(cti: Cti) -> None:
    me = await cti.api("GET", "/api/me")
    # The configured token lives as long as the configuration names it.
    assert me == {"name": "admin", "display_name": "admin", "role": "admin", "agent_id": None, "disabled": False,
                  "token_expires_at": None, "language": "id", "timezone": cti.settings.timezone,
                  "company": cti.settings.company_name}


async def test_agent_token_is_limited_to_its_own_agent(cti: Cti) -> None:
    ana = await cti.create_agent("ana", "Ana Wijaya")
    await cti.create_agent("bob", "Bob")
    me = await cti.api("GET", "/api/me", token=ana)
    assert issued_for_30_days(me) == {"name": "agent-ana", "display_name": "Ana Wijaya", "role": "agent",
                                      "agent_id": "ana", "disabled": False, "language": "id",
                                      "timezone": cti.settings.timezone, "company": cti.settings.company_name}
    assert (await cti.api("GET", "/api/agents/ana", token=ana))["agent_id"] == "ana"

    body = await cti.api("GET", "/api/agents", token=ana, expect=403)
    assert_error(body, 403, "agent")
    # Another agent is out of reach: not found, in the same words as an agent that does not exist.
    for method, path, kwargs in (
        ("GET", "/api/agents/bob", {}),
        ("POST", "/api/agents/bob/login", {"json": {"extension": "7002"}}),
        ("POST", "/api/agents/bob/state", {"json": {"state": "ready"}}),
        ("POST", "/api/agents/bob/logout", {}),
    ):
        body = await cti.api(method, path, token=ana, expect=404, **kwargs)
        assert body == {"error": {"status": 404, "code": "agent_not_found", "params": {"agent_id": "bob"},
                                  "message": "no agent 'bob'"}}
    for method, path, kwargs in (
        ("POST", "/api/agents", {"json": {"agent_id": "eve", "name": "Eve"}}),
        ("GET", "/api/users", {}),
        ("GET", "/api/queues", {}),
        ("GET", "/api/calls", {}),
        ("GET", "/metrics", {}),
    ):
        body = await cti.api(method, path, token=ana, expect=403, **kwargs)
        assert_error(body, 403)
    bob = await cti.api("GET", "/api/agents/bob")
    assert bob["state"] == "logged_out"  # untouched by ana's attempts


async def test_duplicate_user_is_a_conflict(cti: Cti) -> None:
    await cti.api("POST", "/api/users", json={"name": "sam", "role": "supervisor"}, expect=201)
    body = await cti.api("POST", "/api/users", json={"name": "sam", "role": "admin"}, expect=409)
    assert_error(body, 409, "sam")
    await cti.create_agent("ana")
    body = await cti.api("POST", "/api/users", json={"name": "agent-ana", "role": "agent", "agent_id": "ana"},
                         expect=409)
    assert_error(body, 409, "agent-ana")


async def test_user_creation_errors(cti: Cti) -> None:
    body = await cti.api("POST", "/api/users", json={"name": "ag", "role": "agent", "agent_id": "ghost"},
                         expect=404)
    assert_error(body, 404, "ghost")
    body = await cti.api("POST", "/api/users", json={"name": "x", "role": "root"}, expect=422)
    assert [d["field"] for d in assert_error(body, 422)["details"]] == ["role"]


# -- health -----------------------------------------------------------------------------------------------
async def test_healthz_says_the_role_of_a_controller_without_a_lease(cti: Cti) -> None:
    """No token needed; Asterisk is away here, so degraded (503). Started without --standby: ``single``, no term."""
    body, _ = await raw(cti, "GET", "/healthz", expect=503)
    assert body == {"status": "degraded", "role": "single", "term": None,
                    "components": {"asterisk": False, "redis": True, "database": True}}


# -- the API description ----------------------------------------------------------------------------------
async def test_openapi_is_public_and_describes_every_route(cti: Cti) -> None:
    doc, _ = await raw(cti, "GET", "/openapi.json", expect=200)
    assert doc["openapi"].startswith("3.")
    described = {(method.upper(), path) for path, item in doc["paths"].items()
                 for method in item if method in HTTP_METHODS}
    registered = set()
    for route in cti.client.app.router.routes():
        if route.method == "HEAD":
            continue
        path = route.resource.canonical if route.resource is not None else ""
        registered.add((route.method, re.sub(r"\{(\w+)(?::[^}]*)?\}", r"{\1}", path)))
    assert registered == described, (
        f"undocumented: {sorted(registered - described)}; documented but absent: {sorted(described - registered)}")
    # Every templated path declares its parameters.
    for path, item in doc["paths"].items():
        for method, op in item.items():
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"\{(\w+)\}", path)), (method, path)
    for name in ("AgentCreate", "AgentLogin", "AgentStateChange", "UserCreate", "Error", "Health"):
        assert name in doc["components"]["schemas"]
    health = doc["paths"]["/healthz"]["get"]["responses"]
    assert health["200"]["content"] == health["503"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}
    assert set(doc["components"]["schemas"]["Health"]["properties"]) == {"status", "role", "term", "components"}


# -- bad input --------------------------------------------------------------------------------------------
async def test_malformed_bodies(cti: Cti) -> None:
    headers = {**cti.headers(), "Content-Type": "application/json"}
    body, _ = await raw(cti, "POST", "/api/agents", headers=headers, data='{"agent_id": "ana", ', expect=400)
    assert_error(body, 400, "not valid JSON")
    body, _ = await raw(cti, "POST", "/api/agents", headers=headers, data='[{"agent_id": "ana"}]', expect=400)
    assert_error(body, 400, "must be an object")
    body, _ = await raw(cti, "POST", "/api/agents", headers=headers, data="null", expect=400)
    assert_error(body, 400, "must be an object")
    body, _ = await raw(cti, "POST", "/api/agents", headers=cti.headers(), expect=400)
    assert_error(body, 400, "body is required")
    assert (await cti.api("GET", "/api/agents"))["agents"] == []


async def test_body_that_is_not_utf8_is_a_bad_request(cti: Cti) -> None:
    headers = {**cti.headers(), "Content-Type": "application/json"}
    body, _ = await raw(cti, "POST", "/api/agents", headers=headers, data=b'{"agent_id": "\xff"}', expect=400)
    assert_error(body, 400)


async def test_invalid_fields(cti: Cti) -> None:
    body = await cti.api("POST", "/api/agents", json={"agent_id": "ana", "name": "Ana", "colour": "red"},
                         expect=422)
    error = assert_error(body, 422)
    assert error["details"] == [
        {"field": "colour", "code": "extra_forbidden", "problem": "Extra inputs are not permitted"}]
    body = await cti.api("POST", "/api/agents", json={"agent_id": "-bad id", "name": ""}, expect=422)
    assert sorted(d["field"] for d in assert_error(body, 422)["details"]) == ["agent_id", "name"]
    body = await cti.api("POST", "/api/agents", json={"name": "Ana"}, expect=422)
    assert [d["field"] for d in assert_error(body, 422)["details"]] == ["agent_id"]

    await cti.create_agent("ana", "Ana")
    for extension in ("70a1", "7", "", "7001; DROP", 7001):
        body = await cti.api("POST", "/api/agents/ana/login", json={"extension": extension}, expect=422)
        assert [d["field"] for d in assert_error(body, 422)["details"]] == ["extension"], extension
    body = await cti.api("POST", "/api/agents/ana/state", json={"state": "busy"}, expect=422)
    assert [d["field"] for d in assert_error(body, 422)["details"]] == ["state"]
    body = await cti.api("POST", "/api/agents/ana/state", json={"state": "not_ready", "reason": "Lunch Break"},
                         expect=422)
    assert [d["field"] for d in assert_error(body, 422)["details"]] == ["reason"]
    assert (await cti.api("GET", "/api/agents/ana"))["state"] == "logged_out"


async def test_unknown_things_are_not_found(cti: Cti) -> None:
    for method, path, kwargs in (
        ("GET", "/api/agents/nobody", {}),
        ("POST", "/api/agents/nobody/login", {"json": {"extension": "7001"}}),
        ("POST", "/api/agents/nobody/state", {"json": {"state": "ready"}}),
        ("POST", "/api/agents/nobody/logout", {}),
    ):
        assert_error(await cti.api(method, path, expect=404, **kwargs), 404, "nobody")
    assert_error(await cti.api("GET", "/api/calls/0123456789abcdef", expect=404), 404, "0123456789abcdef")
    assert_error(await cti.api("GET", "/api/interactions/0123456789abcdef", expect=404), 404)
    assert_error(await cti.api("GET", "/api/queues/nope", expect=404), 404, "nope")
    queue = await cti.api("GET", "/api/queues/general")
    assert (queue["queue"], queue["calls_waiting"]) == ("general", 0)


async def test_interaction_limit_is_validated(cti: Cti) -> None:
    for limit in ("abc", "0", "1001", "-1", "1.5", ""):
        body = await cti.api("GET", "/api/interactions", params={"limit": limit}, expect=400)
        assert_error(body, 400, "limit")
    assert (await cti.api("GET", "/api/interactions", params={"limit": "1000"}))["interactions"] == []


async def test_interaction_limit_with_unicode_digits_is_a_bad_request(cti: Cti) -> None:
    # "²".isdigit() is True but int("²") raises: must be a 400, not an internal error.
    body = await cti.api("GET", "/api/interactions", params={"limit": "\u00b2"}, expect=400)
    assert_error(body, 400, "limit")
