"""Special functions in log space, so large traffic (thousands of calls, hundreds of agents) never overflows."""

from __future__ import annotations

import math
from typing import Final

__all__ = ["log_erlang_b_inverse", "log_erlang_b_inverse_table", "log_lower_gamma"]

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
