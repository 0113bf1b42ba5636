"""Caller ids: what the network says about a caller, cleaned and bounded where it enters, and the one we send.

A caller's name and number are whatever the far end put in its SIP ``From`` header: any length, any character.
Unbounded, a long name was once refused by the database, holding back every write after it. Unescaped, a name
with quotes or ``<>`` rewrote the caller id shown on the agent's phone: cti dials the agent with
``"<name>" <<number>>``, and Asterisk parses that string, so the name ``Ana" <999>`` put a number of the
caller's choosing where the agent reads who is calling. Here the
number keeps ASCII digits and one leading ``+``; the name loses what could end its quoted string or start an
address (``"``, ``\\``, ``<``, ``>``), control characters (they become spaces) and invisible format characters
(bidirectional overrides can make a name read as something else); whitespace is collapsed. The apostrophe
stays: it means nothing to SIP or Asterisk, and O'Brien is a name.
"""

from __future__ import annotations

import unicodedata
from typing import Final

__all__ = ["NAME_LENGTH", "NUMBER_LENGTH", "caller_id", "clean_caller_name", "clean_caller_number"]

NAME_LENGTH: Final = 64
NUMBER_LENGTH: Final = 32
"""Characters at most, the leading ``+`` included (E.164 needs 16)."""

ANONYMOUS: Final = "anonymous"
"""The number of a caller who sent no digits."""

_ASCII_DIGITS: Final = frozenset("0123456789")
_REMOVED: Final = frozenset('"\\<>')
_NUMBER_WRITING: Final = _ASCII_DIGITS | frozenset("+-(). ")
"""What a number written as a name is made of."""
# Cc: control (NUL, tab, newline, ESC...); Zl, Zp: line and paragraph separators. They become spaces.
_SPACED_CATEGORIES: Final = frozenset({"Cc", "Zl", "Zp"})
# Cf: format (bidirectional overrides, zero-width characters); Cs: lone surrogates, which no UTF-8 can carry.
_DROPPED_CATEGORIES: Final = frozenset({"Cf", "Cs"})


def clean_caller_number(number: str | None) -> str:
    """ASCII digits with the leading ``+`` if there was one, at most :data:`NUMBER_LENGTH` characters;
    ``anonymous`` when there are no digits."""
    number = (number or "").strip()
    digits = "".join(ch for ch in number if ch in _ASCII_DIGITS)
    if not digits:
        return ANONYMOUS
    prefix = "+" if number.startswith("+") else ""
    return prefix + digits[:NUMBER_LENGTH - len(prefix)]


def clean_caller_name(name: str | None, number: str | None = None) -> str | None:
    """The name as a phone may show it, at most :data:`NAME_LENGTH` characters; ``None`` when nothing is left, or
    when it only repeats the caller's ``number`` (networks without a name send the number as one: shown as a
    name, pages would read "0812... (0812...)" where a name belongs)."""
    if not name:
        return None
    kept: list[str] = []
    for ch in unicodedata.normalize("NFC", name):
        if ch in _REMOVED:
            continue
        category = unicodedata.category(ch)
        if category in _DROPPED_CATEGORIES:
            continue
        kept.append(" " if category in _SPACED_CATEGORIES else ch)
    cleaned = " ".join("".join(kept).split())[:NAME_LENGTH].rstrip()
    if number is not None and set(cleaned) <= _NUMBER_WRITING and _digits(cleaned) == _digits(number):
        return None
    return cleaned or None


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch in _ASCII_DIGITS)


def caller_id(name: str | None, number: str) -> str:
    """The caller id to send Asterisk (``"name" <number>``), cleaned again: a call restored from Redis may come
    from before this module cleaned what entered."""
    clean_number = clean_caller_number(number)
    return f'"{clean_caller_name(name) or clean_number}" <{clean_number}>'
