"""The routing tick at the controller's period: each escalation step and wrap-up end happens at the first tick at or
after its due time (never before, at most one period late), and a tick takes only what came due since the last."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from cti.acd import AgentChanged, AgentState, ContactCenter, WorkChanged, WorkItem, parse_rules
from cti.telephony import ROUTING_TICK_SECONDS

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
PERIOD = timedelta(seconds=ROUTING_TICK_SECONDS)
# Two escalation steps, 2 s and then 1 s long: due 2 s and 3 s after a call is queued.
RULES = {"queues": {"care": {"skills": {"care": 1}, "wrap_up_seconds": 1.3,
                             "targets": [{"region": "caller", "timeout": 2}, {"min_level": 5, "timeout": 1}, {}]}}}


def call(call_id: str, arrived: datetime) -> WorkItem:
    return WorkItem(call_id=call_id, channel_id=f"leg-{call_id}", caller_number="0215550123",
                    service_number="1500100", queue="", arrived_at=arrived)


def test_each_escalation_happens_within_one_tick_period_of_its_due_time() -> None:
    core = ContactCenter(parse_rules(RULES))
    arrivals = {f"c{n}": T0 + timedelta(seconds=0.037 * n) for n in range(60)}  # 27 a second: a backlog
    for call_id, arrived in arrivals.items():
        core.call_arrived(call(call_id, arrived), arrived)  # nobody serves care: all wait
    escalated: dict[str, list[datetime]] = {call_id: [] for call_id in arrivals}
    ticks: list[tuple[datetime, set[str]]] = []
    now = T0 + timedelta(seconds=2.2)  # the first tick after the last arrival
    while now <= T0 + timedelta(seconds=6):
        changed = {c.item.call_id for c in core.tick(now) if isinstance(c, WorkChanged)}
        for call_id in changed:
            escalated[call_id].append(now)
        ticks.append((now, changed))
        now += PERIOD
    first_tick = ticks[0][0]
    dues = {call_id: (arrived + timedelta(seconds=2), arrived + timedelta(seconds=3))
            for call_id, arrived in arrivals.items()}
    for call_id, due_times in dues.items():
        assert [d.step for d in core.call(call_id).decisions if d.kind == "escalated"] == [1, 2]
        for due, when in zip(due_times, escalated[call_id], strict=True):
            assert due <= when < max(due, first_tick) + PERIOD, (call_id, due, when)
    # Each later tick takes exactly the calls with a step due since the previous tick: a few, not a second's worth.
    for (previous, _), (now, changed) in itertools.pairwise(ticks):
        assert changed == {c for c, due_times in dues.items() if any(previous < due <= now for due in due_times)}
    assert max(len(changed) for _, changed in ticks[1:]) <= 6  # 27 a second, two steps: 3 + 3 in 0.1 s


def test_a_wrap_up_ends_within_one_tick_period_of_its_end() -> None:
    core = ContactCenter(parse_rules(RULES))
    core.add_agent("ana")
    core.set_profile("ana", T0, skills={"care": 5})
    core.login("ana", "7001", T0, ready=True)
    core.call_arrived(call("c1", T0), T0)
    core.offer_answered("c1-a1", T0 + timedelta(seconds=1))
    core.channel_gone("leg-c1", T0 + timedelta(seconds=5))
    ends = T0 + timedelta(seconds=6.3)
    assert core.agent("ana").wrap_up_until == ends
    now = T0 + timedelta(seconds=5)
    while core.agent("ana").state is AgentState.WRAP_UP:
        now += PERIOD
        commands = core.tick(now)
    assert ends <= now < ends + PERIOD
    assert [c.agent.state for c in commands if isinstance(c, AgentChanged)] == [AgentState.READY]
