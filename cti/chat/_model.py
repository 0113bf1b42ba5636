"""A web chat: its session (who the customer is, their language, where they came in) and its messages.

A chat is routed as a work item of the ``chat`` channel (:mod:`cti.acd`): the session is what the chat adds to
the item, the messages what is said in it. Messages are kept in order with ids a reconnecting page can resume
from (the adapter gives them: a Redis stream's ids, ``<ms>-<n>``, which order as :func:`message_order` says).
Pure data and checks: no I/O, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit

from cti.errors import InvalidInput
from cti.types import Language

__all__ = [
    "MAX_LINKS",
    "MAX_NAME",
    "MAX_TEXT",
    "STAFF_PARAMS",
    "ChatMessage",
    "ChatSession",
    "Link",
    "NewMessage",
    "Sender",
    "clean_name",
    "clean_text",
    "first_name",
    "message_order",
    "parse_links",
]

MAX_TEXT: Final = 2000
"""Characters in one message: a chat line, not a document."""
MAX_NAME: Final = 64
MAX_LINKS: Final = 5
_MAX_URL: Final = 500
_MESSAGE_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")
_MAX_PART = 2**64 - 1
STAFF_PARAMS: Final = frozenset({"reason", "confidence", "learnt"})
"""A virtual agent's reply's params for staff only (why it handed over, how sure it was, the label that chose it):
what supervisors label from, never shown to the customer. Only the bot's: a system message's ``reason`` (why the
chat ended) is the customer's page's to show."""


class Sender(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"  # said by cti: waiting, who joined, transferred, ended
    BOT = "bot"  # the virtual agent (CyberAgent), which answers a chat before any person


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    title: str = ""

    def as_json(self) -> dict[str, str]:
        return {"url": self.url, "title": self.title}


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message before it is kept (the store gives it its id)."""

    sender: Sender
    text: str
    at: datetime
    author: str = ""  # the agent's id for an agent's message; empty otherwise
    author_name: str = ""  # what the other side sees: the agent's first name, the customer's name
    links: tuple[Link, ...] = ()
    code: str = ""  # a system message's code (``joined``, ``transferred``...): pages say it in their language
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChatMessage:
    message_id: str
    sender: Sender
    text: str
    at: datetime
    author: str = ""
    author_name: str = ""
    links: tuple[Link, ...] = ()
    code: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def kept(cls, message_id: str, new: NewMessage) -> ChatMessage:
        return cls(message_id, new.sender, new.text, new.at, new.author, new.author_name, new.links, new.code,
                   dict(new.params))

    def as_json(self, *, for_customer: bool = False) -> dict[str, Any]:
        """The message as pages get it; a customer is not told agents' ids, only their first names."""
        return {"id": self.message_id, "sender": self.sender.value, "text": self.text, "at": self.at.isoformat(),
                "author": "" if for_customer and self.sender is Sender.AGENT else self.author,
                "author_name": self.author_name, "links": [link.as_json() for link in self.links],
                "code": self.code, "params": {key: value for key, value in self.params.items()
                                              if not (for_customer and self.sender is Sender.BOT
                                                      and key in STAFF_PARAMS)}}


@dataclass(frozen=True, slots=True)
class ChatSession:
    """What a chat adds to its work item: who the customer is and how to reach them again.

    ``customer_id`` is set for a customer signed in on the portal (whose chat it is), None for an anonymous one,
    who is known by ``name`` and by the secret of their chat (``secret_hash``: only its hash is kept)."""

    chat_id: str
    name: str
    language: Language
    started_at: datetime
    service: str = "chat"
    customer_id: str | None = None
    secret_hash: str = ""
    topic: str | None = None  # what the customer said it is about (the routing's product), if anything
    ended_at: datetime | None = None
    bot: dict[str, Any] | None = None
    """While the virtual agent holds the chat, its conversation's state (``cti.cyberagent.Session.to_dict``);
    None once a person's queue has it (or when no virtual agent answers chats)."""

    @property
    def customer_leg(self) -> str:
        """The customer's side of the chat, as the work item's ``channel_id``."""
        return f"{self.chat_id}-c"


def clean_text(text: str, *, limit: int = MAX_TEXT) -> str:
    """A message's text as kept: control and invisible characters dropped (newlines and tabs kept), trimmed; an
    empty one or one over ``limit`` is refused."""
    # A printable text has no control or invisible character (str.isprintable is False for every "C" category):
    # most messages, checked in C instead of character by character.
    kept = (text if text.isprintable() else
            "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")).strip()
    if not kept:
        raise InvalidInput("a message needs some text", code="chat_empty_message")
    if len(kept) > limit:
        raise InvalidInput(f"a message has at most {limit} characters", code="chat_message_too_long",
                           params={"limit": limit})
    return kept


def clean_name(name: str) -> str:
    """A customer's name as they typed it, as shown to agents: one line, printable, bounded."""
    kept = " ".join("".join(ch for ch in name if unicodedata.category(ch)[0] not in "CZ" or ch == " ").split())
    if not kept:
        raise InvalidInput("say your name to start a chat", code="chat_name_required")
    return kept[:MAX_NAME]


def first_name(name: str) -> str:
    """What a customer is told of the agent: their first name only."""
    return name.split()[0] if name.split() else ""


def parse_links(raw: object) -> tuple[Link, ...]:
    """Links an agent sends (a page of the help centre, a form): http(s) only, bounded; refused otherwise."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_LINKS:
        raise InvalidInput(f"links are a list of at most {MAX_LINKS}", code="chat_bad_link")
    links = []
    for item in raw:
        url, title = (item.get("url"), item.get("title", "")) if isinstance(item, dict) else (item, "")
        if not isinstance(url, str) or not isinstance(title, str) or len(url) > _MAX_URL:
            raise InvalidInput("a link is a URL (and a title)", code="chat_bad_link")
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidInput("a link is an http or https URL", code="chat_bad_link")
        links.append(Link(url.strip(), clean_text(title, limit=200) if title.strip() else ""))
    return tuple(links)


def message_order(message_id: str) -> tuple[int, int]:
    """The order of a message id (``<ms>-<n>``); a malformed one is refused (a page's resume point)."""
    matched = _MESSAGE_ID.fullmatch(message_id)
    order = (int(matched.group(1)), int(matched.group(2))) if matched is not None else None
    # A stream id's parts are 64-bit: Redis refuses larger ones, and nothing comes after the largest id.
    if order is None or max(order) > _MAX_PART or order == (_MAX_PART, _MAX_PART):
        raise InvalidInput("a message id looks like 1700000000000-0", code="chat_bad_message_id")
    return order
