"""Words that explain what a caller says beside a menu's phrases: the grammar's garbage loop.

A menu's grammar alone always ends in some phrase, however far the caller's sentence is from the menu. With a loop
of the language's commonest words as an alternative (mapped to no intent), a sentence that is not on the menu is
explained by that loop; a few of them on either side of a phrase take the caller's fillers ("saldo saya", "uh
balance please") so that the phrase is still heard. The lists are the everyday words of each language (function
words, pronouns, hesitations, greetings, numbers), not taken from the benchmark's sentences; the words of the menu
being decoded are left out of its loop (docs/speech.md#pocketsphinx-default-for-both-languages).
"""

from __future__ import annotations

from collections.abc import Iterable

from cti.types import Language

__all__ = ["FILLER_WORDS", "GARBAGE_WORDS", "filler_words", "garbage_words"]

# What callers put around a menu answer: hesitations, politeness, the pronoun of "saldo saya". A closed, short list:
# with the whole garbage list beside the phrases, garbage words took half of a phrase and left a shorter phrase in
# the rest ("customer service" heard as "with my bill be").
FILLER_WORDS: dict[Language, tuple[str, ...]] = {
    "en": ("ah", "eh", "er", "hmm", "oh", "okay", "please", "thanks", "uh", "um", "well"),
    "id": ("aja", "bu", "deh", "dong", "eh", "mas", "mbak", "nih", "pak", "saya", "sih", "ya"),
}

GARBAGE_WORDS: dict[Language, tuple[str, ...]] = {
    "en": (
        "a", "about", "after", "ah", "all", "am", "an", "and", "are", "at", "be", "because", "but", "by", "call",
        "can", "come", "day", "do", "eh", "for", "from", "get", "go", "good", "have", "he", "hello", "her", "here",
        "hi", "his", "hmm", "how", "i", "if", "in", "is", "it", "just", "know", "like", "look", "make", "me",
        "morning", "need", "now", "of", "oh", "okay", "on", "one", "or", "out", "please", "right", "said", "see",
        "she", "so", "some", "take", "than", "thank", "thanks", "that", "the", "them", "then", "there", "they",
        "think", "this", "time", "to", "today", "two", "uh", "um", "up", "very", "want", "was", "we", "well",
        "what", "when", "where", "who", "why", "will", "with", "would", "you", "your",
    ),
    "id": (
        "ada", "adik", "aja", "akan", "aku", "anak", "apa", "bagus", "baik", "banyak", "bapak", "baru", "belum",
        "berapa", "besok", "bisa", "bu", "dan", "dari", "dia", "di", "dong", "dua", "eh", "gimana", "halo", "hari",
        "ibu", "ini", "itu", "jam", "jadi", "juga", "kalau", "kami", "kan", "kasih", "ke", "kenapa", "kita", "lagi",
        "mana", "mas", "mau", "mbak", "mereka", "nah", "nanti", "nih", "orang", "pagi", "pak", "pergi", "pulang",
        "rumah", "saja", "sama", "satu", "saya", "sekarang", "selamat", "sedang", "siapa", "sih", "sudah", "tadi",
        "tahu", "terima", "tiga", "tolong", "untuk", "wah", "ya", "yang",
    ),
}


def filler_words(language: Language, menu_words: Iterable[str]) -> tuple[str, ...]:
    """The words allowed beside a phrase of a menu in ``language``: the list without the menu's own words."""
    taken = set(menu_words)
    return tuple(w for w in FILLER_WORDS[language] if w not in taken)


def garbage_words(language: Language, menu_words: Iterable[str]) -> tuple[str, ...]:
    """The garbage loop's words for a menu in ``language``: the list without the menu's own words."""
    taken = set(menu_words)
    return tuple(w for w in GARBAGE_WORDS[language] if w not in taken)
