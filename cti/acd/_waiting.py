"""Waiting items indexed for routing decisions: kept in service order instead of sorted per decision.

Every waiting item has a key fixed at arrival (:func:`._eligibility.wait_key` plus its id), so each queue's
items stay sorted as they age. Two structures:

* per queue (the name on the item): every waiting item, for positions and queue lengths;
* per *bucket*: the items that may be offered now (not paused after a failed offer), grouped by what
  decides who may take them (channel, queue, escalation step, the caller's region if the step requires it,
  the caller's language if the step requires it). All items of a bucket have the same eligible agents, so
  an agent looks at the head of each bucket it qualifies for, not at every item.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator
from fractions import Fraction
from typing import TypeVar

from cti.acd._agents import Agent
from cti.acd._rules import Rules
from cti.acd._work import Channel

__all__ = ["Bucket", "Key", "WaitingIndex"]

Key = tuple[int | Fraction, int, str]  # wait_key, then the call id
Bucket = tuple[Channel, str, int, str | None, str | None]  # channel, queue, step, region or None, language or None
_Placement = tuple[Key, str, Bucket | None]  # where a call is: its key, its queue, its bucket
_ByLanguage = dict[str | None, list[Key]]
_ByRegion = dict[str | None, _ByLanguage]
_N = TypeVar("_N")


class WaitingIndex:
    def __init__(self) -> None:
        self._queued: dict[str, list[Key]] = {}
        self._buckets: dict[Channel, dict[str, dict[int, _ByRegion]]] = {}
        self._where: dict[str, _Placement] = {}

    def clear(self) -> None:
        self._queued.clear()
        self._buckets.clear()
        self._where.clear()

    # -- changes --------------------------------------------------------------------------------------------
    def place(self, call_id: str, key: Key, queue: str, bucket: Bucket | None) -> bool:
        """Put the call in its queue (and bucket, if it may be offered now). True when its bucket is new."""
        placement = (key, queue, bucket)
        old = self._where.get(call_id)
        if old is not None:
            if old == placement:
                return False
            if old[0] == key and old[1] == queue:  # a new step or pause: its place in the queue stays
                self._leave_bucket(key, old[2])
            else:
                _discard(self._queued, old[1], old[0])
                self._leave_bucket(old[0], old[2])
                insort(self._queued.setdefault(queue, []), key)
        else:
            insort(self._queued.setdefault(queue, []), key)
        if bucket is not None:
            channel, name, step, region, language = bucket
            by_region = self._buckets.setdefault(channel, {}).setdefault(name, {}).setdefault(step, {})
            insort(by_region.setdefault(region, {}).setdefault(language, []), key)
        self._where[call_id] = placement
        return bucket is not None and (old is None or old[2] != bucket)

    def remove(self, call_id: str) -> None:
        old = self._where.pop(call_id, None)
        if old is not None:
            self._unplace(old)

    def _unplace(self, placement: _Placement) -> None:
        key, queue, bucket = placement
        _discard(self._queued, queue, key)
        self._leave_bucket(key, bucket)

    def _leave_bucket(self, key: Key, bucket: Bucket | None) -> None:
        if bucket is None:
            return
        channel, name, step, region, language = bucket
        queues = self._buckets[channel]
        steps = queues[name]
        by_region = steps[step]
        by_language = by_region[region]
        _discard(by_language, language, key)
        if not by_language:
            del by_region[region]
            if not by_region:
                del steps[step]
                if not steps:
                    del queues[name]
                    if not queues:
                        del self._buckets[channel]

    # -- queries --------------------------------------------------------------------------------------------
    def __contains__(self, call_id: str) -> bool:
        return call_id in self._where

    def key_of(self, call_id: str) -> Key:
        return self._where[call_id][0]

    def bucket_of(self, call_id: str) -> Bucket | None:
        """The call's bucket; None when it is not waiting or may not be offered now."""
        placement = self._where.get(call_id)
        return None if placement is None else placement[2]

    def offerable(self, call_id: str) -> bool:
        placement = self._where.get(call_id)
        return placement is not None and placement[2] is not None

    def count(self, queue: str) -> int:
        return len(self._queued.get(queue, ()))

    def ahead_of(self, queue: str, key: tuple[int | Fraction, int]) -> int:
        """Waiting calls of ``queue`` served strictly before a call with this wait key."""
        return bisect_left(self._queued.get(queue, []), key)

    def call_ids(self, queue: str | None = None) -> Iterator[str]:
        if queue is not None:
            return (key[-1] for key in self._queued.get(queue, ()))
        return iter(self._where)

    def channels(self) -> list[Channel]:
        """The channels with items that may be offered now."""
        return list(self._buckets)

    def offerable_keys(self, channel: Channel, queues: Iterable[str]) -> list[Key]:
        """The items of ``channel`` in ``queues`` (rules' names) that may be offered now, in service order."""
        by_queue = self._buckets.get(channel, {})
        keys = [key for name in queues for by_region in by_queue.get(name, {}).values()
                for by_language in by_region.values() for bucket in by_language.values() for key in bucket]
        keys.sort()
        return keys

    def best_for(self, agent: Agent, channel: Channel, queues: Iterable[str], rules: Rules) -> Key | None:
        """The first item of ``channel`` in service order that this available agent may take, among ``queues``
        (those whose skills it holds); the same test as :func:`._eligibility.eligible`, made once per bucket."""
        by_queue = self._buckets.get(channel)
        if not by_queue:
            return None
        best: Key | None = None
        regions: tuple[str | None, ...] = (None,) if agent.region is None else (None, agent.region)
        languages: tuple[str | None, ...] | None = (None, *agent.languages) if agent.languages else None
        skills = agent.skills
        for name in queues:
            steps = by_queue.get(name)
            if not steps:
                continue
            queue = rules.queues[name]
            for step, by_region in steps.items():
                target = queue.targets[step]
                if target.team is not None and agent.team != target.team:
                    continue
                floor = target.min_level
                if floor and any(skills.get(s, 0) < max(level, floor) for s, level in queue.skills.items()):
                    continue
                for region in regions:
                    by_language = by_region.get(region)
                    if not by_language:
                        continue
                    lists = by_language.values() if languages is None else (by_language.get(x) for x in languages)
                    for keys in lists:
                        if keys and (best is None or keys[0] < best):
                            best = keys[0]
        return best


def _discard(lists: dict[_N, list[Key]], name: _N, key: Key) -> None:
    keys = lists[name]
    index = bisect_left(keys, key)
    assert index < len(keys) and keys[index] == key, "waiting index out of step with the calls"
    del keys[index]
    if not keys:
        del lists[name]
