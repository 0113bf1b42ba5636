"""Answer templates with typed placeholders, rendered through an injected :class:`Verbalizer`.

A template is prompt text with placeholders ``{name:type}``, e.g. ``"Saldo Anda {balance:money}."``. The
types say how a value is read aloud: ``digits`` (one by one: order and customer numbers), ``number``,
``money``, ``date`` and ``text`` (spoken as it is, after an optional label translation). Any other brace is
an error, so a typo never reaches a caller as "curly bracket". Pure: the verbalizer does the words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal, Protocol, get_args

__all__ = [
    "PLACEHOLDER_TYPES",
    "Placeholder",
    "PlaceholderType",
    "TemplateError",
    "Verbalizer",
    "parse_template",
    "placeholders",
    "render_template",
]

PlaceholderType = Literal["digits", "number", "money", "date", "text"]
PLACEHOLDER_TYPES: tuple[str, ...] = get_args(PlaceholderType)
_TOKEN = re.compile(r"\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class TemplateError(ValueError):
    """A template is malformed, or a value cannot be read aloud as its placeholder's type."""


class Verbalizer(Protocol):
    """Turns values into words in a language ("id" or "en"); cti.ivr._speak provides the real one.

    Each method raises ValueError for a value it cannot say; the session then tries the next template.
    """

    def digits(self, value: str, language: str) -> str:
        """A string of digits read one by one ("1203" -> "satu dua nol tiga")."""
        ...

    def number(self, value: int | Decimal, language: str) -> str: ...

    def money(self, amount: Decimal, currency: str, language: str) -> str:
        """An amount in major units of an ISO 4217 currency ("IDR", "USD")."""
        ...

    def date(self, value: date, language: str) -> str: ...


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    type: PlaceholderType


def parse_template(text: str) -> tuple[str | Placeholder, ...]:
    """Split ``text`` into literal parts and placeholders; :class:`TemplateError` names a bad one."""
    parts: list[str | Placeholder] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() > position:
            parts.append(text[position:match.start()])
        position = match.end()
        inner = match.group(1)
        if inner is None:
            raise TemplateError(f"unbalanced {match.group(0)!r} at character {match.start()}")
        name, colon, kind = inner.partition(":")
        if not colon:
            raise TemplateError(f"placeholder {{{inner}}} needs a type: {{{inner}:<type>}} with <type> one of "
                                f"{', '.join(PLACEHOLDER_TYPES)}")
        if not _NAME.match(name):
            raise TemplateError(f"placeholder {{{inner}}}: {name!r} is not a field name")
        if kind not in PLACEHOLDER_TYPES:
            raise TemplateError(f"placeholder {{{inner}}}: unknown type {kind!r} "
                                f"(known: {', '.join(PLACEHOLDER_TYPES)})")
        parts.append(Placeholder(name, kind))  # type: ignore[arg-type]  # checked against the Literal above
    if position < len(text):
        parts.append(text[position:])
    return tuple(parts)


def placeholders(text: str) -> tuple[Placeholder, ...]:
    return tuple(part for part in parse_template(text) if isinstance(part, Placeholder))


def render_template(text: str, values: Mapping[str, object], language: str, verbalizer: Verbalizer, *,
                    currency: str = "IDR", labels: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The template with every placeholder read aloud in ``language``.

    ``labels`` maps a text field's raw value to its words in ``language`` (``{"status": {"shipped":
    "sudah dikirim"}}``). Raises :class:`TemplateError` when a value is missing or cannot be said as its type.
    """
    out: list[str] = []
    for part in parse_template(text):
        if isinstance(part, str):
            out.append(part)
            continue
        value = values.get(part.name)
        if value is None or value == "":
            raise TemplateError(f"no value for {part.name!r}")
        try:
            out.append(_say(part.type, value, language, verbalizer, currency, (labels or {}).get(part.name)))
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise TemplateError(f"{part.name!r} cannot be read as {part.type}: {exc}") from exc
    return "".join(out)


def _say(kind: PlaceholderType, value: object, language: str, verbalizer: Verbalizer, currency: str,
         labels: Mapping[str, str] | None) -> str:
    if kind == "text":
        raw = str(value)
        return labels.get(raw, raw) if labels else raw
    if kind == "digits":
        digits = str(value).replace(" ", "")
        if isinstance(value, bool) or not digits.isascii() or not digits.isdigit():
            raise ValueError(f"{value!r} is not a string of digits")
        return verbalizer.digits(digits, language)
    if kind == "date":
        return verbalizer.date(_date(value), language)
    amount = _decimal(value)
    if kind == "money":
        return verbalizer.money(amount, currency, language)
    return verbalizer.number(int(amount) if amount == amount.to_integral_value() else amount, language)


def _date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    raise ValueError(f"{value!r} is not a date")


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a number") from exc
    else:
        raise ValueError(f"{value!r} is not a number")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result
