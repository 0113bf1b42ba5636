"""Next-best-offer ranking: what to offer a caller, and why, in the caller's language. Pure: no I/O, no clock.

Three signals, each a visible *reason* with its share of the score (see docs/scripting.md):

* **complement**: the catalog says product X goes with something the customer owns (curated weight 0..1);
* **segment**: customers of the same segment who own what this customer owns also own X. Measured as the
  conditional probability P(X | owned A) within the segment, or, when higher, X's plain share of the
  segment P(X); each needs at least ``min_support`` customers behind it;
* **promotion**: an active promotion on X or its category adds its boost (the largest one, never summed).

Owned products, inactive ones and categories the customer opted out of are never offered; without
marketing consent nothing is offered at all, and without profiling consent the segment signal is not used.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import combinations
from typing import Final

from cti.types import LANGUAGES

__all__ = [
    "NO_MARKETING_CONSENT",
    "Complement",
    "Consent",
    "Customer",
    "Offer",
    "Policy",
    "Product",
    "Promotion",
    "Ranking",
    "Reason",
    "SegmentStats",
    "rank_offers",
]

NO_MARKETING_CONSENT: Final = "no_marketing_consent"
_KIND_ORDER: Final = {"complement": 0, "segment": 1, "promotion": 2}


def _pick(texts: Mapping[str, str], language: str, fallback: str) -> str:
    """The text in ``language``, else Indonesian, else English, else ``fallback``."""
    for lang in (language, *LANGUAGES):
        text = texts.get(lang)
        if text:
            return text
    return fallback


@dataclass(frozen=True, slots=True)
class Consent:
    """What the customer agreed to. Defaults are the cautious ones: nothing was agreed."""

    marketing: bool = False
    """Offers of any kind may be made (PDP law: direct marketing needs consent)."""
    profiling: bool = False
    """Other customers' holdings in the same segment may be used to choose offers."""
    blocked_categories: frozenset[str] = frozenset()
    """Categories the customer asked never to be offered (credit, insurance, ...)."""


@dataclass(frozen=True, slots=True)
class Customer:
    customer_id: str
    segment: str | None = None
    value_tier: str | None = None
    language: str = "id"
    consent: Consent = Consent()


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    names: Mapping[str, str]
    category: str
    price: Decimal
    active: bool = True

    def name(self, language: str) -> str:
        return _pick(self.names, language, self.sku)


@dataclass(frozen=True, slots=True)
class Complement:
    """``complement`` goes well with ``sku``; ``weight`` (0..1] says how strongly."""

    sku: str
    complement: str
    weight: float

    def __post_init__(self) -> None:
        if not 0 < self.weight <= 1:
            raise ValueError(f"complement {self.sku}->{self.complement}: weight {self.weight} is not within (0, 1]")


@dataclass(frozen=True, slots=True)
class SegmentStats:
    """Holdings of the customers of one segment: how many hold each product, and each pair of products."""

    segment: str
    customers: int
    holders: Mapping[str, int]
    pairs: Mapping[tuple[str, str], int] = field(default_factory=dict)
    """Keyed by the two SKUs in sorted order."""

    @classmethod
    def from_holdings(cls, segment: str, holdings: Iterable[Iterable[str]]) -> SegmentStats:
        """Count from each customer's set of owned SKUs (one iterable per customer)."""
        customers = 0
        holders: Counter[str] = Counter()
        pairs: Counter[tuple[str, str]] = Counter()
        for owned in holdings:
            skus = sorted(set(owned))
            customers += 1
            holders.update(skus)
            pairs.update(combinations(skus, 2))
        return cls(segment=segment, customers=customers, holders=dict(holders), pairs=dict(pairs))

    def together(self, a: str, b: str) -> int:
        """Customers holding both ``a`` and ``b``."""
        return self.pairs.get((a, b) if a < b else (b, a), 0)


