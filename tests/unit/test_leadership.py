"""Who leads, from the lease's answers and the time alone: exact roles at given instants, and the one property that
matters under any sequence of answers (a controller acts only while a lease it holds cannot have lapsed in Redis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cti.cluster import Leadership, LeaseTerms, Role

TERMS = LeaseTerms(ttl=10.0, renew_every=2.0, retry_every=1.0, margin=0.5)


def test_a_standby_leads_once_it_takes_the_lease_and_counts_it_from_when_it_asked() -> None:
    lead = Leadership(TERMS)
    assert (lead.role, lead.leading(0.0), lead.due(0.0)) == (Role.STANDBY, False, 0.0)
    assert lead.acquired(None, sent_at=0.0) is Role.STANDBY  # someone else holds it
    assert lead.due(0.2) == pytest.approx(0.8)  # seek again a second after asking
    # Asked at t=1, answered at t=3 (a slow Redis): the lease runs from t=1, less the margin.
    assert lead.acquired(7, sent_at=1.0) is Role.LEADER
    assert (lead.token, lead.leading(3.0), lead.leading(10.49), lead.leading(10.5)) == (7, True, True, False)
    assert lead.due(3.0) == pytest.approx(0.0)  # the renewal was due at t=3


def test_a_leader_renewing_in_time_keeps_leading_and_one_that_does_not_stands_down_at_its_lease_end() -> None:
    lead = Leadership(TERMS)
    lead.acquired(7, sent_at=0.0)
    assert lead.renewed(True, sent_at=2.0) is Role.LEADER
    assert lead.leading(11.4)
    assert lead.due(2.5) == pytest.approx(1.5)
    # Redis does not answer from t=4: the leader retries while its lease lasts, and stops leading at t=11.5.
    assert lead.unanswered(4.0) is Role.LEADER
    assert lead.due(4.0) == pytest.approx(1.0)
    assert lead.unanswered(11.0) is Role.LEADER
    assert lead.due(11.0) == pytest.approx(0.5)  # it wakes at its lease's end, not at the next retry
    assert (lead.leading(11.5), lead.expired(11.5)) == (False, True)
    assert lead.unanswered(11.5) is Role.STANDBY
    assert lead.token is None
    assert lead.due(11.5) == pytest.approx(1.0)


def test_a_renewal_refused_means_another_term_began_and_the_leader_stands_down_at_once() -> None:
    lead = Leadership(TERMS)
    lead.acquired(7, sent_at=0.0)
    assert lead.renewed(False, sent_at=2.0) is Role.STANDBY
    assert (lead.token, lead.leading(2.0)) == (None, False)
    assert lead.acquired(9, sent_at=3.0) is Role.LEADER  # a later term of its own has a new token
    assert lead.token == 9


def test_terms_that_leave_no_room_for_a_failed_renewal_are_refused() -> None:
    with pytest.raises(ValueError, match="at most a third"):
        LeaseTerms(ttl=3.0, renew_every=1.5)
    with pytest.raises(ValueError, match="under half the lease"):
        LeaseTerms(ttl=1.0, renew_every=0.3, margin=0.5)
    with pytest.raises(ValueError, match="more than none"):
        LeaseTerms(retry_every=0)
    assert LeaseTerms(ttl=1.5, renew_every=0.5, margin=0.25).ttl_ms == 1500


_ANSWER = st.sampled_from(["acquired", "refused", "renewed", "taken", "unanswered"])


@given(st.lists(st.tuples(_ANSWER, st.floats(0.0, 6.0), st.floats(0.0, 4.0)), max_size=40),
       st.floats(0.0, 12.0))
def test_whatever_redis_answers_a_controller_leads_only_within_a_lease_it_asked_for(
        answers: list[tuple[str, float, float]], probe: float) -> None:
    """``leading(t)`` implies a successful take or renewal sent at ``s`` with ``t < s + ttl``: Redis, which counts
    the lease from a moment after ``s``, still holds it for us."""
    lead = Leadership(TERMS)
    now, token, granted = 0.0, 0, None  # granted: when the last successful request of the current term was sent
    for answer, gap, latency in answers:
        now += gap
        sent, now = now, now + latency
        if answer == "acquired" and lead.token is None:
            token += 1
            lead.acquired(token, sent)
            granted = sent
        elif answer == "refused" and lead.token is None:
            lead.acquired(None, sent)
        elif answer == "renewed" and lead.token is not None:
            if not lead.expired(sent):
                lead.renewed(True, sent)
                granted = sent
        elif answer == "taken" and lead.token is not None:
            lead.renewed(False, sent)
        elif answer == "unanswered":
            lead.unanswered(now)
        if lead.token is None:
            granted = None
        for t in (now, now + probe):
            if lead.leading(t):
                assert granted is not None and t < granted + TERMS.ttl - TERMS.margin
