"""Special functions in log space, so large traffic (thousands of calls, hundreds of agents) never overflows."""

from __future__ import annotations

import math
from typing import Final

__all__ = [
    "TEMME_ETA_HALF",
    "TEMME_MIN_AGENTS",
    "TEMME_MIN_LOAD",
    "erlang_b_fast",
    "erlang_b_inverse_fast",
    "log_erlang_b_inverse",
    "log_erlang_b_inverse_table",
    "log_lower_gamma",
]

_EPS: Final = 1e-16
_TINY: Final = 1e-300
_MAX_ITERATIONS: Final = 1_000_000


def log_lower_gamma(s: float, x: float) -> float:
    """``log gamma(s, x)``, the (unregularised) lower incomplete gamma function, for ``s > 0``, ``x >= 0``.

    Series below ``x < s + 1``, Lentz's continued fraction for the upper function above (Numerical Recipes
    §6.2): each converges in O(sqrt(s)) terms where the other is slow.
    """
    if x <= 0.0:
        return -math.inf
    if x < s + 1.0:
        term = 1.0 / s
        total = term
        k = 0.0
        for _ in range(_MAX_ITERATIONS):
            k += 1.0
            term *= x / (s + k)
            total += term
            if term < total * _EPS:
                break
        return s * math.log(x) - x + math.log(total)
    b = x + 1.0 - s
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITERATIONS):
        an = -i * (i - s)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    log_upper = s * math.log(x) - x + math.log(h)
    log_complete = math.lgamma(s)
    ratio = math.exp(log_upper - log_complete)
    if ratio >= 1.0:  # rounding at the far left tail; the lower part is then below float resolution
        return log_upper + math.log(_EPS)
    return log_complete + math.log1p(-ratio)


def log_erlang_b_inverse(agents: int, traffic: float) -> float:
    """``log(1 / B(agents, traffic))`` by the usual recurrence ``1/B(n) = 1 + n/A · 1/B(n-1)``, in logs.

    ``1/B`` grows like ``n!/A^n`` once agents exceed the traffic: in plain floats it overflows near 170 agents.
    """
    return log_erlang_b_inverse_table(agents, traffic)[agents]


def log_erlang_b_inverse_table(agents: int, traffic: float) -> list[float]:
    """:func:`log_erlang_b_inverse` for 0, 1, ..., ``agents`` agents in one pass."""
    table = [0.0]
    log_inverse = 0.0
    log_traffic = math.log(traffic)
    for n in range(1, agents + 1):
        t = math.log(n) - log_traffic + log_inverse
        log_inverse = t + math.log1p(math.exp(-t)) if t > 0 else math.log1p(math.exp(t))
        table.append(log_inverse)
    return table


# -- Erlang B for many agents in O(1) -------------------------------------------------------------------------------
TEMME_MIN_AGENTS: Final = 29  # from here on (a = agents + 1 >= 30) the expansion is cheaper than the recurrence
TEMME_MIN_LOAD: Final = 0.7  # traffic / (agents + 1) from here to 1: eta in [-0.34, 0], where the series hold
TEMME_ETA_HALF: Final = 0.17  # the series' variable is t = eta / 0.17 + 1, in [-1, 1]
_SQRT_HALF_PI: Final = math.sqrt(0.5 / math.pi)
_SQRT_HALF: Final = math.sqrt(0.5)
_T_SCALE: Final = 1 / TEMME_ETA_HALF


def erlang_b_fast(agents: int, traffic: float) -> float:
    """Erlang B of ``agents`` servers offered ``traffic`` Erlangs: ``1 / erlang_b_inverse_fast``."""
    return 1.0 / erlang_b_inverse_fast(agents, traffic)


