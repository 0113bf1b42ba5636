"""Admission control: bounded setups and an optional arrival-rate ceiling."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cti.telephony import Admission, AdmissionControl


def test_setups_are_bounded_and_freed() -> None:
    control = AdmissionControl(max_setups=2)
    assert [control.admit(0.0) for _ in range(3)] == [Admission(True), Admission(True), Admission(False, "setups")]
    control.done()
    assert control.admit(0.0) == Admission(True)
    assert control.shed == {"setups": 1, "rate": 0, "sessions": 0}


def test_rate_ceiling_refills_over_time() -> None:
    control = AdmissionControl(max_setups=1000, max_rate=2.0)
    assert [control.admit(0.0).admitted for _ in range(3)] == [True, True, False]
    assert control.admit(0.25) == Admission(False, "rate")  # half a token so far
    assert control.admit(0.5).admitted  # a whole token after 0.5 s at 2/s
    assert control.shed == {"setups": 0, "rate": 2, "sessions": 0}


def test_a_rate_below_one_a_second_still_admits_one_then_one_per_period() -> None:
    control = AdmissionControl(max_setups=1000, max_rate=0.5)
    assert [control.admit(0.0).admitted for _ in range(2)] == [True, False]
    assert control.admit(1.0) == Admission(False, "rate")  # half an arrival refilled
    assert control.admit(2.0).admitted and not control.admit(2.1).admitted


def test_the_ivr_is_bounded_by_the_callers_it_holds_and_its_callers_are_never_shed_later() -> None:
    control = AdmissionControl(max_setups=1, max_sessions=2)
    assert control.admit(0.0, sessions=2) == Admission(False, "sessions")
    assert control.admit(0.0, sessions=1) == Admission(True)
    control.done()
    control.enter()  # the IVR hands its caller on while the setups are full: counted, not refused
    control.enter()
    assert control.setups == 2 and control.shed == {"setups": 0, "rate": 0, "sessions": 1}


def test_done_never_goes_negative() -> None:
    control = AdmissionControl()
    control.done()
    assert control.setups == 0


@given(st.lists(st.tuples(st.floats(0, 0.5), st.booleans()), max_size=200), st.integers(1, 10),
       st.sampled_from([0.0, 0.5, 1.0, 5.0, 50.0]))
def test_never_more_setups_than_the_bound_nor_more_admissions_than_the_rate(
    events: list[tuple[float, bool]], bound: int, rate: float,
) -> None:
    control = AdmissionControl(max_setups=bound, max_rate=rate)
    now, admitted = 0.0, 0
    for gap, finish in events:
        now += gap
        if finish:
            control.done()
        elif control.admit(now).admitted:
            admitted += 1
        assert 0 <= control.setups <= bound
    if rate:
        assert admitted <= max(1.0, rate) + now * rate + 1e-9  # a full bucket at the start, then the refill
