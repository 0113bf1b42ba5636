"""What the virtual agent says, in each language: short, polite, one idea per reply.

``{name}`` is the persona's first name, ``{question}`` an FAQ entry's question, ``{product}`` a product's name,
``{amount}`` money as ``Rp 1.250.000``, ``{orders}`` a list of orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from cti.types import Language

__all__ = ["ORDER_STATUS", "SHIPMENT_STATUS", "TEXTS", "text"]

TEXTS: Final[Mapping[str, Mapping[Language, str]]] = {
    "greeting": {
        "id": "Halo, saya {name}, asisten virtual. Ada yang bisa saya bantu? Saya bisa menjawab pertanyaan, "
              "mengecek pesanan dan tagihan Anda, atau menyambungkan Anda dengan agen kami.",
        "en": "Hello, I'm {name}, the virtual assistant. How can I help? I can answer questions, check your orders "
              "and bill, or put you through to one of our agents.",
    },
    "greeting_again": {"id": "Halo lagi! Ada yang bisa saya bantu?", "en": "Hello again! How can I help?"},
    "thanks": {"id": "Sama-sama! Ada lagi yang bisa saya bantu?", "en": "You're welcome! Anything else I can do?"},
    "goodbye": {"id": "Terima kasih sudah menghubungi kami. Sampai jumpa!",
                "en": "Thank you for contacting us. Goodbye!"},
    "sign_in": {
        "id": "Untuk melihat {what}, silakan masuk ke portal terlebih dahulu agar saya tahu ini memang Anda.",
        "en": "To look at {what}, please sign in to the portal first so I know it is really you.",
    },
    "what_orders": {"id": "pesanan Anda", "en": "your orders"},
    "what_balance": {"id": "tagihan Anda", "en": "your bill"},
    "no_orders": {"id": "Anda tidak punya pesanan yang sedang berjalan.", "en": "You have no open orders."},
    "orders": {"id": "Pesanan Anda: {orders}.", "en": "Your orders: {orders}."},
    "order": {"id": "nomor {number}, {status}", "en": "number {number}, {status}"},
    "balance": {"id": "Tagihan Anda yang belum dibayar: {amount}.", "en": "Your unpaid balance is {amount}."},
    "no_balance": {"id": "Tidak ada tagihan yang belum dibayar. Terima kasih!",
                   "en": "You have nothing left to pay. Thank you!"},
    "purchase": {
        "id": "Baik, saya teruskan minat Anda pada {product} ke tim penjualan kami; seorang agen akan segera "
              "melanjutkan di sini.",
        "en": "Great, I'm passing your interest in the {product} to our sales team; an agent will continue here "
              "shortly.",
    },
    "purchase_which": {
        "id": "Baik! Produk mana yang Anda minati? Misalnya: {products}.",
        "en": "Great! Which product are you interested in? For example: {products}.",
    },
    "handover_person": {"id": "Baik, saya sambungkan Anda dengan agen kami. Mohon tunggu sebentar.",
                        "en": "Of course, I'm putting you through to one of our agents. Please wait a moment."},
    "handover_angry": {
        "id": "Mohon maaf atas ketidaknyamanannya. Saya sambungkan Anda dengan agen kami agar segera ditangani.",
        "en": "I'm sorry for the trouble. I'm putting you through to one of our agents so this is dealt with "
              "right away.",
    },
    "handover_unsure": {
        "id": "Maaf, saya belum bisa menjawab itu dengan pasti. Saya sambungkan Anda dengan agen kami.",
        "en": "Sorry, I can't answer that with confidence. I'm putting you through to one of our agents.",
    },
    "rephrase": {"id": "Maaf, jawaban tadi kurang tepat. Bisa dijelaskan dengan kata lain?",
                 "en": "Sorry that didn't help. Could you put it another way?"},
    "empty": {"id": "Silakan ketik pertanyaan Anda.", "en": "Please type your question."},
}

ORDER_STATUS: Final[Mapping[str, Mapping[Language, str]]] = {
    "placed": {"id": "sudah diterima", "en": "received"},
    "paid": {"id": "sudah dibayar dan sedang disiapkan", "en": "paid and being prepared"},
    "shipped": {"id": "sedang dikirim", "en": "on its way"},
    "delivered": {"id": "sudah sampai", "en": "delivered"},
    "cancelled": {"id": "dibatalkan", "en": "cancelled"},
    "returned": {"id": "dikembalikan", "en": "returned"},
}
SHIPMENT_STATUS: Final[Mapping[str, Mapping[Language, str]]] = {
    "pending": {"id": "menunggu kurir", "en": "waiting for the carrier"},
    "in_transit": {"id": "dalam perjalanan", "en": "in transit"},
    "out_for_delivery": {"id": "sedang diantar hari ini", "en": "out for delivery today"},
    "delivered": {"id": "sudah diantar", "en": "delivered"},
    "failed_delivery": {"id": "gagal diantar", "en": "delivery failed"},
    "returned": {"id": "dikembalikan ke pengirim", "en": "returned to sender"},
}


def text(key: str, lang: Language, **values: str) -> str:
    return TEXTS[key][lang].format(**values)
