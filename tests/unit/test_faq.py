"""The FAQ's pure parts: texts as supervisors may write them, tokens per language and BM25 ranking over the
demo's starter FAQ."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti.errors import InvalidInput
from cti.faq import FaqEntry, FaqIndex, answer_parts, read_texts, snippet, tokenize
from cti.sim._demo_seed import starter_faq

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def starter_index() -> FaqIndex:
    return FaqIndex(FaqEntry(entry_id, "published", 1, draft.product_line, read_texts(draft.texts), "cti", T0, T0)
                    for entry_id, draft in starter_faq())


def test_the_starter_faq_has_at_least_25_entries_in_each_language() -> None:
    entries = starter_faq()
    assert len({entry_id for entry_id, _ in entries}) == len(entries)
    for lang in ("id", "en"):
        assert sum(1 for _, draft in entries if lang in read_texts(draft.texts)) >= 25


def test_tokens_are_lowercase_words_without_stop_words_and_stemmed() -> None:
    assert tokenize("Kapan tagihannya jatuh tempo?!", "id") == ["tagih", "jatuh", "tempo"]
    assert tokenize("Pembayaran menunggu memakai", "id") == ["bayar", "tunggu", "pakai"]
    assert tokenize("When is MY bill due?", "en") == ["bill", "due"]
    assert tokenize("Shipping invoices, delivered; billing", "en") == ["ship", "invoice", "deliver", "bill"]


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


def test_search_keeps_to_its_language_and_product_line_and_leaves_out_what_shares_no_word() -> None:
    index = starter_index()
    assert [hit.entry.entry_id for hit in index.search("track my package", "en")] == ["order-track"]
    assert index.search("lacak paket", "en") == []  # Indonesian words in the English corpus
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
