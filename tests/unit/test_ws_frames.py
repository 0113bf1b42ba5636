"""The websocket bytes the hub builds once per frame (cti/web/_sockets.py, ``text_frame``): RFC 6455 headers at
the length boundaries, and byte for byte what aiohttp's own writer sends for the same text (the hub writes these
bytes to the connection itself, beside aiohttp's writer, so the two must agree)."""

from __future__ import annotations

import struct

import pytest
from aiohttp import WSMsgType
from aiohttp.http import WebSocketWriter

from cti.web._sockets import Frame, text_frame

BOUNDARIES = [0, 1, 125, 126, 127, 65535, 65536, 70000]


def header(payload_length: int) -> bytes:
    """RFC 6455 section 5.2, read directly: FIN + text opcode, no mask bit, then the length in 7, 7+16 or 7+64 bits."""
    if payload_length <= 125:
        return bytes([0x81, payload_length])
    if payload_length <= 0xFFFF:
        return bytes([0x81, 126]) + struct.pack(">H", payload_length)
    return bytes([0x81, 127]) + struct.pack(">Q", payload_length)


@pytest.mark.parametrize("length", BOUNDARIES)
def test_the_header_follows_rfc_6455_at_each_length_boundary(length: int) -> None:
    payload = bytes(range(256)) * (length // 256) + bytes(range(length % 256))
    wire = text_frame(payload)
    assert wire == header(length) + payload
    assert len(wire) - length == (2 if length < 126 else 4 if length < 65536 else 10)


@pytest.mark.parametrize("length", BOUNDARIES)
def test_a_frame_gives_back_its_payload(length: int) -> None:
    text = "é" * (length // 2) + "x" * (length % 2)  # two bytes a character: the payload is bytes, not characters
    frame = Frame(1, "t", text, text_frame(text.encode()))
    assert frame.payload == text.encode()


class _Transport:
    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return False


class _Protocol:
    _paused = False


@pytest.mark.parametrize("length", BOUNDARIES)
async def test_the_bytes_are_what_aiohttps_writer_sends(length: int) -> None:
    """Fails if aiohttp's server-side frames for a text message ever differ from the hub's (a new aiohttp that
    sets a bit the hub does not, say): then pages would read two different framings on one socket."""
    transport = _Transport()
    writer = WebSocketWriter(_Protocol(), transport, use_mask=False, compress=0)  # type: ignore[arg-type]
    payload = b"a" * length
    await writer.send_frame(payload, WSMsgType.TEXT)
    assert bytes(transport.written) == text_frame(payload)

