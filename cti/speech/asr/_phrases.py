"""Spoken choices of the standard menus, per language: the phrase tables IVR flows and the benchmark share.

A menu maps each language to ``{phrase: intent}``. Synonyms are separate phrases with the same intent. The
language menu lists every phrase under both languages: the caller has not chosen yet.
"""

from __future__ import annotations

from collections.abc import Mapping

from cti.speech.asr._types import Grammar
from cti.types import Language

__all__ = ["LANGUAGE_MENU", "MAIN_MENU", "MENUS", "YES_NO", "Menu", "grammar"]

Menu = Mapping[Language, Mapping[str, str]]

_LANGUAGE_PHRASES: dict[str, str] = {
    "indonesia": "lang_id",
    "bahasa indonesia": "lang_id",
    "english": "lang_en",
    "inggris": "lang_en",
    "bahasa inggris": "lang_en",
}

LANGUAGE_MENU: Menu = {"id": _LANGUAGE_PHRASES, "en": _LANGUAGE_PHRASES}

MAIN_MENU: Menu = {
    "id": {
        "status pesanan": "order_status",
        "cek pesanan": "order_status",
        "lacak pesanan": "order_status",
        "pesanan saya": "order_status",
        "saldo": "balance",
        "cek saldo": "balance",
        "tagihan": "balance",
        "cek tagihan": "balance",
        "operator": "agent",
        "bicara dengan agen": "agent",
        "layanan pelanggan": "agent",
        "customer service": "agent",
        "penjualan": "sales",
        "beli produk": "sales",
        "pembelian": "sales",
        "gangguan": "technical",
        "masalah teknis": "technical",
        "internet mati": "technical",
        "bantuan teknis": "technical",
    },
    "en": {
        "order status": "order_status",
        "where is my order": "order_status",
        "check my order": "order_status",
        "track my order": "order_status",
        "balance": "balance",
        "check my balance": "balance",
        "my bill": "balance",
        "account balance": "balance",
        "agent": "agent",
        "customer service": "agent",
        "representative": "agent",
        "operator": "agent",
        "talk to a person": "agent",
        "sales": "sales",
        "buy a product": "sales",
        "new subscription": "sales",
        "technical support": "technical",
        "technical problem": "technical",
        "internet is down": "technical",
    },
}

YES_NO: Menu = {
    "id": {"ya": "yes", "iya": "yes", "benar": "yes", "betul": "yes", "tidak": "no", "bukan": "no",
           "enggak": "no"},
    "en": {"yes": "yes", "yeah": "yes", "correct": "yes", "that's right": "yes", "no": "no", "nope": "no",
           "not really": "no"},
}

MENUS: Mapping[str, Menu] = {"language": LANGUAGE_MENU, "main": MAIN_MENU, "yes_no": YES_NO}


def grammar(menu: Menu, language: Language) -> Grammar:
    """The grammar of ``menu`` in ``language``."""
    return Grammar.of(menu[language])
