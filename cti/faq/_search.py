"""Searching the published FAQ: TF-IDF over character n-grams (scikit-learn), in memory, one index per language.

Why character n-grams rather than words: Indonesian builds words with affixes (``bayar``, ``pembayaran``,
``dibayarkan``, ``tagihannya``) and customers type fast (``tagihn``, ``pasword``, ``internt``). Word tokens need a
stemmer, and a home-made one is wrong often enough on both (this module had one, with BM25 over its stems:
bench/cyberagent.py keeps it as the baseline). The 3- to 5-letter pieces of each word (scikit-learn's ``char_wb``
analyzer) share most of their pieces between a root and its affixed forms and between a word and its typo, with no
stemmer at all, in either language. ``sublinear_tf`` keeps a long answer from winning by repetition.

Each entry is matched through its *phrasings* — the question and every keyword or alternative phrasing a supervisor
wrote — and through its whole text (phrasings and answer together): its score is ``PHRASING_WEIGHT`` times the
cosine of the query with its closest phrasing plus the rest times the cosine with the whole text. The closest
phrasing is what makes a paraphrase find its entry; the whole text breaks ties with words only the answer has.
Scores are cosines, so they lie in [0, 1] and mean the same from one FAQ to another: the virtual agent
(:mod:`cti.cyberagent`) reads them as its confidence.

Which entry a customer's *question* is about — what the virtual agent needs, and how sure it may be — is a
classification, not a ranking: :meth:`FaqIndex.classify` trains a logistic regression per language (scikit-learn,
on character 2-5-grams and word 1-2-grams) whose classes are the entries and whose examples are each entry's
phrasings and its answer's sentences, plus a "none of the FAQ" class learnt from :mod:`cti.faq._words`'s
out-of-scope phrasings: its probability is taken from the entries', so a question about something else that
shares a word with an entry leaves every entry a low probability. Its probabilities separate a right match from a
near miss better than cosines do (docs/benchmarks.md, "CyberAgent"). It is trained on first use, or by
:meth:`FaqIndex.prepare`, in a second or two per language for a few hundred entries.

Short forms (``sy``, ``brp``, ``u``, ``wheres``) are written out before anything else (:func:`tokenize`).

Stop words (a short list per language) are removed before the n-grams are cut, so "how do I" or "bagaimana cara"
match nothing by themselves; a query of stop words only finds nothing. Entries scoring under :data:`MIN_SCORE`
(sharing a few stray n-grams with the query, not a word) are left out. A few hundred entries index in tens of
milliseconds, so the index is simply rebuilt when the published set changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import FeatureUnion  # type: ignore[import-untyped]

from cti.faq._entries import FaqEntry
from cti.faq._words import FRAMED_OUT_OF_SCOPE, OUT_OF_SCOPE, expand_short_forms

__all__ = ["MIN_SCORE", "NONE", "PHRASING_WEIGHT", "SNIPPET_LENGTH", "FaqHit", "FaqIndex", "normalize", "snippet",
           "tokenize"]

SNIPPET_LENGTH: Final = 160
MIN_SCORE: Final = 0.12
"""Hits under this cosine share only stray letters with the query; the public search leaves them out."""
PHRASING_WEIGHT: Final = 0.7
NONE: Final = "none"
"""The label of a customer's question none of the FAQ answers (:class:`FaqIndex`'s ``questions``)."""
_NGRAMS: Final = (3, 5)
_WORD: Final = re.compile(r"[^\W_]+")
_STOP: Final[dict[str, frozenset[str]]] = {
    "id": frozenset("""
        yang dan di ke dari untuk dengan ini itu atau apa apakah bagaimana gimana cara saya aku kami kita anda
        bisa dapat ada adalah akan sudah pada dalam juga jika kalau mau ingin saja yg nya lah kah tolong mohon
        berapa kapan mana siapa agar supaya oleh sebagai karena tentang bagi para pun dong sih ya gak nggak
        kok deh nih tuh gue gw apakah bagaimanakah caranya gmn gimana
    """.split()),
    "en": frozenset("""
        a an the and or of to in on for with is are was were be been can could how what when where which who why
        do does did i my me you your we our us it its this that there if at by from as am will would should
        please get about into than then so any some i'm im is it's
    """.split()),
}


def tokenize(text: str, lang: str) -> list[str]:
    """The text's words in ``lang`` (``id`` or ``en``): lowercase letters and digits, stop words left out (another
    language is only lowercased and split), short forms written out (``sy`` saya, ``u`` you: :mod:`cti.faq._words`)."""
    stop = _STOP.get(lang, frozenset())
    return [word for word in _WORD.findall(expand_short_forms(text, lang)) if word not in stop]


def normalize(text: str, lang: str) -> str:
    """What the n-grams are cut from: the words of :func:`tokenize`, joined by spaces."""
    return " ".join(tokenize(text, lang))


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
    """Cosine similarity in [0, 1] (see the module's docstring)."""


_CLASSIFIER_C: Final = 100.0
"""Weak regularisation: each entry has few examples, and they are its own words (no noise to smooth away)."""


class _Classifier:
    """Logistic regression over one language's entries and a "none of the FAQ" class (see the module's
    docstring)."""

    def __init__(self, lang: str, entries: list[FaqEntry], questions: Iterable[tuple[str, str]] = ()) -> None:
        examples: list[str] = []
        labels: list[int] = []
        numbers = {entry.entry_id: n for n, entry in enumerate(entries)}
        for label, question in questions:
            number = -1 if label == NONE else numbers.get(label)
            normalized = normalize(question, lang)
            if number is not None and normalized:
                examples.append(normalized)
                labels.append(number)
        for n, entry in enumerate(entries):
            text = entry.texts[lang]
            sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.answer) if s]
            for phrase in (text.question, *text.keywords, *sentences):
                normalized = normalize(phrase, lang)
                if normalized:
                    examples.append(normalized)
                    labels.append(n)
        # The "none of the FAQ" class (label -1): its probability is taken from the entries', never returned.
        for phrase in (*OUT_OF_SCOPE.get(lang, ()), *FRAMED_OUT_OF_SCOPE.get(lang, ())):
            examples.append(normalize(phrase, lang))
            labels.append(-1)
        self.entries = entries
        self.features = FeatureUnion([
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=False,
                                      dtype=np.float32)),
            ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=False,
                                      dtype=np.float32)),
        ])
        matrix = self.features.fit_transform(examples)
        self.model = None if len(set(labels)) < 2 else \
            LogisticRegression(C=_CLASSIFIER_C, max_iter=2000).fit(matrix, labels)

    def probabilities(self, query: str) -> Any:
        """Each entry's probability, in entry order (with the out-of-scope class's, they sum to 1)."""
        if self.model is None:
            return np.ones(len(self.entries), dtype=np.float64)
        found = np.zeros(len(self.entries) + 1, dtype=np.float64)
        found[self.model.classes_] = self.model.predict_proba(self.features.transform([query]))[0]
        return found[:-1]


