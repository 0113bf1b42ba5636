"""Round 12: a message in words nothing the agent answers contains, how-questions the intent model reads as
buying, and the customer's unpaid bill asked as a yes-or-no question."""

from __future__ import annotations

import pytest

from cti.cyberagent import (
    QUESTIONS,
    MeaningIndex,
    Session,
)
from cti.cyberagent._intents import asks_how, match_intent
from cti.cyberagent._unfamiliar import unfamiliar, words_of
from cti.types import Language
from tests.shipped_agent import shipped

FAMILIAR = {"en": words_of(["how many days does delivery take", "how much is my bill", "track my order"], "en"),
            "id": words_of(["berapa hari pengiriman", "berapa tagihan saya", "lacak pesanan"], "id")}


@pytest.mark.parametrize(("lang", "message", "strange"), [
    ("en", "how many days do turtle eggs take to hatch", True),  # turtle, eggs, hatch: 3 of 6 words
    ("en", "how many days does delivery take", False),
    ("en", "how many days until my turtle eggs hatch", False),  # the customer's own: not about the world
    ("en", "how many days for the turtle", False),  # one strange word is not enough
    ("id", "berapa hari telur penyu menetas", True),
    ("id", "berapa hari telur penyu saya menetas", False),
    ("id", "berapa hari pengiriman pesananku", False),
])
def test_a_message_mostly_in_words_nothing_answerable_contains_is_unfamiliar(lang: Language, message: str,
                                                                            strange: bool) -> None:
    assert unfamiliar(message, lang, FAMILIAR[lang]) is strange


def test_a_form_or_a_typo_of_a_familiar_word_is_familiar() -> None:
    assert not unfamiliar("tracking the deliveries", "en", FAMILIAR["en"])
    assert not unfamiliar("delivrey tracked", "en", FAMILIAR["en"])


def test_how_or_where_to_do_something_is_a_how_question_in_both_languages() -> None:
    assert asks_how("where do i sign up for the asia roaming pack", "en")
    assert asks_how("where can we buy extra data", "en")
    assert not asks_how("where is my order", "en")
    assert asks_how("gimana cara daftar paket roaming asia", "id")
    assert not asks_how("paket roaming asia saya aktif belum", "id")
    # A how-question is never the customer's own balance or order by the rules either.
    assert match_intent("where do i see my balance due", "en") is None


@pytest.mark.parametrize(("lang", "message", "intent"), [
    ("en", "is any of my bill still unpaid", "balance"),
    ("en", "do i have any unpaid bills", "balance"),
    ("en", "is there anything outstanding on my account", "balance"),
    ("en", "paid this morning but is there still something unpaid", None),  # a payment made: not the balance
    ("en", "i paid yesterday but the bill still says unpaid", None),
    ("id", "masih ada tagihan yang belum dibayar ga", "balance"),
    ("id", "aku ada utang tagihan yang belum lunas ga", "balance"),
    ("id", "ada yang belum saya bayar?", "balance"),
    ("id", "udah transfer kemarin tapi masih ada tagihan yang belum dibayar", None),
])
def test_whether_anything_is_still_unpaid_is_the_customers_balance(lang: Language, message: str,
                                                                  intent: str | None) -> None:
    assert match_intent(message, lang) == intent


@pytest.mark.parametrize(("lang", "message"), [
    ("en", "how tall is the eiffel tower in paris"),
    ("en", "how many days do crocodile eggs take to hatch"),
    ("id", "berapa lama telur buaya menetas"),
    ("id", "berapa tinggi menara eiffel di paris"),
])
async def test_a_question_about_the_world_is_handed_over_whatever_phrase_it_shares(lang: Language,
                                                                                  message: str) -> None:
    agent = shipped()
    assert isinstance(agent.index, MeaningIndex)
    assert unfamiliar(agent.normalized(message, lang), lang, agent.index.familiar())
    reply = await agent.respond(Session(lang=lang, customer_id="10000001"), message)
    assert (reply.action, reply.source) == ("handover", None)


@pytest.mark.parametrize(("lang", "message"), [
    ("en", "where do i sign up for the asia roaming pack"),
    ("id", "gimana caranya daftar paket roaming asia"),
])
async def test_a_how_question_about_a_product_is_no_purchase(lang: Language, message: str) -> None:
    reply = await shipped().respond(Session(lang=lang, customer_id="10000001"), message)
    assert reply.action not in ("purchase", "purchase_which")


def test_familiar_words_are_those_of_what_the_agent_answers_not_of_its_hand_overs() -> None:
    agent = shipped()
    assert isinstance(agent.index, MeaningIndex)
    familiar = agent.index.familiar()
    assert {"bill", "order", "roaming"} <= familiar
    handed = {word for label, text in QUESTIONS["en"] if label == "handover" for word in words_of([text], "en")}
    assert "everest" in handed and "everest" not in familiar
