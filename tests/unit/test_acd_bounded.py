"""Nothing in the contact center's core grows per call or per state change (issue 21's soak: an agent's
history of states, appended on every change and never read, grew the controller for as long as it ran; the
database keeps that history, the core only the present)."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from cti.acd import ContactCenter, WorkItem

T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def sizes(root: object) -> dict[str, int]:
    """How many entries every container reachable from ``root`` through cti's own objects holds, by path."""
    seen: set[int] = set()
    found: dict[str, int] = {}

    def walk(value: Any, path: str) -> None:
        if id(value) in seen:
            return
        seen.add(id(value))
        if isinstance(value, dict):
            found[path] = found.get(path, 0) + len(value)
            for item in value.values():
                walk(item, f"{path}[]")
        elif isinstance(value, list | set | frozenset | tuple | deque):
            found[path] = found.get(path, 0) + len(value)
            for item in value:
                walk(item, f"{path}[]")
        elif type(value).__module__.startswith("cti."):
            names = set(getattr(value, "__dict__", {}))
            for cls in type(value).__mro__:
                names.update(getattr(cls, "__slots__", ()))
            for name in sorted(names):
                if hasattr(value, name):
                    walk(getattr(value, name), f"{path}.{name}")

    walk(root, "core")
    return found


class Floor:
    """Ana and Bob take calls, go on breaks and come back, second by second."""

    def __init__(self) -> None:
        self.core = ContactCenter()
        self.t = 0
        for agent_id, extension in (("ana", "7001"), ("bob", "7002")):
            self.core.add_agent(agent_id, agent_id.title())
            self.core.login(agent_id, extension, self.now(), ready=True)

    def now(self) -> datetime:
        self.t += 1
        return T0 + timedelta(seconds=self.t)

    def calls(self, n: int) -> None:
        for _ in range(n):
            call_id = f"c{self.t}"
            self.core.call_arrived(WorkItem(call_id, f"chan-{call_id}", "0215550123", "1500100", "", T0), self.now())
            self.core.offer_answered(f"{call_id}-a1", self.now())
            self.core.channel_gone(f"chan-{call_id}", self.now())
            self.core.set_not_ready("bob", "break", self.now())
            self.core.tick(self.now())
            self.core.set_ready("bob", self.now())


def test_a_working_day_leaves_the_core_holding_what_it_held_after_the_first_hundred_calls() -> None:
    floor = Floor()
    floor.calls(100)
    before = sizes(floor.core)
    floor.calls(500)
    assert sizes(floor.core) == before
    assert floor.core.agent("ana").calls_handled + floor.core.agent("bob").calls_handled == 600
