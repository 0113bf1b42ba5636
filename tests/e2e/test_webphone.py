"""The agent's phone in the browser: a real headless Chromium (fake microphone) registers the agent's extension
over cti's SIP relay to Asterisk's websocket transport, an offered call rings in the page, the agent answers
there, RTP flows both ways between Chromium and Asterisk (DTLS-SRTP, ICE on loopback), the desktop's controls hold
and resume the caller and mute the agent through the API (as for any phone), and the page hangs up."""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import expect

from cti.asterisk import AsteriskRoot
from cti.persistence import InteractionRepository
from cti.sim import Say, SippIvrCaller, Wait
from tests.e2e.conftest import Cti, until_bridge
from tests.e2e.test_desktop import BUDI, seed, url
from tests.support import FAKE_MEDIA, browser_page, eventually

EXTENSION = "1201"  # wendy's browser phone in the session's settings (tests/conftest.py)


def contacts(asterisk: AsteriskRoot) -> str:
    return asterisk.cli("pjsip show contacts")


def tone(path: Path, seconds: float) -> Path:
    """``seconds`` of a 440 Hz tone as raw 8 kHz mu-law: what the caller says (so Asterisk has audio to send the
    browser)."""
    def mulaw(sample: int) -> int:
        sign = 0x80 if sample < 0 else 0
        magnitude = min(abs(sample), 32635) + 0x84
        exponent = max(0, magnitude.bit_length() - 8)
        mantissa = (magnitude >> (exponent + 3)) & 0x0F
        return ~(sign | (exponent << 4) | mantissa) & 0xFF

    path.write_bytes(bytes(mulaw(int(8000 * math.sin(2 * math.pi * 440 * n / 8000)))
                           for n in range(int(8000 * seconds))))
    return path


def rtp_counts(asterisk: AsteriskRoot) -> tuple[int, int, str]:
    """Packets Asterisk received from and sent to the browser phone's channel, from ``pjsip show channelstats``
    (after the channel's up time: codec, then received count, lost, %, jitter, then sent count, ...); and the
    output, to show when it is not there."""
    output = asterisk.cli("pjsip show channelstats")
    for line in output.splitlines():
        if f"{EXTENSION}-" in line:
            words = line.split()
            [up] = [i for i, word in enumerate(words) if re.fullmatch(r"\d+:\d\d:\d\d", word)]
            return int(words[up + 2]), int(words[up + 6]), output
    return 0, 0, output


