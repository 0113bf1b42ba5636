"""The external CRM's JSON contract (cti.crm.external_customer) and cti's copy of such a record
(cti.crm.mirrored_fields): who the customer is comes from the other CRM, consent and lifetime value stay cti's."""

from __future__ import annotations

from typing import Any

import pytest

from cti.crm import Consent, CustomerFields, ExternalCustomer, ExternalRecordError, external_customer, mirrored_fields


def test_a_record_of_the_contract() -> None:
    record = external_customer({
        "id": "C-42", "name": " Budi Santoso ", "phones": ["0812-1000-0001", "+62 21 5550 1001"],
        "email": "budi@example.com", "address": "Jl. Kenanga No. 12", "city": "Jakarta", "region": "Jakarta",
        "country": "id", "language": "id", "segment": "Fiber", "value_tier": "gold", "loyalty_points": 1200})
    assert record == ExternalCustomer(
        ref="C-42", name="Budi Santoso", phones=("0812-1000-0001", "+62 21 5550 1001"), email="budi@example.com",
        address="Jl. Kenanga No. 12", city="Jakarta", region="jakarta", country="ID", language="id",
        segment="fiber", value_tier="gold")  # other keys ignored
    assert external_customer({"id": "7", "name": "Ayu", "language": None, "phones": None}) == ExternalCustomer(
        ref="7", name="Ayu")


@pytest.mark.parametrize(("data", "reason"), [
    ([], "a customer record is a JSON object"),
    ({"name": "Budi"}, "'id' is missing"),
    ({"id": 42, "name": "Budi"}, "'id' is not a string"),
    ({"id": "x" * 65, "name": "Budi"}, "'id' is longer than 64 characters"),
    ({"id": "42", "name": ""}, "'name' is missing"),
    ({"id": "42", "name": "Budi", "phones": "0812"}, "'phones' is not a list of phone numbers"),
    ({"id": "42", "name": "Budi", "phones": ["1"] * 11}, "'phones' lists more than 10 numbers"),
    ({"id": "42", "name": "Budi", "language": "fr"}, "'language' is neither 'id' nor 'en'"),
    ({"id": "42", "name": "Budi", "value_tier": "diamond"},
     "'value_tier' is not one of bronze, silver, gold, platinum"),
    ({"id": "42", "name": "Budi", "email": ["b@x"]}, "'email' is not a string"),
])
def test_anything_else_is_refused_naming_the_field_never_the_value(data: Any, reason: str) -> None:
    with pytest.raises(ExternalRecordError) as refused:
        external_customer(data)
    assert str(refused.value) == reason


def test_the_copy_takes_who_they_are_and_keeps_cti_s_consent_and_value() -> None:
    external = ExternalCustomer(ref="C-42", name="Budi", phones=("+6281210000001",), email="budi@example.com",
                                language="en", segment="fiber", value_tier="gold")
    ours = CustomerFields(name="Budi S.", phones=("+6281210000009",), email="old@example.com", city="Bandung",
                          lifetime_value_minor=150_000_00, consent=Consent(email=True, phone_calls=True))
    assert mirrored_fields(ours, external) == CustomerFields(
        name="Budi", phones=("+6281210000001",), email="budi@example.com", language="en", segment="fiber",
        value_tier="gold", lifetime_value_minor=150_000_00, consent=Consent(email=True, phone_calls=True))
    assert mirrored_fields(None, external).consent == Consent()  # a new copy: no consent known, none assumed
