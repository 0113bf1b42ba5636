"""What a caller's sentence carries besides the intent: an order number, an amount of money, a product.

The text is what the recognizer heard, so numbers arrive as words ("satu dua tiga ...", "lima ratus ribu", "one two
three", "five hundred dollars"); digits typed in a transcript are read too. Pure functions of the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from cti.types import Language

__all__ = ["NUMBER_WORDS", "Entities", "extract_entities", "parse_number"]

_DIGITS: Final[Mapping[Language, Mapping[str, int]]] = {
    "id": {"nol": 0, "kosong": 0, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7,
           "delapan": 8, "sembilan": 9},
    "en": {"zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9},
}
_TEENS: Final[Mapping[Language, Mapping[str, int]]] = {
    "id": {"sepuluh": 10, "sebelas": 11, "seratus": 100, "seribu": 1000},
    "en": {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
           "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
           "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90},
}
# Multipliers that apply to what precedes them within the current group ("dua puluh", "lima ratus", "two hundred")
_SMALL_SCALES: Final[Mapping[Language, Mapping[str, int]]] = {
    "id": {"belas": -10, "puluh": 10, "ratus": 100},  # belas: "dua belas" is 2 + 10
    "en": {"hundred": 100},
}
_BIG_SCALES: Final[Mapping[Language, Mapping[str, int]]] = {
    "id": {"ribu": 1000, "juta": 1_000_000, "miliar": 1_000_000_000},
    "en": {"thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000},
}
NUMBER_WORDS: Final[Mapping[Language, frozenset[str]]] = {
    language: frozenset({*_DIGITS[language], *_TEENS[language], *_SMALL_SCALES[language], *_BIG_SCALES[language]})
    for language in ("id", "en")
}
"""The words numbers are said with, per language (for a recognizer's grammar: an order number, an amount)."""
_CURRENCIES: Final[Mapping[str, str]] = {"rupiah": "IDR", "rp": "IDR", "dollar": "USD", "dollars": "USD",
                                         "dolar": "USD", "bucks": "USD"}
_DEFAULT_CURRENCY: Final[Mapping[Language, str]] = {"id": "IDR", "en": "IDR"}
_PRODUCTS: Final[Sequence[tuple[str, frozenset[str]]]] = (
    ("television", frozenset({"tv", "televisi", "channel", "channels", "cable", "kabel"})),
    ("internet", frozenset({"internet", "wifi", "modem", "router", "fiber", "broadband", "internetnya",
                            "internetan", "browsing", "indihome"})),
    ("mobile", frozenset({"hp", "ponsel", "seluler", "pulsa", "kuota", "mobile", "sim", "cellphone"})),
)
_ORDER_MIN_DIGITS: Final = 8
_WORD: Final = re.compile(r"[0-9]+|[^\W\d_]+")


@dataclass(frozen=True, slots=True)
class Entities:
    """What was found (None: not said). ``amount`` is in the currency's unit (rupiah, dollars)."""

    order_number: str | None = None
    amount: int | None = None
    currency: str | None = None
    product: str | None = None

    def as_dict(self) -> dict[str, str | int]:
        """The entities that were found, for JSON."""
        found = {"order_number": self.order_number, "amount": self.amount, "currency": self.currency,
                 "product": self.product}
        return {key: value for key, value in found.items() if value is not None}


def _is_number_word(word: str, language: Language) -> bool:
    return (word.isdigit() or word in _DIGITS[language] or word in _TEENS[language]
            or word in _SMALL_SCALES[language] or word in _BIG_SCALES[language])


def parse_number(words: Sequence[str], language: Language) -> int | None:
    """The value of a number said in words ("dua ratus lima puluh ribu", "two hundred fifty thousand"), or None."""
    total, group = 0, 0
    seen = False
    for word in words:
        if word.isdigit():
            group += int(word)
        elif word in _DIGITS[language]:
            group += _DIGITS[language][word]
        elif word in _TEENS[language]:
            value = _TEENS[language][word]
            if value >= 1000:
                total += value
            else:
                group += value
        elif word in _SMALL_SCALES[language]:
            scale = _SMALL_SCALES[language][word]
            if scale == -10:
                group += 10
            else:
                last = group % scale if group % scale else group
                group = group - last + max(last, 1) * scale
        elif word in _BIG_SCALES[language]:
            total += max(group, 1) * _BIG_SCALES[language][word]
            group = 0
        else:
            return None
        seen = True
    return total + group if seen else None


def _runs(words: Sequence[str], language: Language) -> list[tuple[int, int]]:
    """(start, end) of each run of number words."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, word in enumerate([*words, ""]):
        if word and _is_number_word(word, language):
            start = i if start is None else start
        elif start is not None:
            runs.append((start, i))
            start = None
    return runs


def _digit_string(words: Sequence[str], language: Language) -> str | None:
    """Digits said one by one ("satu dua tiga", "1 2 3", "12345678"), or None if the run is not digit by digit."""
    out = []
    for word in words:
        if word.isdigit():
            out.append(word)
        elif word in _DIGITS[language]:
            out.append(str(_DIGITS[language][word]))
        else:
            return None
    return "".join(out)


def extract_entities(text: str, language: Language) -> Entities:
    """The order number (8 or more digits said one by one), the amount (a number said with a currency or a
    thousand/million) and the product (internet, television, mobile) in ``text``."""
    words = [w.lower() for w in _WORD.findall(text)]
    order_number = amount = currency = None
    for start, end in _runs(words, language):
        run = words[start:end]
        digits = _digit_string(run, language)
        if order_number is None and digits is not None and len(digits) >= _ORDER_MIN_DIGITS:
            order_number = digits
            continue
        following = words[end] if end < len(words) else ""
        preceding = words[start - 1] if start > 0 else ""
        has_scale = any(w in _BIG_SCALES[language] for w in run)
        named = _CURRENCIES.get(following) or _CURRENCIES.get(preceding)
        if amount is None and (named or has_scale):
            value = parse_number(run, language)
            if value:
                amount, currency = value, named or _DEFAULT_CURRENCY[language]
    product = next((name for name, keys in _PRODUCTS if keys & set(words)), None)
    return Entities(order_number=order_number, amount=amount, currency=currency, product=product)