class _Corpus:
    """One language's entries: the fitted vectorizer, a row per phrasing and a row per entry's whole text."""

    def __init__(self, lang: str, entries: list[FaqEntry]) -> None:
        self.entries = entries
        phrasings: list[str] = []
        owners: list[int] = []
        wholes: list[str] = []
        for n, entry in enumerate(entries):
            text = entry.texts[lang]
            mine = [normalize(phrase, lang) for phrase in (text.question, *text.keywords)]
            phrasings += mine
            owners += [n] * len(mine)
            wholes.append(" ".join([*mine, normalize(text.answer, lang)]))
        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=_NGRAMS, sublinear_tf=True,
                                          lowercase=False, dtype=np.float32)
        self.vectorizer.fit([*phrasings, *wholes])
        self.phrasings: Any = self.vectorizer.transform(phrasings)
        self.wholes: Any = self.vectorizer.transform(wholes)
        self.owners = np.asarray(owners, dtype=np.intp)

    def scores(self, query: str) -> Any:
        """Each entry's score for the (normalized) query, as an array in entry order."""
        vector = self.vectorizer.transform([query])
        if vector.nnz == 0:
            return np.zeros(len(self.entries), dtype=np.float32)
        by_phrasing = (self.phrasings @ vector.T).toarray().ravel()
        closest = np.zeros(len(self.entries), dtype=np.float32)
        np.maximum.at(closest, self.owners, by_phrasing)
        whole = (self.wholes @ vector.T).toarray().ravel()
        return PHRASING_WEIGHT * closest + (1 - PHRASING_WEIGHT) * whole


