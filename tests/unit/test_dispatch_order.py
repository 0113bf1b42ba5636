"""The service order of waiting calls: ``wait_key`` is ``wait_order`` made exact and independent of time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from cti.acd import ContactCenter, Routing, WorkItem, parse_rules, wait_key, wait_order

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGINGS = (60.0, 2.5, 0.3, 1 / 3, 7.0, 0.0)

offset = st.integers(0, 3_600_000_000)  # microseconds after T0
waiting_call = st.tuples(st.integers(0, 100), offset)


def moment(microseconds: int) -> datetime:
    return T0 + timedelta(microseconds=microseconds)


def aged_exactly(priority: int, arrived: int, now: int, aging: float) -> tuple[Fraction, int]:
    """``wait_order`` in exact arithmetic: minus the aged priority, then the arrival."""
    if aging <= 0:
        return (Fraction(-priority), arrived)
    return (-(priority + Fraction(now - arrived, 1_000_000) / Fraction(aging)), arrived)


@given(a=waiting_call, b=waiting_call, later=offset, aging=st.sampled_from(AGINGS))
def test_wait_key_orders_as_the_exact_aged_priority_at_any_time(
        a: tuple[int, int], b: tuple[int, int], later: int, aging: float) -> None:
    now = max(a[1], b[1]) + later
    exact = aged_exactly(*a, now, aging) < aged_exactly(*b, now, aging)
    assert (wait_key(a[0], moment(a[1]), aging) < wait_key(b[0], moment(b[1]), aging)) == exact
    # ... and as the float one wherever rounding cannot decide (aged priorities apart by more than 1e-9).
    fa, fb = wait_order(a[0], moment(a[1]), moment(now), aging), wait_order(b[0], moment(b[1]), moment(now), aging)
    if abs(fa[0] - fb[0]) > 1e-9:
        assert (fa < fb) == exact


def test_exact_ties_go_to_the_earlier_caller_at_every_moment() -> None:
    # Priority 1 arriving a minute after priority 0: with one point per minute their aged priorities are equal
    # forever. wait_order's floats split the tie by rounding (13 s later the newer call comes first);
    # wait_key keeps it a tie and serves the earlier caller.
    newer, older = (1, T0), (0, T0 - timedelta(seconds=60))
    at_13s = T0 + timedelta(seconds=13)
    assert wait_order(*newer, at_13s, 60.0) < wait_order(*older, at_13s, 60.0)  # the float artefact
    assert wait_key(*older, 60.0) < wait_key(*newer, 60.0)
    assert wait_key(*newer, 60.0) == (wait_key(*older, 60.0)[0], wait_key(*newer, 60.0)[1])


def test_without_aging_priority_then_arrival() -> None:
    assert wait_key(5, T0, 0.0) < wait_key(4, T0 - timedelta(hours=1), 0.0)
    assert wait_key(5, T0, 0.0) < wait_key(5, T0 + timedelta(microseconds=1), 0.0)


def test_position_and_service_follow_the_key_as_calls_age() -> None:
    rules = parse_rules({"queues": {"care": {}},
                         "routes": [{"name": "vip", "when": {"value_tier": "gold"}, "queue": "care", "priority": 2}]})
    core = ContactCenter(rules, aging_seconds=30.0)
    for call_id, second, tier in [("old", 0, None), ("vip", 45, "gold"), ("tie", 60, None), ("new", 61, "gold")]:
        core.call_arrived(WorkItem(call_id=call_id, channel_id=f"ch-{call_id}", caller_number="0215550100",
                               service_number="1500100", queue="", arrived_at=T0 + timedelta(seconds=second),
                               routing=Routing(value_tier=tier)), T0 + timedelta(seconds=second))
    # Keys in seconds after T0: old 0, vip 45 - 60 = -15, tie 60, new 61 - 60 = 1.
    for seconds in (61, 600, 86_400):
        now = T0 + timedelta(seconds=seconds)
        assert {c: core.position(core.calls[c], now) for c in core.calls} == {"vip": 1, "old": 2, "new": 3, "tie": 4}
    core.add_agent("ana")
    core.login("ana", "7001", T0 + timedelta(seconds=70), ready=True)
    assert core.calls["vip"].agent_id == "ana"
