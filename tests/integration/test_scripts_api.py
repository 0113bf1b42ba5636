"""The call scripts API over HTTP, with real auth and error middlewares on a SQLite database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.persistence import Database, ScriptRepository, UserRepository
from cti.services import ScriptLibrary
from cti.web import SCRIPTS, _scripts, openapi_document
from tests.api import api_app

Client = TestClient[web.Request, web.Application]
TOKENS = {"agent": "agent-token-0123456789", "supervisor": "supervisor-token-0123456789",
          "admin": "admin-token-0123456789"}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await database.upgrade()
    for role, token in TOKENS.items():
        await UserRepository(database).ensure_user_token(f"{role}1", role, token)
    try:
        yield database
    finally:
        await database.close()


async def serve(app: web.Application) -> AsyncIterator[Client]:
    test_client: Client = TestClient(TestServer(app))
    await test_client.start_server()
    try:
        yield test_client
    finally:
        await test_client.close()


@pytest.fixture
async def client(db: Database) -> AsyncIterator[Client]:
    app, _ = api_app(db, [_scripts])
    async for test_client in serve(app):
        yield test_client


@pytest.fixture
async def counted_client(db: Database) -> AsyncIterator[Client]:
    """The app with counted render limits only: a loaded test machine cannot turn a refusal for steps into one
    for time."""
    app, _ = api_app(db, [_scripts])
    app[SCRIPTS] = ScriptLibrary(ScriptRepository(db), timer=None)
    async for test_client in serve(app):
        yield test_client


def definition(greeting: str = "Halo") -> dict[str, Any]:
    return {
        "title": {"id": "Sambutan", "en": "Welcome"},
        "when": {"value_tier": "gold"},
        "steps": [
            {"id": "hello", "text": {"id": f"{greeting} {{{{ customer.name }}}}", "en": "Hello {{ customer.name }}"}},
            {"id": "ok", "text": {"id": "Sudah?", "en": "Done?"}, "question": {"kind": "yes_no"},
             "branches": {"no": "hello"}},
        ],
    }


async def put(client: Client, role: str, body: Any, script_id: str = "welcome") -> tuple[int, Any]:
    response = await client.put(f"/api/scripts/{script_id}", json=body, headers=auth(role))
    return response.status, await response.json()


async def get(client: Client, path: str, role: str = "agent") -> tuple[int, Any]:
    response = await client.get(path, headers=auth(role))
    return response.status, await response.json()


async def test_tokens_and_roles_are_required(client: Client) -> None:
    response = await client.get("/api/scripts")
    assert response.status == 401
    assert await response.json() == {"error": {"status": 401, "code": "unauthorized",
                                               "message": "missing bearer token"}}
    assert await put(client, "agent", {"definition": definition()}) == (403, {"error": {
        "status": 403, "code": "role_forbidden", "params": {"role": "agent", "roles": ["supervisor", "admin"]},
        "message": "role 'agent' may not do this (needs supervisor or admin)"}})
    assert (await get(client, "/api/scripts/welcome/versions"))[0] == 403
    response = await client.post("/api/scripts/welcome/activate", json={"version": 1}, headers=auth("agent"))
    assert response.status == 403


async def test_save_read_and_activate_versions(client: Client) -> None:
    assert await get(client, "/api/scripts") == (200, [])
    assert await get(client, "/api/scripts/welcome") == (404, {"error": {
        "status": 404, "code": "not_found", "message": "script 'welcome' has no active version"}})

    fixed = definition()
    fixed["steps"][1]["branches"] = {"no": "end"}
    status, first = await put(client, "supervisor", {"definition": fixed})
    assert status == 201
    assert {k: v for k, v in first.items() if k != "created_at"} == {
        "script_id": "welcome", "version": 1, "active": True, "author": "supervisor1",
        "definition": {"id": "welcome", **fixed, "when": {"value_tier": ["gold"]}}}
    second_definition = {**fixed, "title": {"id": "Sambutan baru", "en": "New welcome"}}
    status, second = await put(client, "admin", {"definition": second_definition, "activate": False})
    assert (status, second["version"], second["active"], second["author"]) == (201, 2, False, "admin1")

    assert await get(client, "/api/scripts") == (200, [{"script_id": "welcome", "title": {
        "id": "Sambutan", "en": "Welcome"}, "latest_version": 2, "active_version": 1}])
    status, active = await get(client, "/api/scripts/welcome")  # agents read the active version
    assert (status, active["version"], active["definition"]["title"]["en"]) == (200, 1, "Welcome")
    status, draft = await get(client, "/api/scripts/welcome?version=2", "supervisor")
    assert (status, draft["version"], draft["active"]) == (200, 2, False)

    status, versions = await get(client, "/api/scripts/welcome/versions", "supervisor")
    assert status == 200
    assert [(v["version"], v["active"], v["author"], "definition" in v) for v in versions] == [
        (1, True, "supervisor1", False), (2, False, "admin1", False)]

    response = await client.post("/api/scripts/welcome/activate", json={"version": 2}, headers=auth("supervisor"))
    assert response.status == 200
    assert {k: (await response.json())[k] for k in ("version", "active")} == {"version": 2, "active": True}
    status, active = await get(client, "/api/scripts/welcome")
    assert (status, active["version"], active["definition"]["title"]["en"]) == (200, 2, "New welcome")


async def test_invalid_definitions_get_every_problem(client: Client) -> None:
    broken = definition()
    broken["steps"][0]["text"]["en"] = "Hello {{ customer.__class__ }}"
    broken["steps"][1]["branches"] = {"no": "nowhere", "maybe": "hello"}
    del broken["title"]["en"]
    status, body = await put(client, "supervisor", {"definition": broken})
    assert status == 422
    assert body["error"]["details"] == [{"field": "title", "code": "invalid_script",
                                        "problem": "Value error, missing translation: en"}]

    broken["title"]["en"] = "Welcome"
    status, body = await put(client, "supervisor", {"definition": broken})
    assert status == 422
    assert body["error"]["message"].startswith("script 'welcome' is invalid: ")
    assert body["error"]["details"] == [
        {"field": "steps.ok.branches.maybe", "code": "invalid_script",
         "problem": "'maybe' is not an answer of this question (yes, no)"},
        {"field": "steps.ok.branches.no", "code": "invalid_script",
         "problem": "unknown next step 'nowhere'"},
        {"field": "steps.hello.text.en", "code": "invalid_script",
         "problem": "the private name '__class__' is refused"},
    ]
    # The cycle hello -> ok -> hello is refused too.
    status, body = await put(client, "supervisor", {"definition": definition()})
    assert (status, body["error"]["details"]) == (422, [
        {"field": "steps", "code": "invalid_script",
         "problem": "the steps form a cycle: hello -> ok -> hello"}])
    assert await get(client, "/api/scripts") == (200, [])


async def test_bad_requests(client: Client) -> None:
    response = await client.put("/api/scripts/welcome", data="{nope", headers=auth("supervisor"))
    assert response.status == 400
    assert (await response.json())["error"]["message"].startswith("request body is not valid JSON")
    assert await put(client, "supervisor", ["definition"]) == (400, {"error": {
        "status": 400, "code": "bad_request", "message": "the JSON body must be an object"}})
    assert await put(client, "supervisor", {"script": {}}) == (422, {"error": {
        "status": 422, "code": "invalid_body", "message": "request body is invalid", "details": [
            {"field": "definition", "code": "missing", "problem": "Field required"},
            {"field": "script", "code": "extra_forbidden", "problem": "Extra inputs are not permitted"}]}})
    status, body = await put(client, "supervisor", {"definition": {**definition(), "id": "other"}})
    assert (status, body["error"]["details"]) == (422, [
        {"field": "id", "code": "invalid_script", "problem": "the definition says 'other', not 'welcome'"}])
    assert await put(client, "supervisor", {"definition": definition()}, script_id="Bad%20Id") == (422, {"error": {
        "status": 422, "code": "invalid_input", "message": "invalid script id",
        "details": [{"field": "script_id", "code": "pattern",
                     "problem": "use 1 to 64 lowercase letters, digits, '_' or '-'"}]}})
    assert (await get(client, "/api/scripts/welcome?version=abc", "supervisor")) == (400, {"error": {
        "status": 400, "code": "bad_request", "message": "version must be an integer from 1 to 2147483647"}})
    assert (await get(client, "/api/scripts/welcome?version=1", "agent"))[0] == 403
    assert (await get(client, "/api/scripts/welcome?version=3", "admin")) == (404, {"error": {
        "status": 404, "code": "not_found", "message": "script 'welcome' has no version 3"}})
    assert (await get(client, "/api/scripts/welcome/versions", "admin")) == (404, {"error": {
        "status": 404, "code": "not_found", "message": "no script 'welcome'"}})
    response = await client.post("/api/scripts/welcome/activate", json={"version": 0}, headers=auth("admin"))
    assert response.status == 422
    response = await client.post("/api/scripts/welcome/activate", json={"version": 4}, headers=auth("admin"))
    assert (response.status, await response.json()) == (404, {"error": {
        "status": 404, "code": "not_found", "message": "script 'welcome' has no version 4"}})


def nested_loops(depth: int) -> str:
    loops = "".join(f"{{% for a{n} in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] %}}" for n in range(depth))
    return loops + "{{ customer.name }}" + "{% endfor %}" * depth


def hostile(text_id: str, text_en: str = "Hello {{ customer.name }}") -> dict[str, Any]:
    return {"title": {"id": "Sambutan", "en": "Welcome"},
            "steps": [{"id": "hello", "text": {"id": "Halo", "en": "Hello"}},
                      {"id": "loops", "text": {"id": text_id, "en": text_en}}]}


async def test_a_hostile_script_is_refused_with_the_limit_it_hit_and_nothing_is_saved(
        counted_client: Client) -> None:
    client = counted_client
    doubling = "{% set s = customer.name %}" + "{% set s = s ~ s %}" * 40 + "{{ s }}"
    status, body = await put(client, "supervisor", {"definition": hostile(doubling)})
    assert (status, body) == (422, {"error": {
        "status": 422, "code": "script_over_budget",
        "message": "script 'welcome' is over its rendering budget at steps.loops.text.id (with a known customer): "
                   "more than 100000 characters of text",
        "details": [{"field": "steps.loops.text.id", "code": "over_budget",
                     "problem": "more than 100000 characters of text"}]}})

    status, body = await put(client, "admin", {"definition": hostile("Halo", nested_loops(6))})
    assert (status, body) == (422, {"error": {
        "status": 422, "code": "script_over_budget",
        "message": "script 'welcome' is over its rendering budget at steps.loops.text.en (with a known customer): "
                   "more than 20000 steps (loops too long or nested?)",
        "details": [{"field": "steps.loops.text.en", "code": "over_budget",
                     "problem": "more than 20000 steps (loops too long or nested?)"}]}})

    status, body = await put(client, "supervisor", {"definition": hostile("{{ 1 // 0 }}")})
    assert (status, body["error"]["details"]) == (422, [
        {"field": "steps.loops.text.id", "code": "invalid_script",
         "problem": "cannot be rendered with a known customer: "
                                                    "template failed: integer division or modulo by zero"},
        {"field": "steps.loops.text.id", "code": "invalid_script",
         "problem": "cannot be rendered with an unknown caller: "
                                                    "template failed: integer division or modulo by zero"}])
    assert await get(client, "/api/scripts") == (200, [])
    assert await get(client, "/api/scripts/welcome/versions", "admin") == (404, {"error": {
        "status": 404, "code": "not_found", "message": "no script 'welcome'"}})

    # Within the budget, the same script saves.
    status, saved = await put(client, "supervisor", {"definition": hostile(nested_loops(2))})
    assert (status, saved["version"]) == (201, 1)


async def test_a_hostile_version_saved_before_budgets_cannot_be_activated(client: Client, db: Database) -> None:
    scripts = ScriptRepository(db)  # as saving was before scripts had a budget: no trial
    await scripts.save({"id": "welcome", **hostile("Halo")}, author="supervisor1")
    await scripts.save({"id": "welcome", **hostile("{% set s = 'ab' %}" + "{% set s = s ~ s %}" * 40)},
                       author="supervisor1", activate=False)
    response = await client.post("/api/scripts/welcome/activate", json={"version": 2}, headers=auth("supervisor"))
    assert (response.status, await response.json()) == (422, {"error": {
        "status": 422, "code": "script_over_budget",
        "message": "script 'welcome' is over its rendering budget at steps.loops.text.id (with a known customer): "
                   "more than 100000 characters of text",
        "details": [{"field": "steps.loops.text.id", "code": "over_budget",
                     "problem": "more than 100000 characters of text"}]}})
    status, active = await get(client, "/api/scripts/welcome")
    assert (status, active["version"]) == (200, 1)


@pytest.mark.parametrize("version", ["9" * 40, "2147483648", "0", "-1", "1.0"])
async def test_a_version_no_script_can_have_is_a_bad_request_not_a_500(client: Client, version: str) -> None:
    # 40 digits went to SQLite as they were: "Python int too large to convert to SQLite INTEGER", a 500.
    assert (await get(client, f"/api/scripts/welcome?version={version}", "supervisor")) == (400, {"error": {
        "status": 400, "code": "bad_request", "message": "version must be an integer from 1 to 2147483647"}})
    assert (await get(client, "/api/scripts/welcome?version=2147483647", "supervisor")) == (404, {"error": {
        "status": 404, "code": "not_found", "message": "script 'welcome' has no version 2147483647"}})


@pytest.mark.parametrize("version", [10**40, 2**31])
async def test_activating_a_version_no_script_can_have_is_refused(client: Client, version: int) -> None:
    response = await client.post("/api/scripts/welcome/activate", json={"version": version}, headers=auth("admin"))
    assert (response.status, (await response.json())["error"]["details"]) == (422, [
        {"field": "version", "code": "less_than_equal", "problem": "Input should be less than or equal to 2147483647"}])


def test_every_route_is_described_in_openapi() -> None:
    described = {(path, method.upper()) for path, ops in _scripts.openapi_paths.items() for method in ops}
    routed = {(route.path, route.method) for route in _scripts.routes if isinstance(route, web.RouteDef)}
    assert routed == described
    document = openapi_document((_scripts,))
    assert {"ScriptSave", "ScriptActivate"} <= set(document["components"]["schemas"])
    assert document["paths"]["/api/scripts/{script_id}"]["put"]["responses"]["422"] == {
        "$ref": "#/components/responses/Error"}
