"""What a message asks for, besides an FAQ answer: rules per language, tried before the FAQ is searched.

Rules rather than a model: the few things that are not questions (asking for a person, anger, one's own order or
balance, buying, greetings) are said in a small number of ways, a rule is exact and explainable, and a
customer's request for a person must never be lost to a retrieval score. A message that asks *how* to do
something (``how do I``, ``bagaimana cara``) is a question for the FAQ even if it names an order or a purchase.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Literal

from cti.faq import expand_short_forms
from cti.types import Language

__all__ = ["RULES", "Intent", "asks_how", "match_intent", "tops_up", "wants_to_buy"]

Intent = Literal["person", "angry", "order_status", "balance", "purchase", "greeting", "thanks", "goodbye", "unhelpful"]


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


RULES: Final[Mapping[Language, tuple[tuple[Intent, re.Pattern[str]], ...]]] = {
    "en": (
        ("person", _rx(r"\b(human|real person|real people|live (agent|person|chat)|representative|operator)\b",
                       r"\b(speak|talk|chat|connect me|put me through|transfer me)\b.*\b(agent|person|someone|"
                       r"somebody|staff|supervisor|manager|human|representative|operator|people)\b",
                       r"\b(supervisor|manager)\b")),
        ("angry", _rx(r"\b(complain|complaint|useless|awful|worst|ridiculous|angry|furious|disappointed|"
                      r"unacceptable|stupid|pathetic|fed up|sick of|rubbish|scam|disgusting|incompetent|"
                      r"terrible service|hopeless|outrageous|sucks|garbage|crap)\b", r"!!!")),
        ("unhelpful", _rx(r"\b(not helpful|didn'?t help|doesn'?t help|not what i (asked|meant)|wrong answer|"
                          r"that'?s not it|no that'?s wrong)\b")),
        ("order_status", _rx(r"\b(status of (my|the) (order|purchase)s?( i (placed|made))?|"
                             r"my (order|purchase)'?s? status|order status|check my order|"
                             r"where('s| is) my (order|package|parcel|stuff|delivery)|has my (order|package|parcel)"
                             r" (shipped|arrived|been sent|been dispatched|left)|(updates?|news) (on|about) my "
                             r"(order|purchase|package|parcel|delivery)|^\W*order update|"
                             r"(order|package|parcel) on (its|the) way|"
                             r"check on (my|the) (order|delivery|package|parcel)|status on my order|"
                             r"(happening|going on) with my (order|package|parcel|delivery)|"
                             r"how far (along )?(is )?my (order|package|parcel|delivery)|"
                             r"how far along my (order|package|parcel|delivery)|"
                             r"progress (of|on) my (order|package|parcel|delivery))\b",
                             r"\bi (ordered|bought) .*\bwhere is it\b",
                             r"\b(waiting (on|for) my (order|package|parcel|delivery))\b.*"
                             r"\b(where|any idea|update)\b")),
        ("balance", _rx(r"\b(my (account |current )?balance|balance due|how much (do|did|should|must) i "
                        r"(still )?(owe|pay|need to pay|have to pay)|what do i (still )?owe|how much i (still )?owe|"
                        r"outstanding (balance|"
                        r"amount|bill)|amount due|how much is (my (bill|invoice)|due|left|outstanding|owed)|"
                        r"my current bill|what('s| is) my (bill|outstanding|total)|what('s| is) the total i|"
                        r"what do i (have|need) to pay|(anything|any(thing)? money) (outstanding|unpaid|owing)|"
                        r"check my (bill|balance)|behind on (my )?(payments|bills?)|paid (everything|it all) off|"
                        r"how much (is )?left to pay|owe (you|u)\b)",
                        r"\bhow much\b.*\b(owe|need to pay|have to pay|due|outstanding)\b",
                        r"\b(do i have|have i got|is there|are there|is any|are any)\b.*\b(unpaid|outstanding|owing|"
                        r"left to pay)\b")),
        ("purchase", _rx(r"\bi(?:'d| would)? (like|want|wanna|need) to (buy|order|purchase|get|subscribe)\b",
                         r"\binterested in (buying|signing up|subscribing|getting|ordering)\b",
                         r"\b(buy|purchase|order) (a|an|the) new\b")),
        ("greeting", _rx(r"^\W*(hi|hello|hey|good (morning|afternoon|evening)|greetings)\b")),
        ("goodbye", _rx(r"\b(bye|goodbye|see you|that'?s all)\b")),
        ("thanks", _rx(r"\b(thanks|thank you|thx|cheers|much appreciated)\b")),
    ),
    "id": (
        ("person", _rx(r"\b(manusia|orang (sungguhan|asli|beneran|betulan)|operator|petugas|supervisor|atasan|"
                       r"manajer|cs asli)\b",
                       r"\b(bicara|ngobrol|ngomong|berbicara|sambungkan|hubungkan|alihkan|oper)\b.*\b(agen|orang|cs|"
                       r"petugas|staf|operator|manusia)\b",
                       r"\bagen\b")),
        ("angry", _rx(r"\b(komplain|keluhan|mengeluh|kecewa|marah|payah|bodoh|tidak becus|(ng)?gak becus|"
                      r"buruk sekali|jelek (banget|sekali)|penipu|penipuan|kesal|kesel|sebel|muak|keterlaluan|"
                      r"parah kalian|lapor(kan)? kalian)\b", r"!!!")),
        ("unhelpful", _rx(r"\b(tidak membantu|gak membantu|nggak membantu|bukan itu|bukan itu maksud saya|"
                          r"jawabannya salah|salah jawab)\b")),
        ("order_status", _rx(r"\b(status (pesanan|order|orderan|delivery|pengiriman)|cek (pesanan|order)|"
                             r"(pesanan|pesananku|order|orderan|orderanku|kiriman|paket) (saya |aku |ku )?"
                             r"(sudah |masih |sekarang )?(sampai (di ?)?mana|di ?mana|dikirim belum|sudah dikirim|"
                             r"sudah diproses|diproses|posisinya|gimana kabarnya|bagaimana kabarnya|kok (lama|belum)|"
                             r"belum (datang|sampai|dikirim)|udah sampai mana|sudah sampai mana)|"
                             r"update pengiriman pesanan|perkembangan (pesanan|order|orderan|paket|kiriman)|"
                             r"(yang|yg) saya (pesan|beli|order)\b.*\b(belum (datang|sampai|dikirim)|sudah dikirim|"
                             r"kok belum|posisinya|di ?mana|sampai mana))\b")),
        ("balance", _rx(r"\b(saldo|sisa tagihan|berapa tagihan|tagihan saya berapa|jumlah tagihan|total tagihan|"
                        r"tunggakan|utang saya|cek (tagihan|billing|bill)|nominal tagihan|outstanding|my bill|"
                        r"tagihan\w* (saya |aku |ku )?(bulan ini |sekarang )?(jadi |totalnya |jumlahnya )?berapa|"
                        r"berapa (yang|yg) (harus|mesti|perlu) (saya )?"
                        r"(bayar|dibayar)|jumlah (yang|yg) (harus|mesti|perlu) (saya )?(bayar|dibayar)|"
                        r"berapa (total |jumlah )(yang|yg) (harus|mesti|perlu) (saya )?(bayar|dibayar)|"
                        r"sisa (yang|yg) belum (saya )?(bayar|dibayar)|(sudah|udah) lunas (belum|blm)|"
                        r"berapa utang|utang saya)\b",
                        r"\bada (tagihan|utang|bill|billing|tunggakan)\w*( \w+){0,2} (yang|yg) belum "
                        r"(di)?(bayar|lunas)\b",
                        r"\bada (yang|yg) belum (saya )?(di)?bayar\b")),
        ("purchase", _rx(r"\b(mau|ingin|pengen|pingin|tertarik)( untuk)? (beli|membeli|berlangganan|pasang|"
                         r"memasang|pesan|memesan|order)\b")),
        ("greeting", _rx(r"^\W*(halo|hai|hi|hello|selamat (pagi|siang|sore|malam)|pagi|siang|sore|malam|"
                         r"assalamu'?alaikum|permisi)\b")),
        ("goodbye", _rx(r"\b(sampai jumpa|dadah|selamat tinggal|bye|sudah cukup|itu saja)\b")),
        ("thanks", _rx(r"\b(terima ?kasih|makasih|trims|thanks|tengkyu)\b")),
    ),
}
_HOW: Final[Mapping[Language, re.Pattern[str]]] = {
    "en": re.compile(r"\bhow (do|can|to|would|should|does)\b|\bwhat is the (procedure|process)\b|"
                     r"\bwhere (do|can|should|would) (i|we)\b"),
    "id": re.compile(r"\b(bagaimana|gimana|gmn) (cara|caranya|saya bisa|untuk|me\w+)\b|\b(cara|caranya|prosedur)\b"),
}
"""A question about how or where to do something (``where do i sign up for …`` is one since round 12)."""
_WHEN: Final[Mapping[Language, re.Pattern[str]]] = {
    "en": re.compile(r"\b(when|what date|which day|due date|deadline|why|how come)\b"),
    "id": re.compile(r"\b(kapan|tanggal|jatuh tempo|batas waktu|tenggat|mengapa|kenapa|kok)\b"),
}
"""A question about *when* a bill is due, or *why* it is what it is, is not one about how much is due."""
_NOT_BALANCE: Final[Mapping[Language, re.Pattern[str]]] = {
    "en": re.compile(r"\b(data|quota|late|fee|penalty|charges|items|breakdown|higher|increase|went up|download|pdf|"
                     r"copy|(already|just) paid|(?<!have )i paid|paid (through|via|with|by|yesterday|this)|"
                     r"on my bill|mean|means|meaning|explain|vat|tax)\b"),
    "id": re.compile(r"\b(kuota|data|denda|telat|naik|mahal|rincian|download|unduh|pdf|kepotong|terpotong|"
                     r"(sudah|udah|telah) (saya )?(bayar|membayar|transfer)|maksud\w*|arti\w*|(buat|untuk) apa|"
                     r"apa itu|itu apa|jelas\w*|ppn|pajak)\b"),
}
"""A balance's words in a question about something else: data left, a late fee, a payment already made, what a
line of the bill means."""
_NOT_STATUS: Final[Mapping[Language, re.Pattern[str]]] = {
    "en": re.compile(r"\b(how long|how many days|tracking (number|link)|estimated|damaged|broken|cancel\w*|return|"
                     r"address)\b"),
    "id": re.compile(r"\b(berapa lama|berapa hari|estimasi|resi|lacak|melacak|rusak|pecah|\w*batal\w*|cancel\w*|"
                     r"retur|kembalikan|alamat|ongkir|ceknya|lihatnya|melihatnya|liatnya)\b"),
}
"""An order's words in a question the FAQ answers: how long delivery takes, the tracking number, a return."""
_HOW_BLIND: Final = frozenset({"person", "angry", "unhelpful", "greeting", "thanks", "goodbye"})
"""Intents that hold even in a how-question ("how do I talk to a person")."""
_SHORT: Final = 6
"""Greetings, thanks and goodbyes count as such only in a short message: a longer one asks something too."""


