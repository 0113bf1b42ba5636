"""The use-case services on in-memory adapters (``fakes.py``): each use case's rules, refusals and the commands it
hands on, fast. The same paths run against the real components in the integration and end-to-end tests."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from cti.acd import (
    AgentChanged,
    AgentState,
    Capacity,
    Channel,
    Connect,
    ContactCenter,
    Hangup,
    Hold,
    Offer,
    UnknownAgent,
    WorkChanged,
    WorkItem,
    WorkState,
)
from cti.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from cti.records import InteractionRecord, UserRecord
from cti.services import (
    Accounts,
    AgentRegistry,
    AgentService,
    ArrivalLookup,
    AuditLog,
    AuditTrail,
    CallControls,
    CallerIdentity,
    CenterView,
    CommandBus,
    Customers,
    CustomerService,
    DeadLetters,
    Distributor,
    FollowUp,
    Handler,
    HandlerKey,
    InteractionHistory,
    Interactions,
    Journal,
    LiveState,
    Phones,
    Placement,
    Policy,
    ReportService,
    Scope,
    ScreenPop,
    Supervision,
    SupervisionService,
    TransferService,
    UnknownExtension,
    Users,
    WrapUp,
    WrapUpService,
    interaction_record,
)
from tests.unit.fakes import (
    FakeAgents,
    FakeAuditLog,
    FakeCustomers,
    FakeDeadLetters,
    FakeInteractions,
    FakeLive,
    FakePhones,
    FakePublisher,
    FakeScripts,
    FakeSupervision,
    FakeUsers,
    Recorder,
)

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
ADMIN = UserRecord(1, "admin", "admin", None, False)
ANA = UserRecord(2, "agent-ana", "agent", "ana", False)
BOB = UserRecord(3, "agent-bob", "agent", "bob", False)
SUE = UserRecord(4, "sue", "supervisor", None, False, scope={"queues": ["sales"], "teams": []})


def test_the_fakes_are_what_the_services_expect() -> None:
    """mypy checks these assignments: a fake that drifts from its protocol fails the type check."""
    users: Users = FakeUsers()
    agents: AgentRegistry = FakeAgents()
    interactions: Interactions = FakeInteractions()
    customers: Customers = FakeCustomers()
    live: LiveState = FakeLive()
    phones: Phones = FakePhones()
    supervision: Supervision = FakeSupervision()
    audit: AuditLog = FakeAuditLog()
    dead_letters: DeadLetters = FakeDeadLetters()
    assert all((users, agents, interactions, customers, live, phones, supervision, audit, dead_letters))


def floor(*agents: str, table: Mapping[HandlerKey, Sequence[Handler]] | None = None) -> tuple[Distributor, Recorder]:
    """A distributor whose every command goes to a recorder (voice actions and changes), with ``agents`` ready."""
    recorder = Recorder()
    recorded: dict[HandlerKey, Sequence[Handler]] = {(kind, Channel.VOICE): [recorder]
                                                     for kind in (Offer, Connect, Hangup, Hold)}
    recorded |= {AgentChanged: [recorder], WorkChanged: [recorder]}
    bus = CommandBus(table or recorded)
    distributor = Distributor(ContactCenter(), lambda: NOW, bus)
    for n, agent_id in enumerate(agents):
        distributor.register_agent(agent_id, agent_id.title())
        distributor.login(agent_id, f"70{n:02d}", ready=True)
    recorder.commands.clear()
    return distributor, recorder


def call(call_id: str = "c1", *, queue: str = "", channel: Channel = Channel.VOICE) -> WorkItem:
    return WorkItem(call_id=call_id, channel_id=f"leg-{call_id}", caller_number="0215550123", service_number="1500100",
                    queue=queue, arrived_at=NOW, channel=channel)


def connected(distributor: Distributor, call_id: str = "c1") -> WorkItem:
    assert distributor.arrive(call(call_id))
    distributor.offer_answered(f"{call_id}-a1")
    return distributor.query.call(call_id)


# -- the distributor and its handler table ----------------------------------------------------------------------
def test_the_channel_s_adapter_acts_first_then_everyone_observes_in_order() -> None:
    seen: list[str] = []
    table: dict[HandlerKey, list[Handler]] = {
        (Offer, Channel.VOICE): [lambda c, d: seen.append("voice adapter")],
        Offer: [lambda c, d: seen.append("screen pop"), lambda c, d: seen.append("statistics")],
    }
    distributor, _ = floor("ana", table=table)
    distributor.arrive(call())
    assert seen == ["voice adapter", "screen pop", "statistics"]


def test_a_failing_handler_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()

    def broken(command: object, distributor: object) -> None:
        raise RuntimeError("boom")

    distributor = Distributor(ContactCenter(), lambda: NOW, CommandBus({AgentChanged: [broken, recorder]}))
    with caplog.at_level(logging.ERROR, logger="cti.services.bus"):
        distributor.register_agent("ana", "Ana")
    assert len(recorder.of(AgentChanged)) == 1
    assert "failed on AgentChanged" in caplog.text


def test_an_action_of_a_channel_without_an_adapter_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    distributor, _ = floor("ana")
    distributor.set_profile("ana", {"capacity": {"chat": 2}})
    with caplog.at_level(logging.ERROR, logger="cti.services.bus"):
        distributor.arrive(call("k1", channel=Channel.CHAT))
    assert "no handler for Offer on chat" in caplog.text
    assert distributor.query.agent("ana").work == {"k1": Channel.CHAT}


def test_linking_a_customer_is_a_change_everyone_hears_of() -> None:
    distributor, recorder = floor("ana")
    connected(distributor)
    recorder.commands.clear()
    distributor.link_customer("c1", "10000042")
    [changed] = recorder.of(WorkChanged)
    assert changed.item.customer_id == "10000042"
    distributor.link_customer("c1", "10000042")  # the same again: nothing to tell
    distributor.link_customer("gone", "10000042")  # not live: nothing to change
    assert len(recorder.of(WorkChanged)) == 1


def test_the_query_hands_out_copies() -> None:
    distributor, _ = floor("ana")
    agent = distributor.query.agent("ana")
    agent.state = AgentState.LOGGED_OUT
    assert distributor.query.agent("ana").state is AgentState.READY
    with pytest.raises(UnknownAgent):
        distributor.query.agent("nobody")


def test_the_query_tells_an_item_s_state_alone() -> None:
    distributor, _ = floor("ana")
    connected(distributor)
    assert (distributor.query.state_of("c1"), distributor.query.state_of("gone")) == (WorkState.CONNECTED, None)


def test_the_query_tells_who_holds_an_item_and_an_agent_s_name_without_a_copy() -> None:
    distributor, _ = floor("ana", "budi")
    assert distributor.arrive(call("c1"))
    assert distributor.query.holder_of("c1") == "ana"  # offered
    distributor.offer_answered("c1-a1")
    assert (distributor.query.holder_of("c1"), distributor.query.holder_of("gone")) == ("ana", None)
    assert distributor.arrive(call("c2"))
    assert distributor.query.holder_of("c2") == "budi"
    assert distributor.query.agent_name("budi") == "Budi"
    with pytest.raises(UnknownAgent):
        distributor.query.agent_name("nobody")


def test_the_policy_places_an_item_for_whom_it_would_hand_it_and_no_one_else() -> None:
    distributor, _ = floor("ana", "bob")
    assert distributor.arrive(call("c1"))  # offered to ana
    policy = Policy(distributor.query, FakeInteractions())
    placed = policy.placement(ANA, "c1")
    assert placed == Placement("c1", Channel.VOICE, WorkState.RINGING, "general", "ana", "c1-a1")
    assert policy.placement(ADMIN, "c1") == placed
    for user, call_id in ((BOB, "c1"), (SUE, "c1"), (ANA, "gone")):  # sue's scope: sales only
        with pytest.raises(NotFound) as by_call:
            policy.call(user, call_id)
        with pytest.raises(NotFound) as by_placement:
            policy.placement(user, call_id)
        assert (str(by_placement.value), by_placement.value.code) == (str(by_call.value), "call_not_found")
    distributor.offer_answered("c1-a1")
    assert policy.placement(ANA, "c1").state is WorkState.CONNECTED


# -- agents ----------------------------------------------------------------------------------------------------
async def test_creating_an_agent_registers_them_everywhere_once() -> None:
    distributor, recorder = floor()
    registry, users = FakeAgents(), FakeUsers()
    service = AgentService(distributor, registry, Accounts(users, registry), FakePhones("7001"))
    agent, user, token = await service.create("ana", "Ana", {"skills": {"care": 3}})
    assert (agent.agent_id, agent.skills, user.name, user.role, user.agent_id) == (
        "ana", {"care": 3}, "agent-ana", "agent", "ana")
    assert await users.user_for_token(token) == user
    assert registry.agents["ana"].profile == {"skills": {"care": 3}}
    assert [c.agent.agent_id for c in recorder.of(AgentChanged)] == ["ana", "ana"]  # registered, then profiled
    with pytest.raises(Conflict, match="already exists"):
        await service.create("ana", "Ana again", {})


async def test_logging_in_checks_the_agent_before_the_phone_and_the_phone_before_the_core() -> None:
    distributor, _ = floor()
    phones = FakePhones("7001")
    service = AgentService(distributor, FakeAgents(), Accounts(FakeUsers(), FakeAgents()), phones)
    with pytest.raises(UnknownAgent):
        await service.login("nobody", "9999", ready=True)
    distributor.register_agent("ana", "Ana")
    with pytest.raises(UnknownExtension, match="'9999' is not a PJSIP endpoint"):
        await service.login("ana", "9999", ready=True)
    assert distributor.query.agent("ana").state is AgentState.LOGGED_OUT
    agent = await service.login("ana", "7001", ready=True)
    assert (agent.state, agent.extension) == (AgentState.READY, "7001")
    assert service.set_state("ana", "not_ready").reason == "break"


def test_an_agent_is_at_their_desk_while_any_of_their_desktops_is_open() -> None:
    distributor, _ = floor("ana")
    service = AgentService(distributor, FakeAgents(), Accounts(FakeUsers(), FakeAgents()), FakePhones())
    service.desk_opened("ana")
    service.desk_opened("ana")  # a second tab
    service.desk_closed("ana")
    assert distributor.query.agent("ana").at_desk
    service.desk_closed("ana")
    assert not distributor.query.agent("ana").at_desk
    service.desk_opened("nobody")  # an agent the core does not know (yet): nothing to tell it
    service.desk_closed("nobody")


async def test_a_profile_with_a_chat_capacity_lets_the_agent_take_chats() -> None:
    distributor, _ = floor("ana")
    registry = FakeAgents()
    service = AgentService(distributor, registry, Accounts(FakeUsers(), registry), FakePhones())
    agent = await service.set_profile("ana", {"capacity": {"chat": 3}, "exclusive": []})
    assert agent.capacity == Capacity.of({"chat": 3}, exclusive=())
    assert registry.agents["ana"].profile == {"capacity": {"chat": 3}, "exclusive": []}


async def test_a_profile_saved_without_a_capacity_resets_it_to_the_default() -> None:
    distributor, _ = floor("ana")
    service = AgentService(distributor, FakeAgents(), Accounts(FakeUsers(), FakeAgents()), FakePhones())
    await service.set_profile("ana", {"capacity": {"chat": 3}, "exclusive": []})
    agent = await service.set_profile("ana", {"skills": {"billing": 3}})
    assert agent.capacity == Capacity.of()
    assert (agent.capacity.limit(Channel.VOICE), agent.capacity.limit(Channel.CHAT)) == (1, 0)


# -- the desk: transfer, wrap-up, customers -----------------------------------------------------------------------
def test_an_agent_transfers_only_their_own_connected_call_and_to_one_target() -> None:
    distributor, recorder = floor("ana", "bob")
    connected(distributor)
    service = TransferService(distributor, Policy(distributor.query, FakeInteractions()))
    with pytest.raises(NotFound, match="no call 'c1'"):
        service.transfer(BOB, "c1", queue="general")
    with pytest.raises(InvalidInput, match="either a queue or an agent_id"):
        service.transfer(ANA, "c1")
    distributor.set_not_ready("ana", "break")  # after this call: so the queue's next offer is bob's
    recorder.commands.clear()
    moved = service.transfer(ANA, "c1", queue="general", note="billing")
    assert moved.state is WorkState.RINGING and moved.agent_id == "bob"  # bob was ready: offered at once
    assert [type(c).__name__ for c in recorder.commands][:2] == ["Hangup", "Hold"]
    assert moved.decisions[-2].note == "billing"


def _record(call_id: str, agent_id: str, customer_id: str | None = "10000001") -> InteractionRecord:
    return InteractionRecord(call_id=call_id, channel_id="leg", caller_number="0215550123", service_number="1500100",
                             queue="general", agent_id=agent_id, arrived_at=NOW - timedelta(minutes=3),
                             customer_id=customer_id, routing={"problem_type": "billing", "language": "en",
                                                               "decisions": []})


async def test_a_wrap_up_lands_on_the_interaction_and_in_the_customer_s_history() -> None:
    distributor, _ = floor("ana")
    interactions, customers, pops = FakeInteractions(), FakeCustomers(), _Pops()
    await interactions.save(_record("c1", "ana"))
    service = WrapUpService(distributor, Policy(distributor.query, interactions), interactions, customers, pops,
                            ["resolved"])
    with pytest.raises(NotFound, match="no interaction 'c1'"):
        await service.wrap_up(BOB, "c1", WrapUp("resolved"))
    with pytest.raises(InvalidInput, match="unknown disposition 'maybe'"):
        await service.wrap_up(ANA, "c1", WrapUp("maybe"))
    distributor.set_desk("ana", True)  # at a desktop: after the call, in wrap-up until it is saved
    connected(distributor)
    distributor.leg_gone("leg-c1")
    assert distributor.query.agent("ana").state is AgentState.WRAP_UP
    saved = await service.wrap_up(ANA, "c1", WrapUp("resolved", notes="paid", crosssell_offered=("sku1",),
                                                    follow_up=FollowUp(date(2026, 12, 9), "call back")))
    assert (saved.disposition, saved.notes, saved.crosssell, saved.follow_up) == (
        "resolved", "paid", {"offered": ["sku1"], "accepted": []}, {"due": "2026-12-09", "task": "call back"})
    [contact] = customers.contacts
    assert (contact.customer_id, contact.reason, contact.agent_id, contact.call_id, contact.language) == (
        "10000001", "billing", "ana", "c1", "en")
    assert pops.changed == ["10000001"] and pops.wrapped == [("ana", "c1")]
    assert distributor.query.agent("ana").state is AgentState.READY  # after-call work over: the next call may come


async def test_an_agent_who_asked_for_a_break_during_the_call_stays_on_it_after_the_wrap_up() -> None:
    distributor, _ = floor("ana")
    interactions = FakeInteractions()
    await interactions.save(_record("c1", "ana"))
    service = WrapUpService(distributor, Policy(distributor.query, interactions), interactions, FakeCustomers(),
                            _Pops(), ["resolved"])
    distributor.set_desk("ana", True)
    connected(distributor)
    distributor.set_not_ready("ana", "break")  # after this call
    distributor.leg_gone("leg-c1")
    assert (distributor.query.agent("ana").state, distributor.query.agent("ana").reason) == (
        AgentState.NOT_READY, "break")
    await service.wrap_up(ANA, "c1", WrapUp("resolved"))  # the desktop's form asks to end after-call work
    agent = distributor.query.agent("ana")
    assert (agent.state, agent.reason) == (AgentState.NOT_READY, "break")  # no call rings during the break


async def test_a_bad_e_mail_creates_no_customer_and_tells_no_pop() -> None:
    distributor, _ = floor("ana")
    customers, pops = FakeCustomers(), _Pops()
    service = CustomerService(distributor, Policy(distributor.query, FakeInteractions()), customers, pops,
                              AuditTrail(FakeAuditLog(), lambda: NOW))
    with pytest.raises(InvalidInput) as refused:
        await service.create(ADMIN, call_id=None, name="Rina", phone="0813 9000 1234", email="rina@", source="t")
    assert [str(p) for p in refused.value.problems] == ["email: not an email address: 'rina@'"]
    assert customers.customers == {} and pops.changed == []


async def test_a_customer_created_for_a_live_call_is_linked_to_it_and_audited() -> None:
    distributor, recorder = floor("ana", "bob")
    connected(distributor)
    customers, pops, audit = FakeCustomers(), _Pops(), FakeAuditLog()
    service = CustomerService(distributor, Policy(distributor.query, FakeInteractions()), customers, pops,
                              AuditTrail(audit, lambda: NOW))
    with pytest.raises(NotFound, match="no call 'c1'"):
        await service.create(BOB, call_id="c1", name="Rina", source="t")
    with pytest.raises(InvalidInput, match="name the live call"):
        await service.create(ANA, call_id=None, name="Rina", source="t")
    with pytest.raises(InvalidInput, match="the caller's own number"):
        await service.create(ANA, call_id="c1", phone="0811 1111 1111", source="t")
    recorder.commands.clear()
    customer = await service.create(ANA, call_id="c1", name="Rina", source="10.0.0.7")
    assert customer.phones == ("0215550123",)  # the number they call from
    assert distributor.query.call("c1").customer_id == customer.customer_id
    assert [c.item.customer_id for c in recorder.of(WorkChanged)] == [customer.customer_id]
    assert pops.changed == [customer.customer_id]
    assert [(e.actor, e.action, e.subject_type, e.subject_id, e.source) for e in audit.entries] == [
        ("agent-ana", "create", "customer", customer.customer_id, "10.0.0.7")]
    # A taken number: refused without naming who holds it (no phone-number oracle).
    with pytest.raises(Conflict) as taken:
        await service.create(ADMIN, call_id=None, phone="0215550123", source="t")
    assert str(taken.value) == "that phone number is already on a customer record"
    assert customer.customer_id not in str(taken.value)


async def test_a_customer_record_is_seen_only_through_work_in_reach_and_every_view_is_audited() -> None:
    distributor, _ = floor("ana", "bob")
    connected(distributor)  # c1: ana's, in 'general'
    interactions, customers, audit = FakeInteractions(), FakeCustomers(), FakeAuditLog()
    served = await customers.create_blank_customer("0215550199", name="Rina")
    stranger = await customers.create_blank_customer("0215550177", name="Tono")
    await interactions.save(_record("old", "bob", customer_id=served.customer_id))
    distributor.link_customer("c1", stranger.customer_id)
    service = CustomerService(distributor, Policy(distributor.query, interactions), customers, _Pops(),
                              AuditTrail(audit, lambda: NOW))
    # bob served Rina before; ana holds the live call of Tono: each sees only their own customer.
    assert (await service.view(BOB, served.customer_id, source="t")).customer.name == "Rina"
    assert (await service.view(ANA, stranger.customer_id, source="t")).customer.name == "Tono"
    for actor, customer_id in ((ANA, served.customer_id), (BOB, stranger.customer_id), (ANA, "10009999")):
        with pytest.raises(NotFound) as hidden:
            await service.view(actor, customer_id, source="t")
        assert str(hidden.value) == f"no customer {customer_id!r}"  # the same words as for no such customer
    lone = UserRecord(9, "agent-without-agent", "agent", None, False)
    with pytest.raises(NotFound):
        await service.view(lone, served.customer_id, source="t")
    sue_general = UserRecord(5, "sue", "supervisor", None, False, {"queues": ["general"], "teams": []})
    sue_sales = UserRecord(6, "sam", "supervisor", None, False, {"queues": ["sales"], "teams": []})
    assert (await service.view(sue_general, served.customer_id, source="t")).customer.name == "Rina"
    with pytest.raises(NotFound):
        await service.view(sue_sales, served.customer_id, source="t")
    assert [(e.actor, e.subject_id) for e in audit.entries] == [
        ("agent-bob", served.customer_id), ("agent-ana", stranger.customer_id), ("sue", served.customer_id)]
    audit.failures = 1  # the log cannot be written: the record is not handed out unrecorded
    with pytest.raises(Unavailable, match="audit log"):
        await service.view(ADMIN, served.customer_id, source="t")


# -- supervision, history, accounts, reports ------------------------------------------------------------------------
async def test_supervisors_monitor_only_calls_of_their_queues() -> None:
    distributor, _ = floor("ana")
    connected(distributor)  # in the default queue, 'general'
    telephony = FakeSupervision()
    service = SupervisionService(Policy(distributor.query, FakeInteractions()), telephony)
    with pytest.raises(NotFound, match="no call 'c1'"):
        await service.start_monitor(SUE, "c1", "listen", "7040")
    monitor = await service.start_monitor(ADMIN, "c1", "whisper", "7040")
    assert (monitor.call_id, monitor.mode, monitor.supervisor) == ("c1", "whisper", "admin")
    assert service.monitors(ADMIN) == [monitor]
    assert service.monitors(SUE) == []  # not hers: only one's own are listed
    with pytest.raises(NotFound, match="no monitor"):  # another supervisor's monitor is not theirs to stop
        await service.stop_monitor(SUE, monitor.monitor_id)
    await service.stop_monitor(ADMIN, monitor.monitor_id)
    with pytest.raises(NotFound, match="no monitor"):
        await service.stop_monitor(ADMIN, monitor.monitor_id)


async def test_agents_see_their_own_history_only() -> None:
    interactions = FakeInteractions()
    await interactions.save(_record("c1", "ana"))
    await interactions.save(_record("c2", "bob"))
    distributor, _ = floor("ana", "bob")
    audit = FakeAuditLog()
    history = InteractionHistory(interactions, Policy(distributor.query, interactions), AuditTrail(audit, lambda: NOW))
    assert [r.call_id for r in await history.list(ANA, source="t")] == ["c1"]
    assert await history.list(ANA, agent_id="bob", source="t") == []  # never another's, whatever asked
    assert {r.call_id for r in await history.list(ADMIN, source="t")} == {"c1", "c2"}
    lone = UserRecord(9, "agent-without-agent", "agent", None, False)
    assert await history.list(lone, source="t") == []  # no agent: nothing, not everything
    with pytest.raises(NotFound):
        await history.get(ANA, "c2", source="t")
    assert (await history.get(ADMIN, "c2", source="t")).agent_id == "bob"
    assert [(e.actor, e.action, e.subject_id, e.detail) for e in audit.entries] == [
        ("agent-ana", "list", "*", {"call_ids": ["c1"]}), ("agent-ana", "list", "*", {"call_ids": []}),
        ("admin", "list", "*", {"call_ids": ["c2", "c1"]}), ("agent-without-agent", "list", "*", {"call_ids": []}),
        ("admin", "view", "c2", None)]


async def test_accounts_refuse_unknown_agents_and_users() -> None:
    users, registry = FakeUsers(), FakeAgents()
    accounts = Accounts(users, registry)
    with pytest.raises(NotFound, match="no agent 'ghost'"):
        await accounts.create_user("ghost-user", "agent", "ghost")
    with pytest.raises(NotFound, match="no user 'nobody'"):
        await accounts.set_scope("nobody", {"queues": []})
    await accounts.ensure_admin("secret-token")
    assert (await accounts.user_for_token("secret-token")) == users.users["admin"]


async def test_a_report_of_a_queue_outside_the_scope_is_refused() -> None:
    distributor, _ = floor()
    reports = ReportService(distributor.query, FakeInteractions(), FakeAgents(), lambda: NOW)
    with pytest.raises(Forbidden):
        await reports.intervals(Scope(frozenset({"sales"}), frozenset()), date(2026, 12, 7), date(2026, 12, 7),
                                tz=UTC, minutes=30, queue="care")
    report = await reports.intervals(Scope(), date(2026, 12, 7), date(2026, 12, 7), tz=UTC, minutes=60)
    assert report.minutes == 60


async def test_an_erased_customer_is_not_identified() -> None:
    customers = FakeCustomers()
    known = await customers.create_blank_customer("0215550123", name="Rina")
    identity = CallerIdentity(customers)
    assert (await identity.identify("0215550123")).customer_id == known.customer_id  # type: ignore[union-attr]
    customers.customers[known.customer_id] = replace(known, forgotten_at=NOW)
    assert await identity.identify("0215550123") is None


class SlowCustomers(FakeCustomers):
    async def customer_by_phone(self, number: str) -> None:
        await asyncio.sleep(30)


async def test_a_crm_too_slow_to_answer_leaves_the_caller_unknown_not_waiting(
        caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[str, str | None]] = []

    class Recorded:
        def identified(self, number: str, customer_id: str | None) -> None:
            seen.append((number, customer_id))

        def prefetch(self, customer_id: str) -> None:
            return None

    lookup = ArrivalLookup(CallerIdentity(SlowCustomers()), Recorded(), timeout=0.2)
    with caplog.at_level(logging.WARNING, "cti.services"):
        assert await asyncio.wait_for(lookup.known_caller("0215550123"), 1) == (None, None, {})  # the IVR's
        assert await asyncio.wait_for(lookup.identify("0215550123"), 1) is None  # routing's
    assert seen == [("0215550123", None)]  # the screen pop learns it has no customer to show
    assert [r.getMessage() for r in caplog.records] == [
        "a caller was not identified within 0.2 s; going on without the CRM"] * 2


class LateCustomers(FakeCustomers):
    """Answers after ``delay``; says which lookups finished and which were cancelled in the middle."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay, self.finished, self.cancelled = delay, 0, 0

    async def customer_by_phone(self, number: str) -> None:
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1


