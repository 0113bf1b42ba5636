"""Erasure and retention on in-memory adapters, and the places that keep copies in memory: the screen pop, the
hub's replay buffers, the IVR's prompts rendered for one caller. The real stores, Redis, the HTTP API and the
command line are in tests/integration/test_erasure_store.py, tests/e2e/test_erasure.py and
tests/integration/test_privacy_cli.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cti.acd import AgentChanged, ContactCenter, Offer, WorkChanged, WorkItem
from cti.crm import NewContact
from cti.errors import NotFound, Unavailable
from cti.ivr import LookupResult, SpeakVerbalizer, load_flows_file
from cti.records import InteractionRecord
from cti.services import (
    CenterView,
    CommandBus,
    ContactRetention,
    CustomerOnCall,
    Distributor,
    ErasableCustomers,
    Erasure,
    ErasureIncomplete,
    ErasureSubject,
    InteractionRetention,
    LiveContact,
    Retention,
    ScreenPop,
)
from cti.telephony import IvrRunner
from cti.web import FEATURES, Hub, openapi_document
from tests.support import eventually
from tests.unit.fakes import FakeCustomers, FakeInteractions, FakePublisher, FakeScripts
from tests.unit.test_ivr_tap import Handoff, LateStasis

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
FLOWS = load_flows_file(Path(__file__).resolve().parents[2] / "cti/ivr/flows/default.yaml")


def test_the_fakes_are_what_erasure_and_retention_expect() -> None:
    """mypy checks these assignments: a fake that drifts from its protocol fails the type check."""
    customers: ErasableCustomers = FakeCustomers()
    contacts: ContactRetention = FakeCustomers()
    interactions: InteractionRetention = FakeInteractions()
    assert all((customers, contacts, interactions))


async def rina(customers: FakeCustomers) -> str:
    customer = await customers.create_blank_customer("+6281355507788", name="Rina")
    await customers.add_contact(NewContact(customer_id=customer.customer_id, channel="call", at=NOW,
                                           notes="Rina moves house", call_id="c1"))
    return customer.customer_id


class Holders:
    """Copy holders that remember whom they were asked to forget, in order; ``away`` ones fail as Redis would."""

    def __init__(self, *away: str) -> None:
        self.asked: list[tuple[str, ErasureSubject]] = []
        self.away = set(away)

    def holder(self, name: str, count: int) -> Any:
        async def forget(subject: ErasureSubject) -> int:
            self.asked.append((name, subject))
            if name in self.away:
                raise Unavailable(f"{name} is away")
            return count
        return forget


async def nobody_on_a_call() -> list[LiveContact]:
    return []


async def test_an_erasure_clears_the_store_then_every_copy_holder_and_counts_what_it_erased() -> None:
    customers, holders = FakeCustomers(), Holders()
    customer_id = await rina(customers)
    erasure = Erasure(customers, live=nobody_on_a_call,
                      holders={"screen_pops": holders.holder("screen_pops", 1), "redis": holders.holder("redis", 2)})

    report = await erasure.erase(customer_id)

    assert report.erased == {"customer": 1, "phones": 1, "contacts": 1, "cases": 0, "orders": 0, "interactions": 0,
                             "screen_pops": 1, "redis": 2}
    assert [name for name, _ in holders.asked] == ["screen_pops", "redis"]
    subject = holders.asked[0][1]
    assert subject == ErasureSubject(customer_id, frozenset({"+6281355507788", "6281355507788", "006281355507788",
                                                             "081355507788"}), frozenset({"c1"}))
    assert subject.mentions() >= {f'"{customer_id}"', '"c1"', '"081355507788"'}
    assert (customers.customers[customer_id].name, customers.contacts[0].notes) == ("", None)
    again = await erasure.erase(customer_id)
    assert again.erased == {**dict.fromkeys(report.erased, 0), "screen_pops": 1, "redis": 2}


async def test_a_customer_on_a_call_is_refused_and_nothing_is_erased() -> None:
    customers, holders = FakeCustomers(), Holders()
    customer_id = await rina(customers)

    async def on_a_call() -> list[LiveContact]:  # by the number they call from, in any shape
        return [LiveContact("c9", None, "081355507788")]

    erasure = Erasure(customers, live=on_a_call, holders={"redis": holders.holder("redis", 1)})
    with pytest.raises(CustomerOnCall, match=f"customer {customer_id} is on a call now; erase them once it has"):
        await erasure.erase(customer_id)
    assert customers.customers[customer_id].name == "Rina" and holders.asked == []
    with pytest.raises(NotFound, match="no customer '99999999'"):
        await erasure.erase("99999999")


async def test_pending_writes_land_first_and_an_erasure_waits_for_them() -> None:
    customers, order = FakeCustomers(), []
    customer_id = await rina(customers)

    async def settle() -> None:
        order.append(("settled", customers.customers[customer_id].name))

    erasure = Erasure(customers, live=nobody_on_a_call, holders={}, settle=settle)
    await erasure.erase(customer_id)
    assert order == [("settled", "Rina")]  # before the store forgot them

    async def stuck() -> None:
        raise TimeoutError

    other = await customers.create_blank_customer("0215550199", name="Budi")
    with pytest.raises(Unavailable, match="the calls' pending writes did not land"):
        await Erasure(customers, live=nobody_on_a_call, holders={}, settle=stuck).erase(other.customer_id)
    assert customers.customers[other.customer_id].name == "Budi"


async def test_a_copy_holder_away_does_not_stop_the_others_and_the_erasure_says_where_it_is_missing() -> None:
    customers, holders = FakeCustomers(), Holders("redis")
    customer_id = await rina(customers)
    erasure = Erasure(customers, live=nobody_on_a_call, holders={
        "redis": holders.holder("redis", 1), "prompt_files": holders.holder("prompt_files", 2)})
    with pytest.raises(ErasureIncomplete) as refused:
        await erasure.erase(customer_id)
    assert str(refused.value) == (f"customer {customer_id} was erased from the database, but not yet from redis; "
                                  "erase them again once it is back")
    assert refused.value.public_message == str(refused.value)  # the API answers it as it is (503)
    assert [name for name, _ in holders.asked] == ["redis", "prompt_files"]
    assert customers.customers[customer_id].forgotten_at is not None


# -- retention -------------------------------------------------------------------------------------------------------
def interaction(call_id: str, arrived: datetime, **changes: Any) -> InteractionRecord:
    return InteractionRecord(call_id=call_id, channel_id=f"ch-{call_id}", caller_number="081355507788",
                             caller_name="Rina", service_number="1500100", queue="care", arrived_at=arrived,
                             notes="moves house", **changes)


async def test_retention_purges_what_is_older_than_its_days_and_the_audio_of_what_callers_were_told() -> None:
    interactions, customers, discarded = FakeInteractions(), FakeCustomers(), []
    customer_id = await rina(customers)
    await customers.add_contact(NewContact(customer_id=customer_id, channel="call", at=NOW - timedelta(days=400),
                                           notes="old note"))
    for record in (interaction("old", NOW - timedelta(days=366), ivr={"prompts": ["Your balance is 5"]}),
                   interaction("recent", NOW - timedelta(days=364))):
        await interactions.save(record)

    async def discard(texts: Any) -> int:
        discarded.append(sorted(texts))
        return 2

    retention = Retention(interactions, customers, days=365, clock=lambda: NOW, discard_prompts=discard)
    report = await retention.run()

    assert (report.before, report.interactions, report.contacts, report.prompt_files) == (
        NOW - timedelta(days=365), 1, 1, 2)
    assert discarded == [["Your balance is 5"]]
    assert (interactions.rows["old"].caller_number, interactions.rows["old"].notes,
            interactions.rows["old"].redacted_at) == ("anonymous", None, NOW)
    assert (interactions.rows["recent"].caller_number, interactions.rows["recent"].notes) == ("081355507788",
                                                                                              "moves house")
    assert [c.notes for c in customers.contacts] == ["Rina moves house", None]
    assert (await retention.run()).interactions == 0  # nothing left to do
    with pytest.raises(ValueError, match="retention must be at least one day, not 0"):
        Retention(interactions, customers, days=0, clock=lambda: NOW)


async def test_retention_runs_when_started_and_again_after_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    interactions, customers = FakeInteractions(), FakeCustomers()
    await interactions.save(interaction("old", NOW - timedelta(days=40)))
    interactions.failures = 1  # the database is away for the first run
    retention = Retention(interactions, customers, days=30, clock=lambda: NOW, every=0.0)
    retention.start()
    try:
        await eventually(lambda: interactions.rows["old"].redacted_at is not None, message="the purge")
    finally:
        await retention.close()
    assert "retention purge failed, trying again in 0 s: the database is away" in caplog.text


# -- the places that keep copies in memory ----------------------------------------------------------------------------
async def test_the_screen_pop_forgets_their_view_and_their_last_pops() -> None:
    customers = FakeCustomers()
    customer_id = await rina(customers)
    hub, core = FakePublisher(), ContactCenter()
    screenpop = ScreenPop(hub, customers, FakeScripts(), CenterView(core, lambda: NOW), clock=lambda: NOW)
    distributor = Distributor(core, lambda: NOW, CommandBus({
        Offer: [screenpop.offered], AgentChanged: [screenpop.agent_changed], WorkChanged: [screenpop.work_changed]}))
    distributor.register_agent("ana", "Ana")
    distributor.login("ana", "7001", ready=True)
    pending = screenpop.prefetch(customer_id)
    assert pending is not None
    await pending
    distributor.arrive(WorkItem(call_id="c1", channel_id="leg-c1", caller_number="+6281355507788",
                                service_number="1500100", queue="", arrived_at=NOW, customer_id=customer_id))
    await screenpop.drain()
    assert screenpop.snapshot("ana")["pop"]["customer"]["name"] == "Rina"

    subject = ErasureSubject(customer_id, frozenset({"+6281355507788"}), frozenset({"c1"}))
    assert await screenpop.forget_customer(subject) == 1
    assert screenpop.snapshot("ana")["pop"] is None
    assert await screenpop.forget_customer(subject) == 0


async def test_a_view_read_while_the_customer_is_forgotten_is_not_kept() -> None:
    customers = FakeCustomers()
    customer_id = await rina(customers)
    gate = asyncio.Event()
    reads: list[str] = []
    real_view = customers.customer_view

    async def slow_view(customer_id: str, *, contacts: int = 5) -> Any:
        reads.append(customer_id)
        await gate.wait()
        return await real_view(customer_id, contacts=contacts)

    customers.customer_view = slow_view  # type: ignore[method-assign]
    screenpop = ScreenPop(FakePublisher(), customers, FakeScripts(), CenterView(ContactCenter(), lambda: NOW),
                          clock=lambda: NOW)
    pending = screenpop.prefetch(customer_id)
    assert pending is not None
    await asyncio.sleep(0)
    await screenpop.forget_customer(ErasureSubject(customer_id))
    gate.set()
    await pending
    assert screenpop.prefetch(customer_id) is not None  # not cached: read again
    await screenpop.drain()
    assert reads == [customer_id, customer_id]


def test_the_hub_empties_the_replay_buffers_that_name_them() -> None:
    hub = Hub()
    hub.publish("agent:ana", "offer", {"call_id": "c1", "customer_id": "10000001", "customer": {"name": "Rina"}})
    hub.publish("agent:ana", "agent", {"agent_id": "ana", "state": "wrap_up"})
    hub.publish("agent:bob", "offer", {"call_id": "c2", "customer_id": "10000002"})
    hub.publish("dashboard:all", "stats", {"queues": {"care": {"waiting": 0}}})

    assert hub.forget(ErasureSubject("10000001", call_ids=frozenset({"c1"})).mentions()) == 1

    assert hub.topic("agent:ana").since(0) is None  # a reconnecting desktop gets a snapshot, not the old frames
    assert hub.topic("agent:ana").seq == 2  # numbering goes on
    assert [f.seq for f in hub.topic("agent:bob").buffer] == [1]
    assert [f.seq for f in hub.topic("dashboard:all").buffer] == [1]
    # A number that only looks like theirs inside another one is not them: JSON quotes delimit it.
    assert hub.forget(ErasureSubject("1000000").mentions()) == 0


class OnceOnly:
    """Prompts as the IVR's TTS makes them: cached by text, or rendered for one caller and released."""

    def __init__(self) -> None:
        self.rendered: list[tuple[str, str]] = []
        self.released: list[str] = []

    async def media(self, text: str, language: str) -> str:
        return f"sound:cti/{abs(hash(text))}"

    async def personal(self, text: str, language: str) -> str:
        self.rendered.append((text, language))
        return f"sound:cti/once/{len(self.rendered)}"

    def release(self, media: str) -> None:
        self.released.append(media)