def match_intent(text: str, lang: Language) -> Intent | None:
    """The first rule of ``lang`` the message matches, or None (an FAQ question, or nothing known)."""
    lowered = " ".join(expand_short_forms(text.replace("\u2019", "'"), lang).split())
    how = bool(_HOW[lang].search(lowered))
    words = len(lowered.split())
    for intent, pattern in RULES[lang]:
        if how and intent not in _HOW_BLIND:
            continue
        if intent in ("greeting", "thanks", "goodbye") and words > _SHORT:
            continue
        if intent == "balance" and (_WHEN[lang].search(lowered) or _NOT_BALANCE[lang].search(lowered)):
            continue
        if intent == "order_status" and _NOT_STATUS[lang].search(lowered):
            continue
        if pattern.search(lowered):
            return intent
    return None


def asks_how(text: str, lang: Language) -> bool:
    """Whether the message asks how or where to do something (``how do i``, ``where can i``, ``bagaimana cara``):
    a question for the FAQ, not the customer's own order, balance or buying, whoever reads it (the rules here, and
    the intent model in :class:`cti.cyberagent.CyberAgent`)."""
    lowered = " ".join(expand_short_forms(text.replace("\u2019", "'"), lang).split())
    return bool(_HOW[lang].search(lowered))


_WANTS: Final[Mapping[Language, re.Pattern[str]]] = {
    "en": re.compile(r"\b(buy|purchase|order|get|take|want|like|sign me up|subscribe|give me|let me|upgrade to)\b"),
    "id": re.compile(r"\b(beli|membeli|ambil|order|pesan|memesan|langganan|berlangganan|pasang|dipasang|"
                     r"dipasangin|pasangin|mau|ingin|minta|upgrade|buy|want|daftar|daftarin|daftarkan|mendaftar)\b"),
}
_NOT_BUYING: Final[Mapping[Language, re.Pattern[str]]] = {
    "en": re.compile(r"\b(change|switch|downgrade|cancel\w*|return|send back|give back|refund|warranty|"
                     r"where (can|do) i|broken|not working|how much is|price|cost|how (long|many|much)|when|"
                     r"my( \w+){0,2} (order|purchase)s?)\b"),
    "id": re.compile(r"\b(ganti|pindah|ubah|turun|\w*batal\w*|\w*cancel\w*|retur|garansi|rusak|harga|berapa|"
                     r"\w*(k|ng)embali\w*|balikin|refund|(pesanan|orderan|pesenan)(ku|( \w+){0,2} (saya|aku|ku)))\b"),
}
"""A named product in a message about what one has: changing, cancelling (in any affixed form: ``dibatalin``,
``dicancel``), returning or pricing it, or an order already placed (``my … order``, ``pesanan … saya``: "order" is
then a noun, not a verb of wanting)."""