@dataclass(frozen=True, slots=True)
class Promotion:
    """A boost for one SKU or a whole category, optionally only for some segments, during [starts_at, ends_at).

    With both a SKU and a category, the SKU (the narrower) decides.
    """

    promotion_id: str
    texts: Mapping[str, str]
    boost: float
    starts_at: datetime
    ends_at: datetime
    sku: str | None = None
    category: str | None = None
    segments: frozenset[str] = frozenset()
    """Empty: every segment."""

    def __post_init__(self) -> None:
        if self.sku is None and self.category is None:
            raise ValueError(f"promotion {self.promotion_id!r}: name a sku or a category")
        if self.boost < 0:
            raise ValueError(f"promotion {self.promotion_id!r}: boost {self.boost} is negative")

    def applies(self, product: Product, segment: str | None, now: datetime) -> bool:
        if not self.starts_at <= now < self.ends_at:
            return False
        if self.segments and segment not in self.segments:
            return False
        return product.sku == self.sku if self.sku is not None else product.category == self.category

    def text(self, language: str) -> str:
        return _pick(self.texts, language, self.promotion_id)


@dataclass(frozen=True, slots=True)
class Policy:
    limit: int = 3
    """How many offers to return (the screen pop shows 3)."""
    min_support: int = 5
    """Fewest customers behind a segment figure: below it the figure is noise, and could point at a person."""
    complement_weight: float = 1.0
    segment_weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Reason:
    kind: str
    """``complement``, ``segment`` or ``promotion``."""
    score: float
    """This reason's share of the offer's score."""
    texts: Mapping[str, str]

    def text(self, language: str) -> str:
        return _pick(self.texts, language, self.kind)


@dataclass(frozen=True, slots=True)
class Offer:
    sku: str
    names: Mapping[str, str]
    category: str
    price: Decimal
    score: float
    reasons: tuple[Reason, ...]
    """Strongest first; never empty."""
    promotion_id: str | None = None

    def name(self, language: str) -> str:
        return _pick(self.names, language, self.sku)

    def reason(self, language: str) -> str:
        """All reasons in one line, strongest first."""
        return "; ".join(reason.text(language) for reason in self.reasons)

    def view(self, language: str) -> dict[str, object]:
        """The offer in one language, as plain data for the desktop and the call script (``offer``)."""
        return {
            "sku": self.sku,
            "name": self.name(language),
            "category": self.category,
            "price": self.price,
            "score": self.score,
            "reason": self.reason(language),
            "reasons": [reason.text(language) for reason in self.reasons],
            "promotion_id": self.promotion_id,
        }


@dataclass(frozen=True, slots=True)
class Ranking:
    offers: tuple[Offer, ...]
    """Best first: by score, then SKU."""
    suppressed: str | None = None
    """Why there are no offers at all when consent forbids them (:data:`NO_MARKETING_CONSENT`)."""


