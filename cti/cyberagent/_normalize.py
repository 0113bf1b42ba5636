"""A customer's words brought to the words the agent has seen, before any scorer reads them.

Every round's fresh question set lost most of its right answers to answerable questions in words none of the
agent's examples use: chat Indonesian's spoken forms (``diserahin``, ``lacakin``, ``nelpon``, ``malem``) and typos
(``updte``, ``emial``). The short forms of :data:`cti.faq.SHORT_FORMS` are a list, and a list is never complete;
these are rules over the agent's own vocabulary (:func:`cti.cyberagent.known_words`), so they carry to words no
list names. A word the agent knows is left alone, and so is one no rule brings to a known word:

- **spoken Indonesian affixes** (Indonesian only): the verb suffix ``-in`` is written ``-kan`` or ``-i``
  (``diserahin`` → ``diserahkan``, ``lacakin`` → ``lacak``), with ``-nya`` after it kept; the nasal prefixes of
  spoken verbs are dropped or undone (``ngelag`` → ``lag``, ``nelpon`` → ``telpon``, ``nyimpen`` → ``simpan``);
  a last syllable's ``e`` is the written ``a`` (``temen`` → ``teman``). The result must be a known word or a
  short form of one;
- **typos**: a word of five letters or more that is exactly one known word with two letters swapped or one letter
  dropped is that word (``emial`` → ``email``, ``updte`` → ``update``); with two or more candidates it is left as it
  is, since a wrong guess would change the question. A letter added or changed is not read as a typo: that turns
  real words the agent has not seen into words it knows (``kuning``, yellow, into "kucing", cat).

Names are left to :mod:`._elsewhere`, which reads the customer's own words (a brand is not to be corrected into one
of our words).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Final

from cti.faq import SHORT_FORMS, expand_short_forms

__all__ = ["Vocabulary"]

_WORD: Final = re.compile(r"[^\W\d_]+")
_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"
_NASAL: Final = (("nge", ""), ("ng", ""), ("ng", "k"), ("ny", "s"), ("n", "t"), ("m", "p"), ("me", ""))
"""Spoken Indonesian verbs' prefixes and the letter they stand for (``ngirim`` kirim, ``nyimpen`` simpan)."""
_MEMO: Final = 4096
"""Words whose reading is remembered (a chat's vocabulary repeats)."""


def _typos(word: str) -> Iterator[str]:
    """The words ``word`` may be a fast typist's typo of: two letters swapped, or one dropped. Not a letter added
    or changed: those turn real words into other real ones (``leaves`` is no typo of "leave", nor ``kuning``,
    yellow, of "kucing", cat)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    yield from (a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1)
    yield from (a + c + b for a, b in splits for c in _LETTERS)


def _spoken(word: str) -> Iterator[str]:
    """Written Indonesian forms a spoken one may stand for (:mod:`this module's <._normalize>` rules), likeliest
    first."""
    ending = ""
    if word.endswith("nya") and len(word) > 6:
        word, ending = word[:-3], "nya"
    stems = [word]
    if word.endswith("in") and len(word) > 5:
        root = word[:-2]
        stems = [root + "kan", root + "i", root]
    for stem in list(stems):
        for prefix, letter in _NASAL:
            if stem.startswith(prefix) and len(stem) - len(prefix) >= 3:
                stems.append(letter + stem[len(prefix):])
    for stem in list(stems):
        vowel = stem.rfind("e", 0, len(stem) - 1)
        if vowel > 0 and vowel >= len(stem) - 3 and stem[-1] not in "aeiou":
            stems.append(stem[:vowel] + "a" + stem[vowel + 1:])
    for stem in stems:
        yield stem + ending
        if ending:
            yield stem


class Vocabulary:
    """The agent's known words (:func:`cti.cyberagent.known_words`) and how a message's words are brought to them
    (:meth:`normalize`)."""

    def __init__(self, known: Collection[str]) -> None:
        self.known = frozenset(known)
        self._memo: dict[tuple[str, str], str] = {}

    def normalize(self, text: str, lang: str) -> str:
        """``text`` lowercased, short forms written out (:func:`cti.faq.expand_short_forms`), and each word the
        agent does not know replaced by the known word a rule brings it to, if one does."""
        said = expand_short_forms(text.replace("\u2019", "'"), lang)
        return _WORD.sub(lambda match: self.word(match.group(), lang), said)

    def word(self, word: str, lang: str) -> str:
        """One lowercase word's known form (itself when known, or when no rule finds one)."""
        if word in self.known or len(word) < 4:
            return word
        key = (word, lang)
        found = self._memo.get(key)
        if found is None:
            found = self._read(word, lang)
            if len(self._memo) >= _MEMO:
                self._memo.clear()
            self._memo[key] = found
        return found

    def _read(self, word: str, lang: str) -> str:
        if lang == "id":
            short = SHORT_FORMS["id"]
            for form in _spoken(word):
                form = short.get(form, form)
                if form != word and all(part in self.known for part in form.split()):
                    return form
        if len(word) >= 5:
            candidates = {typo for typo in _typos(word) if typo in self.known}
            if len(candidates) == 1:
                return candidates.pop()
        return word
