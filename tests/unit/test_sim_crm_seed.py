"""cti.sim._crm_seed.generate: deterministic, realistic and self-consistent demo data (pure, no database)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.crm import Consent, CrmDataset, CustomerFields, OrderItem, OrderRecord, PromotionRecord
from cti.crm._validate import EMAIL
from cti.geography import locate, normalize_e164
from cti.sim import (
    BANDUNG_YOUTH,
    ENGLISH_SPEAKER,
    FIXED_CUSTOMERS,
    JAKARTA_GOLD,
    MEDAN_NO_CONSENT,
    OPEN_ORDER_NUMBER,
    SURABAYA_OPEN_ORDER,
    generate,
    shipment_steps,
)
from cti.sim._crm_seed_data import CITIES
from tests.hostile import HTML_PERSON, hostile

NOW = datetime(2025, 3, 14, 3, 0, tzinfo=UTC)
AREA_CODES = {city.region: city.area_code for city in CITIES}


def test_same_seed_same_data_and_another_seed_other_data() -> None:
    first = generate(now=NOW, customers=60, seed=7)
    assert first == generate(now=NOW, customers=60, seed=7)
    other = generate(now=NOW, customers=60, seed=8)
    assert other != first
    # Only the generated part moves with the seed: the fixed customers are the same in every dataset.
    assert other.customers[:6] == first.customers[:6]
    assert [c.fields.name for c in other.customers[6:]] != [c.fields.name for c in first.customers[6:]]
    # A bigger dataset starts like a smaller one: tests can pick any size without changing the first customers.
    assert generate(now=NOW, customers=80, seed=7).customers[:60] == first.customers


def test_the_fixed_customers() -> None:
    data = generate(now=NOW, customers=6, seed=1)
    by_id = {c.customer_id: c for c in data.customers}
    assert tuple(by_id) == FIXED_CUSTOMERS
    assert by_id[JAKARTA_GOLD].fields == CustomerFields(
        name="Budi Santoso", phones=("+6281210000001", "+622155501001"), email="budi.santoso@example.co.id",
        address="Jl. Jend. Sudirman Kav. 52-53", city="Jakarta", region="jakarta", country="ID", language="id",
        segment="professional", value_tier="gold", lifetime_value_minor=1_850_000_000,
        consent=Consent(marketing_calls=True, email=True, data_sharing=True, phone_calls=True, surveys=True),
    )
    assert by_id[BANDUNG_YOUTH].fields.name == "Dewi Lestari"
    # Post-call surveys: all but Dewi and Rudi (who agreed to nothing); no generated customer (opt-in).
    assert [c.customer_id for c in data.customers if c.fields.consent.surveys] == [
        "10000001", "10000002", "10000004", "10000006"]
    assert not any(c.fields.consent.surveys for c in generate(now=NOW, customers=60, seed=7).customers[6:])
    assert hostile(data).customers[2].fields.name == HTML_PERSON  # the tests' own, hostile copy
    james = by_id[ENGLISH_SPEAKER].fields
    assert (james.name, james.language, james.phones[0], locate(james.phones[0]).country) == (
        "James Whitfield", "en", "+61412345004", "AU")
    assert by_id[MEDAN_NO_CONSENT].fields.consent == Consent()
    assert [o for o in data.orders if o.is_open] == [OrderRecord(
        order_number=OPEN_ORDER_NUMBER, customer_id=SURABAYA_OPEN_ORDER, status="shipped",
        items=(OrderItem("PHONE-X1PRO"), OrderItem("BUDS-2")), total_minor=889_800_000,
        placed_at=NOW - timedelta(days=2), shipped_at=NOW - timedelta(days=1), shipment_status="in_transit",
        carrier="JNE", tracking_number="JNE0100000002",
    )]
    assert [(p.promotion_id, p.is_active(NOW)) for p in data.promotions] == [
        ("PROMO-CHRG", True), ("PROMO-FIBER-FAM", True), ("PROMO-ACC-YOUTH", True), ("PROMO-ROAM-OLD", False),
        ("PROMO-X1PRO-SOON", False)]
    assert data.promotions[0] == PromotionRecord(
        promotion_id="PROMO-CHRG", sku="CHRG-65W", category=None, segment=None, starts_at=NOW - timedelta(days=10),
        ends_at=NOW + timedelta(days=20), boost=1.5, text_id="Diskon 30% pengisi daya cepat 65 W",
        text_en="30% off the 65 W fast charger")


# Markup, escapes and the words tests use for their fixtures: none of them belongs in what people see in the demo.
TEST_LIKE = re.compile(r"[<>&\"\\]|script|alert\(|\btest|lorem|\bfoo\b|\bbar\b|xxx|dummy|sample", re.IGNORECASE)


def test_the_demo_data_holds_no_markup_and_no_test_strings() -> None:
    data = generate(now=NOW, customers=500, seed=1)
    texts = [text for c in data.customers for text in (c.fields.name, c.fields.address, c.fields.city) if text]
    texts += [c.notes for c in data.contacts if c.notes] + [c.follow_up_task for c in data.contacts
                                                           if c.follow_up_task]
    texts += [case.subject for case in data.cases] + [p.name_id for p in data.products]
    texts += [p.text_id for p in data.promotions] + [p.text_en for p in data.promotions]
    found = sorted({text for text in texts if TEST_LIKE.search(text)})
    assert not found, found
    names = [c.fields.name for c in data.customers]
    assert all(len(name.split()) <= 4 and name[0].isupper() for name in names)


def test_now_is_taken_in_utc_to_the_second() -> None:
    jakarta = timezone(timedelta(hours=7))
    assert generate(now=datetime(2025, 3, 14, 10, 0, 0, 999_999, tzinfo=jakarta), customers=10) == generate(
        now=NOW, customers=10)
    with pytest.raises(ValueError, match="aware"):
        generate(now=datetime(2025, 3, 14), customers=10)
    with pytest.raises(ValueError, match="at least 6"):
        generate(now=NOW, customers=5)


def test_a_demo_sized_dataset_looks_like_a_customer_base() -> None:
    data = generate(now=NOW, customers=400, seed=1)
    customers = data.customers
    languages = Counter(c.fields.language for c in customers)
    assert 0.06 < languages["en"] / len(customers) < 0.2
    generated = [c.fields for c in customers if c.customer_id not in FIXED_CUSTOMERS]
    # Addresses as Indonesians write them: street and number, district, province and a five-digit postal code.
    assert all(re.fullmatch(r"Jl\. [A-Za-z. ]+ No\. \d+, Kec\. [A-Za-z ]+, [A-Za-z ]+ \d{5}", f.address or "")
               for f in generated), [f.address for f in generated][:5]
    regions = Counter(c.fields.region for c in customers)
    assert set(regions) == set(AREA_CODES) and regions.most_common(1)[0][0] == "jakarta"
    foreign = {locate(p).country for c in customers for p in c.fields.phones} - {"ID"}
    assert foreign == {"AU", "SG", "GB"}
    assert {c.fields.value_tier for c in customers} == {"bronze", "silver", "gold", "platinum"}
    assert {o.status for o in data.orders} == {"placed", "paid", "shipped", "delivered", "cancelled", "returned"}
    assert {c.channel for c in data.contacts} == {"call", "email", "web", "chat"}
    assert sum(i.paid_minor < i.amount_minor for i in data.invoices) > 20
    assert any(c.cross_sell_accepted for c in data.contacts)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), customers=st.integers(6, 40))
def test_every_dataset_is_consistent(seed: int, customers: int) -> None:
    check_consistent(generate(now=NOW, customers=customers, seed=seed), customers)


def check_consistent(data: CrmDataset, size: int) -> None:
    ids = [c.customer_id for c in data.customers]
    assert len(ids) == len(set(ids)) == size and all(i.isdigit() and len(i) == 8 for i in ids)
    phones = [p for c in data.customers for p in c.fields.phones]
    assert len(phones) == len(set(phones))
    for customer in data.customers:
        fields = customer.fields
        assert fields.name and fields.phones and customer.created_at < NOW
        for phone in fields.phones:
            assert normalize_e164(phone) == phone
            where = locate(phone)
            if where.kind == "fixed":  # a landline is in the customer's own city
                assert where.region == fields.region and where.area_code == AREA_CODES[fields.region or ""]
            else:
                assert where.kind in ("mobile", "foreign")
        assert fields.email is None or EMAIL.fullmatch(fields.email)
    emails = [c.fields.email for c in data.customers if c.fields.email]
    assert len(emails) == len(set(emails))

    skus = {p.sku for p in data.products}
    created = {c.customer_id: c.created_at for c in data.customers}
    assert all(c.sku in skus and c.complement_sku in skus and c.sku != c.complement_sku for c in data.complements)
    held = [(h.customer_id, h.sku) for h in data.holdings]
    assert len(held) == len(set(held))
    assert all(h.sku in skus and created[h.customer_id] < h.since <= NOW for h in data.holdings)
    orders = {o.order_number: o for o in data.orders}
    assert len(orders) == len(data.orders)
    for order in data.orders:
        assert order.customer_id in created and all(item.sku in skus for item in order.items)
        assert order.placed_at <= NOW and (order.shipped_at is None or order.placed_at < order.shipped_at <= NOW)
        assert (order.shipment_status == "delivered") == (order.status == "delivered")
    invoices = [i.invoice_number for i in data.invoices]
    assert len(invoices) == len(set(invoices))
    for invoice in data.invoices:
        assert invoice.customer_id in created and 0 <= invoice.paid_minor <= invoice.amount_minor
        assert invoice.order_number is None or orders[invoice.order_number].customer_id == invoice.customer_id
        assert (invoice.paid_at is not None) == (invoice.paid_minor == invoice.amount_minor)
    for contact in data.contacts:
        assert created[contact.customer_id] < contact.at <= NOW
        assert set(contact.cross_sell_accepted) <= set(contact.cross_sell_offered) <= skus
    for case in data.cases:
        assert created[case.customer_id] < case.opened_at <= NOW
        assert (case.closed_at is not None) == (case.status in ("resolved", "closed"))


def test_shipped_and_returned_orders_tell_their_parcels_journey_up_to_now_and_nothing_ahead() -> None:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    dataset = generate(now=now, customers=60, seed=5)
    steps: dict[str, list[str]] = {}
    for step in dataset.shipment_steps:
        assert step.at <= now and step.location
        steps.setdefault(step.order_number, []).append(step.step)
    for order in dataset.orders:
        found = steps.get(order.order_number, [])
        if order.status == "delivered":
            assert found == ["packed", "picked_up", "in_transit", "at_hub", "out_for_delivery", "delivered"]
        elif order.status == "returned":
            assert found[-2:] == ["failed_delivery", "returned"] or order.placed_at > now - timedelta(days=3)
        elif order.shipped_at is None:
            assert found == []
        else:
            assert found[:2] == ["packed", "picked_up"]
    siti = OrderRecord(order_number="1", customer_id="1", status="shipped", items=(OrderItem("BUDS-2"),),
                       total_minor=1, placed_at=now - timedelta(days=2), shipped_at=now - timedelta(hours=10),
                       shipment_status="in_transit")
    assert [(s.step, s.location) for s in shipment_steps(siti, "Surabaya", now)] == [
        ("packed", "Cikarang"), ("picked_up", "Cikarang"), ("in_transit", "Jakarta")]  # not at the hub yet
