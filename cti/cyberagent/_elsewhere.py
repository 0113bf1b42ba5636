"""Whether a message is about another organisation's version of something the FAQ answers.

"jam berapa bank bca buka", "cara retur barang di tokopedia", "warranty claim for my samsung tv": every word but a
name is the FAQ's own (opening hours, returns, warranty), so the FAQ's classifier is sure of an entry, and the
answer would be ours about someone else's bank, shop or fridge. What tells them apart is the name. The names are
grouped by what the organisation is (:data:`ELSEWHERE`), and each group may appear only in the entries where a
customer of ours has a reason to name it: a bank or an e-wallet in paying our bill, a courier in tracking our own
order, an app or a phone brand in a connection problem, a public place in a connection problem too. Anywhere else
(and anywhere at all for another shop, service, operator or utility) the question is about them, and a person
takes over. The company's own names (its products' words, and any given to :class:`cti.cyberagent.Persona`) are
never "another".

Three more things tell another company's process from ours, since a list of names is never complete:

- **A name the agent has never seen, where a name goes** (:func:`unknown_names`): "kartu tri", "aplikasi halodoc",
  "my biznet router", "gojek's number" — a word after ``aplikasi``, ``kartu``, ``toko``, ``kurir``… or before
  ``app``, ``sim``, ``card``, ``parcel``, ``installation``… that is in none of the texts the agent learnt from (the
  FAQ, the customers' questions, the out-of-scope examples: :func:`known_words`), nor a form of one of their words
  (an Indonesian affix, an English ending, one letter off). In paying us it is taken for a way to pay (an e-wallet
  the list lacks); anywhere else it hands the question over.
- **The bank's own product** (:data:`_THEIRS`): "tagihan kartu kredit bni", "my visa credit card's late fee",
  "saldo gopay": a credit card's bill or statement, an e-wallet's balance, are the bank's, even in words that are
  otherwise our billing entries'. Paying our bill *with* a credit card stays ours.
- **A courier without our order** (:data:`_OUR_ORDER`): "resi jne pesanan saya" is our parcel; "resi sicepat
  dilacak lewat mana" is any parcel a courier carries, not an order of ours.
- **A dotted name** (:func:`dotted_names`, round 13): "kartu by.u", "my live.on line" — a brand written with a dot
  inside is split by every reader into common words ("by", "u"; "live", "on"), so no list and no unknown word
  catches it, and the rest of the message is the FAQ's (roaming, data left). No customer of the development sets
  wrote one of ours so (the company's own web address is in its FAQ's texts, and is left out).

What the FAQ itself says is read too (:func:`faq_allows`): an entry whose own texts speak of paying by bank,
card, e-wallet or at a shop counter takes the names of banks and e-wallets, whatever its id, and a name an entry's
own texts use is never "another" in that entry ("bayar di indomaret" in the payment methods' phrasings).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from cti.faq import FRAMED_OUT_OF_SCOPE, OUT_OF_SCOPE, FaqEntry, expand_short_forms

__all__ = ["ELSEWHERE", "FaqAllows", "about_elsewhere", "dotted_names", "faq_allows", "known_words",
           "named_elsewhere", "unknown_names"]


def _names(text: str) -> frozenset[str]:
    """Names, one per line or separated by commas (a name of several words keeps its spaces)."""
    return frozenset(" ".join(name.split()) for line in text.splitlines() for name in line.split(",")
                     if name.strip())


ELSEWHERE: Final[Mapping[str, frozenset[str]]] = {
    # Banks, e-wallets, card networks, and the minimarts and post offices that take bill payments: ways to pay us,
    # and businesses of their own.
    "payment": _names("""
        bca, bni, bri, mandiri, cimb, niaga, permata, danamon, btn, bsi, ocbc, maybank, panin, jenius, hsbc, citibank
        uob, dbs, bank, gopay, ovo, shopeepay, linkaja, paypal, visa, mastercard, amex, alfamart, indomaret, alfamidi
        pegadaian, btpn, seabank, bank jago, bank neo, neobank, allo bank, blu bca, bjb, bank dki, bank mega, bukopin
        sinarmas, muamalat, standard chartered, commonwealth, digibank, livin, brimo, mybca, klikbca, jcb, unionpay
        doku, sakuku, isaku, i-saku, dana app, aplikasi dana, akun dana, e-wallet dana, flip app, aplikasi flip
        american express, western union, kantor pos, post office, pos indonesia
    """),
    # Pay-later and lending companies: their instalments and bills are theirs, only how one pays ours is ours.
    "paylater": _names("""
        kredivo, akulaku, gopaylater, spaylater, shopeepaylater, paylater, pay later, atome, indodana, homecredit
        home credit, adakami, easycash, pinjol, julo, kredit pintar, rupiah cepat, tunaiku, uangme, findaya
        kredit plus, kreditplus, danarupiah, pinjam yuk, akulaku paylater, traveloka paylater
    """),
    # Couriers that may carry our own orders.
    "courier": _names("""
        jne, jnt, j&t, sicepat, anteraja, tiki, ninja, ninja xpress, wahana, dhl, fedex, lalamove, gosend
        grabexpress, id express, idexpress, lion parcel, shopee express, spx, paxel, sap express, rpx, deliveree
        jnt cargo, usps, borzo, mrspeedy, jet express, ncs
    """),
    # Apps and services used over our connection.
    "app": _names("""
        youtube, netflix, instagram, facebook, tiktok, spotify, gmail, google, zoom, whatsapp, telegram, twitter
        disney, vidio, steam, playstation, xbox, roblox, mlbb, pubg, wetv, viu, iqiyi, prime video, hbo, hbo go
        apple music, joox, discord, snapchat, line app, wechat, microsoft teams, google meet, skype, canva, capcut
        mobile legends, free fire, genshin, valorant, yahoo, outlook, hotmail, icloud, google drive, dropbox, chatgpt
        pinterest, linkedin, twitch, maxstream, mola, catchplay, vision+, rcti+, genflix, nintendo, fortnite
        minecraft, messenger, signal app, threads
    """),
    # Phone, computer and home-appliance brands: the customer's own device on our network.
    "device": _names("""
        samsung, apple, iphone, ipad, macbook, xiaomi, redmi, oppo, vivo, realme, infinix, huawei, asus, acer, lenovo
        dell, lg, sony, sharp tv, tv sharp, panasonic, polytron, toshiba, philips, nokia, tp-link, tplink, zte
        canon, epson, dyson, miyako, tecno, itel, poco, oneplus, motorola, google pixel, pixel, galaxy, msi, airpods
        tenda, mercusys, d-link, dlink, netgear, linksys, fiberhome, daikin, midea, hisense, tcl, coocaa, aiwa, jbl
        logitech, garmin, fitbit, amazfit, gopro, maspion, cosmos, sanken, advan, evercoss, hp laptop
        thinkpad, chromebook, imac, apple watch
    """),
    # Other shops, marketplaces, food and ride apps: their orders, returns and hours are theirs.
    "shop": _names("""
        tokopedia, tokped, shopee, lazada, lazmall, bukalapak, blibli, zalora, zara, amazon, ebay, ikea, uniqlo, nike
        adidas, h&m, gofood, grabfood, shopeefood, shopee food, uber, uber eats, grab, gojek, gocar, goride
        grabcar, grabbike, maxim, indrive, bluebird, blue bird, aliexpress, alibaba, matahari, informa, erafone, ibox
        digimap, starbucks, mcdonalds, mcdonald, mcd, kfc, pizza hut, dominos, burger king, chatime, kopi kenangan
        janji jiwa, hokben, solaria, richeese, jd id, jdid, tiktok shop, ace hardware, gramedia, hypermart
        transmart, carrefour, lotte mart, superindo, ranch market, lawson, circle k, familymart, 7-eleven, sociolla
        watsons, kimia farma, k24, miniso, daiso, eiger, puma, olx, carousell, orami, bhinneka
        sephora, decathlon, electronic city
    """),
    # Other services with accounts, bookings and data of their own: health, travel, learning, insurance, crypto
    # (a crypto exchange named by its kind, "exchange kripto pintu": its name is a common word, "door").
    "service": _names("""
        halodoc, alodokter, klikdokter, good doctor, mobile jkn, traveloka, tiket com, tiketcom, pegipegi, agoda
        booking com, airbnb, reddoorz, oyo, garuda, garuda indonesia, lion air, citilink, airasia, batik air
        super air jet, pelni, kai access, ruangguru, zenius, quipper, brainly, coursera, duolingo, prudential
        allianz, axa, manulife, sun life, aia, cigna, zurich, astra, honda, yamaha, suzuki, toyota, daihatsu
        mitsubishi, hyundai, wuling, kitabisa, bareksa, stockbit, pluang, indodax
        tokocrypto, binance, kripto, crypto, cryptocurrency, bitcoin
    """),
    # Other operators and internet providers.
    "operator": _names("""
        telkomsel, indosat, im3, xl, axis, smartfren, biznet, myrepublic, iconnet, verizon, vodafone, t-mobile
        at&t, tri, by u, byu, simpati, first media, firstmedia, mnc play, mncplay, cbn, xl home, xl satu, telkom
        ooredoo, transvision, k-vision, mnc vision, nex parabola, starlink, hypernet, megavision, oxygen id
        moratelindo, fiberstar, indosat hifi, xl axiata
    """),
    # Utilities, government and finance companies: their bills and offices.
    "utility": _names("""
        pln, pdam, bpjs, samsat, pajak, pgn, pertamina, adira, fif, dukcapil, imigrasi, djp, kantor pajak, polri
        e-tilang, kemenkes, kominfo, taspen, jamsostek, wom finance, baf, mega finance, acc finance, oto finance
        mandiri utama finance, clipan, pbb, token listrik pln
    """),
    # Places and public bodies that are not us: their hours, tickets and queues are theirs.
    "place": _names("""
        masjid, gereja, pura, vihara, klenteng, stasiun, train station, bandara, airport
        museum, kebun binatang, zoo, rumah sakit, hospital, puskesmas, klinik, clinic, apotek, pharmacy, sekolah
        school, kampus, university, universitas, bioskop, cinema, kereta, train, pesawat, flight, penerbangan, busway
        kantor polisi, police station, kantor imigrasi, kelurahan, kecamatan, gym, bengkel, spbu, pom bensin
        perpustakaan, library, kebun raya, embassy, kedutaan, terminal bus, bus terminal
    """),
    # Said outright.
    "other": _names("""
        merek lain, toko lain, provider lain, operator lain, perusahaan lain, toko online lain, bank lain
        aplikasi lain, e-wallet lain, another brand, other brand, another shop, other shop, another store
        other store, another company, other company, another provider, other provider, another online shop
        another operator, another bank, other bank, another app, other app
    """),
}
_WHERE: Final[Mapping[str, tuple[str, ...]]] = {
    "payment": ("pay-", "bill-"),
    "paylater": ("pay-methods",),
    "courier": ("order-", "order_status"),
    "app": ("internet-slow", "internet-no-connection", "data-", "contact-channels", "roaming-"),
    "device": ("internet-slow", "internet-no-connection", "internet-router", "sim-lost", "roaming-", "data-"),
    "place": ("internet-slow", "internet-no-connection", "data-", "roaming-", "sim-lost"),
}
"""The topics (FAQ entry ids or intents, by prefix) where a group's names are the customer's own business with us;
a group not here has none. Besides these, an entry may take a group by what its own texts say
(:func:`faq_allows`)."""
_UNKNOWN: Final = "unknown"
"""The group of a name the agent has never seen (:func:`unknown_names`): a way to pay in paying us, else another
company."""
_WORD: Final = re.compile(r"[a-z0-9&+-]+")
_PAYING: Final = re.compile(
    r"\b(bank|banks|virtual account|kartu kredit|kartu debit|credit card|debit card|e-wallet|e-wallets|dompet digital|"
    r"minimarket|minimart|gerai ritel|retail outlets?|m-banking|mobile banking|internet banking|atm)\b")
"""Words with which an FAQ entry says how one pays (:func:`faq_allows`): such an entry takes banks' and e-wallets'
names."""
_THEIRS: Final = re.compile(
    r"\b(tagihan|e-?statement|statement|limit|iuran tahunan|bunga|denda|cicilan) (kartu kredit|cc)\b|"
    r"\b(kartu kredit|credit card)( \w+){0,2} (saya |ku |aku )?(nunggak|telat|overlimit)\b|"
    r"\bcredit card'?s? (bill|statement|e-?statement|late fee|annual fee|limit|interest|payment is late)\b|"
    r"\b(late fee|annual fee|interest|limit|statement|e-?statement|bill) (on|of|for) (my|the|a|an) "
    r"([a-z0-9&-]+ ){0,2}credit card\b")
"""Another company's own product in our billing words: a credit card's bill or statement is the bank's."""
_BALANCE: Final = re.compile(r"\b(saldo|balance|top ?up|topup|isi saldo|isi ulang|refill|reload)\b")
"""An e-wallet's or bank's balance (``cek saldo gopay``, ``my paypal balance``) is theirs..."""
_OUR_BILL: Final = re.compile(r"\b(tagihan\w*|bill|bills|invoice|bayar|membayar|dibayar|pay|paid|paying|payment|"
                              r"lunas\w*|kepotong|terpotong|debit\w*|deducted)\b")
