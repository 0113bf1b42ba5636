"""What an agent typed in the customer search, read once: the words of a name, a phone number, a customer number.

Names are compared *folded*: decomposed (NFKD), without their accents, case-folded, every character that is not a
letter or digit a space. "Dewi Léstari", "DEWI  lestari" and "dewi-lestari" fold alike, and the store keeps each
customer's folded name beside the name (``customers.search_name``), so both databases compare plain ASCII-ish
text with ``LIKE`` and need no collation or extension. Folding also turns ``%`` and ``_`` into spaces: what is
typed can never be a wildcard. Pure.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal

from cti.geography import normalize_e164

from ._validate import CUSTOMER_ID

__all__ = ["QUERY_LENGTH", "SEARCH_NAME_LENGTH", "CustomerQuery", "fold_name", "mask_phone", "read_query"]

QUERY_LENGTH: Final = 100
"""Characters at most in a search: no name, number or phone is longer."""
SEARCH_NAME_LENGTH: Final = 200
_MIN_CHARACTERS: Final = 2
_MIN_PHONE_DIGITS: Final = 4
_PHONE_PUNCTUATION: Final = re.compile(r"[\s\-.()+/]")


def fold_name(name: str) -> str:
    """``name`` for comparing: no accents, case-folded, words of letters and digits separated by one space."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in plain).split())[:SEARCH_NAME_LENGTH]


@dataclass(frozen=True, slots=True)
class CustomerQuery:
    """One search, read: each part is ``None``/empty when the text cannot mean it."""

    words: tuple[str, ...]
    """Folded words, each the start of a word of the name ("dewi les" finds Dewi Lestari)."""
    e164: str | None
    """The whole text as a phone number, normalised the way caller ids are."""
    digits: str | None
    """The text's digits without the trunk 0 or 00 (at least four): part of a stored number."""
    customer_id: str | None

    @property
    def kind(self) -> Literal["name", "digits"]:
        """What was searched for, for the audit log (which keeps no name or number)."""
        return "digits" if self.digits is not None or self.customer_id is not None else "name"

    @property
    def empty(self) -> bool:
        return not self.words and self.e164 is None and self.digits is None and self.customer_id is None


def read_query(text: str, *, default_country: str = "ID") -> CustomerQuery | None:
    """The search ``text`` means, or ``None`` when it is too short to search (fewer than two characters)."""
    text = " ".join(text.split())
    if len(text.replace(" ", "")) < _MIN_CHARACTERS:
        return None
    bare = _PHONE_PUNCTUATION.sub("", text)
    if bare.isascii() and bare.isdigit():
        # A number: a customer number, a whole phone number, or a part of one; never a name.
        digits = bare.lstrip("0")
        return CustomerQuery(
            words=(), e164=normalize_e164(text, default_country=default_country),
            digits=digits if len(digits) >= _MIN_PHONE_DIGITS else None,
            customer_id=bare if CUSTOMER_ID.fullmatch(bare) and bare == text else None)
    return CustomerQuery(words=tuple(dict.fromkeys(fold_name(text).split())), e164=None, digits=None,
                         customer_id=None)


def mask_phone(e164: str) -> str:
    """``e164`` with all but its country's first digits and its last four hidden ("+62•••••••0001"): enough to
    tell two customers apart with the caller on the line, too little to call them."""
    if len(e164) <= 8:
        return "•" * len(e164)
    return e164[:3] + "•" * (len(e164) - 7) + e164[-4:]
