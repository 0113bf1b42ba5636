"""Customers another CRM keeps: the record a connector hands over, the JSON contract an external system answers
in, and how such a record becomes the fields of cti's own copy (its *mirror*).

The external system is the authority on who a customer is (name, phones, e-mail, address, language, product line,
value tier); cti stays the authority on what happened with them here (contacts, consent, the PIN they verify
with, erasure). So a mirror takes the first from the external record and keeps the second: docs/crm.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from cti.types import Language

from ._records import VALUE_TIERS, CustomerFields

__all__ = ["EXTERNAL_REF_LENGTH", "ExternalCustomer", "ExternalRecordError", "external_customer", "mirrored_fields"]

EXTERNAL_REF_LENGTH: Final = 64
_TEXT: Final = {"name": 200, "email": 254, "address": 300, "city": 64, "region": 64, "country": 2, "segment": 32}
_MAX_PHONES: Final = 10


class ExternalRecordError(ValueError):
    """What an external system answered is not a customer record of the contract (the reason names the field,
    never its value: the value may be personal data)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalCustomer:
    """A customer as another CRM has them: ``ref`` is its own id for them (cti's copy keeps it as
    ``external_ref``); phones in any format (cti normalises them as it does its own)."""

    ref: str
    name: str
    phones: tuple[str, ...] = ()
    email: str | None = None
    address: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    language: Language = "id"
    segment: str | None = None
    value_tier: str | None = None


def _text(data: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise ExternalRecordError(f"{key!r} is missing")
        return None
    if not isinstance(value, str):
        raise ExternalRecordError(f"{key!r} is not a string")
    limit = EXTERNAL_REF_LENGTH if key == "id" else _TEXT[key]
    if len(value) > limit:
        raise ExternalRecordError(f"{key!r} is longer than {limit} characters")
    return value.strip() or None


def external_customer(data: object) -> ExternalCustomer:
    """A record of the JSON contract (docs/integration.md): an object with ``id`` and ``name`` (strings), and
    optionally ``phones`` (a list of strings), ``email``, ``address``, ``city``, ``region``, ``country``,
    ``language`` (``id`` or ``en``), ``segment``, ``value_tier`` (one of :data:`VALUE_TIERS`); other keys are
    ignored (the external system may say more than cti uses). :class:`ExternalRecordError` otherwise."""
    if not isinstance(data, Mapping):
        raise ExternalRecordError("a customer record is a JSON object")
    ref, name = _text(data, "id", required=True), _text(data, "name", required=True)
    assert ref is not None and name is not None
    phones = data.get("phones") or []
    if not isinstance(phones, list) or not all(isinstance(p, str) and 0 < len(p) <= 32 for p in phones):
        raise ExternalRecordError("'phones' is not a list of phone numbers")
    if len(phones) > _MAX_PHONES:
        raise ExternalRecordError(f"'phones' lists more than {_MAX_PHONES} numbers")
    language = data.get("language") or "id"
    if language not in ("id", "en"):
        raise ExternalRecordError("'language' is neither 'id' nor 'en'")
    tier = data.get("value_tier") or None
    if tier is not None and tier not in VALUE_TIERS:
        raise ExternalRecordError(f"'value_tier' is not one of {', '.join(VALUE_TIERS)}")
    segment = _text(data, "segment")
    region = _text(data, "region")
    country = _text(data, "country")
    return ExternalCustomer(
        ref=ref, name=name, phones=tuple(phones), email=_text(data, "email"), address=_text(data, "address"),
        city=_text(data, "city"), region=None if region is None else region.lower(),
        country=None if country is None else country.upper(), language="en" if language == "en" else "id",
        segment=None if segment is None else segment.lower(), value_tier=tier)


def mirrored_fields(current: CustomerFields | None, external: ExternalCustomer) -> CustomerFields:
    """cti's copy of ``external``: who they are from the external record; consent and lifetime value kept from
    ``current`` (cti's copy so far, None for a new one: no consent known, none assumed)."""
    base = current if current is not None else CustomerFields()
    return replace(base, name=external.name, phones=external.phones, email=external.email,
                   address=external.address, city=external.city, region=external.region, country=external.country,
                   language=external.language, segment=external.segment, value_tier=external.value_tier)
