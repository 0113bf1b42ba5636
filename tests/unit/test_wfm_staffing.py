"""Erlang B/C/A and staffing: the issue's ground truth, published examples, an exact reference and invariants."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.wfm import (
    QueueMetrics,
    StaffingRequest,
    WfmError,
    apply_shrinkage,
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_metrics,
    offered_traffic,
    staff,
    staff_batch,
    staff_intervals,
    staff_table,
)

GROUND_TRUTH = StaffingRequest(calls=100, interval_minutes=30, aht_seconds=180, service_level=0.8,
                               answer_within_seconds=20)


def exact_erlang_c(agents: int, traffic: int) -> Fraction:
    """P(wait) from the textbook formula in exact rational arithmetic: the reference for the float code."""
    top = Fraction(traffic**agents, math.factorial(agents)) * Fraction(agents, agents - traffic)
    below = sum(Fraction(traffic**k, math.factorial(k)) for k in range(agents))
    return top / (below + top)


# -- the ground truth (Call Centre Helper's Erlang C example) -------------------------------------

def test_ground_truth_fourteen_agents_and_their_metrics() -> None:
    result = staff(GROUND_TRUTH)
    assert (result.model, result.traffic, result.agents, result.scheduled_agents) == ("erlang_c", 10.0, 14, 14)
    m = result.metrics
    assert (round(m.service_level, 4), round(m.wait_probability, 4), round(m.asa_seconds, 2),
            round(m.occupancy, 3)) == (0.8884, 0.1741, 7.84, 0.714)
    assert m.abandon_rate is None
    assert result.limited_by == ("service_level",)


def test_ground_truth_with_thirty_percent_shrinkage_is_twenty() -> None:
    result = staff(StaffingRequest(calls=100, interval_minutes=30, aht_seconds=180, service_level=0.8,
                                   answer_within_seconds=20, shrinkage=0.3, max_occupancy=0.85))
    assert (result.agents, result.scheduled_agents) == (14, 20)


def test_eleven_agents_wait_with_probability_0_6821() -> None:
    assert round(erlang_c(11, 10.0), 4) == 0.6821
    m = erlang_c_metrics(11, 10.0, 180, 20)
    assert round(m.wait_probability, 4) == 0.6821
    assert round(m.occupancy, 4) == 0.9091


def test_erlang_c_matches_exact_rational_arithmetic() -> None:
    for agents, traffic in [(11, 10), (14, 10), (25, 20), (60, 48), (120, 100)]:
        assert erlang_c(agents, float(traffic)) == pytest.approx(float(exact_erlang_c(agents, traffic)), rel=1e-12)


def test_pyworkforce_readme_example() -> None:
    """pyworkforce's README (github.com/rodrigo-arenas/pyworkforce, "Queue systems"): ErlangC(transactions=100,
    asa=20/60, aht=3, interval=30, max_occupancy=0.85, shrinkage=0.3).required_positions(service_level=0.8)
    gives raw_positions 14, positions 20, service_level 0.8884, occupancy 0.7143, waiting_probability 0.1741."""
    result = staff(StaffingRequest(calls=100, interval_minutes=30, aht_seconds=180, service_level=0.8,
                                   answer_within_seconds=20, max_occupancy=0.85, shrinkage=0.3))
    m = result.metrics
    assert (result.agents, result.scheduled_agents, round(m.service_level, 4), round(m.occupancy, 4),
            round(m.wait_probability, 4)) == (14, 20, 0.8884, 0.7143, 0.1741)


@pytest.mark.parametrize(("lines", "traffic", "blocking"), [
    (1, 0.0101, 0.01), (5, 1.3608, 0.01), (10, 4.4612, 0.01), (10, 5.0840, 0.02), (20, 12.031, 0.01),
    (50, 37.901, 0.01), (100, 84.064, 0.01),
])
def test_erlang_b_matches_the_published_table(lines: int, traffic: float, blocking: float) -> None:
    """The standard Erlang B table (e.g. Iversen, Teletraffic Engineering Handbook, ITU-D SG 2, table of
    offered traffic for a given blocking), quoted to 4-5 significant digits."""
    assert erlang_b(lines, traffic) == pytest.approx(blocking, abs=3e-6)


# -- careful rounding -------------------------------------------------------------------------------------

def test_shrinkage_rounds_21_over_0_7_to_30() -> None:
    assert 21 / 0.7 > 30  # the float trap this guards against
    assert apply_shrinkage(21, 0.3) == 30
    assert apply_shrinkage(14, 0.3) == 20
    assert apply_shrinkage(7, 0.3) == 10
    assert apply_shrinkage(22, 0.3) == 32
    assert apply_shrinkage(5, 0.0) == 5


@given(st.integers(0, 5000), st.integers(0, 99))
def test_shrinkage_is_the_exact_ceiling(agents: int, percent: int) -> None:
    scheduled = apply_shrinkage(agents, percent / 100)
    kept = Fraction(100 - percent, 100)
    assert scheduled * kept >= agents
    assert scheduled == 0 or (scheduled - 1) * kept < agents


def test_occupancy_cap_is_exact_too() -> None:
    # 21 Erlangs at 70 % occupancy is exactly 30 agents; 21 / 0.7 in floats is 30.000000000000004.
    assert 21 / 0.7 > 30
    result = staff(StaffingRequest(calls=420, interval_minutes=60, aht_seconds=180, max_occupancy=0.7))
    assert offered_traffic(420, 60, 180) == 21
    assert (result.agents, result.limited_by) == (30, ("max_occupancy",))


# -- staffing rules ---------------------------------------------------------------------------------------

def test_asa_target() -> None:
    result = staff(StaffingRequest(calls=100, interval_minutes=30, aht_seconds=180, asa_seconds=10))
    assert result.agents == 14
    assert erlang_c_metrics(13, 10.0, 180, 20).asa_seconds > 10 >= result.metrics.asa_seconds
    assert result.limited_by == ("asa",)


def test_no_target_gives_the_smallest_stable_count() -> None:
    result = staff(StaffingRequest(calls=100, interval_minutes=30, aht_seconds=180))
    assert (result.agents, result.limited_by) == (11, ("stability",))
    exactly = staff(StaffingRequest(calls=10.5, interval_minutes=30, aht_seconds=180))  # 1.05 Erlangs
    assert exactly.agents == 2


def test_zero_calls_need_no_agents() -> None:
    result = staff(StaffingRequest(calls=0, interval_minutes=30, aht_seconds=180, service_level=0.8))
    assert (result.agents, result.scheduled_agents, result.metrics.service_level) == (0, 0, 1.0)


def test_invalid_requests_are_refused() -> None:
    bad = [
        {"service_level": 1.0}, {"service_level": 0.0}, {"shrinkage": 1.0}, {"shrinkage": -0.1},
        {"aht_seconds": 0}, {"interval_minutes": 0}, {"calls": -1}, {"max_occupancy": 0},
        {"max_abandon": 0.05},  # without patience
        {"patience_seconds": 60, "service_level": None},  # Erlang A with no target
        {"asa_seconds": 0}, {"answer_within_seconds": -1}, {"calls": math.inf},
    ]
    for change in bad:
        values = {"calls": 100.0, "interval_minutes": 30.0, "aht_seconds": 180.0, "service_level": 0.8, **change}
        with pytest.raises(WfmError):
            staff(StaffingRequest(**values))  # type: ignore[arg-type]
    with pytest.raises(WfmError):
        erlang_c(-1, 1.0)
    with pytest.raises(WfmError):
        erlang_a_metrics(3, 2.0, 180, 20, 0.0)


def test_staff_intervals_keeps_order() -> None:
    loads = [50, 100, 400]
    results = staff_intervals(StaffingRequest(calls=c, interval_minutes=30, aht_seconds=180, service_level=0.8)
                              for c in loads)
    assert [r.agents for r in results] == [8, 14, 45]


def test_large_queues_are_stable_and_fast_enough() -> None:
    # 2000 calls an hour at 600 s: 333 Erlangs; Erlang B in floats would overflow factorials long before.
    result = staff(StaffingRequest(calls=1000, interval_minutes=30, aht_seconds=600, service_level=0.8,
                                   answer_within_seconds=20, shrinkage=0.3, max_occupancy=0.85))
    assert result.traffic == pytest.approx(1000 / 3)
    assert result.agents == 393  # the 85 % occupancy cap binds: ceil(333.33 / 0.85)
    assert result.limited_by == ("max_occupancy",)
    sl_only = staff(StaffingRequest(calls=1000, interval_minutes=30, aht_seconds=600, service_level=0.8))
    assert sl_only.agents == 348
    a = staff(StaffingRequest(calls=1000, interval_minutes=30, aht_seconds=600, service_level=0.8,
                              patience_seconds=120, max_abandon=0.05))
    assert a.agents <= sl_only.agents
    m = erlang_a_metrics(2000, 1900.0, 300, 20, 90)
    assert all(math.isfinite(v) for v in (m.service_level, m.wait_probability, m.asa_seconds, m.occupancy))


# -- Erlang A ---------------------------------------------------------------------------------------------

def brute_force_erlang_a(agents: int, traffic: float, aht: float, within: float, patience: float) -> QueueMetrics:
    """The birth-death chain truncated far out, and each waiting caller's fate summed state by state, with the
    service-level integral done numerically on a grid: shares no formula with cti.wfm._erlang."""
    lam, mu, theta = traffic / aht, 1 / aht, 1 / patience
    p = [1.0]
    for j in range(1, agents + 800):
        p.append(p[-1] * lam / (min(j, agents) * mu + max(0, j - agents) * theta))
    probabilities = np.array(p) / sum(p)
    s = agents * mu / theta
    z = math.exp(-theta * within)
    u = np.linspace(z, 1.0, 40001)
    answered = in_time = float(probabilities[:agents].sum())
    waited = 0.0
    for k in range(800):
        weight = float(probabilities[agents + k])
        if weight < 1e-18:
            continue
        served = s / (s + k + 1)
        answered += weight * served
        waited += weight * served * sum(1 / (s + m + 1) for m in range(k + 1)) / theta
        # P(served and wait <= T | k ahead) = E[B; B >= z], B ~ Beta(s, k + 1).
        log_norm = math.lgamma(s + k + 1) - math.lgamma(s) - math.lgamma(k + 1)
        tail = np.log1p(-np.minimum(u, 1 - 1e-16)) * k if k else 0.0
        in_time += weight * float(np.trapezoid(u * np.exp(log_norm + (s - 1) * np.log(u) + tail), u))
    return QueueMetrics(agents, traffic, in_time, float(probabilities[agents:].sum()), waited / answered,
                        traffic * answered / agents, 1 - answered)


@pytest.mark.parametrize("case", [(14, 10.0, 180, 20, 120), (8, 10.0, 180, 20, 60), (3, 2.5, 300, 30, 300),
                                  (20, 25.0, 240, 20, 30), (12, 10.0, 180, 20, 180)])
def test_erlang_a_matches_a_brute_force_chain(case: tuple[int, float, float, float, float]) -> None:
    fast = erlang_a_metrics(*case)
    slow = brute_force_erlang_a(*case)
    assert fast.wait_probability == pytest.approx(slow.wait_probability, rel=1e-9)
    assert fast.abandon_rate == pytest.approx(slow.abandon_rate, rel=1e-9)
    assert fast.asa_seconds == pytest.approx(slow.asa_seconds, rel=1e-9)
    assert fast.occupancy == pytest.approx(slow.occupancy, rel=1e-9)
    assert fast.service_level == pytest.approx(slow.service_level, abs=1e-8)


def test_erlang_a_with_patience_equal_to_aht_is_an_infinite_server_queue() -> None:
    """With patience = AHT every caller leaves at rate 1/AHT whether served or waiting: the number in the
    system is Poisson(traffic), so P(wait) = P(N >= n) and abandonments = E[(N - n)+] / traffic."""
    traffic, agents = 10.0, 14
    poisson = [math.exp(-traffic + j * math.log(traffic) - math.lgamma(j + 1)) for j in range(200)]
    m = erlang_a_metrics(agents, traffic, 180, 20, 180)
    assert m.wait_probability == pytest.approx(sum(poisson[agents:]), rel=1e-12)
    assert m.abandon_rate == pytest.approx(sum((j - agents) * p for j, p in enumerate(poisson) if j > agents)
                                           / traffic, rel=1e-10)


def test_erlang_a_can_need_fewer_agents_than_erlangs() -> None:
    result = staff(StaffingRequest(calls=100, interval_minutes=30, aht_seconds=180, patience_seconds=30,
                                   max_abandon=0.3))
    assert result.agents == 8 < math.ceil(result.traffic)
    assert result.metrics.abandon_rate is not None and result.metrics.abandon_rate <= 0.3
    fewer = erlang_a_metrics(7, 10.0, 180, 20, 30)
    assert fewer.abandon_rate is not None and fewer.abandon_rate > 0.3
    assert result.limited_by == ("max_abandon",)


def test_erlang_a_ground_truth_load_with_patience() -> None:
    result = staff(StaffingRequest(calls=100, interval_minutes=30, aht_seconds=180, service_level=0.8,
                                   answer_within_seconds=20, patience_seconds=120, max_abandon=0.05))
    m = result.metrics
    assert (result.agents, result.limited_by) == (13, ("max_abandon",))
    assert (round(m.service_level, 4), round(m.wait_probability, 4), round(m.asa_seconds, 2),
            round(m.occupancy, 4), round(m.abandon_rate or 0, 4)) == (0.8886, 0.1937, 3.94, 0.7397, 0.0384)
    twelve = erlang_a_metrics(12, 10.0, 180, 20, 120)
    assert round(twelve.abandon_rate or 0, 4) == 0.0616  # over 5 %, though its service level (82.6 %) is met


def assert_same_metrics(ours: QueueMetrics, reference: QueueMetrics) -> None:
    assert (ours.agents, ours.traffic, ours.occupancy, ours.abandon_rate) == (
        reference.agents, reference.traffic, reference.occupancy, reference.abandon_rate)
    for name in ("service_level", "wait_probability", "asa_seconds"):
        assert getattr(ours, name) == pytest.approx(getattr(reference, name), rel=1e-12, abs=1e-300), name


stable_cases = st.tuples(st.integers(1, 60), st.floats(0.5, 0.97), st.floats(30, 900), st.floats(0, 120))


@settings(max_examples=60, deadline=None)
@given(stable_cases)
def test_erlang_a_tends_to_erlang_c_as_patience_grows(case: tuple[int, float, float, float]) -> None:
    agents, load, aht, within = case
    traffic = agents * load
    c = erlang_c_metrics(agents, traffic, aht, within)
    a = erlang_a_metrics(agents, traffic, aht, within, aht * 1e6)
    assert a.wait_probability == pytest.approx(c.wait_probability, abs=2e-4)
    assert a.service_level == pytest.approx(c.service_level, abs=2e-4)
    assert a.abandon_rate is not None and a.abandon_rate < 1e-3


@settings(max_examples=60, deadline=None)
@given(st.floats(0.5, 80), st.floats(30, 600), st.floats(0, 60), st.floats(5, 1200))
def test_more_agents_never_hurt(traffic: float, aht: float, within: float, patience: float) -> None:
    start = max(1, math.floor(traffic) - 3)
    a = [erlang_a_metrics(n, traffic, aht, within, patience) for n in range(start, start + 8)]
    c = [erlang_c_metrics(n, traffic, aht, within) for n in range(math.floor(traffic) + 1, math.floor(traffic) + 9)]
    for series in (a, c):
        for worse, better in itertools.pairwise(series):
            assert better.service_level >= worse.service_level - 1e-12
            assert better.wait_probability <= worse.wait_probability + 1e-12
            assert better.asa_seconds <= worse.asa_seconds * (1 + 1e-12)
            assert better.occupancy <= worse.occupancy + 1e-12
    for worse, better in itertools.pairwise(a):
        assert better.abandon_rate is not None and worse.abandon_rate is not None
        assert better.abandon_rate <= worse.abandon_rate + 1e-12
    for m in a + c:
        assert 0.0 <= m.service_level <= 1.0 and 0.0 <= m.wait_probability <= 1.0


@settings(max_examples=40, deadline=None)
@given(st.floats(1, 400), st.sampled_from([15, 30, 60]), st.floats(60, 600), st.floats(0.5, 0.95),
       st.floats(5, 60), st.one_of(st.none(), st.floats(10, 600)), st.one_of(st.none(), st.floats(0.02, 0.3)))
def test_staffing_is_the_smallest_count_meeting_the_targets(calls: float, minutes: int, aht: float, level: float,
                                                           within: float, patience: float | None,
                                                           abandon: float | None) -> None:
    request = StaffingRequest(calls=calls, interval_minutes=minutes, aht_seconds=aht, service_level=level,
                              answer_within_seconds=within, patience_seconds=patience,
                              max_abandon=abandon if patience is not None else None)
    result = staff(request)
    traffic = result.traffic

    def evaluate(n: int) -> QueueMetrics:
        if patience is None:
            return erlang_c_metrics(n, traffic, aht, within)
        return erlang_a_metrics(n, traffic, aht, within, patience)

    def meets(m: QueueMetrics) -> bool:
        ok = m.service_level >= level - 1e-12
        if patience is None:
            ok = ok and m.agents > traffic
        if request.max_abandon is not None:
            ok = ok and m.abandon_rate is not None and m.abandon_rate <= request.max_abandon + 1e-12
        return ok

    assert meets(evaluate(result.agents))
    assert result.agents == 0 or not meets(evaluate(result.agents - 1))
    # Erlang C's 1/B at the start comes from the uniform expansion or a polynomial, not B's recurrence: the
    # last bits differ.
    assert_same_metrics(result.metrics, evaluate(result.agents))



# -- the vectorised paths ---------------------------------------------------------------------------------

def test_staff_table_gives_the_ground_truth_and_exact_rounding() -> None:
    table = staff_table([100, 0, 420, 1000], [180, 180, 180, 600], interval_minutes=30, service_level=0.8,
                        answer_within_seconds=20, max_occupancy=0.7, shrinkage=0.3)
    assert 42 / 0.7 > 60  # another float trap
    assert table.agents.tolist() == [15, 0, 60, 477]  # 10 / 0.7 -> 15; 42 Erlangs / 0.7 -> 60 exactly
    assert table.scheduled_agents.tolist() == [22, 0, 86, 682]
    plain = staff_table([100], [180], interval_minutes=30, service_level=0.8, answer_within_seconds=20)
    assert (int(plain.agents[0]), round(float(plain.service_level[0]), 4), round(float(plain.wait_probability[0]), 4),
            round(float(plain.asa_seconds[0]), 2), round(float(plain.occupancy[0]), 3)) == (14, 0.8884, 0.1741,
                                                                                           7.84, 0.714)
    assert (table.service_level[1], table.occupancy[1]) == (1.0, 0.0)
    with pytest.raises(WfmError):
        staff_table([1, 2], [180], interval_minutes=30)
    with pytest.raises(WfmError):
        staff_table([-1], [180], interval_minutes=30)
    with pytest.raises(WfmError):
        staff_table([1], [180], interval_minutes=30, shrinkage=1.0)


intervals = st.lists(st.tuples(st.floats(0, 800).map(lambda x: round(x, 2)), st.integers(30, 900)),
                     min_size=1, max_size=40)


@settings(max_examples=40, deadline=None)
@given(intervals, st.sampled_from([15, 30, 60]), st.one_of(st.none(), st.floats(0.5, 0.95)),
       st.one_of(st.none(), st.floats(5, 120)), st.one_of(st.none(), st.sampled_from([0.8, 0.85, 0.9, 0.7])),
       st.sampled_from([0.0, 0.3, 0.25, 0.35, 0.1]), st.floats(0, 60))
def test_batch_and_table_paths_agree_with_the_scalar_path(
        work: list[tuple[float, int]], minutes: int, level: float | None, asa: float | None,
        occupancy: float | None, shrinkage: float, within: float) -> None:
    requests = [StaffingRequest(calls=c, interval_minutes=minutes, aht_seconds=a, service_level=level,
                                answer_within_seconds=within, asa_seconds=asa, max_occupancy=occupancy,
                                shrinkage=shrinkage) for c, a in work]
    scalar = [staff(r) for r in requests]
    assert staff_batch(requests) == scalar
    table = staff_table([c for c, _ in work], [a for _, a in work], interval_minutes=minutes, service_level=level,
                        answer_within_seconds=within, asa_seconds=asa, max_occupancy=occupancy, shrinkage=shrinkage)
    assert table.agents.tolist() == [r.agents for r in scalar]
    assert table.scheduled_agents.tolist() == [r.scheduled_agents for r in scalar]
    assert table.service_level.tolist() == pytest.approx([r.metrics.service_level for r in scalar], rel=1e-12)
    assert table.traffic.tolist() == [r.traffic for r in scalar]


def test_batch_mixes_erlang_a_and_c() -> None:
    requests = [GROUND_TRUTH,
                StaffingRequest(calls=100, interval_minutes=30, aht_seconds=180, patience_seconds=30, max_abandon=0.3),
                StaffingRequest(calls=0, interval_minutes=30, aht_seconds=180, service_level=0.8)]
    assert [(r.model, r.agents) for r in staff_batch(requests)] == [("erlang_c", 14), ("erlang_a", 8), ("erlang_c", 0)]
    assert staff_batch([]) == []
