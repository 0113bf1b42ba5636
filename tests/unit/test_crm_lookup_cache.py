"""The CRM lookups' cache (cti.crm.LookupCache), on a clock stepped by hand: found answers for their time to live,
"not found" for a shorter one, bounded with the least recently used going first (expired ones before it), and
forgotten on demand."""

from __future__ import annotations

import pytest

from cti.crm import Lookup, LookupCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache(clock: Clock, *, ttl: float = 300.0, negative_ttl: float = 60.0, size: int = 3) -> LookupCache[str, str]:
    return LookupCache(ttl=ttl, negative_ttl=negative_ttl, max_entries=size, now=clock)


def test_found_and_not_found_answers_live_for_their_own_times() -> None:
    clock = Clock()
    answers = cache(clock)
    answers.put("+6281210000001", "budi")
    answers.put("+6281299999999", None)  # asked, nobody has it
    assert answers.get("+6281210000001") == Lookup("budi")
    assert answers.get("+6281299999999") == Lookup(None)  # a negative answer is an answer: no second request
    assert answers.get("+6281200000000") is None  # never asked
    clock.now += 59.9
    assert answers.get("+6281299999999") == Lookup(None)
    clock.now += 0.1
    assert answers.get("+6281299999999") is None  # 60 s: asked again
    assert answers.get("+6281210000001") == Lookup("budi")
    clock.now += 240.0
    assert answers.get("+6281210000001") is None  # 300 s
    assert (answers.hits, answers.misses, len(answers)) == (4, 3, 0)


def test_a_full_cache_drops_expired_answers_first_then_the_least_recently_used() -> None:
    clock = Clock()
    answers = cache(clock, size=3)
    answers.put("a", None)
    answers.put("b", "B")
    answers.put("c", "C")
    clock.now += 61.0  # a's negative answer expired; b and c still good
    answers.put("d", "D")
    assert (len(answers), answers.get("a"), answers.get("b")) == (3, None, Lookup("B"))
    answers.put("e", "E")  # full of live answers: c is the least recently used (b was just read)
    assert [answers.get(k) for k in ("b", "c", "d", "e")] == [Lookup("B"), None, Lookup("D"), Lookup("E")]


def test_answers_are_forgotten_on_demand() -> None:
    clock = Clock()
    answers = cache(clock, size=10)
    answers.put("phone:+6281210000001", "ext-42")
    answers.put("ref:ext-42", "ext-42")
    answers.put("phone:+6281210000002", "ext-7")
    assert answers.invalidate("phone:+6281210000002") is True
    assert answers.invalidate("phone:+6281210000002") is False
    assert answers.invalidate_where(lambda key, value: value == "ext-42") == 2
    assert len(answers) == 0
    answers.put("x", "X")
    answers.clear()
    assert answers.get("x") is None


def test_a_time_to_live_of_zero_keeps_nothing() -> None:
    clock = Clock()
    answers = cache(clock, negative_ttl=0.0)
    answers.put("nobody", None)
    answers.put("someone", "S")
    assert (answers.get("nobody"), answers.get("someone")) == (None, Lookup("S"))
    with pytest.raises(ValueError):
        cache(clock, size=0)
