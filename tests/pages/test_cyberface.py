"""The virtual agent's face (cti/web/static/cyberface.js) in a real Chromium, on a tiny test page served with the
console's content security policy: its expression class follows what it is told (an unknown expression is
neutral), and its mouth opens while a tone plays through it and closes when the tone ends."""

from __future__ import annotations

import io
import math
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cti.web import _ui
from cti.web._ui import PAGE_POLICY
from tests.accessibility import axe_violations
from tests.support import browser_page

HERE = Path(__file__).parent
EXPRESSIONS = ("greeting", "neutral", "thinking", "sorry", "happy")


def _tone(seconds: float = 1.2, rate: int = 16000) -> bytes:
    """A 440 Hz tone at half of full scale, then a short silence: a mouth that follows it must open, then close."""
    frames = [int(16000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(int(seconds * rate))]
    frames += [0] * (rate // 4)
    out = io.BytesIO()
    with wave.open(out, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(b"".join(v.to_bytes(2, "little", signed=True) for v in frames))
    return out.getvalue()


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    tone = _tone()

    async def page_file(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in ("face.html", "face-test.js"):
            raise web.HTTPNotFound()
        return web.Response(body=(HERE / name).read_bytes(), charset="utf-8",
                            content_type="text/html" if name.endswith(".html") else "text/javascript",
                            headers={"Content-Security-Policy": PAGE_POLICY})

    async def tone_file(_: web.Request) -> web.Response:
        return web.Response(body=tone, content_type="audio/wav")

    app = web.Application()
    app.add_routes(_ui.routes)
    app.router.add_get("/test/tone.wav", tone_file)
    app.router.add_get("/test/{name}", page_file)
    test_server = TestServer(app)
    await test_server.start_server()
    try:
        yield test_server
    finally:
        await test_server.close()


async def test_the_face_shows_each_expression_and_its_mouth_follows_the_audio(server: TestServer) -> None:
    async with browser_page(args=("--autoplay-policy=no-user-gesture-required",)) as page:
        await page.goto(str(server.make_url("/test/face.html")))
        face = page.locator(".cyberface")
        assert await face.get_attribute("data-expression") == "neutral"
        assert await face.get_attribute("aria-hidden") == "true"
        for expression in (*EXPRESSIONS, "puzzled"):
            await page.click(f"button[data-expression={expression}]")
            shown = expression if expression in EXPRESSIONS else "neutral"
            assert await face.get_attribute("data-expression") == shown
            classes = set((await face.get_attribute("class") or "").split())
            assert classes == {"cyberface", f"cyberface--{shown}"}
        assert await face.get_attribute("data-mouth") == "0.00"
        await page.click("#speak")
        await page.locator("#state", has_text="ended").wait_for()
        assert float(await face.get_attribute("data-mouth-max") or 0) > 0.5  # it opened with the tone
        assert await face.get_attribute("data-mouth") == "0.00"  # and closed when it ended
        assert "cyberface--speaking" not in (await face.get_attribute("class") or "")
        assert await axe_violations(page) == []