class NoPops:
    def identified(self, number: str, customer_id: str | None) -> None:
        return None

    def prefetch(self, customer_id: str) -> None:
        return None


async def test_a_lookup_the_call_stopped_waiting_for_finishes_rather_than_losing_its_database_connection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    customers = LateCustomers(delay=0.3)
    lookup = ArrivalLookup(CallerIdentity(customers), NoPops(), timeout=0.05)
    assert await lookup.identify("0215550123") is None  # the call goes on at once
    assert (customers.finished, customers.cancelled) == (0, 0)
    await asyncio.sleep(0.5)
    assert (customers.finished, customers.cancelled) == (1, 0)  # not cut off in the middle of its query
    # A database that is away, not slow: past the bound the lookups are cancelled as before.
    monkeypatch.setattr("cti.services._identity.MAX_LINGERING", 2)
    assert [await lookup.identify(f"021555012{k}") for k in range(3)] == [None] * 3
    await asyncio.sleep(0)
    assert customers.cancelled == 1
    await asyncio.sleep(0.5)
    assert (customers.finished, customers.cancelled) == (3, 1)


# -- the journal ------------------------------------------------------------------------------------------------------
async def test_the_journal_writes_in_order_and_retries_the_database_until_it_lands() -> None:
    distributor, _ = floor()
    interactions, live = FakeInteractions(), FakeLive()
    agents = FakeAgents()
    journal = Journal(live, interactions, agents, distributor.query, dead_letters=FakeDeadLetters(), retry_max=0.01)
    journal.start()
    try:
        interactions.failures = 2
        ringing = call()
        ringing.state = WorkState.RINGING
        ended = call()
        ended.state = WorkState.ENDED
        journal.record(ringing)
        journal.record(ended)
        await journal.flush(timeout=5)
        assert journal.db_failures == 2
        # Coalesced into one batch: the ended snapshot is the row, never overwritten by the older one.
        assert [r.call_id for r in interactions.saves] == ["c1"]
        assert interactions.rows["c1"] == interaction_record(ended)
        assert live.calls == {}
    finally:
        await journal.close()