"""...unless it pays our bill ("bayar tagihan pakai saldo gopay", "gopay balance deducted but my bill is unpaid")."""
_HOURS: Final = re.compile(
    r"\b(jam (buka|tutup|operasional|kerja)|buka jam|tutup jam|(buka|tutup) (hari|sampai|sampe)|"
    r"opening (hours|times)|open(ing)? (on|until|till)|clos(e|es|ing) (at|on|time)|what time does|business hours|"
    r"hours of)\b")
"""Opening hours: a named organisation's are never ours, even one we take payments through ("jam buka alfamart";
our own hours are the contact centre's, and name nobody)."""
_OUR_ORDER: Final = re.compile(
    r"\b(pesanan|pesananku|orderan|orderanku|order|ordered|pembelian|belanjaan|purchase|purchased|bought|beli|dibeli|"
    r"kubeli|dipesan|kalian|you|your|paketku|kirimanku|(paket|kiriman) (saya|aku)|my (package|parcel|delivery))\b")
"""What makes a courier's parcel ours: the customer's order with us, their own parcel (another shop's would be
named), or us named; "resi sicepat dilacak lewat mana" is any parcel."""
_BEFORE: Final = re.compile(
    r"\b(?:aplikasi|apk|app|kartu|toko|gerai|cabang|provider|operator|merek|merk|brand|kurir|ekspedisi|resi|akun|"
    r"cs|call center|customer service|e-wallet|dompet digital|bank|router|modem|order|orderan|pesanan|voucher|"
    r"membership) ([a-z][a-z0-9&+-]*)")
