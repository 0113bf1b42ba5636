"""The screen pop: when a call is offered to an agent, push who is calling and what to do to their desktop.

Handles the distributor's commands (never blocks them): an offer builds the pop — the CRM record,
products owned, contact history, open orders and cases, balance due, the IVR path, whether the caller was
verified (and how), why routing chose this agent, the top cross-sell offers and the call script — and
publishes it on the agent's topic only
(``agent:<id>``). Changes to the item and to the agent follow on the same topic, numbered, so a desktop that reconnects
is replayed what it missed or gets the current pop again in its snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cti import sales
from cti.acd import Agent, AgentChanged, Offer, Preview, WorkChanged, WorkItem, WorkState
from cti.crm import MINOR_PER_MAJOR, CustomerRecord, CustomerView, phone_variants, web_activity
from cti.errors import Unavailable
from cti.records import UserRecord
from cti.scripting import (
    Factors,
    RenderBudget,
    RenderBudgetExceeded,
    RenderError,
    RenderLimits,
    Script,
    advance,
    billing_state,
    render_path,
    select_script,
)
from cti.services._audit import AuditTrail
from cti.services._crm_source import ConnectedCrm
from cti.services._distributor import Distributor
from cti.services._erasure import ErasureSubject
from cti.services._ports import Customers, Scripts
from cti.services._query import CenterView
from cti.types import Clock, Publisher

__all__ = ["ScreenPop", "agent_frame", "agent_topic", "call_frame", "customer_frame"]

log = logging.getLogger("cti.services.screenpop")


def _not_shown_text(exc: RenderError) -> str:
    """What the pop's script part says (``error``) when its script cannot be rendered; the log says more."""
    why = "it is over its rendering budget" if isinstance(exc, RenderBudgetExceeded) else "it fails to render"
    return f"the script could not be shown: {why}; a supervisor needs to correct it"


def _agent_actor(agent_id: str) -> UserRecord:
    return UserRecord(user_id=0, name=f"agent:{agent_id}", role="agent", agent_id=agent_id, disabled=False)


def agent_topic(agent_id: str) -> str:
    return f"agent:{agent_id}"


@dataclass(slots=True)
class _Pop:
    call_id: str
    frame: dict[str, Any]
    script: Script | None
    data: dict[str, Any]
    language: str
    factors: Factors
    handed_on: bool = False
    """The agent transferred the call on: their desktop shows it ended."""