async def test_the_journal_rewrites_redis_once_it_is_back_and_keeps_the_last_sight() -> None:
    distributor, _ = floor("ana")
    live = FakeLive()
    journal = Journal(live, FakeInteractions(), FakeAgents(), distributor.query, dead_letters=FakeDeadLetters())
    live.down = True
    assert await journal.load() == ([], [])
    assert live.dirty
    journal.start()
    try:
        journal.note_sight(NOW)
        live.down = False
        for _ in range(40):
            if live.rewrites and live.sight == NOW:
                break
            await asyncio.sleep(0.1)
        assert (live.rewrites, live.sight, list(live.agents)) == (1, NOW, ["ana"])
        assert not live.dirty
    finally:
        await journal.close()


class _Pops:
    def __init__(self) -> None:
        self.changed: list[str] = []
        self.wrapped: list[tuple[str, str]] = []

    def customer_changed(self, customer_id: str) -> None:
        self.changed.append(customer_id)

    def wrapped_up(self, agent_id: str, call_id: str) -> None:
        self.wrapped.append((agent_id, call_id))



# -- the screen pop -------------------------------------------------------------------------------------------------
async def test_the_pop_finds_a_caller_the_arrival_missed_and_links_them_to_the_call() -> None:
    customers = FakeCustomers()
    rina = await customers.create_blank_customer("0215550123", name="Rina")
    hub, recorder, core = FakePublisher(), Recorder(), ContactCenter()
    screenpop = ScreenPop(hub, customers, FakeScripts(), CenterView(core, lambda: NOW), clock=lambda: NOW)
    distributor = Distributor(core, lambda: NOW, CommandBus({
        Offer: [screenpop.offered], AgentChanged: [screenpop.agent_changed],
        WorkChanged: [recorder, screenpop.work_changed]}))
    distributor.register_agent("ana", "Ana")
    distributor.login("ana", "7001", ready=True)
    distributor.arrive(call())  # no customer on arrival (the CRM was slow): the pop looks the number up
    await screenpop.drain()
    [pop] = hub.of("agent:ana", "offer")
    assert (pop["call_id"], pop["customer"]["name"], pop["customer"]["customer_id"]) == ("c1", "Rina", rina.customer_id)
    assert distributor.query.call("c1").customer_id == rina.customer_id
    assert recorder.of(WorkChanged)[-1].item.customer_id == rina.customer_id  # the row and Redis will say so too
    assert screenpop.snapshot("ana")["agent"]["state"] == "ringing"
    # Why Ana, in parts the desktop says in the agent's language: the route, then the strategy among how many and
    # whom the step took.
    assert pop["routing"] == {
        "reason": "longest_idle among 1 eligible at step 0: region=any, language=caller",
        "strategy": "longest_idle", "candidates": 1, "step": 0, "route": "default",
        "why": [{"code": "route_matched", "params": {"priority": 0, "route": "default"}},
                {"code": "offered", "params": {"eligible": 1, "language": "caller", "region": "any", "step": 0,
                                               "strategy": "longest_idle"}}]}


