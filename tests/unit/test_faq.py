"""The FAQ's pure parts: texts as supervisors may write them, words per language, and the search (character
n-gram TF-IDF) and classification over the demo's starter FAQ."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cti.errors import Conflict, InvalidInput, NotFound, TooMany
from cti.faq import (
    MIN_SCORE,
    NONE,
    FaqEntry,
    FaqIndex,
    answer_parts,
    expand_short_forms,
    read_texts,
    snippet,
    tokenize,
)
from cti.records import UserRecord
from cti.services import Faq, FaqDraft
from cti.services._faq import SEARCHES_PER_MINUTE
from cti.sim._demo_seed import starter_faq
from tests.unit.fakes import FakeFaq

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def starter_index() -> FaqIndex:
    return FaqIndex(FaqEntry(entry_id, "published", 1, draft.product_line, read_texts(draft.texts), "cti", T0, T0)
                    for entry_id, draft in starter_faq())


def test_the_starter_faq_has_at_least_25_entries_in_each_language() -> None:
    entries = starter_faq()
    assert len({entry_id for entry_id, _ in entries}) == len(entries)
    for lang in ("id", "en"):
        assert sum(1 for _, draft in entries if lang in read_texts(draft.texts)) >= 25


def test_tokens_are_lowercase_words_without_stop_words() -> None:
    assert tokenize("Kapan tagihannya jatuh tempo?!", "id") == ["tagihannya", "jatuh", "tempo"]
    assert tokenize("When is MY bill due?", "en") == ["bill", "due"]
    assert tokenize("Shipping invoices, delivered; billing", "en") == ["shipping", "invoices", "delivered", "billing"]


@pytest.mark.parametrize(("query", "lang", "top"), [
    ("ganti pasword wifi", "id", "internet-wifi-password"),  # a typo
    ("internt lambat", "id", "internet-slow"),
    ("pembatalan", "id", "order-cancel"),  # an affixed form of "batal", with no stemmer
    ("cancelling my order", "en", "order-cancel"),
])
def test_affixes_and_typos_still_find_their_entry(query: str, lang: str, top: str) -> None:
    assert starter_index().search(query, lang)[0].entry.entry_id == top
    assert starter_index().classify(query, lang, limit=1)[0].entry.entry_id == top


def test_short_forms_are_written_out_before_the_words_are_cut() -> None:
    assert expand_short_forms("Sy gk bs bayar, gmn?", "id") == "saya tidak bisa bayar, bagaimana?"
    assert expand_short_forms("pesanan udh dibatalin blm", "id") == "pesanan sudah dibatalkan belum"
    assert expand_short_forms("Wheres ur order? pls", "en") == "where is your order? please"
    assert expand_short_forms("sy", "fr") == "sy"
    assert expand_short_forms("kaget liat billing, di atas rata2 bulan2 kmrn", "id") \
        == "kaget lihat billing, di atas rata-rata bulan-bulan kemarin"
    assert expand_short_forms("rata2", "en") == "rata2"
    assert expand_short_forms("nelpon jam 8 malem", "id") == "menelepon jam 8 malam"
    assert expand_short_forms("idk thats why", "en") == "i do not know that is why"
    assert tokenize("tgl jatuh tempo sy kpn", "id") == ["tanggal", "jatuh", "tempo"]


def test_classification_gives_probabilities_best_first() -> None:
    index = starter_index()
    first, second = index.classify("track my package", "en")
    assert first.entry.entry_id == "order-track" and first.score > 0.9 > second.score
    # With the "none of the FAQ" class's probability they sum to 1: an FAQ question leaves it next to nothing,
    # a question about something else most of it.
    assert 0.95 < sum(hit.score for hit in index.classify("track my package", "en", limit=100)) < 1
    assert sum(hit.score for hit in index.classify("recommend a good novel", "en", limit=100)) < 0.1
    assert sum(hit.score for hit in index.classify("siapa pemenang pemilu", "id", limit=100)) < 0.5
    assert index.classify("the and of", "en") == []
    assert index.classify("lacak paket", "fr") == []


def test_the_classifier_learns_labelled_customer_questions_beside_the_entries_phrasings() -> None:
    entries = [FaqEntry(entry_id, "published", 1, draft.product_line, read_texts(draft.texts), "cti", T0, T0)
               for entry_id, draft in starter_faq()]
    asked = "the thingy blinks orange all night"
    plain = FaqIndex(entries).classify(asked, "en")[0]
    taught = FaqIndex(entries, {"en": [("internet-no-connection", asked), ("no-such-entry", "lacak paket"),
                                       (NONE, "who won the football"), (NONE, "football results tonight")]})
    first = taught.classify(asked, "en")[0]
    assert first.entry.entry_id == "internet-no-connection" and first.score > plain.score
    assert sum(hit.score for hit in taught.classify("football scores", "en", limit=100)) < \
        sum(hit.score for hit in FaqIndex(entries).classify("football scores", "en", limit=100))
    # The search is the FAQ's own: questions do not change it.
    assert [hit.entry.entry_id for hit in taught.search(asked, "en")] == \
        [hit.entry.entry_id for hit in FaqIndex(entries).search(asked, "en")]
    phrasings = taught.phrasings("en")
    assert "When is my bill due?" in phrasings and len(phrasings) > len(entries)
    assert taught.phrasings("fr") == []


@pytest.mark.parametrize(("query", "lang", "top"), [
    ("kapan jatuh tempo tagihan", "id", "bill-due-date"),
    ("internet lemot", "id", "internet-slow"),
    ("lacak paket saya", "id", "order-track"),
    ("jam buka layanan pelanggan", "id", "contact-hours"),
    ("ganti password wifi", "id", "internet-wifi-password"),
    ("kuota habis", "id", "data-quota-check"),
    ("when is my bill due", "en", "bill-due-date"),
    ("my internet is slow", "en", "internet-slow"),
    ("track my package", "en", "order-track"),
    ("opening hours", "en", "contact-hours"),
    ("I lost my phone", "en", "sim-lost"),
])
def test_the_best_answer_comes_first(query: str, lang: str, top: str) -> None:
    hits = starter_index().search(query, lang)
    assert hits[0].entry.entry_id == top
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)


def test_search_keeps_to_its_language_and_product_line_and_leaves_out_what_is_far() -> None:
    index = starter_index()
    hits = index.search("track my package", "en")
    assert hits[0].entry.entry_id == "order-track"
    assert all(MIN_SCORE <= hit.score <= 1 for hit in hits)
    assert index.search("lacak paket", "en") == []  # Indonesian words in the English corpus
    assert index.search("xyzzy", "en") == []
    assert index.search("track my package", "en", product_line="home") == []
    assert {hit.entry.product_line for hit in index.search("internet", "id", product_line="home")} == {"home"}
    assert index.search("the and of", "en") == []  # only stop words
    assert len(index.search("internet", "id", limit=2)) == 2


def test_answers_are_plain_text_with_https_links_only() -> None:
    texts = read_texts({"en": {"question": " Where? ", "answer": "See https://example.com/a?b=1. Or call.",
                               "keywords": ["where is it"]}})
    assert texts["en"].question == "Where?"
    assert answer_parts(texts["en"].answer) == [("text", "See "), ("link", "https://example.com/a?b=1."),
                                                ("text", " Or call.")]
    assert answer_parts("javascript:alert(1) http://x.test") == [("text", "javascript:alert(1) http://x.test")]
    with pytest.raises(InvalidInput) as refused:
        read_texts({"en": {"question": "Q", "answer": "<script>alert(1)</script>"}, "fr": {},
                    "id": {"question": "", "answer": "ok"}})
    assert refused.value.code == "invalid_faq"
    assert {(p.field, p.code) for p in refused.value.problems} == {
        ("texts.en.answer", "unsafe_text"), ("texts.fr", "unknown_language"), ("texts.id.question", "required")}
    with pytest.raises(InvalidInput):
        read_texts({})


def test_a_snippet_is_cut_at_a_word() -> None:
    assert snippet("short answer") == "short answer"
    cut = snippet("word " * 100)
    assert cut.endswith("word…") and len(cut) <= 161


# -- the service, on the in-memory store ---------------------------------------------------------------------------

SUE = UserRecord(user_id=2, name="sue", role="supervisor", agent_id=None, disabled=False)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def test_the_service_searches_published_entries_only_and_sees_changes_at_once() -> None:
    faq = Faq(FakeFaq(), clock=Clock())
    draft = FaqDraft(texts={"en": {"question": "Where is my parcel?", "answer": "On its way."}},
                     product_line="device")
    await faq.create(SUE, draft, entry_id="parcel")
    assert await faq.search("parcel", lang="en", client="1.2.3.4") == []
    await faq.set_status("parcel", "published")
    [hit] = await faq.search("parcel", lang="en", client="1.2.3.4")
    assert hit.entry.entry_id == "parcel"
    await faq.edit(SUE, "parcel", FaqDraft(texts={"en": {"question": "Where is my order?", "answer": "Here."}}))
    assert await faq.search("parcel", lang="en", client="1.2.3.4") == []
    with pytest.raises(Conflict):
        await faq.create(SUE, draft, entry_id="parcel")
    with pytest.raises(InvalidInput) as refused:
        await faq.create(SUE, FaqDraft(texts={}, product_line="cars"), entry_id="Bad Id")
    assert {p.code for p in refused.value.problems} == {"unknown_product_line", "pattern", "required"}
    await faq.delete("parcel")
    with pytest.raises(NotFound):
        await faq.get("parcel")


async def test_votes_count_once_per_client_entry_and_day_and_the_throttles_hold() -> None:
    clock = Clock()
    store = FakeFaq()
    faq = Faq(store, clock=clock)
    await faq.create(SUE, FaqDraft(texts={"id": {"question": "Kapan?", "answer": "Besok."}}), entry_id="when",
                     publish=True)
    assert await faq.feedback("when", helpful=True, client="1.2.3.4") is True
    assert await faq.feedback("when", helpful=False, client="1.2.3.4") is False
    assert await faq.feedback("when", helpful=False, client="5.6.7.8") is True
    clock.now = T0 + timedelta(days=1)
    assert await faq.feedback("when", helpful=True, client="1.2.3.4") is True
    entry = await faq.get("when")
    assert (entry.helpful, entry.not_helpful) == (2, 1)
    with pytest.raises(NotFound):
        await faq.feedback("nothing", helpful=True, client="1.2.3.4")
    for _ in range(SEARCHES_PER_MINUTE):
        await faq.search("kapan", lang="id", client="9.9.9.9")
    with pytest.raises(TooMany) as throttled:
        await faq.search("kapan", lang="id", client="9.9.9.9")
    assert throttled.value.retry_after == 60
    assert await faq.search("besok", lang="id", client="8.8.8.8")  # another address is not held back
    clock.now += timedelta(minutes=1)
    assert await faq.search("besok", lang="id", client="9.9.9.9")