class Balances:
    async def lookup(self, kind: str, key: str, customer_id: str | None = None) -> LookupResult:
        return LookupResult("balance", True, {"customer_number": key, "balance": Decimal(750000),
                                              "due_date": date(2026, 12, 20)})


async def test_a_balance_is_spoken_from_audio_rendered_for_that_caller_and_deleted_when_they_leave() -> None:
    ari, prompts = LateStasis(), OnceOnly()

    async def known(number: str) -> tuple[str | None, str | None, dict[str, str]]:
        return "10000001", "en", {}

    runner = IvrRunner(ari, FLOWS, prompts=prompts, recognizer=None, self_service=Balances(),
                       verbalizer=SpeakVerbalizer(), identify=known)
    ari.runner = runner
    await runner.start("ch1", "+6281355507788", None, "1500200", "support", Handoff())
    call = runner.calls["ch1"]
    for key in "22":  # billing, then the balance: the caller's own number verified them
        await runner.dtmf("ch1", key)
    await eventually(lambda: prompts.rendered, message="the balance to be rendered")
    assert prompts.rendered == [("Your balance is seven hundred fifty thousand rupiah, due on December twentieth, "
                                 "twenty twenty-six.", "en")]
    assert call.personal == ["sound:cti/once/1"]
    await runner.caller_gone("ch1")
    assert prompts.released == ["sound:cti/once/1"] and call.personal == []
    await runner.close()


def test_the_api_describes_erasure_beside_reading_the_customer() -> None:
    paths = openapi_document(FEATURES)["paths"]
    assert sorted(paths["/api/customers/{customer_id}"]) == ["delete", "get"]
    erase = paths["/api/customers/{customer_id}"]["delete"]
    assert erase["description"] == "Allowed roles: admin."
    assert sorted(erase["responses"]) == ["200", "401", "403", "404", "409", "429", "503"]