async def test_the_pop_shows_the_customers_survey_profile_and_reads_it_again_after_an_answer() -> None:
    customers = FakeCustomers()
    rina = await customers.create_blank_customer("0215550123", name="Rina")
    hub, core = FakePublisher(), ContactCenter()
    screenpop = ScreenPop(hub, customers, FakeScripts(), CenterView(core, lambda: NOW), clock=lambda: NOW)
    asked: list[str] = []

    async def profile(customer_id: str) -> dict[str, Any]:
        asked.append(customer_id)
        return {"customer_id": customer_id, "latest_rating": 2 + len(asked), "preferences": {"language": "en"}}

    screenpop.survey_profiles = profile
    distributor = Distributor(core, lambda: NOW, CommandBus({
        Offer: [screenpop.offered], AgentChanged: [screenpop.agent_changed], WorkChanged: [screenpop.work_changed]}))
    distributor.register_agent("ana", "Ana")
    distributor.login("ana", "7001", ready=True)
    distributor.arrive(call())
    await screenpop.drain()
    [pop] = hub.of("agent:ana", "offer")
    assert pop["survey"] == {"customer_id": rina.customer_id, "latest_rating": 3, "preferences": {"language": "en"}}
    screenpop.customer_changed(rina.customer_id)  # a survey answered: the next pop reads the profile again
    assert await screenpop._reference.get(f"survey:{rina.customer_id}",
                                          lambda: profile(rina.customer_id)) == {
        "customer_id": rina.customer_id, "latest_rating": 4, "preferences": {"language": "en"}}


