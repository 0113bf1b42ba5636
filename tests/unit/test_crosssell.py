"""Next-best-offer ranking: complements, segment co-occurrence, promotions, consent, exact order and reasons."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.sales import (
    NO_MARKETING_CONSENT,
    Complement,
    Consent,
    Customer,
    Offer,
    Policy,
    Product,
    Promotion,
    Ranking,
    SegmentStats,
    rank_offers,
)

NOW = datetime(2026, 5, 18, 3, 0, tzinfo=UTC)


def product(sku: str, id_name: str, en_name: str, category: str, price: int, active: bool = True) -> Product:
    return Product(sku=sku, names={"id": id_name, "en": en_name}, category=category, price=Decimal(price),
                   active=active)


CATALOG = (
    product("NET50", "Internet Rumah 50 Mbps", "Home Internet 50 Mbps", "internet", 350_000),
    product("NET100", "Internet Rumah 100 Mbps", "Home Internet 100 Mbps", "internet", 500_000),
    product("MESH", "Mesh WiFi Extender", "Mesh WiFi Extender", "device", 45_000),
    product("TVBASIC", "TV Kabel Dasar", "Basic Cable TV", "tv", 99_000),
    product("STREAM", "Paket Streaming", "Streaming Pack", "tv", 59_000),
    product("INSURE", "Proteksi Perangkat", "Device Protection", "insurance", 25_000),
    product("CCTV", "Kamera CCTV Pintar", "Smart CCTV Camera", "device", 300_000),
    product("PHONE", "Telepon Rumah", "Home Phone", "voice", 50_000, active=False),
)
COMPLEMENTS = (
    Complement("NET50", "MESH", 0.8),
    Complement("NET50", "STREAM", 0.5),
    Complement("NET100", "MESH", 0.9),
    Complement("TVBASIC", "STREAM", 0.6),
    Complement("MESH", "CCTV", 0.4),
    Complement("NET50", "INSURE", 0.3),
    Complement("NET50", "PHONE", 1.0),
)
# 20 family customers: NET50 held by 17, TVBASIC by 14, both by 13.
FAMILY = SegmentStats.from_holdings("keluarga", [
    *[{"NET50", "TVBASIC"}] * 10,
    *[{"NET50", "MESH"}] * 4,
    *[{"NET50", "TVBASIC", "STREAM"}] * 3,
    *[{"NET100", "CCTV"}] * 2,
    {"TVBASIC"},
])
STREAM_PROMO = Promotion("promo-stream", {"id": "Gratis 1 bulan Paket Streaming", "en": "First month free"}, 0.4,
                         starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=30), sku="STREAM")
BUDI = Customer("C-001", segment="keluarga", value_tier="gold", language="id",
                consent=Consent(marketing=True, profiling=True))


def rank(customer: Customer = BUDI, owned: tuple[str, ...] = ("NET50",), **kwargs: object) -> Ranking:
    options: dict[str, object] = {"complements": COMPLEMENTS, "segment": FAMILY, "promotions": (STREAM_PROMO,)}
    options.update(kwargs)
    return rank_offers(customer, owned, CATALOG, now=NOW, **options)  # type: ignore[arg-type]


def summary(ranking: Ranking, language: str = "id") -> list[tuple[str, float, list[str]]]:
    return [(offer.sku, offer.score, [reason.text(language) for reason in offer.reasons]) for offer in ranking.offers]


def test_segment_figures_are_counted_from_holdings() -> None:
    assert FAMILY.customers == 20
    assert FAMILY.holders == {"NET50": 17, "TVBASIC": 14, "MESH": 4, "STREAM": 3, "NET100": 2, "CCTV": 2}
    assert FAMILY.together("TVBASIC", "NET50") == FAMILY.together("NET50", "TVBASIC") == 13
    assert FAMILY.together("NET50", "CCTV") == 0


def test_top_three_with_reasons_in_both_languages() -> None:
    ranking = rank()
    assert ranking.suppressed is None
    assert summary(ranking) == [
        ("STREAM", 0.9, ["Melengkapi Internet Rumah 50 Mbps yang Anda miliki",
                         "Promo: Gratis 1 bulan Paket Streaming"]),
        ("MESH", 0.8, ["Melengkapi Internet Rumah 50 Mbps yang Anda miliki"]),
        ("TVBASIC", 0.764706, ["Dimiliki 76% pelanggan segmen Anda yang memiliki Internet Rumah 50 Mbps"]),
    ]
    assert summary(ranking, "en") == [
        ("STREAM", 0.9, ["Complements the Home Internet 50 Mbps you own", "Promo: First month free"]),
        ("MESH", 0.8, ["Complements the Home Internet 50 Mbps you own"]),
        ("TVBASIC", 0.764706,
         ["Owned by 76 % of customers in your segment who own the Home Internet 50 Mbps"]),
    ]
    stream = ranking.offers[0]
    assert stream.promotion_id == "promo-stream"
    assert stream.view("en") == {
        "sku": "STREAM", "name": "Streaming Pack", "category": "tv", "price": Decimal(59_000), "score": 0.9,
        "reason": "Complements the Home Internet 50 Mbps you own; Promo: First month free",
        "reasons": ["Complements the Home Internet 50 Mbps you own", "Promo: First month free"],
        "promotion_id": "promo-stream",
    }


def test_the_rest_of_the_ranking_and_what_is_never_offered() -> None:
    # PHONE complements NET50 with weight 1.0 but is inactive; NET100 and CCTV have no signal above support.
    assert [(o.sku, o.score) for o in rank(policy=Policy(limit=10)).offers] == [
        ("STREAM", 0.9), ("MESH", 0.8), ("TVBASIC", 0.764706), ("INSURE", 0.3)]


def test_segment_share_without_holdings_uses_popularity() -> None:
    assert summary(rank(owned=(), promotions=())) == [
        ("NET50", 0.85, ["Dimiliki 85% pelanggan segmen Anda"]),
        ("TVBASIC", 0.7, ["Dimiliki 70% pelanggan segmen Anda"]),
    ]
    assert summary(rank(owned=(), promotions=()), "en")[1] == (
        "TVBASIC", 0.7, ["Owned by 70 % of customers in your segment"])


def test_minimum_support_hides_thin_figures() -> None:
    # MESH with NET50: 4 customers, under the default support of 5; with support 4 it counts.
    assert [r.kind for r in rank().offers[1].reasons] == ["complement"]
    mesh = next(o for o in rank(policy=Policy(min_support=4)).offers if o.sku == "MESH")
    assert [(r.kind, r.score) for r in mesh.reasons] == [("complement", 0.8), ("segment", 0.235294)]
    assert mesh.reasons[1].text("id") == "Dimiliki 24% pelanggan segmen Anda yang memiliki Internet Rumah 50 Mbps"
    assert mesh.score == 1.035294


def test_percentages_round_half_up() -> None:
    stats = SegmentStats.from_holdings("keluarga", [{"CCTV"}] + [set()] * 7)  # 1 of 8 = 12.5 %
    ranking = rank(owned=(), segment=stats, promotions=(), complements=(), policy=Policy(min_support=1))
    assert summary(ranking) == [("CCTV", 0.125, ["Dimiliki 13% pelanggan segmen Anda"])]


def test_no_marketing_consent_means_no_offers_at_all() -> None:
    silent = Customer("C-002", segment="keluarga", consent=Consent(marketing=False, profiling=True))
    assert rank(silent) == Ranking(offers=(), suppressed=NO_MARKETING_CONSENT)


def test_without_profiling_consent_segment_data_is_not_used() -> None:
    private = Customer("C-003", segment="keluarga", consent=Consent(marketing=True, profiling=False))
    assert [(o.sku, o.score) for o in rank(private).offers] == [("STREAM", 0.9), ("MESH", 0.8), ("INSURE", 0.3)]
    assert all(r.kind != "segment" for o in rank(private).offers for r in o.reasons)


def test_blocked_categories_are_never_offered() -> None:
    careful = Customer("C-004", segment="keluarga",
                       consent=Consent(marketing=True, profiling=True,
                                       blocked_categories=frozenset({"insurance", "tv"})))
    assert [o.sku for o in rank(careful, policy=Policy(limit=10)).offers] == ["MESH"]


def test_owned_products_are_never_offered_and_name_their_complements() -> None:
    ranking = rank(owned=("NET50", "MESH", "TVBASIC"), promotions=(), policy=Policy(limit=10))
    assert summary(ranking) == [
        # TVBASIC->STREAM 0.6 beats NET50->STREAM 0.5; the stronger complement is the one named.
        ("STREAM", 0.6, ["Melengkapi TV Kabel Dasar yang Anda miliki"]),
        ("CCTV", 0.4, ["Melengkapi Mesh WiFi Extender yang Anda miliki"]),
        ("INSURE", 0.3, ["Melengkapi Internet Rumah 50 Mbps yang Anda miliki"]),
    ]


def test_an_owned_product_missing_from_the_catalog_is_named_by_its_sku() -> None:
    ranking = rank(owned=("LEGACY-TV",), complements=(Complement("LEGACY-TV", "STREAM", 0.7),), promotions=(),
                   segment=None)
    assert summary(ranking, "en") == [("STREAM", 0.7, ["Complements the LEGACY-TV you own"])]


def test_promotions_respect_their_window_segment_and_category() -> None:
    base = {"texts": {"id": "Diskon perangkat 20%", "en": "20% off devices"}, "boost": 0.5}
    expired = Promotion("old", starts_at=NOW - timedelta(days=10), ends_at=NOW, category="device", **base)  # type: ignore[arg-type]
    future = Promotion("soon", starts_at=NOW + timedelta(seconds=1), ends_at=NOW + timedelta(days=9),
                       category="device", **base)  # type: ignore[arg-type]
    business = Promotion("sme", starts_at=NOW, ends_at=NOW + timedelta(days=9), category="device",
                         segments=frozenset({"bisnis"}), **base)  # type: ignore[arg-type]
    family = Promotion("fam", starts_at=NOW, ends_at=NOW + timedelta(days=9), category="device",
                       segments=frozenset({"keluarga"}), **base)  # type: ignore[arg-type]
    ranking = rank(owned=(), segment=None, complements=(), promotions=(expired, future, business))
    assert ranking.offers == ()
    ranking = rank(owned=(), segment=None, complements=(), promotions=(expired, family, business))
    assert summary(ranking, "en") == [("CCTV", 0.5, ["Promo: 20% off devices"]),
                                      ("MESH", 0.5, ["Promo: 20% off devices"])]


def test_a_promotion_naming_a_sku_and_a_category_is_for_the_sku() -> None:
    both = Promotion("both", {"id": "x", "en": "x"}, 0.2, NOW, NOW + timedelta(days=1), sku="MESH", category="device")
    ranking = rank(owned=(), segment=None, complements=(), promotions=(both,))
    assert [(o.sku, o.score) for o in ranking.offers] == [("MESH", 0.2)]


def test_the_largest_promotion_counts_once() -> None:
    window = {"starts_at": NOW, "ends_at": NOW + timedelta(days=1), "sku": "MESH"}
    small = Promotion("b-small", {"id": "kecil", "en": "small"}, 0.2, **window)  # type: ignore[arg-type]
    large = Promotion("a-large", {"id": "besar", "en": "large"}, 0.3, **window)  # type: ignore[arg-type]
    ranking = rank(owned=(), segment=None, complements=(), promotions=(small, large))
    assert [(o.sku, o.score, o.promotion_id) for o in ranking.offers] == [("MESH", 0.3, "a-large")]


def test_ties_break_by_sku() -> None:
    complements = (Complement("NET50", "TVBASIC", 0.5), Complement("NET50", "STREAM", 0.5),
                   Complement("NET50", "CCTV", 0.5))
    ranking = rank(complements=complements, segment=None, promotions=())
    assert [(o.sku, o.score) for o in ranking.offers] == [("CCTV", 0.5), ("STREAM", 0.5), ("TVBASIC", 0.5)]


def test_inconsistent_input_is_refused() -> None:
    with pytest.raises(ValueError, match="segment figures are for 'bisnis'"):
        rank(segment=SegmentStats("bisnis", 1, {}))
    with pytest.raises(ValueError, match="appears twice"):
        rank_offers(BUDI, (), (*CATALOG, CATALOG[0]), now=NOW)
    with pytest.raises(ValueError, match="weight"):
        Complement("A", "B", 1.5)
    with pytest.raises(ValueError, match="name a sku or a category"):
        Promotion("p", {}, 0.1, NOW, NOW)
    with pytest.raises(ValueError, match=r"boost -0\.1 is negative"):
        Promotion("p", {}, -0.1, NOW, NOW, sku="A")


# -- invariants ----------------------------------------------------------------------------------------------

SKUS = [f"P{i}" for i in range(8)]
CATEGORIES = ["a", "b", "c"]


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    catalog = [Product(sku, {"id": f"Produk {sku}", "en": f"Product {sku}"}, draw(st.sampled_from(CATEGORIES)),
                       Decimal(draw(st.integers(1, 10**6))), draw(st.booleans())) for sku in SKUS]
    owned = draw(st.lists(st.sampled_from([*SKUS, "GONE"]), max_size=5))
    complements = draw(st.lists(st.builds(Complement, st.sampled_from(SKUS), st.sampled_from(SKUS),
                                          st.sampled_from([0.1, 0.25, 0.5, 1.0])), max_size=12))
    holdings = draw(st.lists(st.sets(st.sampled_from(SKUS), max_size=4), max_size=30))
    promotions = [
        Promotion(f"promo{i}", {"id": "promo", "en": "promo"}, draw(st.sampled_from([0.0, 0.1, 0.3])),
                  NOW - timedelta(hours=draw(st.integers(-2, 2))), NOW + timedelta(hours=draw(st.integers(-2, 2))),
                  **({"sku": draw(st.sampled_from(SKUS))} if draw(st.booleans())
                     else {"category": draw(st.sampled_from(CATEGORIES))}))
        for i in range(draw(st.integers(0, 3)))
    ]
    consent = Consent(marketing=draw(st.booleans()), profiling=draw(st.booleans()),
                      blocked_categories=frozenset(draw(st.sets(st.sampled_from(CATEGORIES), max_size=2))))
    return {
        "customer": Customer("C", segment="s", consent=consent),
        "owned": owned,
        "catalog": catalog,
        "complements": complements,
        "segment": SegmentStats.from_holdings("s", holdings),
        "promotions": promotions,
        "policy": Policy(limit=draw(st.integers(0, 8)), min_support=draw(st.integers(1, 4))),
    }


def run(s: dict[str, object]) -> Ranking:
    return rank_offers(s["customer"], s["owned"], s["catalog"], now=NOW,  # type: ignore[arg-type]
                       complements=s["complements"], segment=s["segment"],  # type: ignore[arg-type]
                       promotions=s["promotions"], policy=s["policy"])  # type: ignore[arg-type]


def check_offer(offer: Offer) -> None:
    assert offer.reasons
    assert offer.score == round(sum(r.score for r in offer.reasons), 6) > 0
    assert [r.score for r in offer.reasons] == sorted((r.score for r in offer.reasons), reverse=True)


@settings(max_examples=150, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_invariants(s: dict[str, object], rnd: random.Random) -> None:
    ranking = run(s)
    customer: Customer = s["customer"]  # type: ignore[assignment]
    catalog = {p.sku: p for p in s["catalog"]}  # type: ignore[attr-defined]
    owned = set(s["owned"])  # type: ignore[call-overload]
    if not customer.consent.marketing:
        assert ranking == Ranking((), NO_MARKETING_CONSENT)
    assert len(ranking.offers) <= s["policy"].limit  # type: ignore[attr-defined]
    assert len({o.sku for o in ranking.offers}) == len(ranking.offers)
    for offer in ranking.offers:
        assert offer.sku not in owned
        assert catalog[offer.sku].active
        assert offer.category not in customer.consent.blocked_categories
        if not customer.consent.profiling:
            assert all(r.kind != "segment" for r in offer.reasons)
        check_offer(offer)
    keys = [(-o.score, o.sku) for o in ranking.offers]
    assert keys == sorted(keys)
    # The same facts in another order give the same ranking.
    shuffled = dict(s)
    for name in ("owned", "catalog", "complements", "promotions"):
        items = list(s[name])  # type: ignore[call-overload]
        rnd.shuffle(items)
        shuffled[name] = items
    assert run(shuffled) == ranking
