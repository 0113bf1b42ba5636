"""The virtual agent as the chat will drive it, on the real app: the desk over the published FAQ and the demo's CRM
in SQLite, a customer signed in on the portal (code by real SMTP), replies spoken by espeak-ng and sox and served
only to the customer they were given to; the speech checked for energy and heard by the IVR's recognizer."""

from __future__ import annotations

import io
import shutil
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from aiohttp.test_utils import TestServer

from cti.cyberagent import Session
from cti.persistence import AuditRepository, CustomerRepository, Database
from cti.services import CyberAgentDesk, speakable
from cti.sim import generate
from cti.sim._demo_seed import starter_faq
from cti.speech import SpokenReplies
from cti.speech.asr import AsrError, PocketSphinxRecognizer, grammar
from cti.web import AUDIT, CYBERAGENT, FAQ, _cyberagent, _portal, _service
from tests.api import api_app
from tests.integration.test_portal_api import Browser, Clock
from tests.mailbox import Mailbox, mailbox
from tests.support import unavailable

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SITI = "siti.rahayu@example.com"  # customer 10000002: an open order 50000002, shipped
BUDI = "budi.santoso@example.co.id"  # customer 10000001


@dataclass
class Center:
    server: TestServer
    db: Database
    mail: Mailbox

    @property
    def desk(self) -> CyberAgentDesk:
        return self.server.app[CYBERAGENT]

    async def signed_in(self, address: str) -> Browser:
        browser = Browser(self.server)
        sent = len(self.mail.to(address))
        await browser.call("POST", "/api/portal/code", json={"address": address}, expect=202)
        code = await self.mail.code(address, nth=sent + 1)
        await browser.call("POST", "/api/portal/session", json={"address": address, "code": code})
        return browser

    async def audio(self, browser: Browser, reply_id: str) -> tuple[int, bytes, str]:
        url = self.server.make_url(f"/api/portal/cyberagent/replies/{reply_id}/audio")
        async with browser.http.get(url) as response:
            return response.status, await response.read(), response.content_type


@pytest.fixture
async def center(tmp_path: Path) -> AsyncIterator[Center]:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    customers = generate(now=T0, customers=14, seed=3)
    await CustomerRepository(db).seed(customers)
    voice = SpokenReplies()
    with mailbox() as mail:
        app, _ = api_app(db, [_service, _portal, _cyberagent], clock=Clock(), mailer=mail.mailer(), voice=voice)
        await app[FAQ].install(starter_faq())
        server = TestServer(app)
        await server.start_server()
        try:
            yield Center(server, db, mail)
        finally:
            await server.close()
            await db.close()
            voice.close()


def _speech(wav: bytes) -> tuple[int, np.ndarray]:
    with wave.open(io.BytesIO(wav)) as f:
        assert (f.getnchannels(), f.getsampwidth()) == (1, 2)
        return f.getframerate(), np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(float)


async def test_a_verified_customer_gets_their_order_and_hears_it_and_no_one_else_does(center: Center) -> None:
    siti = await center.signed_in(SITI)
    budi = await center.signed_in(BUDI)
    session = Session(customer_id="10000002")
    spoken = await center.desk.respond(session, "tolong cek status pesanan saya", owner="customer:10000002")
    assert spoken.reply.action == "order_status"
    assert spoken.reply.text.startswith("Pesanan Anda: nomor 50000002, ")
    status, wav, content_type = await center.audio(siti, spoken.reply_id)
    assert (status, content_type) == (200, "audio/wav")
    rate, samples = _speech(wav)
    assert rate == 16000 and len(samples) > rate  # over a second of speech
    assert np.sqrt(np.mean(samples ** 2)) > 500  # speech energy, not silence
    assert (await center.audio(budi, spoken.reply_id))[0] == 404  # another customer's reply: as if missing
    async with Browser(center.server) as anonymous:
        assert (await center.audio(anonymous, spoken.reply_id))[0] == 401
    assert (await center.audio(siti, "A" * 22))[0] == 404
    await center.server.app[AUDIT].flush()
    audited = [(e.actor, e.action, e.subject_id, e.source) for e in await AuditRepository(center.db).search(limit=50)]
    assert ("customer:10000002", "view", "10000002", "cyberagent") in audited
    for browser in (siti, budi):
        await browser.http.close()


async def test_an_faq_answer_comes_with_its_source_and_a_stranger_is_asked_to_sign_in(center: Center) -> None:
    stranger = Session()
    answer = await center.desk.respond(stranger, "When is my bill due?", owner="chat:1")
    assert answer.reply.source is not None and answer.reply.source.entry_id == "bill-due-date"
    ask = await center.desk.respond(stranger, "what is my balance", owner="chat:1")
    assert ask.reply.action == "sign_in"
    greeting = await center.desk.greet(Session(lang="en"), owner="chat:1")
    assert greeting.reply.text.startswith("Hello, I'm Sari")
    assert center.desk.forget("chat:1") == 3


def test_replies_are_said_as_the_ivr_says_numbers_and_links() -> None:
    assert speakable("Tagihan Anda: Rp 250.000.", "id") == "Tagihan Anda: dua ratus lima puluh ribu rupiah."
    assert speakable("See https://portal.example.co.id/bills now", "en") == "See portal.example.co.id now"
    assert speakable("Order 50000002", "en") == "Order five zero zero zero zero zero zero two"


async def test_the_recognizer_hears_what_the_agent_said() -> None:
    try:
        recognizer = PocketSphinxRecognizer()
    except AsrError as exc:
        unavailable(f"PocketSphinx model unavailable: {exc}")
        raise
    voice = SpokenReplies()
    try:
        wav = await voice.speak("technical support", "en")
    finally:
        voice.close()
    rate, samples = _speech(wav)
    session = recognizer.start(grammar({"en": {"technical support": "technical", "billing": "billing"}}, "en"), "en",
                               sample_rate=rate)
    pcm = samples.astype("<i2").tobytes()
    for offset in range(0, len(pcm), 640):
        session.feed(pcm[offset:offset + 640])
    assert session.finish().intent == "technical"