async def test_a_known_caller_s_pop_is_built_in_the_offer_s_own_step_survey_profile_and_all() -> None:
    """The arrival's lookup found the customer: their view and what their pop adds to it (the survey profile, the
    reference data) are read then, so the offer builds the pop at once rather than in a task of its own."""
    customers = FakeCustomers()
    rina = await customers.create_blank_customer("0215550123", name="Rina")
    hub, core = FakePublisher(), ContactCenter()
    screenpop = ScreenPop(hub, customers, FakeScripts(), CenterView(core, lambda: NOW), clock=lambda: NOW)

    async def profile(customer_id: str) -> dict[str, Any]:
        return {"customer_id": customer_id, "latest_rating": 5}

    screenpop.survey_profiles = profile
    distributor = Distributor(core, lambda: NOW, CommandBus({
        Offer: [screenpop.offered], AgentChanged: [screenpop.agent_changed], WorkChanged: [screenpop.work_changed]}))
    distributor.register_agent("ana", "Ana")
    distributor.login("ana", "7001", ready=True)
    pending = screenpop.prefetch(rina.customer_id)  # as ArrivalLookup does when the CRM knows the number
    assert pending is not None
    await pending
    assert screenpop.prefetch(rina.customer_id) is None  # all of it at hand
    item = call()
    item.customer_id = rina.customer_id
    distributor.arrive(item)
    assert screenpop.built_at_once == 1  # in the offer's own step: no task, no wait
    [pop] = hub.of("agent:ana", "offer")
    assert (pop["customer"]["customer_id"], pop["survey"]) == (
        rina.customer_id, {"customer_id": rina.customer_id, "latest_rating": 5})


