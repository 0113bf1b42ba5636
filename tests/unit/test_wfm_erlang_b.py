"""Erlang B in constant time (Temme's uniform expansion) and the staffing search built on it.

The coefficients are derived again here in exact arithmetic and compared with the module's; Erlang B is
compared with the recurrence in exact rational arithmetic; the staffing counts with a reference search that
uses nothing but the recurrence (erlang_c_metrics), over random intervals and over the benchmark's day.
"""

from __future__ import annotations

import inspect
import math
import random
import re
from fractions import Fraction
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.wfm import StaffingRequest, apply_shrinkage, erlang_b, erlang_c_metrics, offered_traffic, staff, staff_table
from cti.wfm._special import (
    TEMME_ETA_HALF,
    TEMME_MIN_AGENTS,
    TEMME_MIN_LOAD,
    erlang_b_fast,
    erlang_b_inverse_fast,
)

A_MIN = TEMME_MIN_AGENTS + 1  # a = agents + 1
ETA_MIN = Fraction(-2) * Fraction(repr(TEMME_ETA_HALF))
BUDGET = Fraction(3, 10**13)  # on the sum Σ c_k(η) a^-k, for a >= A_MIN


# -- the coefficients, derived exactly ------------------------------------------------------------------------

def temme_taylor(kmax: int, terms: int) -> list[list[Fraction]]:
    """Taylor coefficients in η of Temme's c_0 ... c_{kmax-1} (DLMF 8.12.9-8.12.10), exactly.

    μ = λ - 1 as a series in η from η·(1 + μ) = μ·μ' (the derivative of η²/2 = μ - ln(1 + μ)); then
    c_0 = 1/μ - 1/η, and c_k = c_{k-1}'/η + (-1)^k g_k / μ, where g_k (Stirling's) is whatever cancels the pole.
    """
    size = terms + 2 * kmax + 2
    mu = [Fraction(0), Fraction(1)]
    for n in range(2, size + 2):
        mu.append((mu[n - 1] - sum(mu[i] * (n + 1 - i) * mu[n + 1 - i] for i in range(2, n))) / (n + 1))
    inverse = [Fraction(1)]  # of μ/η
    for n in range(1, size + 1):
        inverse.append(-sum(mu[k + 1] * inverse[n - k] for k in range(1, n + 1)))
    c = [inverse[1:]]
    for _ in range(1, kmax):
        previous = c[-1]
        c.append([(j + 2) * previous[j + 2] - previous[1] * c[0][j] for j in range(len(previous) - 2)])
    return [ck[:terms] for ck in c]


def chebyshev(monomials: list[Fraction]) -> list[Fraction]:
    """Chebyshev coefficients on [-1, 1] of the polynomial with these monomial coefficients."""
    n = len(monomials)
    out, power = [Fraction(0)] * n, [Fraction(1)] + [Fraction(0)] * (n - 1)
    for coefficient in monomials:
        for i, v in enumerate(power):
            out[i] += coefficient * v
        following = [Fraction(0)] * n  # t·T_0 = T_1, t·T_i = (T_{i+1} + T_{i-1}) / 2
        for i, v in enumerate(power):
            if v and i == 0:
                following[1 % n] += v
            elif v:
                if i + 1 < n:
                    following[i + 1] += v / 2
                following[i - 1] += v / 2
        power = following
    return out


def monomials(chebyshev_coefficients: list[Fraction]) -> list[Fraction]:
    n = len(chebyshev_coefficients)
    basis = [[Fraction(1)] + [Fraction(0)] * (n - 1), [Fraction(0), Fraction(1)] + [Fraction(0)] * (n - 2)][:n]
    while len(basis) < n:
        basis.append([2 * (basis[-1][j - 1] if j else 0) - basis[-2][j] for j in range(n)])
    return [sum((c * basis[i][j] for i, c in enumerate(chebyshev_coefficients)), Fraction(0)) for j in range(n)]


def economised_series() -> list[list[float]]:
    """c_k in t = η / 0.17 + 1 over η in [-0.34, 0], each cut where the dropped Chebyshev terms, times a^-k,
    stay under a share of the budget; the k whose whole polynomial is under its share are dropped."""
    centre, half = ETA_MIN / 2, -ETA_MIN / 2
    kmax, polynomials = 12, []
    for k, d in enumerate(temme_taylor(kmax, 24)):
        in_t = [sum(d[j] * comb(j, i) * centre ** (j - i) * half ** i for j in range(i, len(d)))
                for i in range(len(d))]
        cheb = chebyshev(in_t)
        scale, share = Fraction(1, A_MIN**k), BUDGET / kmax
        keep = len(cheb)
        while keep > 0 and sum(abs(x) for x in cheb[keep - 1:]) * scale <= share:
            keep -= 1
        if keep == 0:
            break
        polynomials.append([float(x) for x in monomials(cheb[:keep])])
    return polynomials


