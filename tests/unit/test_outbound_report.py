"""Outbound figures per interval: agents' calls out and scheduled callbacks' ends, each counted at its instant, per
queue, exact rows and CSV; apart from the customers' calls (the interval report and the service level never see
them); the report service keeps a supervisor to their scope's queues."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cti.acd import Attempt, CallbackStatus, ContactCenter, ScheduledCallback
from cti.errors import Forbidden
from cti.records import InteractionRecord
from cti.services import CommandBus, Distributor, ReportService, Scope
from cti.stats import OUTBOUND_COLUMNS, CallbackEnd, OutboundInterval, outbound_csv, outbound_intervals
from tests.unit.fakes import FakeAgents, FakeCallbacks, FakeInteractions

JAKARTA = ZoneInfo("Asia/Jakarta")
DAY = date(2026, 12, 7)


def local(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 12, 7, hour, minute, second, tzinfo=JAKARTA).astimezone(UTC)


def out(call_id: str, arrived: datetime, *, answered: datetime | None = None, ended: datetime | None,
        outcome: str | None, end_reason: str | None = None, queue: str = "sales") -> InteractionRecord:
    return InteractionRecord(call_id=call_id, channel_id=f"chan-{call_id}", caller_number="+62215550123",
                             service_number="1500100", queue=queue, agent_id="ana", arrived_at=arrived,
                             answered_at=answered, ended_at=ended, outcome=outcome, end_reason=end_reason,
                             direction="outbound")


CALLS = [
    # answered at 09:14:50 in the first interval, ended at 09:20 in the second: 5 min 10 s of talk counted there
    out("a", local(9, 14), answered=local(9, 14, 50), ended=local(9, 20), outcome="answered",
        end_reason="customer_hangup"),
    out("b", local(9, 5), ended=local(9, 6), outcome="failed", end_reason="customer_no_answer"),
    out("c", local(9, 29, 59), ended=local(9, 30), outcome="failed", end_reason="customer_busy"),  # ends at 09:30
    out("d", local(9, 1), ended=local(9, 2), outcome="failed", end_reason="agent_no_answer"),  # not dialed
    out("e", local(9, 3), ended=local(9, 4), outcome="skipped", end_reason="preview_skipped"),  # nothing at all
    out("f", local(9, 40), outcome=None, ended=None),  # still ringing the customer: dialed
    out("g", local(9, 10), answered=local(9, 11), ended=local(9, 12), outcome="answered", queue="care"),
]


def test_each_call_out_counts_at_its_instants_per_queue() -> None:
    ends = [CallbackEnd("sales", local(9, 20), completed=True), CallbackEnd("sales", local(9, 45), completed=False)]
    rows = outbound_intervals(DAY, DAY, tz=JAKARTA, minutes=15, calls=CALLS, callbacks=ends,
                              now=local(10, 0), include_empty=False)
    got = {(r.start.strftime("%H:%M"), r.queue): r for r in rows}
    assert sorted(got) == [("09:00", "care"), ("09:00", "sales"), ("09:15", "sales"), ("09:30", "sales"),
                           ("09:45", "sales")]
    first = got[("09:00", "sales")]
    assert (first.dialed, first.answered, first.failed, first.talk_seconds) == (2, 1, 2, 0.0)  # a, b; a; b, d
    second = got[("09:15", "sales")]
    assert (second.dialed, second.answered, second.failed, second.talk_seconds) == (1, 0, 0, 310.0)  # c; a's talk
    assert (second.callbacks_completed, second.callbacks_failed) == (1, 0)
    third = got[("09:30", "sales")]
    assert (third.dialed, third.failed, third.answer_rate) == (1, 1, 0.0)  # f dialed; c ended at 09:30:00
    assert (got[("09:45", "sales")].callbacks_failed, got[("09:45", "sales")].dialed) == (1, 0)
    assert first.answer_rate == pytest.approx(1 / 3)
    care = got[("09:00", "care")]
    assert (care.dialed, care.answered, care.talk_seconds) == (1, 1, 60.0)


def test_nothing_after_now_counts_and_empty_rows_come_on_request() -> None:
    rows = outbound_intervals(DAY, DAY, tz=JAKARTA, minutes=60, calls=CALLS, now=local(9, 10), queues=["sales"])
    assert len(rows) == 24 and {r.queue for r in rows} == {"sales"}  # g (care) starts at now: not yet
    nine = next(r for r in rows if r.start.hour == 9)
    assert (nine.dialed, nine.answered, nine.failed) == (1, 0, 2)  # b dialed; b and d failed; a is after now
    assert all(r.dialed == 0 for r in rows if r.start.hour != 9)


def test_the_outbound_csv_has_its_documented_columns() -> None:
    row = OutboundInterval(local(9, 0).astimezone(JAKARTA), local(9, 30).astimezone(JAKARTA), "sales", dialed=3,
                           answered=1, failed=2, talk_seconds=310.0, callbacks_completed=1, callbacks_failed=0,
                           answer_rate=1 / 3)
    assert outbound_csv([row]) == (
        ",".join(OUTBOUND_COLUMNS) + "\r\n"
        "2026-12-07T09:00:00+07:00,2026-12-07T09:30:00+07:00,sales,3,1,2,310.0,0.3333,1,0\r\n")
    empty = OutboundInterval(row.start, row.end, "care")
    assert outbound_csv([empty]).splitlines()[1] == (
        "2026-12-07T09:00:00+07:00,2026-12-07T09:30:00+07:00,care,0,0,0,0.0,,0,0")


def _callback(callback_id: str, queue: str, outcomes: tuple[str, ...], status: CallbackStatus) -> ScheduledCallback:
    attempts = tuple(Attempt(local(9, 5 + 10 * n), o, f"call-{callback_id}-{n}", "ana") for n, o in enumerate(outcomes))
    return ScheduledCallback(callback_id=callback_id, customer_id="1", queue=queue, due_at=local(9, 0), reason="r",
                             agent_id=None, status=status, attempts=attempts)


async def test_the_service_keeps_calls_out_apart_and_a_supervisor_to_their_queues() -> None:
    interactions, callbacks = FakeInteractions(), FakeCallbacks()
    for record in CALLS:
        await interactions.save(record)
    await interactions.save(InteractionRecord(
        call_id="in", channel_id="x", caller_number="+62215550999", service_number="1500100", queue="sales",
        arrived_at=local(9, 0), answered_at=local(9, 0, 10), ended_at=local(9, 3), outcome="answered"))
    await callbacks.save(_callback("done", "sales", ("no_answer", "answered"), CallbackStatus.COMPLETED))
    await callbacks.save(_callback("lost", "sales", ("no_answer", "busy"), CallbackStatus.FAILED))
    await callbacks.save(_callback("other", "care", ("answered",), CallbackStatus.COMPLETED))
    await callbacks.save(_callback("open", "sales", ("no_answer",), CallbackStatus.SCHEDULED))
    now = local(12, 0)
    distributor = Distributor(ContactCenter(), lambda: now, CommandBus({}))
    reports = ReportService(distributor.query, interactions, FakeAgents(), lambda: now, callbacks=callbacks)
    sales = Scope(frozenset({"sales"}), frozenset())
    rows = await reports.outbound(sales, DAY, DAY, tz=JAKARTA, minutes=60)
    assert [(r.start.hour, r.queue, r.dialed, r.answered, r.failed, r.callbacks_completed, r.callbacks_failed)
            for r in rows] == [(9, "sales", 4, 1, 3, 1, 1)]
    inbound = await reports.intervals(sales, DAY, DAY, tz=JAKARTA, minutes=60)
    nine = next(q for q in inbound.queues if q.queue == "sales" and q.start.hour == 9)
    assert (nine.tally.offered, nine.tally.answered) == (1, 1)  # the customer's call only
    everything = await reports.outbound(Scope(), DAY, DAY, tz=JAKARTA, minutes=60)
    assert {r.queue for r in everything} == {"sales", "care"}
    with pytest.raises(Forbidden):
        await reports.outbound(sales, DAY, DAY, tz=JAKARTA, minutes=60, queue="care")
    assert await reports.outbound(sales, DAY + timedelta(days=1), DAY + timedelta(days=1), tz=JAKARTA,
                                  minutes=60) == ()