class FaqIndex:
    """The given entries, one corpus per language (an entry joins those it has a text in).

    ``questions``: customers' questions per language, each with the entry that answers it (its id) or
    :data:`NONE` (none of the FAQ does), for the classifier to learn from beside the entries' own phrasings; a
    question for an entry not among ``entries`` is left out."""

    def __init__(self, entries: Iterable[FaqEntry],
                 questions: Mapping[str, Sequence[tuple[str, str]]] | None = None) -> None:
        self._questions = questions or {}
        by_lang: dict[str, list[FaqEntry]] = {}
        count = 0
        for entry in entries:
            count += 1
            for lang in entry.texts:
                by_lang.setdefault(lang, []).append(entry)
        self._count = count
        self._by_id = {entry.entry_id: entry for found in by_lang.values() for entry in found}
        self._corpora = {lang: _Corpus(lang, found) for lang, found in by_lang.items()}
        self._classifiers: dict[str, _Classifier] = {}

    def __len__(self) -> int:
        return self._count

    def search(self, query: str, lang: str, *, product_line: str | None = None, limit: int = 10,
               min_score: float = MIN_SCORE) -> list[FaqHit]:
        """The best ``limit`` entries for ``query`` in ``lang`` (only those of ``product_line`` when given),
        highest score first, ties by entry id; entries scoring under ``min_score`` are left out."""
        corpus = self._corpora.get(lang)
        words = normalize(query, lang)
        if corpus is None or not words:
            return []
        scores = corpus.scores(words)
        hits = [FaqHit(entry, lang, float(score)) for entry, score in zip(corpus.entries, scores, strict=True)
                if score >= min_score and (product_line is None or entry.product_line == product_line)]
        hits.sort(key=lambda hit: (-hit.score, hit.entry.entry_id))
        return hits[:limit]

    def entry(self, entry_id: str) -> FaqEntry | None:
        """The entry of that id among those indexed (one with a text in some language), or None."""
        return self._by_id.get(entry_id)

    def entries(self, lang: str) -> list[FaqEntry]:
        """The entries with a text in ``lang``, in entry order."""
        corpus = self._corpora.get(lang)
        return [] if corpus is None else list(corpus.entries)

    def phrasings(self, lang: str) -> list[str]:
        """Every entry's question and alternative phrasings in ``lang``, in entry order."""
        corpus = self._corpora.get(lang)
        return [] if corpus is None else [phrase for entry in corpus.entries
                                          for phrase in (entry.texts[lang].question, *entry.texts[lang].keywords)]

    def prepare(self) -> None:
        """Train every language's classifier now rather than on its first question (it takes a second or so, which
        a server spends on a worker thread instead of its event loop)."""
        for lang, corpus in self._corpora.items():
            if lang not in self._classifiers:
                self._classifiers[lang] = _Classifier(lang, corpus.entries, self._questions.get(lang, ()))

    def classify(self, query: str, lang: str, *, limit: int = 2) -> list[FaqHit]:
        """The entries ``query`` in ``lang`` most likely asks about, most likely first, each with its probability
        as the score (with the "none of the FAQ" class's, which is never returned, they sum to 1: a question about
        something else leaves them all low); empty when the query has no words or the language no
        entries."""
        corpus = self._corpora.get(lang)
        words = normalize(query, lang)
        if corpus is None or not words:
            return []
        classifier = self._classifiers.get(lang)
        if classifier is None:
            classifier = self._classifiers[lang] = _Classifier(lang, corpus.entries, self._questions.get(lang, ()))
        found = classifier.probabilities(words)
        order = np.argsort(-found, kind="stable")[:limit]
        return [FaqHit(corpus.entries[n], lang, float(found[n])) for n in order]
