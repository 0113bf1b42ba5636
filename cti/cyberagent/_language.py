"""Which language a customer wrote in: Bahasa Indonesia or English, by the words each language uses most."""

from __future__ import annotations

import re
from typing import Final

from cti.faq import SHORT_FORMS
from cti.types import Language

__all__ = ["detect_language"]

_WORD: Final = re.compile(r"[^\W\d_]+")
_ID: Final = frozenset("""
    yang dan di ke dari untuk dengan ini itu atau apa apakah bagaimana gimana cara saya aku kami kita anda bisa
    dapat ada adalah akan sudah udah pada dalam juga jika kalau mau ingin saja nya tolong mohon berapa kapan mana
    siapa agar supaya karena tentang dong sih ya gak nggak tidak tak belum kok deh nih kenapa mengapa bagaimanakah
    terima kasih makasih halo hai selamat pagi siang sore malam tagihan pesanan bayar kuota paket internet rumah
    hilang ganti ubah cek lihat masih lagi sekali banget kalian layanan pelanggan barang kirim sampai hari jam
    bicara sambungkan hubungkan orang manusia beli berlangganan mahal lambat lemot rusak salah garansi kartu
    sandi lupa minta sudah belum bisakah tidaklah batal batalkan kembalikan
""".split()) | {short for short in SHORT_FORMS["id"] if short not in ("no", "hp")}
"""With the short forms of chat Indonesian (``sy``, ``gmn``)."""
_EN: Final = frozenset("""
    a an the and or of to in on for with is are was were be been can could how what when where which who why do
    does did i my me you your we our us it its this that there if at by from as am will would should please get
    about into than then so any some not don't doesn't i'm it's thanks thank hello hi hey good morning evening
    bill invoice order pay payment data plan home phone lost change check want need speak talk person agent
    still again very really much many help delivery return broken slow working password buy
""".split()) | {short for short in SHORT_FORMS["en"] if len(short) > 1}


def detect_language(text: str, default: Language = "id") -> Language:
    """``id`` or ``en``: the language more of the message's words belong to; ``default`` on a tie."""
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    indonesian = sum(word in _ID for word in words)
    english = sum(word in _EN for word in words)
    if indonesian == english:
        return default
    return "id" if indonesian > english else "en"
