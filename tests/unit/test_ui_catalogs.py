"""The console's two languages: the catalogues hold the same keys in both, every key a page names exists, and
the pages' files (catalogues, vendored libraries, the icon) are served from fixed patterns only."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import AgentState
from cti.settings import Settings
from cti.web import FEATURES

STATIC = Path(__file__).resolve().parents[2] / "cti" / "web" / "static"
CATALOGS = STATIC / "i18n"
LANGUAGES = ("en", "id")
# A literal key in a page: t("desktop.title"), t('x'), data-i18n="key", data-i18n-placeholder="key", ...
_USED = re.compile(r"""\bt\(\s*["']([a-z][a-z0-9_.-]*)["']|data-i18n(?:-[a-z-]+)?=["']([a-z][a-z0-9_.-]*)["']""")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

Client = TestClient[web.Request, web.Application]


def catalog(lang: str) -> dict[str, dict[str, str]]:
    files = sorted((CATALOGS / lang).glob("*.json"))
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in files}


def all_keys(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for messages in catalog(lang).values():
        merged.update(messages)
    return merged


def used_keys() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {}
    for path in sorted([*STATIC.glob("*.js"), *STATIC.glob("*.html")]):
        for match in _USED.finditer(path.read_text(encoding="utf-8")):
            used.setdefault(match.group(1) or match.group(2), set()).add(path.name)
    return used


def test_both_languages_have_the_same_pages_and_keys() -> None:
    en, id_ = catalog("en"), catalog("id")
    assert set(en) == set(id_), "a page's catalogue exists in one language only"
    for page in en:
        only_en = sorted(set(en[page]) - set(id_[page]))
        only_id = sorted(set(id_[page]) - set(en[page]))
        assert not only_en and not only_id, f"{page}.json: only in en {only_en}, only in id {only_id}"


def test_a_key_is_defined_once_and_both_texts_take_the_same_placeholders() -> None:
    for lang in LANGUAGES:
        seen: dict[str, str] = {}
        for page, messages in catalog(lang).items():
            for key, text in messages.items():
                assert key not in seen, f"{lang}: {key!r} in both {seen[key]}.json and {page}.json"
                seen[key] = page
                assert isinstance(text, str) and text.strip(), f"{lang}/{page}.json: {key!r} is empty"
    en, id_ = all_keys("en"), all_keys("id")
    for key, text in en.items():
        assert set(_PLACEHOLDER.findall(text)) == set(_PLACEHOLDER.findall(id_[key])), key


def test_every_key_the_pages_use_is_in_the_catalogues() -> None:
    used = used_keys()
    assert len(used) > 100  # the scan finds the pages' keys at all
    known = all_keys("en")
    missing = {key: sorted(files) for key, files in used.items() if key not in known}
    assert not missing, f"keys used by the pages but missing from the catalogues: {missing}"


def test_every_agent_state_and_default_disposition_has_a_label() -> None:
    # Labels the pages look up from data (t(`state.${state}`), t(`disposition.${code}`)): checked here instead.
    defaults = Settings.model_fields["dispositions"].default
    for lang in LANGUAGES:
        known = all_keys(lang)
        assert not [s for s in AgentState if f"state.{s.value}" not in known], lang
        assert not [d for d in defaults if f"disposition.{d}" not in known], lang


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    app = web.Application()
    ui = next(feature for feature in FEATURES if "/ui/{name}" in feature.openapi_paths)
    app.add_routes(ui.routes)
    async with TestClient(TestServer(app)) as http:
        yield http


async def test_catalogues_are_served_with_the_pages_headers(client: Client) -> None:
    for lang in LANGUAGES:
        response = await client.get(f"/ui/i18n/{lang}/common.json")
        assert response.status == 200
        assert response.content_type == "application/json"
        assert response.headers["Cache-Control"] == "no-cache"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert (await response.json())["state.ready"]


@pytest.mark.parametrize("path", [
    "/ui/i18n/fr/common.json", "/ui/i18n/en/nope.json", "/ui/i18n/en/..%2Fcti.js", "/ui/i18n/en/.common.json",
    "/ui/i18n/..%2F..%2F_ui.py/common.json", "/ui/i18n/en/common.js", "/ui/vendor/..%2Fcti.js",
    "/ui/vendor/.hidden.js", "/ui/vendor/x.py", "/ui/..%2F_ui.py", "/ui/i18n.py",
])
async def test_nothing_outside_the_folders_can_be_named(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status == 404, path


async def test_the_icon_is_served(client: Client) -> None:
    response = await client.get("/favicon.ico")
    assert response.status == 200 and response.content_type == "image/x-icon"
    assert (await response.read())[:4] == b"\0\0\1\0"
    svg = await client.get("/ui/favicon.svg")
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
