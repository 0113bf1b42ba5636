"""An n-gram language model (ARPA text) of a domain's sentences, for PocketSphinx's open-question search.

Interpolated Witten-Bell smoothing, written in ARPA's back-off form. For a history *h* seen ``c(h)`` times with
``T(h)`` different next words::

    P(w | h) = (c(h, w) + T(h) * P(w | h')) / (c(h) + T(h))        h' is h without its oldest word

so a seen n-gram's entry is its interpolated probability and the history's back-off weight is
``T(h) / (c(h) + T(h))``: every history's distribution sums to one (a test checks). The unigrams are interpolated
the same way with the uniform distribution over the vocabulary; ``<s>`` is never predicted (log10 -99).

Why not the builder that ships in the ``pocketsphinx`` package (``pocketsphinx.lm.ArpaBoLM``): its distributions do
not sum to one (on the support line's English sentences the unigrams sum to 0.5 and bigram histories to 0.25-0.75:
the discount of the unigrams has nowhere to go and the back-off weights are computed from those). IRSTLM (Debian)
is correct but a program to run in a subprocess with files; a few hundred sentences need forty lines and a few
milliseconds. The model is built when a decoder first meets the dictation, never shipped and never downloaded.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable

from cti.speech.asr._types import Dictation

__all__ = ["ORDER", "arpa"]

ORDER = 3
_START, _END = "<s>", "</s>"
_NEVER = -99.0


def _log10(p: float) -> float:
    return math.log10(p) if p > 0 else _NEVER


def arpa(dictation: Dictation, key: Callable[[str], str] = str, *, order: int = ORDER) -> str:
    """The ARPA text of an interpolated Witten-Bell model of ``dictation``'s sentences (each between ``<s>`` and
    ``</s>``), every word written as ``key(word)`` (its dictionary entry: Indonesian words are namespaced)."""
    counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(order + 1)]  # counts[n][ngram]
    for sentence in dictation.sentences:
        words = [_START, *(key(word) for word in sentence.split()), _END]
        for n in range(1, order + 1):
            for i in range(max(1, n - 1), len(words)):  # the predicted word is never <s>
                counts[n][tuple(words[i - n + 1:i + 1])] += 1
    vocabulary = sorted({gram[0] for gram in counts[1]} | {_START})
    successors: list[defaultdict[tuple[str, ...], set[str]]] = [defaultdict(set) for _ in range(order + 1)]
    history_total: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(order + 1)]
    for n in range(1, order + 1):
        for gram, count in counts[n].items():
            successors[n][gram[:-1]].add(gram[-1])
            history_total[n][gram[:-1]] += count

    probability: list[dict[tuple[str, ...], float]] = [{} for _ in range(order + 1)]
    predictable = [w for w in vocabulary if w != _START]
    total, types = history_total[1][()], len(successors[1][()])
    for word in predictable:
        probability[1][(word,)] = (counts[1][(word,)] + types / len(predictable)) / (total + types)

    def lower(gram: tuple[str, ...]) -> float:
        """P(gram[-1] | gram[1:-1]) by the model of order len(gram) - 1, backing off as ARPA does."""
        n = len(gram) - 1
        if (found := probability[n].get(gram[1:])) is not None:
            return found
        return backoff(gram[1:-1]) * lower(gram[1:])

    def backoff(history: tuple[str, ...]) -> float:
        seen = len(successors[len(history) + 1].get(history, ()))
        return seen / (history_total[len(history) + 1][history] + seen) if seen else 1.0

    for n in range(2, order + 1):
        for gram, count in counts[n].items():
            history = gram[:-1]
            seen = len(successors[n][history])
            probability[n][gram] = (count + seen * lower(gram)) / (history_total[n][history] + seen)

    lines = ["\\data\\", *(f"ngram {n}={len(probability[n]) + (n == 1)}" for n in range(1, order + 1)), ""]
    for n in range(1, order + 1):
        lines.append(f"\\{n}-grams:")
        entries = sorted(probability[n].items())
        if n == 1:
            entries = sorted([*entries, ((_START,), 0.0)])
        for gram, p in entries:
            logp = _NEVER if gram == (_START,) else _log10(p)
            if n < order:
                lines.append(f"{logp:.6f} {' '.join(gram)} {_log10(backoff(gram)):.6f}")
            else:
                lines.append(f"{logp:.6f} {' '.join(gram)}")
        lines.append("")
    lines.append("\\end\\")
    return "\n".join(lines) + "\n"