async def test_a_wrapped_up_call_leaves_no_pop_behind_but_a_live_one_keeps_it() -> None:
    customers = FakeCustomers()
    hub, core = FakePublisher(), ContactCenter()
    screenpop = ScreenPop(hub, customers, FakeScripts(), CenterView(core, lambda: NOW), clock=lambda: NOW)
    distributor = Distributor(core, lambda: NOW, CommandBus({
        Offer: [screenpop.offered], AgentChanged: [screenpop.agent_changed], WorkChanged: [screenpop.work_changed]}))
    distributor.register_agent("ana", "Ana")
    distributor.login("ana", "7001", ready=True)
    distributor.arrive(call())
    await screenpop.drain()
    distributor.offer_answered("c1-a1")
    screenpop.wrapped_up("ana", "c1")  # saved during the call: the pop stays while the call goes on
    assert screenpop.snapshot("ana")["pop"]["call_id"] == "c1"
    assert hub.of("agent:ana", "wrapped_up") == []
    distributor.leg_gone("leg-c1")
    snapshot = screenpop.snapshot("ana")
    assert snapshot["pop"]["call_id"] == "c1" and snapshot["call"] is None  # ended, the wrap-up still to come
    screenpop.wrapped_up("ana", "c2")  # another call's wrap-up changes nothing here
    screenpop.wrapped_up("ana", "c1")
    assert screenpop.snapshot("ana")["pop"] is None  # a desktop loaded now starts from an empty desk
    assert hub.of("agent:ana", "wrapped_up") == [{"call_id": "c1"}]