"""Where an Indonesian message puts a name: after a kind of organisation or its product ("aplikasi halodoc",
"kartu tri", "resi sicepat", "router biznet": the devices :data:`_AFTER` names for English too), and since round 14
after an order, a voucher or a membership, as English's "sayurbox order" ("batalin order sayurbox" was another
shop's order answered with ours)."""
_AFTER: Final = re.compile(
    r"\b([a-z][a-z0-9&+-]*) (?:app|apps|application|sim|simcard|card|account|store|shop|branch|parcel|package|"
    r"installation|subscription|wallet|credit card|debit card|customer service|call center|courier|router|modem|"
    r"bill|order|membership|voucher|promo)\b")
"""Where an English message puts a name: before one ("my biznet router", "a sicepat parcel", "halodoc app")."""
_POSSESSIVE: Final = re.compile(r"\b([a-z][a-z0-9&+-]*) s\b")
"""A name's place before ``'s`` (the apostrophe already gone: "gojek s number")."""
_SLOTS: Final[Mapping[str, tuple[re.Pattern[str], ...]]] = {"id": (_BEFORE,), "en": (_AFTER, _POSSESSIVE)}
"""Each language's places for a name: Indonesian puts a name after the noun it qualifies ("router biznet"), so
"colokan router" (the router's plug) is no name; English before it."""
_NOT_NAMES: Final = frozenset("""
    my your our their his her its the a an this that these those new old same other another one any some every each
    saya aku kamu anda kalian kami kita dia mereka ini itu baru lama lain yang sama mana apa semua tiap setiap
    prepaid postpaid home mobile online digital official resmi utama main first second last what who it there
    here where which whose
""".split())
"""Words that sit where a name goes and are none ("my new sim", "aplikasi resmi", "what's")."""
_PREFIXES: Final = ("memper", "mempe", "meng", "meny", "mem", "men", "me", "di", "ter", "ber", "be", "ke", "peng",
                    "peny", "pem", "pen", "pe", "per", "se", "un", "re", "non", "pre", "dis", "mis")
