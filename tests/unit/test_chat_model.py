"""The chat domain's checks: what a message, a name and a link may be."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti.chat import (
    ChatMessage,
    Link,
    NewMessage,
    Sender,
    clean_name,
    clean_text,
    first_name,
    message_order,
    parse_links,
)
from cti.errors import InvalidInput

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def test_text_is_kept_without_control_characters_and_bounded() -> None:
    assert clean_text("  Halo\u0000 kak\u200b\nbaris dua\t! ") == "Halo kak\nbaris dua\t!"
    assert clean_text(" Halo\u00a0kak, é 😀 ") == "Halo\u00a0kak, é 😀"  # printable throughout: kept as it is
    assert clean_text("\u2028Halo\u00ad\u2029") == "Halo"  # separators trimmed, a soft hyphen (format) dropped
    with pytest.raises(InvalidInput) as empty:
        clean_text(" \u0007 ")
    assert empty.value.code == "chat_empty_message"
    with pytest.raises(InvalidInput) as long:
        clean_text("x" * 2001)
    assert (long.value.code, dict(long.value.params)) == ("chat_message_too_long", {"limit": 2000})


def test_a_name_is_one_printable_line_and_the_customer_sees_the_agents_first_name() -> None:
    assert clean_name("  Siti\n  Rahma\u202e ") == "Siti Rahma"
    assert len(clean_name("a" * 100)) == 64
    with pytest.raises(InvalidInput):
        clean_name("\n\t")
    assert first_name("Budi Santoso") == "Budi"
    assert first_name("") == ""


def test_links_are_http_or_https_only() -> None:
    assert parse_links(None) == ()
    assert parse_links(["https://example.com/help", {"url": "http://x.id/a", "title": "Form"}]) == (
        Link("https://example.com/help"), Link("http://x.id/a", "Form"))
    for bad in (["javascript:alert(1)"], ["https://"], [{"url": 5}], "https://x.id", ["https://x.id"] * 6):
        with pytest.raises(InvalidInput) as refused:
            parse_links(bad)
        assert refused.value.code == "chat_bad_link"


def test_message_ids_order_and_malformed_ones_are_refused() -> None:
    assert message_order("1700000000000-2") < message_order("1700000000001-0")
    for bad in ("1700000000000", "99999999999999999999-0", "1-18446744073709551616", "1-x",
                "18446744073709551615-18446744073709551615"):
        with pytest.raises(InvalidInput):
            message_order(bad)
    assert message_order("18446744073709551615-0") == (2**64 - 1, 0)


def test_a_customer_is_not_told_the_agents_id() -> None:
    kept = ChatMessage.kept("1-0", NewMessage(Sender.AGENT, "Halo", T0, author="1001", author_name="Budi"))
    assert kept.as_json(for_customer=True)["author"] == ""
    assert kept.as_json() == {"id": "1-0", "sender": "agent", "text": "Halo", "at": T0.isoformat(), "author": "1001",
                              "author_name": "Budi", "links": [], "code": "", "params": {}}


def test_a_customer_is_not_told_why_the_bot_handed_over_but_is_told_why_the_chat_ended() -> None:
    bot = ChatMessage.kept("1-0", NewMessage(Sender.BOT, "Sebentar", T0, author="cyberagent", author_name="Sari",
                                             params={"reason": "unsure", "confidence": "0.410", "language": "id"}))
    assert bot.as_json(for_customer=True)["params"] == {"language": "id"}
    assert bot.as_json()["params"] == {"reason": "unsure", "confidence": "0.410", "language": "id"}
    ended = ChatMessage.kept("2-0", NewMessage(Sender.SYSTEM, "", T0, code="ended", params={"reason": "agent_hangup"}))
    assert ended.as_json(for_customer=True)["params"] == {"reason": "agent_hangup"}
