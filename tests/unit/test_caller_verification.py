"""The services' side of verifying IVR callers, on the in-memory CRM (``fakes.py``): the check of a PIN or date of
birth, setting them, self-service answers about the verified customer only, and what the screen pop says of the
caller. The real store is in tests/integration/test_crm_store.py, the whole path in tests/e2e/test_ivr.py."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from cti.acd import AgentChanged, ContactCenter, Offer, WorkChanged, WorkItem
from cti.crm import CrmInputError, CustomerCredentials, OrderItem, OrderRecord, hash_pin
from cti.errors import Conflict, NotFound
from cti.ivr import VerifyResult
from cti.services import (
    CallerVerification,
    CenterView,
    CommandBus,
    CredentialsState,
    Distributor,
    ScreenPop,
    SelfService,
)
from tests.unit.fakes import FakeCustomers, FakePublisher, FakeScripts

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


async def crm() -> tuple[FakeCustomers, str, str]:
    customers = FakeCustomers()
    budi = (await customers.create_blank_customer("0215550001", name="Budi")).customer_id
    siti = (await customers.create_blank_customer("0215550002", name="Siti")).customer_id
    customers.secrets[budi] = CustomerCredentials(customer_id=budi, pin_hash=hash_pin("2468"),
                                                  birth_date=date(1975, 8, 17))
    return customers, budi, siti


async def test_a_pin_or_a_date_of_birth_verifies_and_anything_else_does_not() -> None:
    customers, budi, siti = await crm()
    verification = CallerVerification(customers, clock=lambda: NOW)
    assert await verification.verify(budi, "2468") == VerifyResult(True, "pin")
    assert await verification.verify(budi, "17081975") == VerifyResult(True, "dob")
    assert await verification.verify(budi, "2469") == VerifyResult(False, "pin")
    assert await verification.verify(budi, "17081976") == VerifyResult(False, "dob")
    assert await verification.verify(budi, "31021975") == VerifyResult(False, "dob")  # no such date
    assert await verification.verify(siti, "2468") == VerifyResult(False, "pin")  # nothing set: nothing matches
    assert await verification.verify("99999999", "2468") == VerifyResult(False, "pin")  # no oracle of numbers
    customers.customers[budi] = replace(customers.customers[budi], forgotten_at=NOW)
    assert await verification.verify(budi, "2468") == VerifyResult(False, "pin")  # erased


async def test_an_administrator_sets_and_removes_them_and_learns_only_whether_they_are_set(
    caplog: pytest.LogCaptureFixture,
) -> None:
    customers, _, siti = await crm()
    verification = CallerVerification(customers, clock=lambda: NOW)
    assert await verification.state(siti) == CredentialsState(siti, False, False)
    with caplog.at_level(logging.INFO, logger="cti.services"):
        state = await verification.set_credentials(siti, pin="135790", birth_date=date(1988, 4, 21))
    assert state == CredentialsState(siti, True, True)
    assert await verification.verify(siti, "135790") == VerifyResult(True, "pin")
    assert await verification.verify(siti, "21041988") == VerifyResult(True, "dob")
    stored = customers.secrets[siti].pin_hash
    assert stored is not None and "135790" not in stored
    assert "135790" not in caplog.text and "1988" not in caplog.text
    assert await verification.set_credentials(siti, clear=frozenset({"pin"})) == CredentialsState(siti, False, True)
    assert await verification.verify(siti, "135790") == VerifyResult(False, "pin")


@pytest.mark.parametrize(("values", "problems"), [
    ({"pin": "123"}, ["pin: must be 4 to 6 digits"]),
    ({"pin": "1234567"}, ["pin: must be 4 to 6 digits"]),
    ({"pin": "12a4"}, ["pin: must be 4 to 6 digits"]),
    ({"birth_date": date(2027, 1, 1)}, ["birth_date: must be between 1900-01-01 and 2026-12-07"]),
    ({"pin": "1234", "clear": frozenset({"pin"})}, ["pin: cannot be set and removed at once"]),
])
async def test_invalid_values_change_nothing(values: dict[str, Any], problems: list[str]) -> None:
    customers, budi, _ = await crm()
    before = customers.secrets[budi]
    with pytest.raises(CrmInputError) as caught:
        await CallerVerification(customers, clock=lambda: NOW).set_credentials(budi, **values)
    assert [str(p) for p in caught.value.problems] == problems
    assert customers.secrets[budi] == before


async def test_unknown_and_erased_customers_are_refused() -> None:
    customers, budi, _ = await crm()
    verification = CallerVerification(customers, clock=lambda: NOW)
    with pytest.raises(NotFound):
        await verification.set_credentials("99999999", pin="1234")
    with pytest.raises(NotFound):
        await verification.state("99999999")
    customers.customers[budi] = replace(customers.customers[budi], forgotten_at=NOW)
    with pytest.raises(Conflict, match="erased"):
        await verification.set_credentials(budi, pin="1234")


async def test_self_service_answers_only_about_the_verified_customer() -> None:
    customers, budi, siti = await crm()
    customers.orders["50000002"] = OrderRecord(order_number="50000002", customer_id=siti, status="shipped",
                                               items=(OrderItem("PHONE-X1"),), total_minor=100, placed_at=NOW)
    service = SelfService(customers, CallerVerification(customers, clock=lambda: NOW))
    assert (await service.lookup("balance", budi, budi)).found
    assert not (await service.lookup("balance", siti, budi)).found  # someone else's balance
    assert not (await service.lookup("balance", siti)).found  # nobody verified
    assert (await service.lookup("order_status", "50000002", siti)).found
    mine = await service.lookup("order_status", "50000002", budi)  # someone else's order: as if it did not exist
    assert (mine.found, dict(mine.data)) == (False, {"order_number": "50000002"})
    assert not (await service.lookup("order_status", "50000002")).found
    assert await service.verify(budi, "2468") == VerifyResult(True, "pin")


async def pop_of(customers: FakeCustomers, item: WorkItem) -> dict[str, Any]:
    hub, core = FakePublisher(), ContactCenter()
    screenpop = ScreenPop(hub, customers, FakeScripts(), CenterView(core, lambda: NOW), clock=lambda: NOW)
    distributor = Distributor(core, lambda: NOW, CommandBus({
        Offer: [screenpop.offered], AgentChanged: [screenpop.agent_changed], WorkChanged: [screenpop.work_changed]}))
    distributor.register_agent("ana", "Ana")
    distributor.login("ana", "7001", ready=True)
    distributor.arrive(item)
    await screenpop.drain()
    [pop] = hub.of("agent:ana", "offer")
    return pop


def ivr_call(caller: str, customer_id: str | None, verification: dict[str, Any]) -> WorkItem:
    return WorkItem(call_id="c1", channel_id="leg-c1", caller_number=caller, service_number="1500200", queue="",
                    arrived_at=NOW, customer_id=customer_id, ivr={"flow": "support", "verification": verification})


async def test_the_pop_shows_a_claimed_number_as_a_claim_and_the_caller_as_not_verified() -> None:
    customers, budi, _ = await crm()
    pop = await pop_of(customers, ivr_call("0215559999", None, {
        "verified": False, "method": "none", "customer_id": None, "claimed": budi, "failures": 3, "locked": True}))
    assert (pop["verified"], pop["verification"]) == (False, {"verified": False, "method": "none",
                                                              "customer_id": None, "claimed": budi})
    assert (pop["customer_id"], pop["customer"]) == (None, None)  # never Budi's record


async def test_the_pop_shows_how_the_caller_was_verified() -> None:
    customers, budi, siti = await crm()
    pop = await pop_of(customers, ivr_call("0215559999", budi, {
        "verified": True, "method": "pin", "customer_id": budi, "claimed": None, "failures": 1, "locked": False}))
    assert (pop["verified"], pop["verification"]["method"], pop["customer"]["name"]) == (True, "pin", "Budi")
    # No IVR: the number they call from is the customer's.
    item = WorkItem(call_id="c1", channel_id="leg-c1", caller_number="0215550002", service_number="1500100",
                    queue="", arrived_at=NOW, customer_id=siti)
    pop = await pop_of(customers, item)
    assert pop["verification"] == {"verified": True, "method": "caller_id", "customer_id": siti, "claimed": None}
    # A customer linked to a call from a number that is not theirs is shown, but not as verified.
    item = WorkItem(call_id="c1", channel_id="leg-c1", caller_number="0215557777", service_number="1500100",
                    queue="", arrived_at=NOW, customer_id=siti)
    assert (await pop_of(customers, item))["verification"]["verified"] is False