"""Indonesian verbs' prefixes, and English's negating and repeating ones (``unshipped``, ``resend``,
``nonrefundable``): a known word with one is no name."""
_SUFFIXES: Final = ("nya", "kan", "lah", "kah", "an", "in", "i", "s", "es", "ed", "ing", "er", "ly")


@dataclass(frozen=True, slots=True)
class FaqAllows:
    """What an FAQ entry's own texts make ours in it (:func:`faq_allows`)."""

    groups: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()


def faq_allows(texts: Iterable[str]) -> FaqAllows:
    """What an FAQ entry's texts (its question, phrasings and answer, any language) make ours in it: the names
    of :data:`ELSEWHERE` they use themselves, and banks' and e-wallets' (and names never seen, taken for ways to
    pay) when they say how one pays."""
    joined = f" {' '.join(' '.join(_WORD.findall(text.lower())) for text in texts)} "
    names = frozenset(name for group in ELSEWHERE.values() for name in group if f" {name} " in joined)
    groups = frozenset(("payment", _UNKNOWN)) if _PAYING.search(joined) else frozenset()
    return FaqAllows(groups, names)


def known_words(entries: Iterable[FaqEntry],
                questions: Mapping[str, Sequence[tuple[str, str]]] | None = None) -> frozenset[str]:
    """The words the agent has seen (lowercase): its FAQ's texts (each entry's question, phrasings and answer, in
    every language), the customers' questions it learnt (:data:`cti.cyberagent.QUESTIONS`) and the out-of-scope
    examples. A word in none of them, where a name goes, is a name (:func:`unknown_names`)."""
    texts = [part for entry in entries for text in entry.texts.values()
             for part in (text.question, *text.keywords, text.answer)]
    texts += [question for items in (questions or {}).values() for _, question in items]
    texts += [example for source in (OUT_OF_SCOPE, FRAMED_OUT_OF_SCOPE) for found in source.values()
              for example in found]
    return frozenset(word for text in texts for word in _WORD.findall(text.lower()))


