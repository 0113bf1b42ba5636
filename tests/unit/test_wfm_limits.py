"""Staffing's ranges: every input has one, and whatever number comes in, staffing answers or raises a WfmError.

A fuzzer found the API answering 500 for ``aht_seconds: 5e-324`` (an OverflowError deep in the Erlang code):
the math must never see a number it cannot represent the answer for.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cti.wfm import (
    MAX_CALLS,
    MAX_INTERVAL_MINUTES,
    MAX_SECONDS,
    MAX_TRAFFIC,
    MIN_INTERVAL_MINUTES,
    MIN_OCCUPANCY,
    MIN_SECONDS,
    MIN_TRAFFIC,
    StaffingRequest,
    WfmError,
    staff,
    staff_table,
)

# Any float at all, the awkward ones (subnormals, the largest, infinities, NaN) often.
ANY = st.one_of(st.floats(), st.sampled_from([5e-324, 1e-300, 1e-9, 0.5, 1e300, 1.7976931348623157e308]))
OPTIONAL = st.none() | ANY


def request(**values: Any) -> StaffingRequest:
    base: dict[str, Any] = {"calls": 100.0, "interval_minutes": 30.0, "aht_seconds": 180.0, "service_level": 0.8}
    return StaffingRequest(**(base | values))


@pytest.mark.parametrize("values", [
    {"aht_seconds": 5e-324},  # the fuzzer's 500
    {"calls": 1e6, "aht_seconds": 5e-324},
    {"interval_minutes": 5e-324},  # traffic would be infinite
    {"max_occupancy": 5e-324},  # infinitely many agents
    {"patience_seconds": 5e-324},
    {"patience_seconds": 86400.0, "asa_seconds": 5e-324, "service_level": None},
    {"aht_seconds": 0.5},
    {"asa_seconds": 0.5},
    {"patience_seconds": 0.5},
    {"answer_within_seconds": 86400.5},
    {"calls": 1e6 + 1},
    {"interval_minutes": 0.5},
    {"interval_minutes": 1441.0},
    {"max_occupancy": 0.005},
])
def test_numbers_outside_the_ranges_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(WfmError):
        staff(request(**values))


def test_traffic_beyond_any_contact_center_is_refused_with_the_reason() -> None:
    # Each input within its range, the product not: a million calls of a day each in one minute.
    with pytest.raises(WfmError, match="Erlangs"):
        staff(request(calls=MAX_CALLS, aht_seconds=MAX_SECONDS, interval_minutes=MIN_INTERVAL_MINUTES))
    with pytest.raises(WfmError, match="Erlangs"):
        staff(request(calls=MAX_CALLS, aht_seconds=MAX_SECONDS, interval_minutes=MIN_INTERVAL_MINUTES,
                      patience_seconds=60.0))
    with pytest.raises(WfmError, match="Erlangs"):
        staff_table([MAX_CALLS], [MAX_SECONDS], interval_minutes=MIN_INTERVAL_MINUTES, service_level=0.8)


def test_the_extremes_of_the_ranges_are_answered() -> None:
    busiest = MAX_TRAFFIC * MIN_INTERVAL_MINUTES * 60 / MAX_SECONDS * (1 - 1e-12)
    capped = staff(request(calls=busiest, aht_seconds=MAX_SECONDS, interval_minutes=MIN_INTERVAL_MINUTES,
                           max_occupancy=MIN_OCCUPANCY))
    assert capped.agents == math.ceil(MAX_TRAFFIC / MIN_OCCUPANCY)  # the occupancy cap binds
    for patience in (MIN_SECONDS, MAX_SECONDS):
        result = staff(request(calls=busiest, aht_seconds=MAX_SECONDS, interval_minutes=MIN_INTERVAL_MINUTES,
                               patience_seconds=patience))
        assert 0 < result.agents <= MAX_TRAFFIC + 1000, patience
    # A trickle too thin to matter (below a billionth of an Erlang) needs nobody, with either model.
    for patience in (None, 60.0):
        thin = staff(request(calls=MIN_TRAFFIC * 30, aht_seconds=MIN_SECONDS,
                             interval_minutes=MIN_INTERVAL_MINUTES, patience_seconds=patience))
        assert (thin.traffic, thin.agents) == (0.0, 0)
    one = staff(request(calls=1.0, aht_seconds=MIN_SECONDS, interval_minutes=MAX_INTERVAL_MINUTES,
                        answer_within_seconds=0.0, asa_seconds=MIN_SECONDS, patience_seconds=MAX_SECONDS))
    assert one.agents == 1


@settings(max_examples=400, deadline=None)
@given(calls=ANY, interval_minutes=ANY, aht_seconds=ANY, service_level=OPTIONAL, answer_within_seconds=ANY,
       asa_seconds=OPTIONAL, max_occupancy=OPTIONAL, shrinkage=ANY, patience_seconds=OPTIONAL, max_abandon=OPTIONAL)
@example(calls=1.0, interval_minutes=30.0, aht_seconds=5e-324, service_level=0.8, answer_within_seconds=20.0,
         asa_seconds=None, max_occupancy=None, shrinkage=0.0, patience_seconds=None, max_abandon=None)
def test_staffing_answers_or_refuses_whatever_the_numbers(**values: Any) -> None:
    try:
        result = staff(StaffingRequest(**values))
    except WfmError:
        return
    assert 0.0 <= result.traffic <= MAX_TRAFFIC
    assert 0 <= result.agents <= result.scheduled_agents
    metrics = result.metrics
    assert all(0.0 <= share <= 1.0 for share in (metrics.service_level, metrics.wait_probability, metrics.occupancy))


def within(low: float, high: float) -> st.SearchStrategy[float]:
    return st.one_of(st.floats(low, high), st.sampled_from([low, high]))


FRACTION = st.floats(0.0, 1.0, exclude_min=True, exclude_max=True)


@settings(max_examples=300, deadline=None)
@given(calls=within(0.0, MAX_CALLS), interval_minutes=within(MIN_INTERVAL_MINUTES, MAX_INTERVAL_MINUTES),
       aht_seconds=within(MIN_SECONDS, MAX_SECONDS), service_level=st.none() | FRACTION,
       answer_within_seconds=within(0.0, MAX_SECONDS), asa_seconds=st.none() | within(MIN_SECONDS, MAX_SECONDS),
       max_occupancy=st.none() | within(MIN_OCCUPANCY, 1.0), shrinkage=st.floats(0.0, 0.99),
       patience_seconds=st.none() | within(MIN_SECONDS, MAX_SECONDS), max_abandon=st.none() | FRACTION)
def test_staffing_within_the_ranges_answers_or_refuses(**values: Any) -> None:
    if values["patience_seconds"] is None:
        values["max_abandon"] = None  # Erlang C callers never abandon: a target for Erlang A only
    try:
        result = staff(StaffingRequest(**values))
    except WfmError:  # the targets cannot be met, or the load is beyond what cti staffs
        return
    assert 0.0 <= result.traffic <= MAX_TRAFFIC
    assert 0 <= result.agents <= result.scheduled_agents
