"""The baseline of bench/cyberagent.py: cti's FAQ search before scikit-learn, kept as it was (a home-made stemmer
and Okapi BM25 over its stems), with ``min_score`` added so the virtual agent can drive it.

As it was documented:

Tokens: lowercase, letters and digits only (punctuation splits words), a short stop-word list per language, and
a cheap stemmer: English loses plural and -ing/-ed endings; Indonesian loses its particles (-lah, -kah, -pun),
possessives (-nya, -ku, -mu), the suffixes -kan and -an, and one prefix (me-, pe-, ber-, ter-, di-, ke-, se-, with
the usual nasal recoding: ``menunggu`` → ``tunggu``, ``memakai`` → ``pakai``). The same stemmer runs on the
entries and the query, so where it is wrong it is at least wrong the same way on both sides.

Ranking is BM25 (k1 = 1.5, b = 0.75, the non-negative idf of Lucene) over one document per entry and language:
the question counted twice, the keywords and the answer once. A few hundred entries index in milliseconds, so the
index is simply rebuilt when the published set changes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from cti.faq import FaqEntry

__all__ = ["SNIPPET_LENGTH", "FaqHit", "FaqIndex", "snippet", "tokenize"]

SNIPPET_LENGTH: Final = 160
_K1: Final = 1.5
_B: Final = 0.75
_WORD: Final = re.compile(r"[^\W_]+")
_STOP: Final[dict[str, frozenset[str]]] = {
    "id": frozenset("""
        yang dan di ke dari untuk dengan ini itu atau apa apakah bagaimana gimana cara saya aku kami kita anda
        bisa dapat ada adalah akan sudah pada dalam juga jika kalau mau ingin saja yg nya lah kah tolong mohon
        berapa kapan mana siapa agar supaya oleh sebagai karena tentang bagi para pun dong sih ya
    """.split()),
    "en": frozenset("""
        a an the and or of to in on for with is are was were be been can could how what when where which who why
        do does did i my me you your we our us it its this that there if at by from as am will would should
        please get about into than then so any some
    """.split()),
}
_ID_PARTICLES: Final = ("lah", "kah", "pun")
_ID_POSSESSIVES: Final = ("nya", "ku", "mu")
_ID_SUFFIXES: Final = ("kan", "an")
_ID_PREFIXES: Final = (
    ("meny", "s"), ("peny", "s"), ("meng", ""), ("peng", ""), ("mem", "p"), ("pem", "p"), ("men", "t"), ("pen", "t"),
    ("ber", ""), ("ter", ""), ("me", ""), ("pe", ""), ("di", ""), ("ke", ""), ("se", ""),
)
_VOWELS: Final = frozenset("aiueo")
_MIN_STEM: Final = 4


def _stem_id(word: str) -> str:
    for endings in (_ID_PARTICLES, _ID_POSSESSIVES, _ID_SUFFIXES):
        for ending in endings:
            if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
                word = word[:-len(ending)]
                break
    for prefix, recode in _ID_PREFIXES:
        if not word.startswith(prefix):
            continue
        rest = word[len(prefix):]
        if recode and rest[:1] in _VOWELS:
            rest = recode + rest  # memakai → pakai, menunggu → tunggu, menyimpan → simpan
        if len(rest) >= _MIN_STEM:
            word = rest
        break
    return word


def _stem_en(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and len(word) > 3 and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for ending in ("ing", "ed"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            word = word[:-len(ending)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]  # shipping → ship, but billing → bill
            break
    return word


def tokenize(text: str, lang: str) -> list[str]:
    """The text's search terms in ``lang`` (``id`` or ``en``; another language is only lowercased and split)."""
    stop = _STOP.get(lang, frozenset())
    stem = _stem_id if lang == "id" else _stem_en if lang == "en" else str
    return [stem(word) for word in _WORD.findall(text.lower()) if word not in stop]


def snippet(answer: str, length: int = SNIPPET_LENGTH) -> str:
    """The answer's beginning, cut at a word, with an ellipsis when cut."""
    flat = " ".join(answer.split())
    if len(flat) <= length:
        return flat
    cut = flat[:length].rsplit(" ", 1)[0]
    return cut + "…"


@dataclass(frozen=True, slots=True)
class FaqHit:
    entry: FaqEntry
    lang: str
    score: float


@dataclass(frozen=True, slots=True)
class _Document:
    entry: FaqEntry
    terms: Counter[str]
    length: int


class FaqIndex:
    """BM25 over the given entries, one corpus per language (an entry joins those it has a text in)."""

    def __init__(self, entries: Iterable[FaqEntry]) -> None:
        self._documents: dict[str, list[_Document]] = {}
        self._frequency: dict[str, Counter[str]] = {}
        for entry in entries:
            for lang, text in entry.texts.items():
                terms = [*tokenize(text.question, lang) * 2, *tokenize(" ".join(text.keywords), lang),
                         *tokenize(text.answer, lang)]
                counted = Counter(terms)
                self._documents.setdefault(lang, []).append(_Document(entry, counted, len(terms)))
                self._frequency.setdefault(lang, Counter()).update(counted.keys())

    def __len__(self) -> int:
        return len({d.entry.entry_id for documents in self._documents.values() for d in documents})

    def search(self, query: str, lang: str, *, product_line: str | None = None, limit: int = 10,
               min_score: float = 0.0) -> list[FaqHit]:
        """The best ``limit`` entries for ``query`` in ``lang`` (only those of ``product_line`` when given),
        highest score first, ties by entry id; entries sharing no term with the query are left out."""
        documents: Sequence[_Document] = self._documents.get(lang, [])
        terms = set(tokenize(query, lang))
        if not documents or not terms:
            return []
        frequency = self._frequency[lang]
        count = len(documents)
        average = sum(d.length for d in documents) / count
        idf = {term: math.log(1 + (count - frequency[term] + 0.5) / (frequency[term] + 0.5)) for term in terms}
        hits = []
        for document in documents:
            if product_line is not None and document.entry.product_line != product_line:
                continue
            score = 0.0
            norm = _K1 * (1 - _B + _B * document.length / average)
            for term in terms:
                tf = document.terms.get(term, 0)
                if tf:
                    score += idf[term] * tf * (_K1 + 1) / (tf + norm)
            if score > 0 and score >= min_score:
                hits.append(FaqHit(document.entry, lang, score))
        hits.sort(key=lambda hit: (-hit.score, hit.entry.entry_id))
        return hits[:limit]