def _edits(word: str) -> set[str]:
    """The strings one letter away from ``word`` (a typo of it)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deleted = {a + b[1:] for a, b in splits if b}
    swapped = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaced = {a + c + b[1:] for a, b in splits if b for c in letters}
    return deleted | swapped | replaced | {a + c + b for a, b in splits for c in letters}


def _seen(word: str, known: Collection[str]) -> bool:
    """Whether ``word`` is a known word, a form of one (an Indonesian prefix or suffix, an English ending), or a
    typo of one (one letter off, in a word of five letters or more)."""
    if word in known:
        return True
    stems = {word}
    for prefix in _PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            stems.add(word[len(prefix):].lstrip("-"))
    for stem in list(stems):
        for suffix in _SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= 3:
                stems.add(stem[:-len(suffix)])
    if any(stem in known for stem in stems):
        return True
    return len(word) >= 5 and not _edits(word).isdisjoint(known)


def unknown_names(text: str, known: Collection[str], own: Collection[str] = (), lang: str | None = None) -> set[str]:
    """The words of ``text`` (lowercase) where a name goes in ``lang`` (:data:`_SLOTS`; both languages' places
    when None) that are none of the words the agent has seen (``known``: :func:`known_words`), nor the company's
    own (``own``)."""
    joined = " ".join(_WORD.findall(text))
    patterns = _SLOTS.get(lang, (_BEFORE, _AFTER, _POSSESSIVE)) if lang is not None else (_BEFORE, _AFTER, _POSSESSIVE)
    candidates = {m.group(1) for pattern in patterns for m in pattern.finditer(joined)}
    return {word for word in candidates
            if len(word) >= 3 and not any(ch.isdigit() for ch in word) and word not in _NOT_NAMES
            and word not in own and not _seen(word, known) and not _seen(word.removesuffix("s"), known)}


def named_elsewhere(text: str, own: Collection[str] = (), known: Collection[str] | None = None,
                    lang: str | None = None) -> dict[str, set[str]]:
    """The organisations ``text`` (lowercase) names, by group, leaving out the company's own names ``own``; with
    ``known`` (:func:`known_words`), names never seen where a name goes in ``lang`` too (group ``unknown``)."""
    words = set(_WORD.findall(text))
    joined = f" {' '.join(_WORD.findall(text))} "
    found: dict[str, set[str]] = {}
    for group, names in ELSEWHERE.items():
        hit = {name for name in names if (name in words if " " not in name else f" {name} " in joined)}
        hit -= set(own)
        if hit:
            found[group] = hit
    if known is not None:
        named = {name for names in found.values() for name in names for word in name.split()}
        unknown = unknown_names(text, known, own, lang) - named
        if unknown:
            found[_UNKNOWN] = unknown
    return found


def about_elsewhere(text: str, topic: str, own: Collection[str] = (), *, known: Collection[str] | None = None,
                    allows: FaqAllows | None = None, lang: str | None = None) -> bool:
    """Whether ``text`` (lowercase) names an organisation not ours whose group has no place in ``topic`` (an FAQ
    entry id or an intent; ``allows``: what that entry's own texts make ours, :func:`faq_allows`), or speaks of
    another company's own product (a credit card's bill, an e-wallet's balance), or of a courier's parcel that is
    not an order of ours, or asks a named organisation's opening hours: then the question is about that
    organisation, not us."""
    allows = allows or FaqAllows()
    named = named_elsewhere(text, own, known, lang)
    if named and _HOURS.search(text):
        return True
    for group, names in named.items():
        if group == "payment" and names - {"bank"} and _BALANCE.search(text) and not _OUR_BILL.search(text):
            return True  # the wallet's own balance, even one the FAQ names as a way to pay
        names = {name for name in names if name not in allows.names}
        if not names:
            continue
        if group == "courier" and not _OUR_ORDER.search(text):
            return True
        if group in allows.groups or any(topic.startswith(prefix) for prefix in _WHERE.get(group, ())):
            continue
        return True
    return bool(_THEIRS.search(text))


_DOTTED: Final = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?:\.[a-z][a-z0-9]*)+(?![\w-]|\.\w)")
_FILES: Final = frozenset({"pdf", "jpg", "jpeg", "png", "doc", "docx", "xls", "xlsx", "csv", "txt", "zip"})
_WEB: Final = frozenset({"com", "net", "org", "id"})
_LONGEST_PART: Final = 4
"""Longer parts are words run together at a full stop without its space ("udah bayar.tapi masih"), not a name."""


def dotted_names(text: str, lang: str, own: Collection[str] = ()) -> set[str]:
    """The names written with a dot inside in ``text`` (lowercase): ``by.u``, ``live.on``, ``tiket.com``. Not
    initials (``a.n``, ``s.d``, ``e.g``: every part one letter), not a file (``tagihan.pdf``), not a short form
    before a dot (``no.hp``: nomor hp), not words run together at a full stop (a part over :data:`_LONGEST_PART`
    letters, unless it ends in a web address's ``com``), and not one of ``own`` (the company's: the dotted names its
    FAQ's texts use, and their tails)."""
    found: set[str] = set()
    for name in _DOTTED.findall(text):
        parts = name.split(".")
        if all(len(part) == 1 for part in parts) or parts[-1] in _FILES or \
                expand_short_forms(parts[0], lang) != parts[0]:
            continue
        if parts[-1] not in _WEB and any(len(part) > _LONGEST_PART for part in parts):
            continue
        if any(name == mine or mine.endswith(f".{name}") or name.endswith(f".{mine}") for mine in own):
            continue
        found.add(name)
    return found
