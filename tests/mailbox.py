"""A real SMTP server for the tests (aiosmtpd, on a free port of 127.0.0.1): it keeps every mail delivered to it,
and the tests read the portal's sign-in codes and the survey links out of them."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from cti.messaging import SmtpMailer
from tests.support import eventually

__all__ = ["Mailbox", "mailbox"]

_CODE = re.compile(r"\b(\d{6})\b")
_SURVEY_LINK = re.compile(r"(https?://\S+/ui/survey\.html#[A-Za-z0-9_-]+)")


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls it by this name
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def mailer(self) -> SmtpMailer:
        return SmtpMailer("127.0.0.1", self.port, security="none", sender="portal@cti.test")

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    async def code(self, address: str, *, nth: int = 1) -> str:
        """The code of the ``nth`` mail to ``address`` (waiting for it to arrive)."""
        mails = await eventually(lambda: len(self.to(address)) >= nth and self.to(address),
                                 message=f"mail #{nth} to {address}")
        body = mails[nth - 1].get_body(("plain",))
        assert body is not None
        found = _CODE.search(body.get_content())
        assert found is not None, body.get_content()
        return found.group(1)

    async def survey_link(self, address: str, *, nth: int = 1) -> str:
        """The survey link of the ``nth`` mail to ``address`` (waiting for it to arrive)."""
        mails = await eventually(lambda: len(self.to(address)) >= nth and self.to(address),
                                 message=f"mail #{nth} to {address}")
        body = mails[nth - 1].get_body(("plain",))
        assert body is not None
        found = _SURVEY_LINK.search(body.get_content())
        assert found is not None, body.get_content()
        return found.group(1)


@contextmanager
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's start-up check cannot take port 0)
        probe.bind(("127.0.0.1", 0))
        box.port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
