"""Deterministic CRM data for the demo and the tests: Indonesian and English-speaking customers of a telecom
operator that also sells devices online.

:func:`generate` is pure (same ``seed``, ``customers`` and ``now`` give the same data); the CRM's store writes it
into an empty CRM (``CustomerRepository(db).seed(dataset)``).
Six customers are always there, whatever the seed and size, for tests and the demo to rely on (their rows are
listed in docs/crm.md):

============  ===========================================  ==================================================
number        who                                          what they are for
============  ===========================================  ==================================================
10000001      Budi Santoso, Jakarta, gold                  the screen pop's rich record: a mobile and a 021
                                                           line, 3 products, 3 contacts, an open case, a bill
10000002      Siti Rahayu, Surabaya, silver                an open order (50000002, shipped, in transit)
10000003      Dewi Lestari, Bandung, bronze                a young customer asking about accessories
10000004      James Whitfield, Denpasar, platinum          English speaker, Australian mobile, overdue bill
10000005      Rudi Hartono Siregar, Medan, bronze          no consent at all; partly paid overdue bill
10000006      Andi Nurhaliza, Makassar, silver             a business customer with every consent
============  ===========================================  ==================================================

Budi has an IVR PIN (2468) and a date of birth (17 August 1975), Siti a date of birth (21 April 1988), James a
PIN (1357): what callers from other numbers key to be verified. Generated customers have neither.
Generated customers are numbered from 10000101; orders from 50000101. Every shipped or returned order has the
steps of its parcel's journey up to ``now`` (:func:`shipment_steps`), which the customer portal tracks it by.

This is demo data, shown to people: realistic and clean. Hostile values (markup in names and notes) belong to the
tests, which put them into a dataset of their own (``tests/hostile.py``).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from cti.crm import (
    CaseRecord,
    Consent,
    CrmDataset,
    CustomerFields,
    HoldingRecord,
    InvoiceRecord,
    NewContact,
    OrderItem,
    OrderRecord,
    SeedCustomer,
    ShipmentStep,
)
from cti.types import Language

from ._crm_seed_data import (
    AGENTS,
    CARRIERS,
    CASE_SUBJECTS,
    CITIES,
    COMPLEMENTS,
    ENGLISH_FAMILY,
    ENGLISH_GIVEN,
    FOREIGN_MOBILES,
    INDONESIAN_FAMILY,
    INDONESIAN_GIVEN,
    INDONESIAN_MONONYMS,
    MOBILE_PREFIXES,
    MONTHLY_CATEGORIES,
    NOTES,
    PRODUCTS,
    REGIONAL_NAMES,
    STREETS,
    City,
    promotions,
    rupiah,
)

__all__ = [
    "BANDUNG_YOUTH",
    "BUDI_BIRTH_DATE",
    "BUDI_PIN",
    "ENGLISH_SPEAKER",
    "FIXED_CUSTOMERS",
    "JAKARTA_GOLD",
    "JAMES_PIN",
    "MAKASSAR_BUSINESS",
    "MEDAN_NO_CONSENT",
    "OPEN_ORDER_NUMBER",
    "SITI_BIRTH_DATE",
    "SURABAYA_OPEN_ORDER",
    "WAREHOUSE",
    "generate",
    "shipment_steps",
]

JAKARTA_GOLD: Final = "10000001"
SURABAYA_OPEN_ORDER: Final = "10000002"
BANDUNG_YOUTH: Final = "10000003"
ENGLISH_SPEAKER: Final = "10000004"
MEDAN_NO_CONSENT: Final = "10000005"
MAKASSAR_BUSINESS: Final = "10000006"
# What callers from other numbers key to be verified in the IVR (docs/ivr.md#verification): the others of the
# fixed customers can be verified only by calling from one of their phones.
BUDI_PIN: Final = "2468"
BUDI_BIRTH_DATE: Final = date(1975, 8, 17)
SITI_BIRTH_DATE: Final = date(1988, 4, 21)
JAMES_PIN: Final = "1357"
FIXED_CUSTOMERS: Final = (
    JAKARTA_GOLD, SURABAYA_OPEN_ORDER, BANDUNG_YOUTH, ENGLISH_SPEAKER, MEDAN_NO_CONSENT, MAKASSAR_BUSINESS,
)  # fmt: skip
OPEN_ORDER_NUMBER: Final = "50000002"

_FIRST_GENERATED: Final = 10_000_101
_FIRST_GENERATED_ORDER: Final = 50_000_101
_PRODUCTS: Final = {product.sku: product for product in PRODUCTS}
_COMPLEMENTS_OF: Final = {
    sku: tuple(c.complement_sku for c in COMPLEMENTS if c.sku == sku) for sku in _PRODUCTS
}
# Tier thresholds on lifetime value, in rupiah.
_TIERS: Final = ((25_000_000, "platinum"), (10_000_000, "gold"), (2_500_000, "silver"), (0, "bronze"))


def generate(*, now: datetime, customers: int = 200, seed: int = 1) -> CrmDataset:
    """``customers`` customers in all (the six fixed ones included), dated relative to ``now``."""
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    if customers < len(FIXED_CUSTOMERS):
        raise ValueError(f"customers must be at least {len(FIXED_CUSTOMERS)} (the fixed ones), not {customers}")
    builder = _Builder(random.Random(seed), now.astimezone(UTC).replace(microsecond=0))
    builder.add_fixed()
    for n in range(customers - len(FIXED_CUSTOMERS)):
        builder.add_random(str(_FIRST_GENERATED + n))
    return builder.dataset()


WAREHOUSE: Final = "Cikarang"
"""Where every demo parcel leaves from (the company's warehouse east of Jakarta)."""


def shipment_steps(order: OrderRecord, city: str | None, now: datetime) -> tuple[ShipmentStep, ...]:
    """The carrier's scans of ``order``'s parcel up to ``now``, as a real journey tells them: packed and picked up
    at the warehouse, in transit, at the hub of the customer's city, out for delivery, delivered; a returned
    order's failed delivery and return. Nothing for an order that never shipped."""
    where = city or "Jakarta"
    plan: list[tuple[datetime, str, str]] = []
    if order.shipped_at is not None:
        sent = order.shipped_at
        plan += [(sent - timedelta(hours=3), "packed", WAREHOUSE), (sent, "picked_up", WAREHOUSE),
                 (sent + timedelta(hours=5), "in_transit", "Jakarta"), (sent + timedelta(hours=18), "at_hub", where)]
        if order.delivered_at is not None:
            plan += [(max(sent + timedelta(hours=19), order.delivered_at - timedelta(hours=5)), "out_for_delivery",
                      where), (order.delivered_at, "delivered", where)]
        elif order.shipment_status == "out_for_delivery":
            plan.append((sent + timedelta(hours=26), "out_for_delivery", where))
    elif order.status == "returned":
        start = order.placed_at
        plan += [(start + timedelta(days=1), "picked_up", WAREHOUSE),
                 (start + timedelta(days=1, hours=5), "in_transit", "Jakarta"),
                 (start + timedelta(days=2), "failed_delivery", where),
                 (start + timedelta(days=3), "returned", WAREHOUSE)]
    return tuple(ShipmentStep(order_number=order.order_number, at=at, step=step, location=location)
                 for at, step, location in plan if at <= now)


@dataclass(slots=True)
class _Builder:
    rng: random.Random
    now: datetime
    customers: list[SeedCustomer] = field(default_factory=list)
    holdings: list[HoldingRecord] = field(default_factory=list)
    orders: list[OrderRecord] = field(default_factory=list)
    invoices: list[InvoiceRecord] = field(default_factory=list)
    contacts: list[NewContact] = field(default_factory=list)
    cases: list[CaseRecord] = field(default_factory=list)
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    next_order: int = _FIRST_GENERATED_ORDER
    next_invoice: int = 1
    next_case: int = 1

    def dataset(self) -> CrmDataset:
        cities = {c.customer_id: c.fields.city for c in self.customers}
        return CrmDataset(
            customers=tuple(self.customers),
            products=PRODUCTS,
            complements=COMPLEMENTS,
            holdings=tuple(self.holdings),
            orders=tuple(self.orders),
            invoices=tuple(self.invoices),
            contacts=tuple(self.contacts),
            cases=tuple(self.cases),
            promotions=promotions(self.now),
            shipment_steps=tuple(step for order in self.orders
                                 for step in shipment_steps(order, cities.get(order.customer_id), self.now)),
        )

    def ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    def in_days(self, days: float) -> date:
        return (self.now + timedelta(days=days)).date()

    # -- shared building blocks ----------------------------------------------------------------

    def customer(self, customer_id: str, created_at: datetime, fields: CustomerFields, *, pin: str | None = None,
                 birth_date: date | None = None) -> None:
        self.phones.update(fields.phones)
        if fields.email is not None:
            self.emails.add(fields.email)
        self.customers.append(SeedCustomer(customer_id=customer_id, fields=fields, created_at=created_at, pin=pin,
                                           birth_date=birth_date))

    def hold(self, customer_id: str, sku: str, since: datetime) -> None:
        self.holdings.append(HoldingRecord(customer_id, sku, since))

    def invoice(
        self, customer_id: str, amount: int, issued: datetime, *, due: date | None = None, paid: int | None = None,
        paid_at: datetime | None = None, order_number: str | None = None,
    ) -> None:
        paid = amount if paid is None else paid
        self.invoices.append(InvoiceRecord(
            invoice_number=f"INV-{self.next_invoice:07d}",
            customer_id=customer_id,
            order_number=order_number,
            amount_minor=amount,
            paid_minor=paid,
            issued_at=issued,
            due_date=due or (issued + timedelta(days=14)).date(),
            paid_at=(paid_at or issued) if paid == amount else None,
        ))
        self.next_invoice += 1

    def case(self, customer_id: str, subject: str, status: str, priority: str, opened: datetime,
             closed: datetime | None = None) -> None:
        self.cases.append(CaseRecord(case_id=f"CS-{self.next_case:06d}", customer_id=customer_id, subject=subject,
                                     status=status, priority=priority, opened_at=opened, closed_at=closed))
        self.next_case += 1

    # -- the fixed customers -------------------------------------------------------------------

    def add_fixed(self) -> None:
        self.add_budi()
        self.add_siti()
        self.add_dewi()
        self.add_james()
        self.add_rudi()
        self.add_andi()

    def add_budi(self) -> None:
        cid = JAKARTA_GOLD
        self.customer(cid, self.ago(1500), CustomerFields(
            name="Budi Santoso", phones=("+6281210000001", "+622155501001"), email="budi.santoso@example.co.id",
            address="Jl. Jend. Sudirman Kav. 52-53", city="Jakarta", region="jakarta", country="ID",
            language="id", segment="professional", value_tier="gold", lifetime_value_minor=rupiah(18_500_000),
            consent=Consent(marketing_calls=True, email=True, data_sharing=True, phone_calls=True, surveys=True),
        ), pin=BUDI_PIN, birth_date=BUDI_BIRTH_DATE)
        self.hold(cid, "PLAN-L", self.ago(900))
        self.hold(cid, "FIBER-100", self.ago(700))
        self.hold(cid, "PHONE-X1", self.ago(400))
        self.orders.append(OrderRecord(
            order_number="50000001", customer_id=cid, status="delivered", items=(OrderItem("PHONE-X1"),),
            total_minor=rupiah(3_499_000), placed_at=self.ago(403), shipped_at=self.ago(402),
            delivered_at=self.ago(400), shipment_status="delivered", carrier="JNE", tracking_number="JNE0100000001",
        ))
        self.invoice(cid, rupiah(3_499_000), self.ago(403), order_number="50000001")
        self.invoice(cid, rupiah(750_000), self.ago(35), paid_at=self.ago(25))
        self.invoice(cid, rupiah(750_000), self.ago(5), paid=0)
        self.contacts.append(NewContact(
            customer_id=cid, channel="call", at=self.ago(40), reason="billing", disposition="resolved",
            notes="Menanyakan rincian tagihan bulan lalu; sudah dijelaskan.", agent_id="a-101", language="id",
        ))
        self.contacts.append(NewContact(
            customer_id=cid, channel="chat", at=self.ago(12), reason="technical", disposition="resolved",
            notes="Wi-Fi putus-putus; router di-restart dari jarak jauh.", agent_id="a-104", language="id",
        ))
        self.contacts.append(NewContact(
            customer_id=cid, channel="call", at=self.ago(3), reason="technical", disposition="follow_up",
            notes="Internet rumah lambat di malam hari; tiket dibuka.", agent_id="a-102", language="id",
            script_answers={"problem": "slow_evening", "router_restarted": "yes"},
            cross_sell_offered=("ROUTER-MESH",), follow_up_at=self.now + timedelta(days=2),
            follow_up_task="Telepon balik setelah teknisi memeriksa jaringan.",
        ))
        self.case(cid, "Internet rumah lambat di malam hari", "pending", "normal", self.ago(3))

    def add_siti(self) -> None:
        cid = SURABAYA_OPEN_ORDER
        self.customer(cid, self.ago(800), CustomerFields(
            name="Siti Rahayu", phones=("+6285730000002", "+62315550202"), email="siti.rahayu@example.com",
            address="Jl. Pemuda No. 17", city="Surabaya", region="surabaya", country="ID", language="id",
            segment="family", value_tier="silver", lifetime_value_minor=rupiah(6_200_000),
            consent=Consent(marketing_calls=False, email=True, data_sharing=True, phone_calls=True, surveys=True),
        ), birth_date=SITI_BIRTH_DATE)
        self.hold(cid, "PLAN-M", self.ago(780))
        self.hold(cid, "FIBER-50", self.ago(500))
        self.orders.append(OrderRecord(
            order_number=OPEN_ORDER_NUMBER, customer_id=cid, status="shipped",
            items=(OrderItem("PHONE-X1PRO"), OrderItem("BUDS-2")), total_minor=rupiah(8_898_000),
            placed_at=self.ago(2), shipped_at=self.ago(1), shipment_status="in_transit", carrier="JNE",
            tracking_number="JNE0100000002",
        ))
        self.invoice(cid, rupiah(8_898_000), self.ago(2), order_number=OPEN_ORDER_NUMBER)
        self.invoice(cid, rupiah(500_000), self.ago(5), paid_at=self.ago(4))
        self.contacts.append(NewContact(
            customer_id=cid, channel="web", at=self.ago(2), reason="order", disposition="self_service",
            language="id",
        ))

    def add_dewi(self) -> None:
        cid = BANDUNG_YOUTH
        self.customer(cid, self.ago(220), CustomerFields(
            name="Dewi Lestari", phones=("+6281322000003", "+62225550303"),
            email="dewi.lestari@example.com", address="Jl. Dago No. 5", city="Bandung", region="bandung",
            country="ID", language="id", segment="youth", value_tier="bronze", lifetime_value_minor=rupiah(900_000),
            consent=Consent(marketing_calls=True, email=False, data_sharing=True, phone_calls=True),
        ))
        self.hold(cid, "PLAN-M", self.ago(200))
        self.hold(cid, "PHONE-X1", self.ago(190))
        self.contacts.append(NewContact(
            customer_id=cid, channel="call", at=self.ago(20), reason="sales_inquiry", disposition="no_sale",
            notes="Tanya harga casing dan earbud untuk Nusa X1.", agent_id="a-103", language="id",
        ))

    def add_james(self) -> None:
        cid = ENGLISH_SPEAKER
        self.customer(cid, self.ago(650), CustomerFields(
            name="James Whitfield", phones=("+61412345004", "+6281199000004"), email="james.whitfield@example.com.au",
            address="Jl. Sunset Road No. 88, Kuta", city="Denpasar", region="denpasar", country="ID", language="en",
            segment="professional", value_tier="platinum", lifetime_value_minor=rupiah(32_000_000),
            consent=Consent(marketing_calls=True, email=True, data_sharing=False, phone_calls=True, surveys=True),
        ), pin=JAMES_PIN)
        self.hold(cid, "PLAN-XL", self.ago(600))
        self.hold(cid, "ROAM-ASIA", self.ago(300))
        self.hold(cid, "PHONE-X1PRO", self.ago(250))
        self.invoice(cid, rupiah(520_000), self.ago(16), paid=0)
        self.contacts.append(NewContact(
            customer_id=cid, channel="call", at=self.ago(9), reason="roaming", disposition="resolved",
            notes="Roaming in Singapore not working; re-provisioned the roaming pack.", agent_id="a-107",
            language="en",
        ))

    def add_rudi(self) -> None:
        cid = MEDAN_NO_CONSENT
        self.customer(cid, self.ago(1100), CustomerFields(
            name="Rudi Hartono Siregar", phones=("+6281260000005", "+62615550505"), email=None,
            address="Jl. Gatot Subroto No. 120", city="Medan", region="medan", country="ID", language="id",
            segment="family", value_tier="bronze", lifetime_value_minor=rupiah(2_100_000), consent=Consent(),
        ))
        self.hold(cid, "PLAN-M", self.ago(1000))
        self.hold(cid, "FIBER-50", self.ago(300))
        self.invoice(cid, rupiah(500_000), self.ago(40), paid=rupiah(200_000))
        self.invoice(cid, rupiah(500_000), self.ago(10), paid=0)
        self.contacts.append(NewContact(
            customer_id=cid, channel="call", at=self.ago(6), reason="billing", disposition="escalated",
            notes="Merasa ditagih dua kali; diteruskan ke tim penagihan.", agent_id="a-105", language="id",
        ))
        self.case(cid, "Tagihan ganda bulan lalu", "open", "high", self.ago(6))

    def add_andi(self) -> None:
        cid = MAKASSAR_BUSINESS
        self.customer(cid, self.ago(420), CustomerFields(
            name="Andi Nurhaliza", phones=("+6282190000006", "+62411555606"), email="andi.nurhaliza@example.co.id",
            address="Jl. Somba Opu No. 33", city="Makassar", region="makassar", country="ID", language="id",
            segment="business", value_tier="silver", lifetime_value_minor=rupiah(9_400_000),
            consent=Consent(marketing_calls=True, email=True, data_sharing=True, phone_calls=True, surveys=True),
        ))
        self.hold(cid, "PLAN-XL", self.ago(400))
        self.hold(cid, "FIBER-100", self.ago(350))
        self.hold(cid, "ROUTER-MESH", self.ago(350))
        self.invoice(cid, rupiah(900_000), self.ago(5), paid_at=self.ago(3))
        self.contacts.append(NewContact(
            customer_id=cid, channel="email", at=self.ago(30), reason="plan_change", disposition="resolved",
            notes="Minta faktur pajak untuk perusahaan.", agent_id="a-106", language="id",
        ))

    # -- generated customers -------------------------------------------------------------------

    def add_random(self, customer_id: str) -> None:
        rng = self.rng
        expat = rng.random() < 0.1
        city = rng.choices(CITIES, weights=[(c.weight * 3 if c.region in ("jakarta", "denpasar") else c.weight)
                                             if expat else c.weight for c in CITIES])[0]
        language: Language
        if expat:
            name = f"{rng.choice(ENGLISH_GIVEN)} {rng.choice(ENGLISH_FAMILY)}"
            language = "en"
            segment = rng.choice(("professional", "professional", "business", "family"))
        else:
            given, family = REGIONAL_NAMES.get(city.region, (INDONESIAN_GIVEN, INDONESIAN_FAMILY))
            if rng.random() < 0.25:  # people move: a quarter carry names from elsewhere
                given, family = INDONESIAN_GIVEN, INDONESIAN_FAMILY
            if rng.random() < 0.08:
                name = rng.choice(INDONESIAN_MONONYMS)
            else:
                name = f"{rng.choice(given)} {rng.choice(family)}"
            language = "en" if rng.random() < 0.03 else "id"
            segment = rng.choices(("youth", "family", "professional", "business"), weights=(30, 35, 25, 10))[0]
        phones: list[str] = []
        if expat:
            phones.append(self.foreign_mobile())
        if not expat or rng.random() < 0.5:
            phones.append(self.mobile())
        if rng.random() < 0.35:
            phones.append(self.fixed_line(city))
        created = self.ago(rng.randint(60, 2000)) - timedelta(seconds=rng.randint(0, 86_399))
        held = self.random_holdings(customer_id, segment, expat, created)
        lifetime = sum(self.value_of(sku, since) for sku, since in held.items())
        tier = next(name for floor, name in _TIERS if lifetime >= rupiah(floor))
        self.customer(customer_id, created, CustomerFields(
            name=name,
            phones=tuple(phones),
            email=self.email(name) if rng.random() < 0.8 else None,
            address=self.address(city),
            city=city.name,
            region=city.region,
            country="ID",
            language=language,
            segment=segment,
            value_tier=tier,
            lifetime_value_minor=lifetime,
            consent=Consent(
                marketing_calls=rng.random() < 0.55, email=rng.random() < 0.65, data_sharing=rng.random() < 0.7
            ),
        ))
        self.random_orders(customer_id, held, created)
        self.monthly_invoices(customer_id, held)
        self.random_contacts(customer_id, held, created, language)
        if rng.random() < 0.15:
            self.random_case(customer_id, created, language)

    def random_holdings(self, customer_id: str, segment: str, expat: bool, created: datetime) -> dict[str, datetime]:
        rng = self.rng
        wanted: list[str] = []
        if rng.random() < 0.9:
            wanted.append({"youth": "PLAN-M", "family": rng.choice(("PLAN-M", "PLAN-L")),
                           "professional": rng.choice(("PLAN-L", "PLAN-XL")), "business": "PLAN-XL"}[segment])
        if segment in ("family", "business") and rng.random() < 0.6:
            wanted.append("FIBER-100" if segment == "business" or rng.random() < 0.4 else "FIBER-50")
        if rng.random() < 0.45:
            wanted.append("PHONE-X1PRO" if segment in ("professional", "business") and rng.random() < 0.5
                          else "PHONE-X1")
        if rng.random() < (0.6 if expat else 0.08):
            wanted.append("ROAM-ASIA")
        # Complements follow what was bought, with their weight as the chance: realistic co-occurrence.
        for sku in list(wanted):
            for complement in COMPLEMENTS:
                if complement.sku == sku and complement.complement_sku not in wanted:
                    if rng.random() < complement.weight * 0.5:
                        wanted.append(complement.complement_sku)
        span = max(int((self.now - created).total_seconds()) - 4 * 86_400, 1)
        held: dict[str, datetime] = {}
        for sku in wanted:
            since = (created + timedelta(days=3, seconds=rng.randrange(span))).replace(microsecond=0)
            held[sku] = since
            self.hold(customer_id, sku, since)
        return held

    def value_of(self, sku: str, since: datetime) -> int:
        product = _PRODUCTS[sku]
        if product.category in MONTHLY_CATEGORIES:
            return product.price_minor * max((self.now - since).days // 30, 1)
        return product.price_minor

    def random_orders(self, customer_id: str, held: dict[str, datetime], created: datetime) -> None:
        rng = self.rng
        for sku, since in held.items():
            if _PRODUCTS[sku].category in MONTHLY_CATEGORIES:
                continue
            number = self.order_number()
            carrier = rng.choice(CARRIERS)
            price = _PRODUCTS[sku].price_minor
            placed = since - timedelta(days=2, hours=rng.randint(1, 20))
            self.orders.append(OrderRecord(
                order_number=number, customer_id=customer_id, status="delivered", items=(OrderItem(sku),),
                total_minor=price, placed_at=placed, shipped_at=since - timedelta(days=1), delivered_at=since,
                shipment_status="delivered", carrier=carrier, tracking_number=self.tracking(carrier),
            ))
            self.invoice(customer_id, price, placed, order_number=number)
        roll = rng.random()
        if roll >= 0.19:
            return
        buyable = [p.sku for p in PRODUCTS if p.category in ("device", "accessory") and p.sku not in held]
        items = tuple(OrderItem(sku) for sku in sorted(rng.sample(buyable, rng.randint(1, 2))))
        total = sum(_PRODUCTS[item.sku].price_minor for item in items)
        number = self.order_number()
        carrier = rng.choice(CARRIERS)
        placed = self.ago(rng.uniform(0.2, 6)).replace(microsecond=0)
        if roll < 0.04:  # awaiting payment
            self.orders.append(OrderRecord(order_number=number, customer_id=customer_id, status="placed", items=items,
                                           total_minor=total, placed_at=placed, shipment_status="pending"))
            self.invoice(customer_id, total, placed, due=(placed + timedelta(days=1)).date(), paid=0,
                         order_number=number)
            return
        self.invoice(customer_id, total, placed, order_number=number)
        if roll < 0.08:
            self.orders.append(OrderRecord(order_number=number, customer_id=customer_id, status="paid", items=items,
                                           total_minor=total, placed_at=placed, shipment_status="pending"))
        elif roll < 0.16:
            shipped = min(placed + timedelta(hours=rng.randint(4, 30)), self.now)
            self.orders.append(OrderRecord(
                order_number=number, customer_id=customer_id, status="shipped", items=items, total_minor=total,
                placed_at=placed, shipped_at=shipped, carrier=carrier, tracking_number=self.tracking(carrier),
                shipment_status=rng.choice(("in_transit", "in_transit", "out_for_delivery")),
            ))
        else:
            status = rng.choice(("cancelled", "returned"))
            self.orders.append(OrderRecord(
                order_number=number, customer_id=customer_id, status=status, items=items, total_minor=total,
                placed_at=placed, shipment_status="returned" if status == "returned" else None,
                carrier=carrier if status == "returned" else None,
            ))

    def monthly_invoices(self, customer_id: str, held: dict[str, datetime]) -> None:
        rng = self.rng
        for months_ago in (2, 1, 0):
            issued = self.ago(months_ago * 30 + 5)
            amount = sum(_PRODUCTS[sku].price_minor for sku, since in held.items()
                         if _PRODUCTS[sku].category in MONTHLY_CATEGORIES and since <= issued)
            if not amount:
                continue
            roll = rng.random()
            if roll < (0.95 if months_ago else 0.65):
                self.invoice(customer_id, amount, issued, paid_at=issued + timedelta(days=rng.randint(1, 4)))
            elif not months_ago and roll < 0.75:
                self.invoice(customer_id, amount, issued, paid=amount // 2)
            else:
                self.invoice(customer_id, amount, issued, paid=0)

    def random_contacts(self, customer_id: str, held: dict[str, datetime], created: datetime,
                        language: Language) -> None:
        rng = self.rng
        count = rng.choices(range(6), weights=(15, 25, 25, 15, 12, 8))[0]
        moments = sorted(
            max(self.ago(rng.uniform(1, 180)), created + timedelta(hours=1)).replace(microsecond=0)
            for _ in range(count)
        )
        for at in moments:
            channel = rng.choices(("call", "chat", "email", "web"), weights=(50, 20, 20, 10))[0]
            reason = rng.choice(tuple(NOTES))
            notes = NOTES[reason][1 if language == "en" else 0]
            if channel == "web":
                self.contacts.append(NewContact(customer_id=customer_id, channel="web", at=at, reason=reason,
                                                disposition="self_service", language=language))
                continue
            sales = reason in ("sales_inquiry", "plan_change")
            disposition = rng.choice(("sale", "no_sale") if sales else ("resolved", "resolved", "follow_up",
                                                                        "escalated"))
            offered: tuple[str, ...] = ()
            accepted: tuple[str, ...] = ()
            if channel == "call" and rng.random() < 0.3:
                candidates = sorted({c for sku in held for c in _COMPLEMENTS_OF[sku] if c not in held})
                if candidates:
                    offered = (rng.choice(candidates),)
                    accepted = offered if rng.random() < 0.25 else ()
            follow_up = disposition == "follow_up"
            self.contacts.append(NewContact(
                customer_id=customer_id, channel=channel, at=at, reason=reason, disposition=disposition,
                notes=notes, agent_id=rng.choice(AGENTS), language=language,
                script_answers={"reason_confirmed": "yes"} if channel == "call" and rng.random() < 0.4 else None,
                cross_sell_offered=offered, cross_sell_accepted=accepted,
                follow_up_at=at + timedelta(days=2) if follow_up else None,
                follow_up_task=("Call the customer back." if language == "en" else "Hubungi pelanggan kembali.")
                if follow_up else None,
            ))

    def random_case(self, customer_id: str, created: datetime, language: Language) -> None:
        rng = self.rng
        reason = rng.choice(tuple(CASE_SUBJECTS))
        opened = max(self.ago(rng.uniform(0.5, 60)), created + timedelta(hours=2)).replace(microsecond=0)
        status = rng.choices(("open", "pending", "resolved", "closed"), weights=(30, 20, 30, 20))[0]
        closed = min(opened + timedelta(days=rng.uniform(0.1, 5)), self.now).replace(microsecond=0)
        self.case(customer_id, CASE_SUBJECTS[reason][1 if language == "en" else 0], status,
                  rng.choices(("low", "normal", "high", "urgent"), weights=(20, 50, 22, 8))[0], opened,
                  closed if status in ("resolved", "closed") else None)

    # -- numbers -------------------------------------------------------------------------------

    def unique_phone(self, make: Any) -> str:
        while True:
            number: str = make()
            if number not in self.phones:
                self.phones.add(number)
                return number

    def mobile(self) -> str:
        rng = self.rng
        return self.unique_phone(lambda: f"+62{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}")

    def fixed_line(self, city: City) -> str:
        rng = self.rng
        digits = city.subscriber_digits
        # Subscriber numbers never start with 0 or 1.
        low = 2 * 10 ** (digits - 1)
        return self.unique_phone(lambda: f"+62{city.area_code}{rng.randrange(low, 10**digits)}")

    def foreign_mobile(self) -> str:
        rng = self.rng
        code, lead, rest = rng.choice(FOREIGN_MOBILES)
        return self.unique_phone(lambda: f"+{code}{lead}{rng.randrange(10**rest):0{rest}d}")

    def email(self, name: str) -> str:
        rng = self.rng
        local = ".".join(re.sub(r"[^a-z]", "", part) for part in name.lower().split())
        domain = rng.choice(("gmail.com", "yahoo.co.id", "outlook.com", "example.co.id"))
        address = f"{local}@{domain}"
        n = 1
        while address in self.emails:
            n += 1
            address = f"{local}{n}@{domain}"
        self.emails.add(address)
        return address

    def address(self, city: City) -> str:
        """A street address as Indonesians write it: street and number, district, province and postal code."""
        rng = self.rng
        low, high = city.postal
        return (f"{rng.choice(STREETS)} No. {rng.randint(1, 250)}, Kec. {rng.choice(city.districts)}, "
                f"{city.province} {rng.randint(low, high)}")

    def order_number(self) -> str:
        number = str(self.next_order)
        self.next_order += 1
        return number

    def tracking(self, carrier: str) -> str:
        prefix = "".join(ch for ch in carrier.upper() if ch.isalpha())[:3]
        return f"{prefix}{self.rng.randrange(10**10):010d}"
