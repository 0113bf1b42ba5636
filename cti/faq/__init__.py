"""The FAQ knowledge base: bilingual entries supervisors write (``_entries``) and their search (``_search``).

Pure: entries are stored by :class:`cti.persistence.FaqRepository` and served by :class:`cti.services.Faq`.
"""

from cti.faq._entries import (
    ANSWER_LENGTH,
    ENTRY_ID,
    FAQ_LANGUAGES,
    FAQ_STATUSES,
    KEYWORDS,
    LINK,
    PRODUCT_LINES,
    QUESTION_LENGTH,
    FaqEntry,
    FaqStatus,
    FaqText,
    FaqVersion,
    answer_parts,
    read_texts,
)
from cti.faq._search import (
    MIN_SCORE,
    NONE,
    PHRASING_WEIGHT,
    SNIPPET_LENGTH,
    FaqHit,
    FaqIndex,
    normalize,
    snippet,
    tokenize,
)
from cti.faq._words import FRAMED_OUT_OF_SCOPE, OUT_OF_SCOPE, SHORT_FORMS, expand_short_forms

__all__ = [
    "ANSWER_LENGTH",
    "ENTRY_ID",
    "FAQ_LANGUAGES",
    "FAQ_STATUSES",
    "FRAMED_OUT_OF_SCOPE",
    "KEYWORDS",
    "LINK",
    "MIN_SCORE",
    "NONE",
    "OUT_OF_SCOPE",
    "PHRASING_WEIGHT",
    "PRODUCT_LINES",
    "QUESTION_LENGTH",
    "SHORT_FORMS",
    "SNIPPET_LENGTH",
    "FaqEntry",
    "FaqHit",
    "FaqIndex",
    "FaqStatus",
    "FaqText",
    "FaqVersion",
    "answer_parts",
    "expand_short_forms",
    "normalize",
    "read_texts",
    "snippet",
    "tokenize",
]
