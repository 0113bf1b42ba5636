"""The access log masks secrets in query strings and writes no credential header; ``cti serve`` uses it."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.cli import main
from cti.web import AccessLogger

SECRET = "s3cr3t-Zq3vN8kR1tXw6YpL0mB4cD7fH2jS9uEa"


async def test_secret_query_values_are_masked_and_headers_left_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.access")

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/ws/desktop", hello)
    app.router.add_get("/api/faq/search", hello)
    server = TestServer(app)
    await server.start_server(access_log_class=AccessLogger)
    async with TestClient(server) as client:
        response = await client.get(
            f"/ws/desktop?agent_id=ana&Token={SECRET}&ticket={SECRET}&since=12&q=a%20b",
            headers={"Authorization": f"Bearer {SECRET}", "Referer": f"http://x/?token={SECRET}",
                     "Cookie": f"cti_session={SECRET}; cti_csrf={SECRET}", "User-Agent": "probe/1"})
        assert response.status == 200
        await client.get("/ws/desktop")
        await client.get("/api/faq/search?q=pesanan%207001%20Jl.%20Melati&lang=id")  # what the public types
    lines = [record.getMessage() for record in caplog.records if record.name == "aiohttp.access"]
    assert len(lines) == 3
    assert re.fullmatch(r'127\.0\.0\.1 "GET /ws/desktop\?agent_id=ana&Token=\*\*\*&ticket=\*\*\*&since=12&q=a%20b '
                        r'HTTP/1\.1" 200 \d+ \d+\.\d{3}s "probe/1"', lines[0]), lines[0]
    assert '"GET /ws/desktop HTTP/1.1" 200 ' in lines[1]
    assert '"GET /api/faq/search?q=***&lang=id HTTP/1.1" 200 ' in lines[2]
    assert all(SECRET not in line for line in lines)
    assert SECRET not in caplog.text


def test_cti_serve_logs_access_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setenv("CTI_ARI_PASSWORD", "ari-secret")
    monkeypatch.setenv("CTI_ADMIN_TOKEN", SECRET)
    monkeypatch.setattr("cti.bootstrap.create_app", lambda settings: web.Application())
    monkeypatch.setattr(web, "run_app", lambda app, **options: seen.update(options))
    assert main(["serve"]) == 0
    assert seen["access_log_class"] is AccessLogger