def test_temme_series_reproduces_stirling_and_known_terms() -> None:
    c = temme_taylor(5, 4)
    assert c[0][:4] == [Fraction(-1, 3), Fraction(1, 12), Fraction(-2, 135), Fraction(1, 864)]  # DLMF 8.12.9
    assert c[1][0] == Fraction(-1, 540)
    # The poles cancel with Stirling's coefficients for Γ: g_1 = 1/12, g_2 = 1/288, g_3 = -139/51840.
    assert [(-1) ** (k + 1) * c[k - 1][1] for k in (1, 2, 3)] == [Fraction(1, 12), Fraction(1, 288),
                                                                  Fraction(-139, 51840)]


def test_the_coefficients_in_the_code_are_the_economised_series() -> None:
    """The module writes the polynomials out as Horner's rule: every literal there is one derived here (c0
    and c1 appear twice: closed forms away from η = 0, polynomials near it)."""
    source = inspect.getsource(erlang_b_inverse_fast)
    body = source[source.index("t = eta"):source.index("series =")]
    literals = sorted(float(x) for x in re.findall(r"\d\.\d+e-\d+|\d\.\d{6,}", body))
    expected = sorted(abs(x) for polynomial in economised_series() for x in polynomial)
    assert literals == expected
    assert [len(p) for p in economised_series()] == [8, 7, 6, 5, 4, 3, 2]


@settings(max_examples=200, deadline=None)
@given(st.floats(-0.34, -0.1))
def test_closed_forms_of_c0_and_c1_match_the_series(eta: float) -> None:
    c = temme_taylor(2, 40)
    low, high = 1e-9, 1.0  # λ from η: η = -√(2(λ - 1 - ln λ)) rises with λ up to 0 at λ = 1
    for _ in range(100):
        lam = (low + high) / 2
        low, high = (lam, high) if -math.sqrt(2 * (lam - 1 - math.log(lam))) < eta else (low, lam)
    u = (low + high) / 2 - 1.0
    series = [float(sum(d * Fraction(eta) ** j for j, d in enumerate(ck))) for ck in c]
    assert 1 / u - 1 / eta == pytest.approx(series[0], abs=1e-13)
    assert 1 / eta**3 - 1 / u**3 - 1 / u**2 - 1 / (12 * u) == pytest.approx(series[1], abs=1e-10)


# -- Erlang B against exact arithmetic ------------------------------------------------------------------------

def exact_inverse(agents: int, traffic: float) -> Fraction:
    """1/B(agents, traffic) by the recurrence, in rationals: the traffic as the float it is."""
    a, x = Fraction(traffic), Fraction(1)
    for n in range(1, agents + 1):
        x = 1 + x * n / a
    return x


@settings(max_examples=150, deadline=None)
@given(st.integers(TEMME_MIN_AGENTS, 400), st.floats(TEMME_MIN_LOAD, 0.999999))
def test_erlang_b_in_constant_time_matches_exact_arithmetic(agents: int, load: float) -> None:
    traffic = load * (agents + 1)
    exact = float(1 / exact_inverse(agents, traffic))
    assert erlang_b_fast(agents, traffic) == pytest.approx(exact, rel=5e-14)
    assert erlang_b(agents, traffic) == pytest.approx(exact, rel=1e-14)  # the recurrence itself


@pytest.mark.parametrize(("agents", "traffic"), [
    (29, 21.0), (29, 29.999), (30, 21.7), (100, 99.99999), (100, 70.71), (500, 499.5), (2000, 1999.0),
    (2000, 1400.7), (5000, 3600.0)])
def test_erlang_b_at_the_edges_of_the_expansion(agents: int, traffic: float) -> None:
    exact = 1 / exact_inverse(agents, traffic)
    assert erlang_b_fast(agents, traffic) == pytest.approx(float(exact), rel=2e-13)


def test_outside_the_expansion_it_is_the_recurrence() -> None:
    for agents, traffic in [(5, 3.2), (28, 27.5), (40, 12.0), (40, 41.0), (60, 30.0)]:
        assert erlang_b_fast(agents, traffic) == pytest.approx(erlang_b(agents, traffic), rel=1e-14)
    assert erlang_b_inverse_fast(3000, 1000.0) == math.inf  # a light load: B below the smallest float
    assert erlang_b_fast(3000, 1000.0) == 0.0


