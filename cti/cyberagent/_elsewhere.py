"""Whether a message is about another organisation's version of something the FAQ answers.

"jam berapa bank bca buka", "cara retur barang di tokopedia", "warranty claim for my samsung tv": every word but a
name is the FAQ's own (opening hours, returns, warranty), so the FAQ's classifier is sure of an entry, and the
answer would be ours about someone else's bank, shop or fridge. What tells them apart is the name. The names are
grouped by what the organisation is, and each group may appear only in the entries where a customer of ours has a
reason to name it: a bank or an e-wallet in paying our bill, a courier in tracking our parcel, an app or a phone
brand in a connection problem. Anywhere else (and anywhere at all for another shop, another operator, a utility)
the question is about them, and a person takes over. The company's own names (its products' words, and any given
to :class:`cti.cyberagent.Persona`) are never "another".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Final

__all__ = ["ELSEWHERE", "about_elsewhere", "named_elsewhere"]


ELSEWHERE: Final[Mapping[str, frozenset[str]]] = {
    # Banks, e-wallets, pay-later, card networks and the minimarts that take bill payments.
    "payment": frozenset("""
        bca bni bri mandiri cimb niaga permata danamon btn bsi ocbc maybank panin jenius hsbc citibank uob dbs
        bank gopay ovo shopeepay linkaja paypal visa mastercard amex alfamart indomaret alfamidi pegadaian
    """.split()),
    # Pay-later and lending companies: their instalments and bills are theirs, only how one pays ours is ours.
    "paylater": frozenset("""
        kredivo akulaku gopaylater spaylater shopeepaylater paylater atome indodana homecredit adakami
        easycash pinjol julo
    """.split()),
    # Couriers that may carry our own parcels.
    "courier": frozenset("""
        jne jnt j&t sicepat anteraja tiki ninja wahana dhl fedex lalamove gosend grabexpress
    """.split()),
    # Apps and services used over our connection.
    "app": frozenset("""
        youtube netflix instagram facebook tiktok spotify gmail google zoom whatsapp telegram twitter disney vidio
        steam playstation xbox roblox mlbb pubg
    """.split()),
    # Phone, computer and home-appliance brands: the customer's own device on our network.
    "device": frozenset("""
        samsung apple iphone ipad macbook xiaomi redmi oppo vivo realme infinix huawei asus acer lenovo dell lg
        sony sharp panasonic polytron toshiba philips nokia tp-link tplink zte canon epson dyson miyako
    """.split()),
    # Other shops, marketplaces, food and ride apps: their orders, returns and hours are theirs.
    "shop": frozenset("""
        tokopedia shopee lazada bukalapak blibli zalora zara amazon ebay ikea uniqlo nike adidas h&m gofood grabfood
        shopeefood uber grab gojek aliexpress alibaba matahari informa erafone ibox starbucks mcdonalds kfc
    """.split()),
    # Other operators and internet providers.
    "operator": frozenset("""
        telkomsel indosat im3 xl axis smartfren biznet myrepublic iconnet verizon vodafone t-mobile at&t
    """.split()),
    # Utilities, government and finance companies: their bills and offices.
    "utility": frozenset("""
        pln pdam bpjs samsat pajak pgn pertamina adira fif dukcapil imigrasi
    """.split()),
    # Said outright.
    "other": frozenset("""
        merek_lain toko_lain provider_lain operator_lain perusahaan_lain toko_online_lain bank_lain
        another_brand other_brand another_shop other_shop another_store other_store another_company
        other_company another_provider other_provider another_online_shop another_operator
    """.split()),
}
_WHERE: Final[Mapping[str, tuple[str, ...]]] = {
    "payment": ("pay-", "bill-"),
    "paylater": ("pay-methods",),
    "courier": ("order-", "order_status"),
    "app": ("internet-slow", "internet-no-connection", "data-", "contact-channels", "roaming-"),
    "device": ("internet-slow", "internet-no-connection", "internet-router", "sim-lost", "roaming-", "data-"),
}
_WORD: Final = re.compile(r"[a-z0-9&+-]+")
_PHRASES: Final = tuple(sorted({name for names in ELSEWHERE.values() for name in names if "_" in name or " " in name},
                               key=len, reverse=True))


def named_elsewhere(text: str, own: Collection[str] = ()) -> dict[str, set[str]]:
    """The organisations ``text`` (lowercase) names, by group, leaving out the company's own names ``own``."""
    words = set(_WORD.findall(text))
    joined = " ".join(_WORD.findall(text))
    found: dict[str, set[str]] = {}
    for group, names in ELSEWHERE.items():
        hit = {name for name in names if (name in words if "_" not in name and " " not in name
                                          else f" {name.replace('_', ' ')} " in f" {joined} ")}
        hit -= set(own)
        if hit:
            found[group] = hit
    return found


def about_elsewhere(text: str, topic: str, own: Collection[str] = ()) -> bool:
    """Whether ``text`` names an organisation not ours whose group has no place in ``topic`` (an FAQ entry id
    or an intent): then the question is about that organisation, not us."""
    for group in named_elsewhere(text, own):
        if not any(topic.startswith(prefix) for prefix in _WHERE.get(group, ())):
            return True
    return False
