"""Scheduled callbacks: an agent asks to call a customer back at a time (from the wrap-up, or the API); cti keeps
it (the table survives restarts), and when it is due previews it to an agent (:func:`cti.acd.pick_agent`: its own
agent first if they asked, then the queue's team). The agent dials it, through the click-to-dial path and its
contact policy, decided again now (out of hours: moved to the next allowed time), or skips it. Missed attempts are
retried by the policy (:class:`cti.acd.RetryPolicy`) and each attempt's outcome is kept and reported.

A task looks every second for what is due and for previews nobody acted on; the outcome of a dialed callback comes
from the handler table (its call ended: :meth:`CallbackScheduler.work_changed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from cti.acd import (
    AcdError,
    CallbackStatus,
    EndReason,
    RetryPolicy,
    ScheduledCallback,
    WorkChanged,
    WorkItem,
    WorkState,
    after_call,
    after_refusal,
    pick_agent,
    rescheduled,
)
from cti.crm import CustomerRecord
from cti.errors import Conflict, Forbidden, InvalidInput, NotFound
from cti.records import Reach, UserRecord
from cti.services._audit import AuditTrail
from cti.services._distributor import Distributor
from cti.services._outbound import ContactRefused, OutboundCalls
from cti.services._policy import Policy
from cti.services._ports import Callbacks
from cti.tasks import stop_task
from cti.types import masked

__all__ = ["MAX_AHEAD", "CallbackAttempts", "CallbackScheduler"]

log = logging.getLogger("cti.services.callbacks")

MAX_AHEAD = timedelta(days=90)
"""How far ahead a callback may be scheduled."""
_LATE = timedelta(minutes=5)
"""How far in the past a callback's time may be (a form filled in slowly): it is due at once."""


class CallbackAttempts:
    """The handler-table side: a callback's call ended, so its attempt is recorded and what follows decided
    (:func:`cti.acd.after_call`). Built before the distributor (it is one of its handlers); the scheduler shares
    its lock, so one change of a callback happens at a time."""

    def __init__(self, store: Callbacks, retry: RetryPolicy, *, lock: asyncio.Lock | None = None) -> None:
        self.store = store
        self.retry = retry
        self.lock = lock or asyncio.Lock()
        """Shared with whoever else changes callbacks (the scheduler, the customers' portal)."""
        self._writes: set[asyncio.Task[None]] = set()

    def work_changed(self, changed: WorkChanged, distributor: Distributor) -> None:
        """A callback's call ended: its attempt, and what follows (in a task: it writes)."""
        call = changed.item
        if call.callback_id is None or call.state is not WorkState.ENDED:
            return
        if call.end_reason is EndReason.PREVIEW_SKIPPED:
            return  # whoever ended the preview stored what follows
        task = asyncio.get_running_loop().create_task(self._attempted(call, distributor.clock()))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def drain(self) -> None:
        while self._writes:
            await asyncio.gather(*list(self._writes), return_exceptions=True)

    async def _attempted(self, call: WorkItem, now: datetime) -> None:
        assert call.callback_id is not None
        async with self.lock:
            callback = await self.store.get(call.callback_id)
            if callback is None or callback.call_id not in (None, call.call_id):
                return
            await self.store.save(after_call(callback, call, now, self.retry))