async def test_a_call_that_ended_while_it_rang_leaves_no_pop_to_wrap_up() -> None:
    hub, core = FakePublisher(), ContactCenter()
    screenpop = ScreenPop(hub, FakeCustomers(), FakeScripts(), CenterView(core, lambda: NOW), clock=lambda: NOW)
    distributor = Distributor(core, lambda: NOW, CommandBus({
        Offer: [screenpop.offered], AgentChanged: [screenpop.agent_changed], WorkChanged: [screenpop.work_changed]}))
    distributor.register_agent("ana", "Ana")
    distributor.login("ana", "7001", ready=True)
    distributor.arrive(call())
    await screenpop.drain()
    assert screenpop.snapshot("ana")["pop"]["call_id"] == "c1"
    distributor.leg_gone("leg-c1")  # the caller gave up while Ana's phone rang
    assert screenpop.snapshot("ana")["pop"] is None  # a desktop loaded now starts from an empty desk
    assert hub.of("agent:ana", "wrapped_up") == [{"call_id": "c1"}]  # and the open one empties


async def test_a_consult_pops_the_note_on_the_target_and_hands_the_desktops_over() -> None:
    hub, core = FakePublisher(), ContactCenter()
    screenpop = ScreenPop(hub, FakeCustomers(), FakeScripts(), CenterView(core, lambda: NOW), clock=lambda: NOW)
    distributor = Distributor(core, lambda: NOW, CommandBus({
        Offer: [screenpop.offered], AgentChanged: [screenpop.agent_changed], WorkChanged: [screenpop.work_changed]}))
    for agent_id in ("ana", "bob"):
        distributor.register_agent(agent_id, agent_id.title())
    distributor.login("ana", "7001", ready=True)
    connected(distributor)
    distributor.login("bob", "7002", ready=True)
    controls = CallControls(distributor, Policy(distributor.query, FakeInteractions()), [r"0215550\d{3}"])
    with pytest.raises(InvalidInput, match="may not be consulted"):
        controls.consult(ANA, "c1", number="0811111111")
    with pytest.raises(NotFound):
        controls.consult(BOB, "c1", to_agent="ana")  # not bob's call
    consulting = controls.consult(ANA, "c1", to_agent="bob", note="refund")
    assert consulting.consult is not None and consulting.held
    await screenpop.drain()
    [pop] = hub.of("agent:bob", "offer")
    assert pop["transfer"]["from_agent"] == "ana" and pop["transfer"]["note"] == "refund"
    assert pop["transfer"]["kind"] == "consult"
    distributor.offer_answered("c1-t1")
    assert screenpop.snapshot("bob")["call"] is None  # ana's call: bob has the pop, not its controls
    assert hub.of("agent:ana", "call")[-1]["consult"]["state"] == "talking"
    moved = controls.act(ANA, "c1", "complete")
    assert moved.agent_id == "bob"
    assert hub.of("agent:ana", "call")[-1]["state"] == "transferred"  # ana's part is over: wrap-up
    assert hub.of("agent:bob", "call")[-1]["state"] == "connected"  # bob's desktop has the call now
    assert screenpop.snapshot("bob")["call"]["call_id"] == "c1"
    # A consult cancelled takes the pop off the desktop of the agent consulted.
    distributor.login("ana", "7001", ready=True)
    distributor.end_after_call_work("ana")
    controls.consult(BOB, "c1", to_agent="ana")
    await screenpop.drain()
    assert screenpop.snapshot("ana")["pop"]["call_id"] == "c1"
    controls.act(BOB, "c1", "cancel")
    assert screenpop.snapshot("ana")["pop"] is None and hub.of("agent:ana", "wrapped_up")[-1] == {"call_id": "c1"}


