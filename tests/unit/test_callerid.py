"""Callers' names and numbers, cleaned and bounded where they enter (the ARI StasisStart), and the caller id cti
sends when it dials an agent or a customer. The real path (SIPp through Asterisk, a 300-character name, a name
with quotes and ``<>``) is tests/e2e/test_caller_id.py."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections import Counter
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from cti.acd import DialCustomer, Offer
from cti.telephony import (
    NAME_LENGTH,
    NUMBER_LENGTH,
    VoiceActions,
    caller_id,
    clean_caller_name,
    clean_caller_number,
)
from tests.unit.test_services import floor

# What Asterisk's caller id parser must find in what we send: one quoted name, one number, nothing more.
SENT = re.compile(r'"(?P<name>[^"\\<>]*)" <(?P<number>\+?[0-9]{1,31}|anonymous)>')


def test_numbers_keep_ascii_digits_and_one_leading_plus() -> None:
    assert clean_caller_number("+62 (21) 555-0123") == "+62215550123"
    assert clean_caller_number(" 0215550123 ") == "0215550123"
    assert clean_caller_number("021+555") == "021555"  # a plus inside is no country prefix
    assert clean_caller_number("0215550123&PJSIP/7001") == "02155501237001"  # never a second dial string
    assert clean_caller_number("٠٢١٥٥٥") == "anonymous"  # Arabic-Indic digits are digits, but not ASCII ones
    assert clean_caller_number("12²³") == "12"
    for nothing in (None, "", "   ", "anonymous", "sip:alice@example.com", "+"):
        assert clean_caller_number(nothing) == "anonymous"


def test_numbers_are_bounded_with_their_plus() -> None:
    assert clean_caller_number("9" * 300) == "9" * NUMBER_LENGTH
    assert clean_caller_number("+" + "9" * 300) == "+" + "9" * (NUMBER_LENGTH - 1)


def test_names_lose_what_could_end_the_quoted_name_or_start_an_address() -> None:
    assert clean_caller_name('Ana" <999>') == "Ana 999"
    assert clean_caller_name('"Ana" <sip:999@evil>') == "Ana sip:999@evil"
    assert clean_caller_name("Budi \\\" Santoso") == "Budi Santoso"
    assert clean_caller_name("Siti O'Brien") == "Siti O'Brien"  # an apostrophe means nothing to SIP


def test_names_lose_control_and_invisible_characters() -> None:
    assert clean_caller_name("Budi\r\nVia: SIP/2.0/UDP evil") == "Budi Via: SIP/2.0/UDP evil"
    assert clean_caller_name("Dewi\x00\x1b[31mRed\tLestari") == "Dewi [31mRed Lestari"
    assert clean_caller_name("\u202eilA") == "ilA"  # right-to-left override: shown reversed, read as "Ali"
    assert clean_caller_name("Zero\u200bWidth") == "ZeroWidth"
    assert clean_caller_name("lone \ud800 surrogate") == "lone surrogate"
    assert clean_caller_name("Line\u2028Break") == "Line Break"
    assert clean_caller_name("Jose\u0301") == "José"  # one character, not two


def test_names_are_bounded_and_blank_ones_are_none() -> None:
    assert clean_caller_name("Budi Santoso " * 30) == "Budi Santoso Budi Santoso Budi Santoso Budi Santoso Budi Santoso"
    assert clean_caller_name("x" * 63 + " tail") == "x" * 63  # cut at 64, then the space it ends in goes
    assert clean_caller_name("x" * 300) == "x" * NAME_LENGTH
    for nothing in (None, "", "   ", '""', "<>", "\x00\r\n", "\u202e"):
        assert clean_caller_name(nothing) is None


def test_a_name_that_only_repeats_the_number_is_no_name() -> None:
    assert clean_caller_name("089739037733", "089739037733") is None  # what the demo's callers (and networks) send
    assert clean_caller_name(" 021-555 (0123) ", "0215550123") is None
    assert clean_caller_name("+62215550123", "+62215550123") is None
    assert clean_caller_name("0215550124", "0215550123") == "0215550124"  # another number: what was sent
    assert clean_caller_name("Budi 0215550123", "0215550123") == "Budi 0215550123"
    assert clean_caller_name("089739037733") == "089739037733"  # without the number to compare with, kept


def test_the_caller_id_sent_is_one_quoted_name_and_one_number() -> None:
    assert caller_id("Budi", "0215550123") == '"Budi" <0215550123>'
    assert caller_id('Ana" <999>', "0215550123") == '"Ana 999" <0215550123>'
    assert caller_id(None, "+62 21 555") == '"+6221555" <+6221555>'
    assert caller_id("   ", "") == '"anonymous" <anonymous>'


@given(st.text(max_size=400), st.text(max_size=80))
@example('x" <1> "', "<2>")
@example("\\", "\\")
def test_whatever_the_network_sends_the_caller_id_parses_back_to_what_was_cleaned(name: str, number: str) -> None:
    cleaned_name, cleaned_number = clean_caller_name(name), clean_caller_number(number)
    assert cleaned_name is None or 0 < len(cleaned_name) <= NAME_LENGTH
    assert len(cleaned_number) <= NUMBER_LENGTH
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in cleaned_name or "")
    sent = SENT.fullmatch(caller_id(name, number))
    assert sent is not None
    assert (sent["name"], sent["number"]) == (cleaned_name or cleaned_number, cleaned_number)
    assert clean_caller_name(cleaned_name) == cleaned_name  # cleaning twice changes nothing
    assert clean_caller_number(cleaned_number) == cleaned_number


class OriginatingAri:
    def __init__(self) -> None:
        self.originated: list[dict[str, Any]] = []

    async def originate(self, endpoint: str, **kwargs: Any) -> None:
        self.originated.append({"endpoint": endpoint, **kwargs})

    async def ring(self, channel_id: str) -> None:
        return None


async def test_the_agent_s_phone_and_the_customer_get_clean_caller_ids_even_from_a_call_stored_unclean() -> None:
    # A call restored from Redis may carry what an older cti let through: the caller id is cleaned on the way out.
    distributor, _ = floor()
    ari = OriginatingAri()
    actions = VoiceActions(ari, distributor.query, None, Counter(), ring_timeout=15,  # type: ignore[arg-type]
                           callback_ring_timeout=30)
    actions.offer(Offer("c1", "ana", "7001", "c1-a1", "chan-c1", "0215550123", 'Ana" <999>\r\n' + "x" * 300),
                  distributor)
    actions.dial_customer(DialCustomer("c1", "c1-c1", "+62 21 555&PJSIP/7002", "1500100", "c1-a1"),
                          distributor)
    await asyncio.gather(*actions._tasks)
    offer, dial = ari.originated
    assert (offer["endpoint"], offer["caller_id"]) == ("PJSIP/7001", f'"Ana 999 {"x" * 56}" <0215550123>')
    assert (dial["endpoint"], dial["caller_id"]) == ("PJSIP/62215557002@pstn", "1500100")
