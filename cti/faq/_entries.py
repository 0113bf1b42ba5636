"""FAQ entries as supervisors write them and the store keeps them: texts per language, a product line, a status.

An answer is plain text in a small safe subset: no markup at all (no ``<`` or ``>``), no control characters but
line breaks, and links written as bare ``https://`` addresses (:data:`LINK`). Pages show it as text and make a
link only of what :func:`answer_parts` says is one, so nothing a supervisor types can run in a customer's page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from cti.errors import InvalidInput, Problem

__all__ = [
    "ANSWER_LENGTH",
    "ENTRY_ID",
    "FAQ_LANGUAGES",
    "FAQ_STATUSES",
    "KEYWORDS",
    "LINK",
    "PRODUCT_LINES",
    "QUESTION_LENGTH",
    "FaqEntry",
    "FaqStatus",
    "FaqText",
    "FaqVersion",
    "answer_parts",
    "read_texts",
]

FaqStatus = Literal["draft", "published", "archived"]
FAQ_STATUSES: Final[tuple[FaqStatus, ...]] = ("draft", "published", "archived")
"""Only published entries are searched; archived ones are kept (with their versions) but listed only on request."""
FAQ_LANGUAGES: Final = ("id", "en")
PRODUCT_LINES: Final = ("plan", "addon", "device", "home", "accessory")
"""The CRM's product categories (``ProductRecord.category``); an entry without one is about everything."""
ENTRY_ID: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
QUESTION_LENGTH: Final = 300
ANSWER_LENGTH: Final = 4000
KEYWORDS: Final = 30
"""At most this many keywords or alternative phrasings per language, each up to :data:`QUESTION_LENGTH`."""
LINK: Final = re.compile(r"https://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9\-._~%!$&'()*+,;=:@/?#]*)?")
"""A link in an answer: a bare https address (no other scheme is ever made a link)."""
_FORBIDDEN: Final = re.compile(r"[<>\x00-\x09\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class FaqText:
    """One language's question, answer and extra phrasings (found by search, never shown)."""

    question: str
    answer: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FaqVersion:
    """One saved version: editing never overwrites, it adds the next version."""

    entry_id: str
    version: int
    product_line: str | None
    texts: Mapping[str, FaqText]
    author: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """An entry as it is now: its latest version, status and counters."""

    entry_id: str
    status: FaqStatus
    version: int
    product_line: str | None
    texts: Mapping[str, FaqText]
    author: str
    """Who saved the latest version."""
    created_at: datetime
    updated_at: datetime
    helpful: int = 0
    not_helpful: int = 0


def _text_problems(where: str, value: object, limit: int) -> tuple[str | None, list[Problem]]:
    if not isinstance(value, str) or not value.strip():
        return None, [Problem(where, "required", code="required")]
    text = value.strip().replace("\r\n", "\n")
    if len(text) > limit:
        return None, [Problem(where, f"at most {limit} characters", code="too_long")]
    if _FORBIDDEN.search(text):
        return None, [Problem(where, "plain text only: no '<', '>' or control characters", code="unsafe_text")]
    return text, []


def read_texts(raw: Mapping[str, object]) -> dict[str, FaqText]:
    """Texts per language from ``{"id": {"question", "answer", "keywords"}, "en": {...}}``.

    At least one language; :class:`InvalidInput` (code ``invalid_faq``) with every problem otherwise."""
    problems: list[Problem] = []
    texts: dict[str, FaqText] = {}
    for lang in raw:
        if lang not in FAQ_LANGUAGES:
            problems.append(Problem(f"texts.{lang}", "a language of the FAQ: id or en", code="unknown_language"))
    for lang in FAQ_LANGUAGES:
        entry = raw.get(lang)
        if entry is None:
            continue
        if not isinstance(entry, Mapping):
            problems.append(Problem(f"texts.{lang}", "an object with question and answer", code="invalid"))
            continue
        question, found = _text_problems(f"texts.{lang}.question", entry.get("question"), QUESTION_LENGTH)
        problems += found
        answer, found = _text_problems(f"texts.{lang}.answer", entry.get("answer"), ANSWER_LENGTH)
        problems += found
        keywords: list[str] = []
        raw_keywords = entry.get("keywords", [])
        if not isinstance(raw_keywords, list) or len(raw_keywords) > KEYWORDS:
            problems.append(Problem(f"texts.{lang}.keywords", f"a list of at most {KEYWORDS} phrases",
                                    code="invalid"))
        else:
            for n, keyword in enumerate(raw_keywords):
                phrase, found = _text_problems(f"texts.{lang}.keywords.{n}", keyword, QUESTION_LENGTH)
                problems += found
                if phrase is not None:
                    keywords.append(phrase)
        if question is not None and answer is not None:
            texts[lang] = FaqText(question, answer, tuple(keywords))
    if not texts and not problems:
        problems.append(Problem("texts", "a question and an answer in id, en or both", code="required"))
    if problems:
        raise InvalidInput("invalid FAQ entry: " + "; ".join(map(str, problems)), problems, code="invalid_faq")
    return texts


def answer_parts(answer: str) -> list[tuple[Literal["text", "link"], str]]:
    """The answer cut into plain text and links, in order: what a page shows as text nodes and ``<a>``."""
    parts: list[tuple[Literal["text", "link"], str]] = []
    at = 0
    for match in LINK.finditer(answer):
        if match.start() > at:
            parts.append(("text", answer[at:match.start()]))
        parts.append(("link", match.group()))
        at = match.end()
    if at < len(answer):
        parts.append(("text", answer[at:]))
    return parts
