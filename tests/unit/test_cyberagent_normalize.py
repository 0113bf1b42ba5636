"""The customer's words brought to the agent's own before the scorers read them (round 8)."""

from __future__ import annotations

from cti.cyberagent._normalize import Vocabulary

KNOWN = frozenset("""
    barang pesanan sudah diserahkan ke ekspedisi belum tolong lacak paket saya telpon telepon lag game online
    update alamat email akun di mau simpan informasi bagaimana benar angkot kucing leave leaves model modem
""".split())


def test_spoken_indonesian_affixes_become_known_words() -> None:
    vocabulary = Vocabulary(KNOWN)
    assert vocabulary.normalize("Barang pesenan udh diserahin ke ekspedisi?", "id") \
        == "barang pesanan sudah diserahkan ke ekspedisi?"
    assert vocabulary.normalize("tolong lacakin paket saya", "id") == "tolong lacak paket saya"
    assert vocabulary.normalize("game online ngelag", "id") == "game online lag"
    assert vocabulary.word("nyimpen", "id") == "simpan"
    assert vocabulary.word("informasinya", "id") == "informasi"
    # English has none of these rules: an unknown English word stays as typed.
    assert vocabulary.word("ngelag", "en") == "ngelag"


def test_a_dropped_or_swapped_letter_is_a_typo_of_the_one_known_word() -> None:
    vocabulary = Vocabulary(KNOWN)
    assert vocabulary.normalize("mau updte alamat", "id") == "mau update alamat"
    assert vocabulary.normalize("typo in the emial", "en") == "typo in the email"


def test_real_words_the_agent_has_not_seen_are_not_corrected() -> None:
    vocabulary = Vocabulary(KNOWN)
    # A letter changed or added turns real words into other real ones: never read as a typo.
    assert vocabulary.word("angkat", "id") == "angkat"
    assert vocabulary.word("kuning", "id") == "kuning"
    assert vocabulary.word("leavess", "en") == "leavess"
    # Two known words one letter away: ambiguous, left alone.
    assert Vocabulary({"modela", "modelb"}).word("model", "en") == "model"
    # Short words are never touched.
    assert vocabulary.word("tri", "id") == "tri"
    assert vocabulary.normalize("model modem", "en") == "model modem"