def erlang_b_inverse_fast(agents: int, traffic: float) -> float:
    """``1 / B(agents, traffic)``, Erlang B's inverse, in constant time when there are many agents.

    The staffing search needs B at its starting count, hundreds of agents for a large queue, and the recurrence
    ``1/B(n) = 1 + n/A · 1/B(n-1)`` costs a Python step per agent. B is a ratio of Poisson probabilities,
    P(N = n) / P(N <= n) with N ~ Poisson(traffic), and P(N <= n) is the incomplete gamma ratio Q(n+1, traffic).
    For ``a = agents + 1 >= 30`` and ``0.7 <= traffic / a < 1`` (more agents than Erlangs, up to the 70 %
    occupancy mark) both come from Temme's uniform asymptotic expansion (DLMF 8.12.3-8.12.12), with
    λ = traffic / a and ``η^2 / 2 = λ - 1 - ln λ`` (η <= 0):

    * ``P(N = n) = e^(-aη^2/2) · √(a / 2π) / (traffic · Γ*(a))``, Γ* being Γ over its Stirling approximation;
    * ``Q(a, traffic) = erfc(η·√(a/2)) / 2 + e^(-aη^2/2) / √(2πa) · Σ_k c_k(η) a^-k``.

    The c_k are Chebyshev-economised polynomials over η in [-0.34, 0], their sum exact to 3·10^-13 for a >= 30
    (tests/unit/test_wfm_erlang_b.py derives them again in exact arithmetic); c0 and c1 have closed forms,
    used where their cancellation is harmless. The result agrees with the recurrence to a few 10^-14
    relative, most of it the rounding of the exponent ``a·η^2/2`` for large a. Elsewhere (few agents, a light
    load, no more agents than Erlangs) this is the recurrence; ``inf`` when B is below the smallest float.
    """
    a = agents + 1.0
    if not (a >= 30.0 and a * TEMME_MIN_LOAD <= traffic < a):
        x = 1.0
        for n in range(1, agents + 1):
            x = x * n / traffic + 1.0
        return x
    u = (traffic - a) / a  # traffic - a is exact here (Sterbenz): u keeps its full relative precision
    half_eta_squared = u - math.log1p(u)
    eta = -math.sqrt(half_eta_squared + half_eta_squared)
    r, root, erfc_scale, gamma_factor = _BY_COUNT[agents] if agents < _TABULATED else _count_constants(a)
    spread = math.exp(-a * half_eta_squared)
    # Written out as Horner's rule: a loop over coefficient tuples costs three times as much.
    t = eta * _T_SCALE + 1.0
    if eta < -0.1:  # c0 and c1 in closed form (DLMF 8.12.9): their cancellation costs under 10^-14 of B here
        inverse_u, inverse_eta = 1.0 / u, 1.0 / eta
        c0 = inverse_u - inverse_eta
        c1 = inverse_eta * inverse_eta * inverse_eta - inverse_u * inverse_u * (inverse_u + 1.0) - inverse_u / 12
    else:
        c0 = ((((((5.650798418112368e-12 * t + 9.588705228605869e-10) * t - 3.1159583768819035e-08) * t
                  + 4.3591341513172166e-07) * t + 4.234956058757672e-06) * t - 0.0004431713909298097) * t
              + 0.015038710932961795) * t - 0.34793351354975893
        c1 = (((((-6.893418596488839e-10 * t + 3.3553632622500995e-09) * t + 1.6441088928307155e-07) * t
                 - 5.54310486705147e-06) * t + 9.207442293597472e-05) * t - 0.0007584676234374886) * t \
            - 0.0011800826240099531
    c2 = ((((9.282972976610744e-09 * t - 1.3220343471815585e-07) * t + 4.4982454448766784e-07) * t
            + 2.165214085089014e-05) * t - 0.0004999966605637009) * t + 0.004611615507876864
    c3 = (((-5.740291448321057e-08 * t + 1.5586099537947661e-06) * t - 1.78798407882825e-05) * t
          + 7.032672019116123e-05) * t + 0.0005954861958346883
    c4 = ((-2.9981807510087527e-07 * t - 8.140489855434263e-06) * t + 0.0001503020343191862) * t \
        - 0.001003760577053097
    c5 = (1.1335840592628992e-05 * t - 3.1939984702488285e-05) * t - 0.0003159020501881139
    c6 = -0.00011571851080601289 * t + 0.0006433421585396036
    series = c0 + r * (c1 + r * (c2 + r * (c3 + r * (c4 + r * (c5 + r * c6)))))
    weight = spread * root
    point = weight * gamma_factor / traffic
    below = 0.5 * math.erfc(eta * erfc_scale) + weight * r * series
    return below / point if point > 0.0 else math.inf


def _count_constants(a: float) -> tuple[float, float, float, float]:
    """What the expansion needs of ``a = agents + 1`` alone: 1/a, √(a/2π), √(a/2) and 1/Γ*(a), the last from
    Stirling's series of ln Γ*, whose four terms are exact to 10^-16 from a = 30 on."""
    r = 1.0 / a
    r2 = r * r
    root_a = math.sqrt(a)
    return (r, root_a * _SQRT_HALF_PI, root_a * _SQRT_HALF,
            math.exp(-r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 / 1680)))))


# Per agent count up to a few thousand, computed once: they cost as much as the rest of the expansion.
_TABULATED: Final = 4096
_BY_COUNT: Final = tuple(_count_constants(agents + 1.0) for agents in range(_TABULATED))