class CallbackScheduler:
    def __init__(self, distributor: Distributor, policy: Policy, attempts: CallbackAttempts, outbound: OutboundCalls,
                 audit: AuditTrail, *, queue: str | None = None,
                 new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
                 notify: Callable[[str, str, Mapping[str, Any]], None] | None = None) -> None:
        self._distributor = distributor
        self._policy = policy
        self._attempts = attempts
        self._store = attempts.store
        self._outbound = outbound
        self._audit = audit
        self.retry = attempts.retry
        self._queue = queue
        self._new_id = new_id
        self._notify = notify
        self._previews: dict[str, tuple[str, datetime]] = {}  # call id -> (callback id, shown since)
        self._task: asyncio.Task[None] | None = None
        self._lock = attempts.lock  # one change of a callback at a time (the tick, a click, a call's end)

    # -- requests -------------------------------------------------------------------------------------------
    async def schedule(self, actor: UserRecord, customer_id: str, *, due_at: datetime, reason: str,
                       agent_first: bool = False, phone_index: int = 0, source: str) -> ScheduledCallback:
        """A callback to ``customer_id`` at ``due_at`` (aware), for the actor if an agent (``agent_first``: to them
        alone at first)."""
        customer = await self._outbound.customer(actor, customer_id)
        now = self._distributor.clock()
        if due_at.tzinfo is None or not now - _LATE <= due_at <= now + MAX_AHEAD:
            raise InvalidInput("a callback's time is from now to 90 days ahead, with its UTC offset",
                               code="callback_time", params={"days": MAX_AHEAD.days})
        if not 0 <= phone_index < len(customer.phones):
            raise InvalidInput(f"the customer has no phone number {phone_index}", code="no_phone",
                               params={"phone_index": phone_index})
        agent_id = actor.agent_id if actor.role == "agent" else None
        callback = ScheduledCallback(
            callback_id=self._new_id(), customer_id=customer_id,
            queue=self._queue or self._distributor.query.rules.default_queue, due_at=due_at, reason=reason,
            agent_id=agent_id, agent_first=agent_first and agent_id is not None, phone_index=phone_index,
            created_by=actor.name, created_at=now)
        await self._store.save(callback)
        await self._audit.record(actor, "create", "callback", callback.callback_id, source=source,
                                 detail={"customer_id": customer_id})
        if self._notify is not None:
            self._notify("callback.scheduled", f"callback:{callback.callback_id}", {
                "callback_id": callback.callback_id, "customer_id": customer_id, "queue": callback.queue,
                "due_at": due_at.isoformat(), "agent_id": agent_id, "created_by": actor.name})
        return callback

    async def list(self, actor: UserRecord, *, statuses: tuple[str, ...] = (), limit: int = 100,
                   source: str) -> list[ScheduledCallback]:
        """An agent's own callbacks; a supervisor's scope's (its queues, its teams' agents); an admin's all."""
        callbacks = await self._store.list(within=self._reach(actor), statuses=statuses or None, limit=limit)
        await self._audit.record(actor, "list", "callback", "*", source=source, detail={"results": len(callbacks)})
        return callbacks

    async def contacts(self, callbacks: Sequence[ScheduledCallback]) -> dict[str, tuple[str, str]]:
        """Whom each callback calls, as a list shows it: the customer's name and the number masked to its last
        digits (as the dashboard shows callers); empty for a customer since erased."""
        shown: dict[str, tuple[str, str]] = {}
        records: dict[str, CustomerRecord | None] = {}
        for callback in callbacks:
            if callback.customer_id not in records:
                records[callback.customer_id] = await self._outbound.record(callback.customer_id)
            customer = records[callback.customer_id]
            if customer is None or customer.forgotten_at is not None:
                shown[callback.callback_id] = ("", "")
                continue
            phones = customer.phones
            number = phones[callback.phone_index] if callback.phone_index < len(phones) else ""
            shown[callback.callback_id] = (customer.name or "", masked(number) if number else "")
        return shown

    async def get(self, actor: UserRecord, callback_id: str) -> ScheduledCallback:
        """The callback, if the actor reaches it (as :meth:`list`), or it is shown to their agent now."""
        callback = await self._store.get(callback_id)
        reach = self._reach(actor)
        seen = callback is not None and (reach is None or callback.queue in reach.queues
                                         or callback.agent_id in reach.agents or self._shown_to(actor, callback))
        if callback is None or not seen:
            raise NotFound(f"no callback {callback_id!r}", code="callback_not_found",
                           params={"callback_id": callback_id})
        return callback

    async def dial(self, actor: UserRecord, callback_id: str, *, source: str) -> ScheduledCallback:
        """The agent dials the callback they preview: the contact policy decides now; refused for the hours, it
        moves to the next allowed time; refused otherwise, it ends (both raise :class:`ContactRefused`)."""
        async with self._lock:
            callback, call = await self._previewed(actor, callback_id)
            assert call.agent_id is not None
            customer = await self._outbound.customer(actor, callback.customer_id)
            now = self._distributor.clock()
            decision = await self._outbound.decide(customer, call.caller_number, now)
            if decision.refusal is not None:
                await self._finish_preview(after_refusal(callback, decision, now, call.agent_id), call)
                await self._audit.record(actor, "dial", "customer", callback.customer_id, source=source,
                                         detail={"refused": decision.refusal.value, "callback": callback_id})
                raise ContactRefused(decision)
            self._previews.pop(call.call_id, None)
            dialing = replace(callback, status=CallbackStatus.DIALING)
            await self._store.save(dialing)
            await self._audit.record(actor, "dial", "customer", callback.customer_id, source=source,
                                     detail={"call_id": call.call_id, "callback": callback_id})
            self._distributor.dial_preview(call.call_id, call.agent_id)
            return dialing

    async def skip(self, actor: UserRecord, callback_id: str, *, due_at: datetime | None = None) -> ScheduledCallback:
        """The agent skips the preview: the callback is due again after the retry interval, or at ``due_at``."""
        async with self._lock:
            callback, call = await self._previewed(actor, callback_id)
            now = self._distributor.clock()
            if due_at is not None and (due_at.tzinfo is None or not now <= due_at <= now + MAX_AHEAD):
                raise InvalidInput("a callback's time is from now to 90 days ahead, with its UTC offset",
                                   code="callback_time", params={"days": MAX_AHEAD.days})
            later = rescheduled(callback, due_at or now + self.retry.interval, now, call.agent_id)
            await self._finish_preview(later, call)
            return later

    async def cancel(self, actor: UserRecord, callback_id: str, *, source: str) -> ScheduledCallback:
        async with self._lock:
            callback = await self.get(actor, callback_id)
            if callback.status is CallbackStatus.CANCELLED:
                return callback  # cancelled already: as asked
            if callback.status is not CallbackStatus.SCHEDULED:
                raise Conflict(f"callback {callback_id} is {callback.status.value}", code="callback_not_scheduled",
                               params={"callback_id": callback_id, "status": callback.status.value})
            cancelled = replace(callback, status=CallbackStatus.CANCELLED)
            await self._store.save(cancelled)
            await self._audit.record(actor, "delete", "callback", callback_id, source=source)
            return cancelled

    # -- the clock and the calls ----------------------------------------------------------------------------
    def start(self, period: float = 1.0) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(period))

    async def close(self) -> None:
        if self._task is not None:
            await stop_task(self._task)
        await self._attempts.drain()

    async def recover(self) -> None:
        """After a restart: callbacks whose preview or call is gone are due again."""
        for callback in await self._store.in_progress():
            call = self._distributor.query.find_call(callback.call_id) if callback.call_id else None
            if call is None:
                await self._store.save(replace(callback, status=CallbackStatus.SCHEDULED, call_id=None))
            elif call.state is WorkState.PREVIEW:
                self._previews[call.call_id] = (callback.callback_id, self._distributor.clock())

    async def tick(self) -> None:
        """Preview what is due to whoever may take it; end previews nobody acted on."""
        async with self._lock:
            now = self._distributor.clock()
            for call_id, (callback_id, since) in list(self._previews.items()):
                call = self._distributor.query.find_call(call_id)
                callback = await self._store.get(callback_id)
                if call is None or call.state is not WorkState.PREVIEW or callback is None:
                    self._previews.pop(call_id, None)
                elif now - since >= self.retry.preview:
                    await self._finish_preview(rescheduled(callback, now + self.retry.interval, now, call.agent_id),
                                               call)
            for callback in await self._store.due(now):
                await self._preview(callback, now)

    # -- inside ---------------------------------------------------------------------------------------------
    async def _run(self, period: float) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a database away, a bug: the next second tries again
                log.exception("scheduled callbacks: the tick failed")
            await asyncio.sleep(period)

    async def _preview(self, callback: ScheduledCallback, now: datetime) -> None:
        query = self._distributor.query
        agent = pick_agent(callback, query.agent_map().values(), query.queue_rule(callback.queue), now, self.retry)
        if agent is None:
            return
        customer = await self._outbound.record(callback.customer_id)
        if customer is None or customer.forgotten_at is not None or callback.phone_index >= len(customer.phones):
            await self._store.save(replace(callback, status=CallbackStatus.CANCELLED))
            return
        item = WorkItem(call_id=self._new_id(), channel_id="", caller_number=customer.phones[callback.phone_index],
                        service_number=self._outbound.caller_id, queue=callback.queue, arrived_at=now,
                        caller_name=customer.name or None, customer_id=callback.customer_id,
                        callback_id=callback.callback_id)
        # Stored first: the desktop asks for the callback as soon as the preview reaches it.
        await self._store.save(replace(callback, status=CallbackStatus.PREVIEWING, call_id=item.call_id))
        try:
            self._distributor.preview(item, agent.agent_id)
        except AcdError as exc:  # taken meanwhile: the next tick looks again
            log.info("callback %s not previewed to %s: %s", callback.callback_id, agent.agent_id, exc)
            await self._store.save(callback)
            return
        self._previews[item.call_id] = (callback.callback_id, now)

    async def _previewed(self, actor: UserRecord, callback_id: str) -> tuple[ScheduledCallback, WorkItem]:
        """The callback the actor's agent previews now, and its call: 403 for anyone but an agent, 404 for a
        callback neither theirs nor shown to them, 409 for theirs when it is not previewed to them now."""
        if actor.role != "agent" or not actor.agent_id:
            raise Forbidden("only the agent it is shown to dials or skips a callback", code="agents_only_dial")
        callback = await self._store.get(callback_id)
        call = self._distributor.query.find_call(callback.call_id) if callback and callback.call_id else None
        shown = call is not None and call.agent_id == actor.agent_id
        if callback is None or not (shown or callback.agent_id == actor.agent_id):
            raise NotFound(f"no callback {callback_id!r}", code="callback_not_found",
                           params={"callback_id": callback_id})
        if call is None or not shown or call.state is not WorkState.PREVIEW:
            raise Conflict(f"callback {callback_id} is not shown to you to dial now", code="callback_not_previewed",
                           params={"callback_id": callback_id})
        return callback, call

    async def _finish_preview(self, callback: ScheduledCallback, call: WorkItem) -> None:
        self._previews.pop(call.call_id, None)
        await self._store.save(callback)
        assert call.agent_id is not None
        with contextlib.suppress(AcdError):  # ended meanwhile (the agent logged out): nothing left to end
            self._distributor.end_preview(call.call_id, call.agent_id)

    def _shown_to(self, actor: UserRecord, callback: ScheduledCallback) -> bool:
        """Whether the callback's call (its preview, its dial) is the actor's agent's now."""
        call = self._distributor.query.find_call(callback.call_id) if callback.call_id else None
        return call is not None and actor.agent_id is not None and call.agent_id == actor.agent_id

    def _reach(self, actor: UserRecord) -> Reach | None:
        if actor.role == "agent":
            return Reach(agents=frozenset({actor.agent_id}) if actor.agent_id else frozenset())
        return self._policy.reach(actor)