# -- the authorization policy ---------------------------------------------------------------------------------------
def test_the_policy_gives_supervisors_their_queues_and_teams_and_agents_their_own_work() -> None:
    distributor, _ = floor("ana", "bob")
    distributor.set_profile("bob", {"team": "north"})
    connected(distributor, "c1")  # ana's, in 'general'
    connected(distributor, "c2")  # bob's
    policy = Policy(distributor.query, FakeInteractions())
    by_team = UserRecord(7, "tia", "supervisor", None, False, {"queues": [], "teams": ["north"]})
    by_queue = UserRecord(8, "quin", "supervisor", None, False, {"queues": ["general"], "teams": []})
    elsewhere = UserRecord(9, "el", "supervisor", None, False, {"queues": ["sales"], "teams": ["south"]})
    lone = UserRecord(10, "agent-lone", "agent", None, False)
    calls = distributor.query.calls()
    seen = {user.name: sorted(c.call_id for c in calls if policy.sees_call(user, c))
            for user in (ADMIN, ANA, BOB, by_team, by_queue, elsewhere, lone)}
    assert seen == {"admin": ["c1", "c2"], "agent-ana": ["c1"], "agent-bob": ["c2"], "tia": ["c2"],
                    "quin": ["c1", "c2"], "el": [], "agent-lone": []}
    agents = {user.name: sorted(a.agent_id for a in distributor.query.agents() if policy.sees_agent(user, a))
              for user in (ADMIN, ANA, by_team, elsewhere, lone)}
    assert agents == {"admin": ["ana", "bob"], "agent-ana": ["ana"], "tia": ["bob"], "el": [], "agent-lone": []}
    for user, call_id in ((ANA, "c2"), (by_team, "c1"), (elsewhere, "c1"), (ANA, "nope")):
        with pytest.raises(NotFound) as hidden:
            policy.call(user, call_id)
        assert str(hidden.value) == f"no call {call_id!r}"  # out of reach and missing: the same answer
    with pytest.raises(NotFound, match="no agent 'bob'"):
        policy.agent(ANA, "bob")
    assert policy.agent(by_team, "bob").agent_id == "bob"


# -- the audit trail ----------------------------------------------------------------------------------------------
async def test_a_flush_called_while_the_background_one_writes_returns_once_that_batch_is_written() -> None:
    class SlowLog(FakeAuditLog):
        def __init__(self) -> None:
            super().__init__()
            self.writing, self.go_on = asyncio.Event(), asyncio.Event()

        async def append(self, entries: list[Any]) -> None:
            self.writing.set()
            await self.go_on.wait()
            await super().append(entries)

    log_ = SlowLog()
    trail = AuditTrail(log_, lambda: NOW, batch_seconds=0.0)
    trail.record_soon(ANA, "create", "route", "/api/chats/{chat_id}/messages", source="127.0.0.1")
    await asyncio.wait_for(log_.writing.wait(), 5)  # the background flush has taken the entry and is writing it
    flushed = asyncio.create_task(trail.flush())
    await asyncio.sleep(0.05)
    assert not flushed.done() and log_.entries == []  # before: it returned at once, the entry not yet written
    log_.go_on.set()
    await asyncio.wait_for(flushed, 5)
    assert [(e.actor, e.action, e.subject_id) for e in log_.entries] == [
        ("agent-ana", "create", "/api/chats/{chat_id}/messages")]
    await trail.close()