async def test_the_browser_registers_rings_answers_talks_both_ways_and_hangs_up(
    cti: Cti, tmp_path: Path, asterisk: AsteriskRoot,
) -> None:
    await seed(cti)
    token = await cti.create_agent("wendy", "Wendy Web")
    await cti.api("PATCH", "/api/me", token=token, json={"language": "en"})
    nobody = await cti.create_agent("nora", "Nora")
    await cti.api("GET", "/api/me/phone", token=nobody, expect=404)  # not listed in CTI_WEBPHONES

    async with browser_page(args=FAKE_MEDIA) as page:
        await page.goto(url(cti, token))
        await page.check("#webphone-use")
        await expect(page.locator("#webphone-status")).to_have_text("phone registered", timeout=15000)
        assert await page.input_value("#extension") == EXTENSION  # the phone fills in its own extension
        # Asterisk holds one contact for 1201, reached over the websocket transport (through cti's relay).
        listed = await asyncio.to_thread(contacts, asterisk)
        assert re.search(rf"{EXTENSION}/sip:\S+@127\.0\.0\.1:\d+;transport=WS\s", listed), listed

        await page.click("#login")
        await expect(page.locator("#agent-state")).to_have_text("ready")
        caller = SippIvrCaller("1500100", [Say(tone(tmp_path / "tone.ulaw", 30)), Wait(10000)], caller=BUDI[0],
                               caller_name="Budi", duration_ms=1000, target=cti.settings.sip_bind)
        try:
            await expect(page.locator("#webphone-answer")).to_be_visible(timeout=20000)  # it rings in the page
            await expect(page.locator("#incoming")).to_be_visible()
            await page.click("#webphone-answer")
            await expect(page.locator("#customer-name")).to_have_text("Budi Santoso", timeout=15000)
            call = await cti.first_call()
            await cti.answered(call.call_id)
            # 50 packets each way (a second of audio, 20 ms a packet). Chromium sends and takes media only over
            # DTLS-SRTP: packets counted both ways are encrypted ones.
            for _ in range(30):
                received, sent, output = await asyncio.to_thread(rtp_counts, asterisk)
                if received > 50 and sent > 50:
                    break
                await asyncio.sleep(0.5)
            else:
                pytest.fail(f"no RTP both ways with the browser phone:\n{output}")

            # Hold and resume from the same page: the server's hold (the caller in the queue's holding bridge, with
            # its music), not a re-INVITE; the phone's panel says so. Then a mute, through the API too.
            bridge, agent_leg = f"cti-call-{call.call_id}", f"{call.call_id}-a1"
            await expect(page.locator("#webphone-call")).to_have_text("in a call")
            await page.click("#hold")
            await until_bridge(cti, "cti-hold-general", lambda m: call.channel_id in m,
                               "the caller in the holding bridge")
            await expect(page.locator("#webphone-call")).to_have_text("caller on hold")
            await page.click("#resume")
            await until_bridge(cti, bridge, lambda m: m == {call.channel_id, agent_leg},
                               "the caller back with the agent")
            await page.click("#mute")
            await expect(page.locator("#webphone-call")).to_have_text("in a call, muted")
            assert cti.query.find_call(call.call_id).muted  # type: ignore[union-attr]
            await page.click("#unmute")
            await expect(page.locator("#webphone-call")).to_have_text("in a call")

            await page.click("#webphone-hangup")
            await expect(page.locator("#webphone-hangup")).to_be_hidden()
            assert await asyncio.to_thread(caller.wait, 20) == 0  # the caller got the BYE
        finally:
            caller.stop()
        await cti.settled()
        [record] = await InteractionRepository(cti.db).list()
        assert (record.agent_id, record.agent_extension, record.outcome) == ("wendy", EXTENSION, "answered")
        assert record.hold_count == 1

        await page.uncheck("#webphone-use")
        await eventually(lambda: f"{EXTENSION}/sip:" not in contacts(asterisk), message="the contact to be removed")


async def test_the_phone_s_relay_closes_with_its_owner_s_token_and_stays_through_a_scope_change(cti: Cti) -> None:
    token = await cti.create_agent("wendy", "Wendy")
    async with aiohttp.ClientSession() as http:
        relay = await http.ws_connect(await cti.ws_url("/ws/phone", token), protocols=("sip",))
        assert relay.protocol == "sip"
        # A change of what a user may see closes the pages' sockets to reconnect them; the phone carries no topic.
        await cti.api("PUT", "/api/users/agent-wendy/scope", json={"queues": ["care"], "teams": []})
        assert await still_relaying(relay)
        await cti.api("POST", "/api/users/agent-wendy/disable")
        message = await relay.receive(timeout=10)
        assert (message.type, message.data, message.extra) == (aiohttp.WSMsgType.CLOSE, 1008, "user disabled")


async def still_relaying(relay: aiohttp.ClientWebSocketResponse) -> bool:
    """Asterisk answers what the relay forwards: an OPTIONS sent through it gets a SIP response back."""
    await relay.send_str("OPTIONS sip:1201@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS relay.invalid;branch=z9hG4bKcheck1\r\n"
                         "Max-Forwards: 70\r\nTo: <sip:1201@127.0.0.1>\r\nFrom: <sip:check@relay.invalid>;tag=1\r\n"
                         "Call-ID: relay-check-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
    message = await relay.receive(timeout=10)
    return message.type is aiohttp.WSMsgType.TEXT and str(message.data).startswith("SIP/2.0 ")
