"""Indonesian pronunciations for the en-us acoustic model: rules, alternatives, exceptions, loanwords."""

from __future__ import annotations

import pytest

from cti.speech.asr import _lexicon_id as lexicon_id


@pytest.mark.parametrize(("word", "phones"), [
    ("saldo", "S AA L D OW"),
    ("nyanyi", "N Y AA N Y IY"),  # ny is two phones
    ("sayang", "S AA Y AA NG"),  # ng is one
    ("syarat", "SH AA R AA T"),
    ("khusus", "HH UW S UW S"),
    ("pakai", "P AA K AY"),  # final diphthong
    ("pesanan", "P AH S AA N AA N"),  # every e a schwa by rule
])
def test_rules(word: str, phones: str) -> None:
    assert lexicon_id.g2p(word) == phones


def test_alternatives_for_what_spelling_does_not_say() -> None:
    assert lexicon_id.pronunciations("pesanan") == ("P AH S AA N AA N", "P EH S AA N AA N")  # e as schwa or é
    assert lexicon_id.pronunciations("tidak") == ("T IY D AA K", "T IY D AA")  # final k as a glottal stop
    # A final r is a tap the model's retroflex R does not match: without it too, for each vowel reading.
    assert lexicon_id.pronunciations("benar") == ("B AH N AA R", "B EH N AA R", "B AH N AA", "B EH N AA")
    assert lexicon_id.pronunciations("saldo") == ("S AA L D OW",)


def test_exceptions_and_loanwords() -> None:
    assert lexicon_id.pronunciations("iya") == ("IY Y AA", "IY AA", "IY Y AH")
    assert lexicon_id.pronunciations("cek") == ("CH EH K", "CH EH")
    # A loanword also takes the English dictionary's pronunciation, after the Indonesian ones, within the limit.
    got = lexicon_id.pronunciations("customer", ("K AH S T AH M ER", "K AH S T AH M AH R"))
    assert got == ("K AH S T AH M ER", "K AA S T OW M EH R", "CH UW S T OW M AH R", "K AH S T AH M AH R")
    assert len(got) == lexicon_id.MAX_PRONUNCIATIONS
    assert lexicon_id.pronunciations("saldo", ("S AO L D OW",)) == ("S AA L D OW",)  # not a loanword


def test_digits_and_symbols_are_refused() -> None:
    with pytest.raises(ValueError, match="unexpected '1'"):
        lexicon_id.pronunciations("tekan1")