def wants_to_buy(text: str, lang: Language) -> bool:
    """Whether a message that names one of the catalog's products asks for it ("i'll take the 60 GB plan", "mau
    ambil paket tanpa batas"): a verb of wanting, and not a how-question or one about changing, returning or
    pricing what one has. The rule for buying without naming a product is :data:`RULES`' narrower one."""
    lowered = " ".join(expand_short_forms(text.replace("\u2019", "'"), lang).split())
    return bool(_WANTS[lang].search(lowered)) and not _HOW[lang].search(lowered) \
        and not _NOT_BUYING[lang].search(lowered)


_TOP_UP: Final[Mapping[Language, re.Pattern[str]]] = {
    "en": re.compile(r"\b(data|quota|add-?ons?|top ?up|gigabytes?|gigs?)\b"),
    "id": re.compile(r"\b(kuota|data|add ?on|top ?up|isi ulang|giga)\b"),
}


def tops_up(text: str, lang: Language) -> bool:
    """Whether a message about buying speaks of more data ("kuota udah abis, mau beli lagi", "want to buy more
    data"): buying more of what one's plan has is the FAQ's (how to add data), and a sales lead only when it names
    a product of the catalog (the agent checks that)."""
    lowered = " ".join(expand_short_forms(text.replace("\u2019", "'"), lang).split())
    return bool(_TOP_UP[lang].search(lowered))
