"""Indonesian pronunciations in the en-us acoustic model's phones (ARPAbet), for PocketSphinx.

Indonesian spelling is regular, so a few ordered rules cover it: digraphs (ng, ny, sy, kh), final diphthongs
(ai, au, oi), vowels, consonants. What spelling does not say is kept as alternatives rather than guessed: *e* is
either the schwa (pəsanan) or é (cek), word-final *k* is often a glottal stop (tidak -> tida'), a final *r* is a
tap that the model's retroflex R does not match (benar -> bena'), and loanwords (internet, operator, customer
service) are said the English way too. :data:`EXCEPTIONS` fixes words the rules get wrong. At most four
pronunciations per word, the rule-based one first.
"""

from __future__ import annotations

__all__ = ["ENGLISH_LOANWORDS", "EXCEPTIONS", "MAX_PRONUNCIATIONS", "g2p", "pronunciations"]

MAX_PRONUNCIATIONS = 4

# Words whose vowels the rules get wrong (é written e, or a loanword's stress), ARPAbet, best first.
EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "cek": ("CH EH K", "CH EH"),
    # The glide is faint between two vowels (i-ya, i-a), and the final a often reduced.
    "iya": ("IY Y AA", "IY AA", "IY Y AH"),
    "teknis": ("T EH K N IH S", "T EH K N IY S"),
    "agen": ("AA G AH N", "AA G EH N"),
    "beli": ("B EH L IY", "B AH L IY"),
    "dengan": ("D AH NG AA N", "D EH NG AA N"),
    "internet": ("IH N T EH R N EH T", "IH N T AH R N AH T", "IH N T ER N EH T"),
    "operator": ("OW P AH R AA T OW R", "OW P EH R AA T OW R", "AA P ER EY T ER"),
    "enggak": ("EH NG G AA K", "AH NG G AA"),
    "nggak": ("NG G AA K", "NG G AA"),
    "inggris": ("IH NG G R IH S", "IY NG G R IY S"),
    "english": ("IH NG G L IH SH", "IY NG L IH SH", "EH NG L IH SH"),
    "indonesia": ("IY N D OW N AH S IY AA", "IH N D OW N EH S IY AA", "IH N D OW N IY ZH AH"),
    "produk": ("P R OW D UW K", "P R OW D UH K"),
    "email": ("IY M EY L",),
    "online": ("AO N L AY N",),
    # The spelling's reading too (c as in cek, u, e as schwa): how espeak-ng's Indonesian voice and some callers say it.
    "customer": ("K AH S T AH M ER", "K AA S T OW M EH R", "CH UW S T OW M AH R"),
    "service": ("S ER V IH S", "S EH R V IH S", "S AH R V IY S"),
    "paket": ("P AA K EH T",),
    "tiket": ("T IY K EH T",),
    "desember": ("D EH S EH M B EH R",),
    "november": ("N OW F EH M B EH R",),
    "oktober": ("AA K T OW B EH R",),
    "september": ("S EH P T EH M B EH R",),
}

# Words Indonesians also say the English way: the caller's choice, not ours.
ENGLISH_LOANWORDS: frozenset[str] = frozenset({
    "customer", "service", "internet", "operator", "online", "email", "english", "indonesia", "status", "agen",
})

_VOWELS = {"a": "AA", "i": "IY", "u": "UW", "o": "OW", "e": "AH"}
_FINAL_DIPHTHONGS = {"ai": "AY", "au": "AW", "oi": "OY"}
_DIGRAPHS = {"ng": ("NG",), "ny": ("N", "Y"), "sy": ("SH",), "kh": ("HH",), "gh": ("G",), "th": ("T",),
             "ph": ("F",), "dh": ("D",)}
_CONSONANTS = {"b": "B", "c": "CH", "d": "D", "f": "F", "g": "G", "h": "HH", "j": "JH", "k": "K", "l": "L",
               "m": "M", "n": "N", "p": "P", "q": "K", "r": "R", "s": "S", "t": "T", "v": "F", "w": "W",
               "x": "K S", "y": "Y", "z": "Z"}


def g2p(word: str) -> str:
    """The rule-based pronunciation of a lower-case Indonesian word (letters only), schwa for every *e*."""
    phones: list[str] = []
    i = 0
    while i < len(word):
        pair = word[i:i + 2]
        if pair in _FINAL_DIPHTHONGS and i + 2 == len(word):
            phones.append(_FINAL_DIPHTHONGS[pair])
            i += 2
        elif pair in _DIGRAPHS:
            phones.extend(_DIGRAPHS[pair])
            i += 2
        elif word[i] in _VOWELS:
            phones.append(_VOWELS[word[i]])
            i += 1
        elif word[i] in _CONSONANTS:
            phones.extend(_CONSONANTS[word[i]].split())
            i += 1
        else:
            raise ValueError(f"cannot pronounce {word!r}: unexpected {word[i]!r}")
    # Doubled letters are said once (Allah, ukkuran in loanwords).
    collapsed = [p for n, p in enumerate(phones) if n == 0 or p != phones[n - 1] or p in _VOWELS.values()]
    return " ".join(collapsed)


def _variants(word: str) -> list[str]:
    base = g2p(word)
    out = [base]
    # Every e as é instead of schwa, and a final k as the glottal stop (dropped: the model has no glottal stop).
    letters = _letters_to_phone_index(word)
    if "e" in letters:
        out.append(" ".join("EH" if letter == "e" else p for letter, p in zip(letters, base.split(), strict=True)))
    if word.endswith("k") and len(word) > 2:
        out.extend(c.rsplit(" ", 1)[0] for c in list(out) if c.endswith(" K"))
    # A final r is a light tap or trill, nothing like the model's retroflex R: without it too (benar -> bena').
    if word.endswith("r") and len(word) > 2:
        out.extend(c.rsplit(" ", 1)[0] for c in list(out) if c.endswith(" R"))
    return out


def _letters_to_phone_index(word: str) -> list[str]:
    # The letter behind each phone of g2p(word), for the e -> é alternative; "" for phones of digraphs.
    letters: list[str] = []
    i = 0
    while i < len(word):
        pair = word[i:i + 2]
        if pair in _FINAL_DIPHTHONGS and i + 2 == len(word):
            letters.append("")
            i += 2
        elif pair in _DIGRAPHS:
            letters.extend([""] * len(_DIGRAPHS[pair]))
            i += 2
        else:
            letters.extend([word[i]] * len((_CONSONANTS.get(word[i]) or "V").split()))
            i += 1
    phones = g2p(word).split()
    if len(letters) != len(phones):  # doubled letters collapsed: drop the alignment, keep no é variant
        return []
    return letters


def pronunciations(word: str, english: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Pronunciations of a normalized Indonesian word, best first; ``english`` adds the English ones of a loanword."""
    listed = EXCEPTIONS.get(word)
    found = list(listed) if listed else _variants(word)
    if word in ENGLISH_LOANWORDS:
        found.extend(p for p in english if p not in found)
    unique = list(dict.fromkeys(found))
    return tuple(unique[:MAX_PRONUNCIATIONS])

