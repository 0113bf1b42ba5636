"""The FAQ API over HTTP, with real auth and error middlewares on a SQLite database: supervisors write and
publish, anyone searches the published entries and votes, throttled per address."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.persistence import Database, UserRepository
from cti.services import FaqDraft
from cti.services._faq import FEEDBACK_PER_MINUTE, SEARCHES_PER_MINUTE
from cti.sim._demo_seed import starter_faq
from cti.web import FAQ, _faq, openapi_document
from tests.api import api_app

Client = TestClient[web.Request, web.Application]
TOKENS = {"agent": "agent-token-0123456789", "supervisor": "supervisor-token-0123456789",
          "admin": "admin-token-0123456789"}
ENTRY: dict[str, Any] = {
    "entry_id": "router-lights",
    "product_line": "home",
    "texts": {"id": {"question": "Apa arti lampu merah pada router?", "answer": "Lihat https://example.com/lampu.",
                     "keywords": ["lampu router berkedip"]},
              "en": {"question": "What does the red light on the router mean?",
                     "answer": "See https://example.com/lights."}},
}


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await database.upgrade()
    for role, token in TOKENS.items():
        await UserRepository(database).ensure_user_token(f"{role}1", role, token)
    app, _ = api_app(database, [_faq])
    test_client: Client = TestClient(TestServer(app))
    await test_client.start_server()
    try:
        yield test_client
    finally:
        await test_client.close()
        await database.close()


async def search(client: Client, q: str, lang: str = "en", **more: str) -> list[dict[str, Any]]:
    response = await client.get("/api/faq/search", params={"q": q, "lang": lang, **more})
    assert response.status == 200, await response.text()
    hits: list[dict[str, Any]] = await response.json()
    return hits


async def test_created_drafts_are_not_found_until_published(client: Client) -> None:
    created = await client.post("/api/faq", json=ENTRY, headers=auth("supervisor"))
    assert created.status == 201, await created.text()
    body = await created.json()
    assert (body["status"], body["version"], body["author"]) == ("draft", 1, "supervisor1")
    assert await search(client, "red light router") == []
    published = await client.post("/api/faq/router-lights/status", json={"status": "published"},
                                  headers=auth("supervisor"))
    assert (await published.json())["status"] == "published"
    [hit] = await search(client, "red light router")
    assert (hit["entry_id"], hit["question"], hit["product_line"]) == (
        "router-lights", "What does the red light on the router mean?", "home")
    assert hit["score"] > 0 and hit["snippet"] == "See https://example.com/lights."
    assert hit["answer_parts"] == [{"kind": "text", "text": "See "},
                                   {"kind": "link", "text": "https://example.com/lights."}]
    [hit] = await search(client, "lampu router berkedip", lang="id", product="home")
    assert hit["lang"] == "id"
    assert await search(client, "red light router", product="plan") == []
    # A new version changes the answers at once; unpublishing hides it again.
    edited = {"texts": {"en": {"question": "Why is the modem light blinking?", "answer": "A cable fault."}},
              "product_line": "home"}
    response = await client.put("/api/faq/router-lights", json=edited, headers=auth("admin"))
    assert (await response.json())["version"] == 2
    assert [h["entry_id"] for h in await search(client, "modem blinking")] == ["router-lights"]
    assert await search(client, "lampu router", lang="id") == []  # version 2 has no Indonesian text
    versions = await (await client.get("/api/faq/router-lights/versions", headers=auth("supervisor"))).json()
    assert [(v["version"], v["author"]) for v in versions] == [(1, "supervisor1"), (2, "admin1")]
    await client.post("/api/faq/router-lights/status", json={"status": "draft"}, headers=auth("supervisor"))
    assert await search(client, "modem blinking") == []
    listed = await (await client.get("/api/faq", params={"status": "draft", "lang": "en"},
                                     headers=auth("supervisor"))).json()
    assert [e["entry_id"] for e in listed] == ["router-lights"]
    deleted = await client.delete("/api/faq/router-lights", headers=auth("supervisor"))
    assert deleted.status == 200
    assert (await client.get("/api/faq/router-lights", headers=auth("supervisor"))).status == 404


async def test_agents_and_strangers_read_only_the_published_faq(client: Client) -> None:
    for role in ("agent", None):
        headers = auth(role) if role else {}
        assert (await client.post("/api/faq", json=ENTRY, headers=headers)).status == (403 if role else 401)
        assert (await client.get("/api/faq", headers=headers)).status == (403 if role else 401)
        assert (await client.get("/api/faq/search", params={"q": "router"}, headers=headers)).status == 200
    refused = await client.post("/api/faq", json={**ENTRY, "texts": {"en": {"question": "Q", "answer": "<b>x</b>"}}},
                                headers=auth("supervisor"))
    assert refused.status == 422
    problem = (await refused.json())["error"]
    assert problem["code"] == "invalid_faq"
    assert [d["code"] for d in problem["details"]] == ["unsafe_text"]
    assert (await client.post("/api/faq", json=ENTRY, headers=auth("supervisor"))).status == 201
    taken = await client.post("/api/faq", json=ENTRY, headers=auth("admin"))
    assert (taken.status, (await taken.json())["error"]["code"]) == (409, "faq_exists")


async def test_feedback_is_counted_once_per_client_entry_and_day(client: Client) -> None:
    await client.post("/api/faq", json={**ENTRY, "publish": True}, headers=auth("supervisor"))
    first = await client.post("/api/faq/router-lights/feedback", json={"helpful": True})
    assert await first.json() == {"entry_id": "router-lights", "counted": True}
    again = await client.post("/api/faq/router-lights/feedback", json={"helpful": False})
    assert await again.json() == {"entry_id": "router-lights", "counted": False}
    entry = await (await client.get("/api/faq/router-lights", headers=auth("supervisor"))).json()
    assert (entry["helpful"], entry["not_helpful"]) == (1, 0)
    missing = await client.post("/api/faq/no-such-entry/feedback", json={"helpful": True})
    assert (missing.status, (await missing.json())["error"]["code"]) == (404, "faq_not_found")


async def test_public_search_and_feedback_are_throttled_per_address(client: Client) -> None:
    for _ in range(SEARCHES_PER_MINUTE):
        await search(client, "router")
    throttled = await client.get("/api/faq/search", params={"q": "router"})
    assert throttled.status == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert (await throttled.json())["error"]["code"] == "throttled"
    for _ in range(FEEDBACK_PER_MINUTE):
        await client.post("/api/faq/no-such-entry/feedback", json={"helpful": True})
    assert (await client.post("/api/faq/no-such-entry/feedback", json={"helpful": True})).status == 429


async def test_search_refuses_long_queries_and_unknown_languages(client: Client) -> None:
    for params in ({"q": "x" * 201}, {"q": " "}, {"q": "router", "lang": "fr"}, {"q": "router", "product": "cars"}):
        response = await client.get("/api/faq/search", params=params)
        assert (response.status, (await response.json())["error"]["code"]) == (422, "invalid_faq_search"), params


async def test_the_starter_faq_installs_once_and_is_found_in_both_languages(client: Client) -> None:
    faq = client.app[FAQ]
    entries = starter_faq()
    assert len(await faq.install(entries)) == len(entries)
    assert await faq.install([*entries, ("extra", FaqDraft(texts={"en": {"question": "Q?", "answer": "A."}}))]) \
        == ["extra"]
    [top, *_] = await search(client, "jam buka layanan pelanggan", lang="id")
    assert top["entry_id"] == "contact-hours"
    [top, *_] = await search(client, "opening hours")
    assert top["entry_id"] == "contact-hours"


def test_every_faq_route_is_in_the_openapi_document() -> None:
    paths = openapi_document((_faq,))["paths"]
    assert set(paths) == {"/api/faq", "/api/faq/search", "/api/faq/{entry_id}", "/api/faq/{entry_id}/versions",
                          "/api/faq/{entry_id}/status", "/api/faq/{entry_id}/feedback"}
    assert paths["/api/faq/search"]["get"]["security"] == []
    assert paths["/api/faq/{entry_id}/feedback"]["post"]["security"] == []