def rank_offers(
    customer: Customer,
    owned: Iterable[str],
    catalog: Iterable[Product],
    *,
    now: datetime,
    complements: Iterable[Complement] = (),
    segment: SegmentStats | None = None,
    promotions: Iterable[Promotion] = (),
    policy: Policy = Policy(),
) -> Ranking:
    """The customer's best ``policy.limit`` offers. ``catalog`` should hold owned products too (for their names)."""
    if policy.limit < 0 or policy.min_support < 1:
        raise ValueError("policy: limit must be >= 0 and min_support >= 1")
    if not customer.consent.marketing:
        return Ranking(offers=(), suppressed=NO_MARKETING_CONSENT)
    products: dict[str, Product] = {}
    for product in catalog:
        if product.sku in products:
            raise ValueError(f"catalog: SKU {product.sku!r} appears twice")
        products[product.sku] = product
    if segment is not None and customer.segment is not None and segment.segment != customer.segment:
        raise ValueError(f"segment figures are for {segment.segment!r}, the customer is in {customer.segment!r}")
    use_segment = segment is not None and customer.segment is not None and customer.consent.profiling
    owned_skus = sorted(set(owned))
    # Sorted inputs make every tie below resolve the same way whatever order the caller passed.
    complement_list = sorted(complements, key=lambda c: (c.complement, -c.weight, c.sku))
    promotion_list = sorted(promotions, key=lambda p: (-p.boost, p.promotion_id))

    offers: list[Offer] = []
    for sku in sorted(products):
        product = products[sku]
        if not product.active or sku in owned_skus or product.category in customer.consent.blocked_categories:
            continue
        reasons: list[Reason] = []
        complement = _complement_reason(sku, owned_skus, complement_list, products, policy)
        if complement is not None:
            reasons.append(complement)
        if use_segment:
            assert segment is not None
            similar = _segment_reason(sku, owned_skus, segment, products, policy)
            if similar is not None:
                reasons.append(similar)
        promotion = next((p for p in promotion_list if p.applies(product, customer.segment, now)), None)
        if promotion is not None and promotion.boost > 0:
            reasons.append(Reason("promotion", promotion.boost,
                                  {lang: f"Promo: {promotion.text(lang)}" for lang in LANGUAGES}))
        score = round(sum(reason.score for reason in reasons), 6)
        if score <= 0:
            continue
        reasons.sort(key=lambda r: (-r.score, _KIND_ORDER[r.kind]))
        offers.append(Offer(sku=sku, names=product.names, category=product.category, price=product.price,
                            score=score, reasons=tuple(reasons),
                            promotion_id=None if promotion is None else promotion.promotion_id))
    offers.sort(key=lambda o: (-o.score, o.sku))
    return Ranking(offers=tuple(offers[: policy.limit]))


def _owned_name(sku: str, products: Mapping[str, Product], language: str) -> str:
    product = products.get(sku)
    return sku if product is None else product.name(language)


def _complement_reason(sku: str, owned: list[str], complements: list[Complement],
                       products: Mapping[str, Product], policy: Policy) -> Reason | None:
    owned_set = set(owned)
    # complements are sorted by (complement, -weight, sku): the first match is the strongest, ties by SKU.
    best = next((c for c in complements if c.complement == sku and c.sku in owned_set), None)
    if best is None:
        return None
    return Reason("complement", round(best.weight * policy.complement_weight, 6), {
        "id": f"Melengkapi {_owned_name(best.sku, products, 'id')} yang Anda miliki",
        "en": f"Complements the {_owned_name(best.sku, products, 'en')} you own",
    })


def _percent(count: int, total: int) -> int:
    """Rounded half up, in integers: the same figure on every platform."""
    return (200 * count + total) // (2 * total)


def _segment_reason(sku: str, owned: list[str], stats: SegmentStats, products: Mapping[str, Product],
                    policy: Policy) -> Reason | None:
    # (probability, numerator, denominator, owned SKU or None); conditional first so it wins ties.
    found: list[tuple[float, int, int, str | None]] = []
    for held in owned:
        base, both = stats.holders.get(held, 0), stats.together(held, sku)
        if base > 0 and both >= policy.min_support:
            found.append((both / base, both, base, held))
    holders = stats.holders.get(sku, 0)
    if stats.customers > 0 and holders >= policy.min_support:
        found.append((holders / stats.customers, holders, stats.customers, None))
    if not found:
        return None
    probability, count, total, held_sku = max(found, key=lambda f: f[0])  # max keeps the first of equals
    share = _percent(count, total)
    if held_sku is None:
        texts = {"id": f"Dimiliki {share}% pelanggan segmen Anda",
                 "en": f"Owned by {share} % of customers in your segment"}
    else:
        texts = {"id": f"Dimiliki {share}% pelanggan segmen Anda yang memiliki "
                       f"{_owned_name(held_sku, products, 'id')}",
                 "en": f"Owned by {share} % of customers in your segment who own the "
                       f"{_owned_name(held_sku, products, 'en')}"}
    return Reason("segment", round(probability * policy.segment_weight, 6), texts)