class _Ttl:
    """Values kept for ``seconds``, then (``serve_stale``) served stale while a reload runs in the background.

    Reference data (catalog, scripts, promotions, segment figures) changes rarely and reading it for every pop
    would cost more than the rest of the pop together; a customer's view is read when their call arrives and
    reused by the offer. Serving the last value while reloading keeps reloads off the offer's path: only a
    key never loaded (or forgotten because it changed) is waited for.
    """

    def __init__(self, seconds: float, *, serve_stale: bool = True, max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self.serve_stale = serve_stale
        self.max_entries = max_entries
        self._values: dict[str, tuple[float, Any]] = {}
        self._loading: dict[str, asyncio.Future[Any]] = {}

    async def get(self, key: str, load: Callable[[], Any]) -> Any:
        hit = self.peek(key, load)
        if hit is not _MISSING:
            return hit
        return await self._load(key, load)

    def peek(self, key: str, load: Callable[[], Any]) -> Any:
        """The value if there is one (stale ones start a reload), else ``_MISSING``; never waits."""
        hit = self._values.get(key)
        if hit is None:
            return _MISSING
        if hit[0] <= asyncio.get_running_loop().time():
            if not self.serve_stale:
                return _MISSING
            if key not in self._loading:
                task = asyncio.ensure_future(self._load(key, load))
                task.add_done_callback(_quiet)
        return hit[1]

    def loading(self, key: str) -> asyncio.Future[Any] | None:
        return self._loading.get(key)

    async def _load(self, key: str, load: Callable[[], Any]) -> Any:
        pending = self._loading.get(key)
        if pending is not None:  # one load at a time per key, however many pops wait for it
            return await pending
        pending = self._loading[key] = asyncio.ensure_future(load())
        try:
            value = await pending
        finally:
            current = self._loading.get(key) is pending
            if current:
                del self._loading[key]
        if not current:
            return value  # forgotten while it was read: what was read may be what had to be forgotten
        loop = asyncio.get_running_loop()
        if len(self._values) >= self.max_entries:
            now = loop.time()
            for stale in [k for k, (until, _) in self._values.items() if until <= now]:
                del self._values[stale]
            while len(self._values) >= self.max_entries:
                del self._values[next(iter(self._values))]  # the oldest insertion
        self._values[key] = (loop.time() + self.seconds, value)
        return value

    def forget(self, key: str) -> None:
        """Drop the value, and do not keep the one a read in flight brings back."""
        self._values.pop(key, None)
        self._loading.pop(key, None)


_MISSING: Any = object()


def _quiet(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.info("background reload failed: %s", task.exception())


@dataclass(frozen=True, slots=True)
class _Inputs:
    """Everything a pop is made of besides the call: read from the CRM and the script store, or their caches."""

    view: CustomerView | None
    catalog: list[sales.Product]
    complements: list[sales.Complement]
    promotions: list[sales.Promotion]
    segment: sales.SegmentStats | None
    scripts: list[Script]
    survey: dict[str, Any] | None = None
    """The customer's survey profile (latest scores, trend, stated preferences), when surveys are kept."""


class ScreenPop:
    def __init__(self, hub: Publisher, customers: Customers, scripts: Scripts, query: CenterView, *, clock: Clock,
                 company: str = "cti", audit: AuditTrail | None = None, render_limits: RenderLimits | None = None,
                 timer: Callable[[], float] | None = time.monotonic, source: ConnectedCrm | None = None) -> None:
        """``render_limits`` bound each pop's script rendering (``timer``, monotonic seconds, its time limit);
        ``source`` another CRM the customer records come from (None: cti's own): the pop looks callers up
        through it, refreshes a customer's copy before reading their view, and says in ``crm`` whether it fell
        back to what cti has."""
        self.source = source
        self.hub = hub
        self._audit = audit
        self.customers = customers
        self.scripts = scripts
        self._query = query
        self.clock = clock
        self.company = company
        self.render_limits = render_limits if render_limits is not None else RenderLimits()
        self._timer = timer
        self.scripts_not_shown = 0  # pops whose script could not be rendered (within its budget)
        self.pops: dict[str, _Pop] = {}  # agent id -> the pop of their current (or last) call
        self.agents: dict[str, Agent] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.latency: list[float] = []  # offer -> pop published, seconds (for /metrics and the benchmark)
        self.built_at_once = 0  # pops built in the offer's own step, from what was already read
        self._reference = _Ttl(60.0)
        # A customer's view, read when the call arrives and reused by the offer; never older than a minute.
        self._views = _Ttl(60.0, serve_stale=False)
        # Caller numbers the CRM answered "unknown" for on arrival (until when): their pop needs no second lookup.
        self._unknown: dict[str, float] = {}
        self._holders: dict[str, str] = {}  # call id -> the agent whose desktop has its latest pop
        self.survey_profiles: Callable[[str], Awaitable[dict[str, Any]]] | None = None
        """A customer's survey profile as JSON (:meth:`cti.services.SurveyService.profile_json`), set when the
        surveys are built (after the pop, which they tell of answers)."""

    # -- the handler table's entries ------------------------------------------------------------------------
    def offered(self, offer: Offer, distributor: Distributor) -> None:
        self._offered(offer, distributor)

    def previewed(self, preview: Preview, distributor: Distributor) -> None:
        """An outbound call shown to its agent before dialing: the same pop, with ``callback_id`` to dial or skip."""
        self._offered(preview, distributor)

    def work_changed(self, changed: WorkChanged, distributor: Distributor) -> None:
        call = changed.item
        self._ended_unanswered(call)
        self._handed_on(call)
        self._consult_over(call)
        if call.agent_id is not None:
            self.hub.publish(agent_topic(call.agent_id), "call", call_frame(call))
        elif call.state is WorkState.WAITING and call.customer_id:
            self.prefetch(call.customer_id)  # warm the view while the call waits: the offer then only renders

    def agent_changed(self, changed: AgentChanged, distributor: Distributor) -> None:
        self.agents[changed.agent.agent_id] = changed.agent
        self.hub.publish(agent_topic(changed.agent.agent_id), "agent", agent_frame(changed.agent))

    def _ended_unanswered(self, call: WorkItem) -> None:
        """A call that ended while it rang (the caller gave up): nothing is left to wrap up, so its pop goes; a
        desktop loaded later starts empty, and the open ones hear it ('wrapped_up') and clear."""
        if call.state is not WorkState.ENDED or call.answered_at is not None:
            return
        holder = self._holders.get(call.call_id)
        pop = self.pops.get(holder) if holder is not None else None
        if holder is None or pop is None or pop.call_id != call.call_id or pop.handed_on:
            return
        del self.pops[holder]
        self.hub.publish(agent_topic(holder), "wrapped_up", {"call_id": call.call_id})

    def _handed_on(self, call: WorkItem) -> None:
        """A call its agent transferred on: that desktop's part is over (it shows wrap-up), the pop goes on."""
        holder = self._holders.get(call.call_id)
        if call.state is WorkState.ENDED:
            self._holders.pop(call.call_id, None)
        if holder is None or holder == call.agent_id:
            return
        pop = self.pops.get(holder)
        if pop is None or pop.call_id != call.call_id or pop.handed_on:
            return
        # Only a transfer hands a call on; an unanswered offer just moves on (the agent's state says why).
        if any(d.kind == "transferred" and d.winner == holder for d in call.decisions):
            pop.handed_on = True
            self.hub.publish(agent_topic(holder), "call", {**call_frame(call), "state": "transferred", "ended": True})

    def _consult_over(self, call: WorkItem) -> None:
        """Desktops whose part of the call a consult ended: the agent who handed the call over shows it
        transferred (their wrap-up follows); an agent consulted who did not take it loses the pop."""
        last: dict[str, str] = {}  # agent -> the last consult step that concerned them
        for decision in call.decisions:
            if decision.kind == "consult_completed" and decision.winner:
                last[decision.winner] = decision.kind
            elif decision.kind in _CONSULT_STEPS and decision.candidates:
                last[decision.candidates[0]] = decision.kind
        for agent_id, kind in last.items():
            pop = self.pops.get(agent_id)
            if agent_id == call.agent_id or pop is None or pop.call_id != call.call_id or pop.handed_on:
                continue
            if kind == "consult_completed":
                pop.handed_on = True
                self.hub.publish(agent_topic(agent_id), "call",
                                 {**call_frame(call), "state": "transferred", "ended": True})
            elif kind != "consulted":
                del self.pops[agent_id]
                self.hub.publish(agent_topic(agent_id), "wrapped_up", {"call_id": call.call_id})
                if self._holders.get(call.call_id) == agent_id and call.agent_id and call.state is not WorkState.ENDED:
                    self._holders[call.call_id] = call.agent_id  # the latest pop is the owner's again

    def prefetch(self, customer_id: str) -> asyncio.Future[Any] | None:
        """Start reading what a pop for this customer needs and is not cached (their view, then their survey
        profile and the reference data for their segment); the future of the reading, if one runs. With all of it
        cached, the offer builds the pop in its own step."""
        view = self._views.peek(customer_id, lambda: self._read_view(customer_id))
        if view is not _MISSING and all(self._reference.peek(key, load) is not _MISSING
                                        for key, load in self._reference_needs(view, self.clock()).items()):
            return None
        pending = self._views.loading(customer_id)
        if pending is not None:
            return pending
        return self._spawn(self._warm(customer_id))

    def identified(self, number: str, customer_id: str | None) -> None:
        """The call path's arrival lookup answered for ``number``: remember an unknown caller as such."""
        now = asyncio.get_running_loop().time()
        if customer_id is not None:
            self._unknown.pop(number, None)
            return
        if len(self._unknown) >= 10_000:
            self._unknown = {n: until for n, until in self._unknown.items() if until > now}
        self._unknown[number] = now + 60.0

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def snapshot(self, agent_id: str) -> dict[str, Any]:
        """What a desktop connecting for ``agent_id`` starts from: the agent, their last pop, its call."""
        pop = self.pops.get(agent_id)
        agent = self.agents.get(agent_id)
        if agent is None and self._query.has_agent(agent_id):
            agent = self.agents[agent_id] = self._query.agent(agent_id)  # not changed since start-up
        call = self._query.find_call(pop.call_id) if pop is not None and not pop.handed_on else None
        if call is not None and call.agent_id != agent_id:
            call = None  # consulted on someone else's call: the pop, not their controls
        return {"agent": None if agent is None else agent_frame(agent),
                "pop": None if pop is None else pop.frame,
                "call": None if call is None else call_frame(call)}

    def script_progress(self, agent_id: str, call_id: str, answers: dict[str, Any]) -> dict[str, Any]:
        """Validate the answers so far and render the path: the desktop's next script steps."""
        pop = self.pops.get(agent_id)
        if pop is None or pop.call_id != call_id or pop.script is None:
            raise KeyError(call_id)
        progress = advance(pop.script, pop.factors, answers)
        try:
            steps = render_path(pop.script, progress, pop.language, pop.data, self._budget())
        except RenderError as exc:  # answers led to steps the data blows up: the desktop hears it, nothing stalls
            self._not_shown(call_id, pop.script, exc)
            raise
        return {"script_id": pop.script.id, "steps": [s.as_json() for s in steps], "complete": progress.complete,
                "answers": progress.record()}

    def _budget(self) -> RenderBudget:
        return RenderBudget(self.render_limits, clock=self._timer)

    def _not_shown(self, call_id: str, script: Script, exc: RenderError) -> None:
        self.scripts_not_shown += 1
        # The budget's reason names a limit, never the data; another render error's text could quote it.
        why = str(exc) if isinstance(exc, RenderBudgetExceeded) else f"{type(exc).__name__} while rendering"
        log.warning("call %s: script %r could not be shown: %s", call_id, script.id, why)

    # -- building the pop -----------------------------------------------------------------------------------
    def _offered(self, offer: Offer | Preview, distributor: Distributor) -> None:
        call = self._query.find_call(offer.call_id)
        if call is None:
            return
        self._handed_on(call)  # a direct transfer offers the call before any other change says so
        offered_at = self.clock()
        started = asyncio.get_running_loop().time()
        try:
            inputs = self._cached_inputs(call, offered_at)
            if inputs is not None:
                # Everything is at hand: build and publish in the offer's own step, before the agent's phone
                # even rings, instead of queueing behind the loop's other work.
                self._publish(offer.agent_id, self._assemble(call, offer.agent_id, offered_at, inputs), started)
                self.built_at_once += 1
                return
        except (Unavailable, ValueError) as exc:
            log.info("screen pop of call %s not built at once: %s", call.call_id, exc)
        self._spawn(self._offer(call, offer.agent_id, offered_at, started, distributor))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _offer(self, call: WorkItem, agent_id: str, offered_at: datetime, started: float,
                     distributor: Distributor) -> None:
        try:
            pop = self._assemble(call, agent_id, offered_at, await self._inputs(call, offered_at, distributor))
        except (Unavailable, ValueError) as exc:  # the agent still gets the call, with what we know
            log.warning("screen pop of call %s without the CRM: %s", call.call_id, exc)
            pop = _Pop(call.call_id, {**_base_frame(call, offered_at, None), "customer": None,
                                      "error": str(exc), "crm": self._crm(call)},
                       None, {}, call.routing.language or "id", Factors())
        self._publish(agent_id, pop, started)

    def _publish(self, agent_id: str, pop: _Pop, started: float) -> None:
        self.pops[agent_id] = pop
        if self._query.find_call(pop.call_id) is not None:
            self._holders[pop.call_id] = agent_id
        self.hub.publish(agent_topic(agent_id), "offer", pop.frame)
        customer = pop.frame.get("customer")
        if self._audit is not None and isinstance(customer, dict) and customer.get("customer_id"):
            # The agent sees the record on their desktop: as much a view as reading it through the API.
            self._audit.record_soon(_agent_actor(agent_id), "view", "customer", str(customer["customer_id"]),
                                    source="screen pop", detail={"call_id": pop.call_id})
        self.latency.append(asyncio.get_running_loop().time() - started)
        del self.latency[:-1000]

    async def _warm(self, customer_id: str) -> None:
        try:
            view = await self._view(customer_id)
            for key, load in self._reference_needs(view, self.clock()).items():
                await self._reference.get(key, load)
        except (Unavailable, ValueError) as exc:
            log.info("customer %s not prefetched: %s", customer_id, exc)

    async def _view(self, customer_id: str) -> CustomerView | None:
        view: CustomerView | None = await self._views.get(customer_id, lambda: self._read_view(customer_id))
        return view

    async def _read_view(self, customer_id: str) -> CustomerView | None:
        if self.source is not None:
            await self.source.refresh(customer_id)  # cached: no request to the other CRM on a hit
        return await self.customers.customer_view(customer_id, contacts=5)

    def _crm(self, call: WorkItem) -> dict[str, Any] | None:
        return None if self.source is None else self.source.pop_status(call.customer_id, call.caller_number)

    def customer_changed(self, customer_id: str) -> None:
        """A wrap-up, an edit or a survey answer changed the record: the next pop reads it again."""
        self._views.forget(customer_id)
        self._reference.forget(f"survey:{customer_id}")

    def wrapped_up(self, agent_id: str, call_id: str) -> None:
        """The agent saved the call's wrap-up: unless the call is still theirs, its pop is over. A desktop
        connecting later starts empty, and the open ones hear it ('wrapped_up') and clear."""
        pop = self.pops.get(agent_id)
        if pop is None or pop.call_id != call_id:
            return
        call = self._query.find_call(call_id)
        if call is not None and call.agent_id == agent_id and call.state is not WorkState.ENDED and not pop.handed_on:
            return  # wrapped up during the call: the pop stays while the call goes on
        del self.pops[agent_id]
        self.hub.publish(agent_topic(agent_id), "wrapped_up", {"call_id": call_id})

    async def forget_customer(self, subject: ErasureSubject) -> int:
        """Erasure: their view is not kept (nor one being read), and the last pops of their calls are dropped,
        so a desktop connecting later starts without them. Returns how many pops were dropped."""
        self._views.forget(subject.customer_id)
        self._reference.forget(f"survey:{subject.customer_id}")
        for number in subject.phones:
            self._unknown.pop(number, None)
        for call_id in subject.call_ids:
            self._holders.pop(call_id, None)
        theirs = [agent_id for agent_id, pop in self.pops.items()
                  if pop.call_id in subject.call_ids or pop.frame.get("customer_id") == subject.customer_id
                  or pop.frame.get("caller_number") in subject.phones]
        for agent_id in theirs:
            del self.pops[agent_id]
        return len(theirs)

    def _cached_inputs(self, call: WorkItem, now: datetime) -> _Inputs | None:
        """The pop's inputs if every one is cached (stale ones are reloaded in the background), else None."""
        view: CustomerView | None = None
        if call.customer_id:
            view = self._views.peek(call.customer_id, lambda: self._read_view(call.customer_id or ""))
            if view is _MISSING:
                return None
        elif call.caller_number != "anonymous" and \
                self._unknown.get(call.caller_number, 0.0) <= asyncio.get_running_loop().time():
            return None  # the CRM was not asked about this number on arrival (or too long ago)
        values = {key: self._reference.peek(key, load) for key, load in self._reference_needs(view, now).items()}
        if any(value is _MISSING for value in values.values()):
            return None
        return _inputs_of(view, values)

    async def _inputs(self, call: WorkItem, now: datetime, distributor: Distributor) -> _Inputs:
        view = await self._view(call.customer_id) if call.customer_id else None
        if view is None and call.caller_number != "anonymous" and not call.customer_id:
            source = self.source if self.source is not None else self.customers
            customer = await source.customer_by_phone(call.caller_number)
            if customer is not None and customer.forgotten_at is None:
                # Found now (the arrival lookup was late or failed): the call, its history and wrap-up say so too.
                distributor.link_customer(call.call_id, customer.customer_id)
                call.customer_id = customer.customer_id  # our snapshot, for this pop
                view = await self._view(customer.customer_id)
        values = {key: await self._reference.get(key, load)
                  for key, load in self._reference_needs(view, now).items()}
        return _inputs_of(view, values)

    def _reference_needs(self, view: CustomerView | None, now: datetime) -> dict[str, Callable[[], Any]]:
        """The reference data a pop for ``view`` reads, by cache key, with how to load each."""
        needs: dict[str, Callable[[], Any]] = {"scripts": self.scripts.active_scripts}
        if view is None:
            return needs  # an unknown caller gets no offers
        segment = view.customer.segment
        profiles, customer_id = self.survey_profiles, view.customer.customer_id
        if profiles is not None:
            needs[f"survey:{customer_id}"] = lambda: profiles(customer_id)
        needs["catalog"] = self._catalog
        needs[f"promotions:{segment}"] = lambda: self._promotions(now, segment)
        if segment and view.customer.consent.data_sharing:
            needs[f"segment:{segment}"] = lambda: self._segment(segment)
        return needs

    def _assemble(self, call: WorkItem, agent_id: str, now: datetime, inputs: _Inputs) -> _Pop:
        """The pop from its inputs: no I/O, so it can run in the offer's own step."""
        view = inputs.view
        language = call.routing.language or (view.language if view else "id")
        offers, suppressed, promotions = self._offers(view, now, inputs)
        balance = Decimal(view.balance_due_minor) / MINOR_PER_MAJOR if view else Decimal(0)
        due_date = view.unpaid_invoices[0].due_date if view and view.unpaid_invoices else None
        today = now.astimezone(UTC).date()
        reason = _reason(call)
        factors = Factors(reason=reason, value_tier=call.routing.value_tier or (view.customer.value_tier if view
                                                                                else None),
                          cross_sell=bool(offers), promotion=bool(promotions),
                          billing=billing_state(balance, due_date, today))
        agent = self.agents.get(agent_id)
        data = {
            "customer": _customer_data(view.customer if view else None),
            "call": {"reason": reason, "service_number": call.service_number, "caller_number": call.caller_number,
                     "order_number": (call.ivr or {}).get("attributes", {}).get("order_number")},
            "agent": {"name": agent.name if agent and agent.name else agent_id},
            "company": {"name": self.company},
            "billing": {"balance_due": balance, "due_date": due_date.isoformat() if due_date else None,
                        "overdue_days": (today - due_date).days if due_date and today > due_date else 0},
            "offer": offers[0].view(language) if offers else None,
            "promotion": None if not promotions else {"text": promotions[0].text(language),
                                                      "ends_on": promotions[0].ends_at.date().isoformat()},
        }
        script: Script | None = None
        script_frame: dict[str, Any] | None = None
        if inputs.scripts:
            script = select_script(inputs.scripts, factors)
            script_frame = {"script_id": script.id, "title": _title(script, language), "steps": [], "factors": {
                "reason": factors.reason, "value_tier": factors.value_tier, "cross_sell": factors.cross_sell,
                "promotion": factors.promotion, "billing": factors.billing}}
            try:
                script_frame["steps"] = [s.as_json() for s in render_path(
                    script, advance(script, factors, {}), language, data, self._budget())]
            except RenderError as exc:
                # The pop still goes out, at once: a script saved before budgets existed, or data it blows up
                # on, costs this pop its script and no more than the budget's time.
                self._not_shown(call.call_id, script, exc)
                script_frame["error"] = _not_shown_text(exc)
                script = None  # nothing to follow: the desktop's script frames get "no script"
        frame = {
            **_base_frame(call, now, view),
            "language": language,
            "customer": None if view is None else customer_frame(view, now),
            "crosssell": {"offers": [o.view(language) for o in offers], "suppressed": suppressed},
            "script": script_frame,
            "survey": inputs.survey,
            "crm": self._crm(call),
        }
        return _Pop(call.call_id, frame, script, data, language, factors)

    @staticmethod
    def _offers(view: CustomerView | None, now: datetime, inputs: _Inputs) -> tuple[
            list[sales.Offer], str | None, list[sales.Promotion]]:
        if view is None:
            return [], "unknown_caller", []
        record = view.customer
        customer = sales.Customer(
            customer_id=record.customer_id, segment=record.segment, value_tier=record.value_tier,
            language=record.language, consent=sales.Consent(
                marketing=record.consent.marketing_calls, profiling=record.consent.data_sharing))
        promotions = [p for p in inputs.promotions if p.starts_at <= now < p.ends_at]
        ranking = sales.rank_offers(customer, [o.product.sku for o in view.owned], inputs.catalog, now=now,
                                        complements=inputs.complements, segment=inputs.segment,
                                        promotions=promotions)
        return list(ranking.offers), ranking.suppressed, promotions

    async def _catalog(self) -> tuple[list[sales.Product], list[sales.Complement]]:
        catalog = [sales.Product(p.sku, {"id": p.name_id, "en": p.name_en}, p.category,
                                     Decimal(p.price_minor) / MINOR_PER_MAJOR, p.active)
                   for p in await self.customers.catalog(include_inactive=True)]
        complements = [sales.Complement(c.sku, c.complement_sku, min(1.0, c.weight))
                       for c in await self.customers.complements() if c.weight > 0]
        return catalog, complements

    async def _promotions(self, now: datetime, segment: str | None) -> list[sales.Promotion]:
        return [sales.Promotion(p.promotion_id, {"id": p.text_id, "en": p.text_en}, p.boost, p.starts_at,
                                    p.ends_at, sku=p.sku, category=p.category,
                                    segments=frozenset({p.segment}) if p.segment else frozenset())
                for p in await self.customers.active_promotions(now, segment=segment)]

    async def _segment(self, segment: str) -> sales.SegmentStats:
        by_customer: dict[str, set[str]] = {}
        for holding in await self.customers.segment_holdings(segment):
            by_customer.setdefault(holding.customer_id, set()).add(holding.sku)
        return sales.SegmentStats.from_holdings(segment, by_customer.values())


def _inputs_of(view: CustomerView | None, values: dict[str, Any]) -> _Inputs:
    """The inputs from the values :meth:`ScreenPop._reference_needs` named."""
    segment = view.customer.segment if view is not None else None
    catalog, complements = values.get("catalog", ([], []))
    survey = values.get(f"survey:{view.customer.customer_id}") if view is not None else None
    return _Inputs(view, catalog, complements, values.get(f"promotions:{segment}", []),
                   values.get(f"segment:{segment}"), values["scripts"], survey)


def _reason(call: WorkItem) -> str | None:
    ivr = call.ivr or {}
    attributes = ivr.get("attributes") or {}
    return attributes.get("intent") or call.routing.problem_type or attributes.get("problem_type")


def _title(script: Script, language: str) -> str:
    title = getattr(script, "title", None)
    if isinstance(title, dict):
        return str(title.get(language) or title.get("id") or script.id)
    return str(title or script.id)


def _customer_data(customer: CustomerRecord | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    return {"name": customer.name, "customer_id": customer.customer_id, "value_tier": customer.value_tier,
            "segment": customer.segment, "region": customer.region, "language": customer.language}


def customer_frame(view: CustomerView, now: datetime | None = None) -> dict[str, Any]:
    """The customer's part of the pop; ``web_activity``: what they did on the portal lately (:func:`web_activity`,
    in both languages: the desktop shows the agent's), told relative to ``now``."""
    c = view.customer
    return {
        "customer_id": c.customer_id, "name": c.name, "phones": list(c.phones), "email": c.email,
        "address": c.address, "city": c.city, "region": c.region, "language": c.language, "segment": c.segment,
        "value_tier": c.value_tier, "lifetime_value": str(Decimal(c.lifetime_value_minor) / MINOR_PER_MAJOR),
        "consent": {"phone_calls": c.consent.phone_calls, "marketing_calls": c.consent.marketing_calls,
                    "surveys": c.consent.surveys},
        "balance_due": str(Decimal(view.balance_due_minor) / MINOR_PER_MAJOR),
        "products": [{"sku": o.product.sku, "name": o.product.name(c.language), "since": o.since.date().isoformat()}
                     for o in view.owned],
        "contacts": [{"at": k.at.isoformat(), "channel": k.channel, "reason": k.reason, "disposition": k.disposition,
                      "notes": k.notes, "agent_id": k.agent_id} for k in view.contacts],
        "web_activity": [] if now is None else web_activity(view.contacts, now),
        "open_orders": [{"order_number": o.order_number, "status": o.status, "shipment_status": o.shipment_status,
                         "placed_at": o.placed_at.isoformat(), "total": str(Decimal(o.total_minor) / MINOR_PER_MAJOR)}
                        for o in view.open_orders],
        "open_cases": [{"case_id": k.case_id, "subject": k.subject, "status": k.status, "priority": k.priority}
                       for k in view.open_cases],
        "unpaid_invoices": [{"invoice_number": i.invoice_number, "due_date": i.due_date.isoformat(),
                             "due": str(Decimal(i.due_minor) / MINOR_PER_MAJOR)} for i in view.unpaid_invoices],
    }


def caller_verification(call: WorkItem, view: CustomerView | None) -> dict[str, Any]:
    """Whether the caller is the customer shown, and how that is known: the IVR verified them (``caller_id``,
    ``pin``, ``dob``), or they call from one of the record's phones (``caller_id``); else ``none``. ``claimed`` is
    a customer number they keyed in the IVR without proving it: never their record, only what they said."""
    recorded = (call.ivr or {}).get("verification") or {}
    claimed = recorded.get("claimed")
    customer_id = recorded.get("customer_id")
    if recorded.get("verified") and (view is None or view.customer.customer_id == customer_id):
        return {"verified": True, "method": recorded.get("method"), "customer_id": customer_id, "claimed": claimed}
    if view is not None and call.caller_number in {v for phone in view.customer.phones for v in phone_variants(phone)}:
        return {"verified": True, "method": "caller_id", "customer_id": view.customer.customer_id,
                "claimed": claimed}
    return {"verified": False, "method": "none", "customer_id": None, "claimed": claimed}


def _base_frame(call: WorkItem, offered_at: datetime, view: CustomerView | None) -> dict[str, Any]:
    offered = [d for d in call.decisions if d.kind == "offered"]
    placed = next((d for d in call.decisions if d.kind == "queued"), None)
    transfer = next((d for d in reversed(call.decisions) if d.kind in ("transferred", "consulted")), None)
    verification = caller_verification(call, view)
    return {
        "verified": verification["verified"], "verification": verification,
        "call_id": call.call_id, "channel": call.channel.value, "offered_at": offered_at.isoformat(),
        "caller_number": call.caller_number,
        "caller_name": call.caller_name, "service_number": call.service_number, "queue": call.queue,
        "attributes": call.routing.attributes(call.service_number), "ivr": call.ivr,
        "routing": None if not offered else {"reason": offered[-1].reason, "strategy": offered[-1].strategy,
                                              "candidates": offered[-1].candidate_count,
                                              "step": offered[-1].step, "route": offered[-1].route,
                                              # the reason as codes and values: how the route placed the call, then
                                              # why this agent (the desktop says it in the agent's language)
                                              "why": [part.as_json() for part in
                                                      (*(placed.why if placed else ()), *offered[-1].why)]},
        "customer_id": call.customer_id, "direction": call.direction.value, "callback_id": call.callback_id,
        "transfer": None if transfer is None else {"from_agent": transfer.winner, "note": transfer.note,
                                                    "queue": transfer.queue, "at": transfer.at.isoformat(),
                                                    "kind": "consult" if transfer.kind == "consulted" else "transfer"},
    }


def call_frame(call: WorkItem) -> dict[str, Any]:
    return {"call_id": call.call_id, "channel": call.channel.value, "state": call.state.value, "queue": call.queue,
            "caller_number": call.caller_number, "answered_at": call.answered_at.isoformat()
            if call.answered_at else None, "ended": call.state is WorkState.ENDED,
            "outcome": call.outcome.value if call.outcome else None,
            # The agent's controls: a reloaded desktop shows the hold (and its timer) and the mute as they are.
            "held": call.held, "held_since": call.held_since.isoformat() if call.held_since else None,
            "hold_count": call.hold_count, "muted": call.muted, "direction": call.direction.value,
            "agent_id": call.agent_id, "consult": None if call.consult is None else call.consult.as_json()}


_CONSULT_STEPS = frozenset({"consulted", "consult_cancelled", "consult_failed", "consult_ended"})


def agent_frame(agent: Agent) -> dict[str, Any]:
    return {"agent_id": agent.agent_id, "name": agent.name, "state": agent.state.value, "reason": agent.reason,
            "extension": agent.extension, "call_id": agent.call_id,
            "state_since": agent.state_since.isoformat() if agent.state_since else None}