# -- the counts: staff() against a search by the recurrence -----------------------------------------------

def reference(request: StaffingRequest) -> tuple[int, tuple[str, ...]]:
    """The definition, slowly: from the start (exact floor and cap), one agent at a time by erlang_c_metrics,
    the smallest count meeting every target, and what one agent fewer missed."""
    traffic = request.calls * request.aht_seconds / (request.interval_minutes * 60.0)
    exact = offered_traffic(request.calls, request.interval_minutes, request.aht_seconds)
    stable = max(math.floor(exact), math.floor(traffic)) + 1
    occupancy = request.max_occupancy
    cap = 0 if occupancy is None else math.ceil(exact / Fraction(repr(occupancy)))
    start = max(stable, cap)

    def missed(n: int) -> tuple[str, ...]:
        m = erlang_c_metrics(n, traffic, request.aht_seconds, request.answer_within_seconds)
        return tuple(name for name, miss in [
            ("service_level", request.service_level is not None
             and not m.service_level >= request.service_level - 1e-12),
            ("asa", request.asa_seconds is not None and not m.asa_seconds <= request.asa_seconds * (1 + 1e-12)),
            ("max_occupancy", occupancy is not None and not m.occupancy <= occupancy * (1 + 1e-12))] if miss)

    n = start
    while missed(n):
        n += 1
    if n > start:
        return n, missed(n - 1)
    return n, tuple(name for name, hit in [("stability", start == stable), ("max_occupancy", start == cap)] if hit)


intervals = st.lists(st.tuples(st.floats(1, 2500).map(lambda x: round(x, 2)), st.integers(60, 900)),
                     min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(intervals, st.sampled_from([15, 30, 60]), st.one_of(st.none(), st.floats(0.5, 0.97)),
       st.one_of(st.none(), st.floats(2, 120)),
       st.one_of(st.none(), st.sampled_from([0.7, 0.72, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]), st.floats(0.7, 1.0)),
       st.floats(0, 60), st.sampled_from([0.0, 0.3, 0.25, 0.35]))
def test_staffing_counts_are_those_of_the_recurrence(work: list[tuple[float, int]], minutes: int,
                                                     level: float | None, asa: float | None,
                                                     occupancy: float | None, within: float,
                                                     shrinkage: float) -> None:
    for calls, aht in work:
        request = StaffingRequest(calls=calls, interval_minutes=minutes, aht_seconds=aht, service_level=level,
                                  answer_within_seconds=within, asa_seconds=asa, max_occupancy=occupancy,
                                  shrinkage=shrinkage)
        result = staff(request)
        assert (result.agents, result.limited_by) == reference(request), request
        assert result.scheduled_agents == apply_shrinkage(result.agents, shrinkage)
        m = erlang_c_metrics(result.agents, result.traffic, aht, within)
        assert result.metrics.service_level == pytest.approx(m.service_level, rel=1e-12)
        assert result.metrics.wait_probability == pytest.approx(m.wait_probability, rel=1e-12)
        assert result.metrics.asa_seconds == pytest.approx(m.asa_seconds, rel=1e-12)


def test_the_benchmark_day_has_the_counts_of_the_vectorised_recurrence() -> None:
    """bench/wfm.py's 20 queues x 96 intervals (peaks of 300-2000 calls an hour, AHT 180-600 s): staff()
    one interval at a time gives staff_table's counts, which run Erlang B's recurrence for every count."""
    rng = random.Random(7)
    calls, ahts = [], []
    for _ in range(20):
        peak, aht = rng.uniform(300, 2000), rng.randint(180, 600)
        for i in range(96):
            hour = i / 4
            shape = max(math.exp(-((hour - 10) / 2.2) ** 2), 0.8 * math.exp(-((hour - 14.5) / 2.0) ** 2))
            calls.append(round((50 + (peak - 50) * shape) / 4, 2))
            ahts.append(float(aht))
    targets = {"service_level": 0.8, "answer_within_seconds": 20.0, "max_occupancy": 0.85, "shrinkage": 0.3}
    table = staff_table(calls, ahts, interval_minutes=15, **targets)
    scalar = [staff(StaffingRequest(calls=c, interval_minutes=15, aht_seconds=a, **targets))
              for c, a in zip(calls, ahts, strict=True)]
    assert [r.agents for r in scalar] == table.agents.tolist()
    assert [r.scheduled_agents for r in scalar] == table.scheduled_agents.tolist()
    assert sum(r.agents for r in scalar) == 69798
    assert sum(r.agents >= TEMME_MIN_AGENTS for r in scalar) > 700  # the expansion is what decided those
