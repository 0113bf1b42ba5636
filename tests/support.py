"""Shared helpers for the tests: the no-silent-skip rule, waiting, throwaway databases, a real browser."""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import pytest

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.async_api import Page

    from cti.persistence import Database

CI = bool(os.environ.get("CI"))
POSTGRES_SERVER = os.environ.get("CTI_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
T = TypeVar("T")


def unavailable(reason: str) -> None:
    """A needed component is missing: fail under CI (a skipped test is not a passed test), else skip."""
    if CI:
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)")
    pytest.skip(reason)


def rtp_packet(payload: bytes, *, seq: int = 7, ts: int = 160, ssrc: int = 0xDEADBEEF, pt: int = 118,
               marker: bool = False, csrcs: tuple[int, ...] = (), extension: bytes | None = None,
               padding: int = 0) -> bytes:
    """An RTP packet (RFC 3550) as it comes over the wire, with what a test needs to vary of its header."""
    first = 0x80 | len(csrcs) | (0x10 if extension is not None else 0) | (0x20 if padding else 0)
    head = struct.pack("!BBHII", first, pt | (0x80 if marker else 0), seq, ts, ssrc)
    head += b"".join(struct.pack("!I", c) for c in csrcs)
    if extension is not None:
        head += struct.pack("!HH", 0xBEDE, len(extension) // 4) + extension
    tail = (b"\0" * (padding - 1) + bytes([padding])) if padding else b""
    return head + payload + tail


def caller_speech(text: str, voice: str, directory: Path) -> Path:
    """What a caller says: espeak-ng, then the telephone line's 8 kHz mu-law (sox), for a SIPp caller's ``Say``."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        unavailable("espeak-ng and sox are needed to synthesise callers' speech")
    wav, ulaw = directory / f"{voice}-{text}.wav", directory / f"{voice}-{text}.ulaw"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True)
    # -R: sox dithers from a generator seeded by the clock otherwise; the same words must be the same audio.
    subprocess.run(["sox", "-R", str(wav), "-r", "8000", "-c", "1", "-t", "ul", str(ulaw), "pad", "0.2", "0.3"],
                   check=True)
    return ulaw


class Pending(str):
    """Not yet, and why: a check for :func:`eventually` returns one so that a timeout says what it last saw."""

    def __bool__(self) -> bool:
        return False


async def eventually(check: Callable[[], T | Awaitable[T]], *, timeout: float = 15.0, interval: float = 0.1,
                     message: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        result = check()
        last = await result if asyncio.iscoroutine(result) else result  # type: ignore[assignment]
        if last:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {message} (last: {last!r})")
        await asyncio.sleep(interval)


async def create_postgres_database() -> tuple[str, Callable[[], Awaitable[None]]]:
    """A fresh, empty PostgreSQL database and a coroutine that drops it."""
    import asyncpg

    base = POSTGRES_SERVER.replace("postgresql+asyncpg://", "postgresql://")
    name = f"cti_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(base, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable(f"PostgreSQL is not reachable at {base}: {exc}")
        raise
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(base, timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    url = POSTGRES_SERVER.rsplit("/", 1)[0] + f"/{name}"
    return url, drop


@asynccontextmanager
async def migrated_database(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database of ``backend`` ("sqlite": a file in ``tmp_path``; "postgresql": a fresh one on
    the test server, dropped after), closed after the block: the stores' tests run on both."""
    from cti.persistence import Database

    if backend == "sqlite":
        url, drop = f"sqlite+aiosqlite:///{tmp_path}/cti.db", None
    else:
        url, drop = await create_postgres_database()  # fails, never skips, when CI is set
    database = Database(url)
    await database.upgrade()
    try:
        yield database
    finally:
        await database.close()
        if drop is not None:
            await drop()


CHROMIUM = os.environ.get("CTI_TEST_CHROMIUM", "/usr/bin/chromium")
FAKE_MEDIA = ("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--allow-loopback-in-peer-connection")
"""A microphone that plays a tone, granted without asking, and WebRTC over 127.0.0.1 (where the tests' Asterisk
is; Chromium leaves loopback addresses out of ICE otherwise)."""


@asynccontextmanager
async def browser_page(*, locale: str | None = None, timezone_id: str | None = None,
                       args: tuple[str, ...] = ()) -> AsyncIterator[Page]:
    """A page in a real headless Chromium (Debian's, never a downloaded one); ``locale`` (the browser's language,
    e.g. "id-ID") and ``timezone_id`` default to the browser's own (en-US, the machine's zone); ``args`` are more
    command-line switches (e.g. :data:`FAKE_MEDIA`)."""
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    if not shutil.which(CHROMIUM):
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as playwright:
        try:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                      args=["--no-sandbox", "--disable-gpu", *args])
        except PlaywrightError as exc:
            unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
            raise
        try:
            page = await browser.new_page(locale=locale, timezone_id=timezone_id)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
            assert not errors, f"JavaScript errors on the page: {errors}"
        finally:
            await browser.close()
