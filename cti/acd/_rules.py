"""Routing rules: which calls go to which queue, who may take them, and how that widens over time.

The shape follows Twilio TaskRouter's workflows: *routes* match call attributes to a queue and a priority
(first match wins); each *queue* names the skills its agents need and an ordered list of *targets*, the
escalation steps, each with a timeout before the next applies. Parsed from the YAML rules file and
validated as a whole (names resolve, levels are 1-10, overflow chains end) before anything uses it.

```yaml
queues:
  care:
    skills: {care: 1}
    strategy: longest_idle            # most_skilled | least_occupancy | round_robin (cti.acd._strategies)
    targets:
      - {region: caller, timeout: 30} # first the caller's region
      - {min_level: 3, timeout: 30}   # then any region, experienced agents only
      - {}                            # then anyone in the queue
routes:
  - {name: vip, when: {value_tier: [gold, platinum]}, queue: care, priority: 10}
  - {name: default, queue: care}
```
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from cti.acd._calendar import Calendar, parse_calendar
from cti.acd._errors import CalendarError, RulesError
from cti.acd._recording import RecordingPolicy
from cti.acd._routing import Routing, Why
from cti.acd._strategies import STRATEGIES
from cti.errors import Problem

__all__ = [
    "ATTRIBUTES",
    "DEFAULT_RULES",
    "Overflow",
    "QueueRule",
    "Route",
    "Rules",
    "Target",
    "load_rules_file",
    "parse_rules",
    "parse_rules_text",
    "rules_for_service_numbers",
]

# Call attributes a route may match on.
ATTRIBUTES = ("service_number", "product", "problem_type", "language", "value_tier", "region", "country")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(_Strict):
    """One escalation step: who is eligible while the call has waited less than the cumulative timeouts."""

    timeout: float | None = Field(default=None, gt=0, description="seconds before the next step; none on the last")
    region: Literal["caller", "any"] = "any"
    language: Literal["caller", "any"] = "caller"
    min_level: int | None = Field(default=None, ge=1, le=10, description="raises the queue's minimum levels")
    team: str | None = None
    overflow: str | None = Field(default=None, description="move the call to this queue instead")


class Overflow(_Strict):
    """What happens to a call a queue cannot take (full, too long a wait, or closed)."""

    action: Literal["queue", "message"]
    queue: str | None = None
    message: str = Field(default="ss-noservice", pattern=r"^[A-Za-z0-9_/-]+$", description="prompt to play")

    @model_validator(mode="after")
    def _target(self) -> Overflow:
        if self.action == "queue" and not self.queue:
            raise ValueError("action 'queue' needs a queue")
        return self


class QueueRule(_Strict):
    name: str = ""
    skills: dict[str, int] = Field(default_factory=dict)
    strategy: str = Field(default="longest_idle", description="a name from the strategy registry")
    targets: tuple[Target, ...] = (Target(),)
    wrap_up_seconds: float = Field(default=0, ge=0, le=3600)
    max_waiting: int | None = Field(default=None, ge=0)
    max_wait_seconds: float | None = Field(default=None, gt=0, description="estimated wait above which to overflow")
    overflow: Overflow | None = None
    calendar: str | None = Field(default=None, description="a calendar name; none means 24x7")
    after_hours: Overflow | None = None
    balance_sites: bool = Field(default=False,
                                description="offer to the site whose logged-in agents are least busy first")
    callback_key: str | None = Field(default=None, pattern=r"^[0-9*#]$",
                                     description="a waiting caller pressing it is called back, keeping their place")
    callback_message: str = Field(default="auth-thankyou", pattern=r"^[A-Za-z0-9_/-]+$")
    callback_refused_message: str = Field(
        default="feature-not-avail-line", pattern=r"^[A-Za-z0-9_/-]+$",
        description="told to a caller whose number may not be called back (they keep waiting)")
    announce_seconds: float = Field(default=0, ge=0, le=3600,
                                    description="tell waiting callers their position and wait this often; 0: never")
    recording: RecordingPolicy = Field(default_factory=RecordingPolicy,
                                       description="always, never or on demand, per direction (cti.acd._recording)")

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}: use one of {', '.join(sorted(STRATEGIES))}")
        return value

    @field_validator("skills")
    @classmethod
    def _levels(cls, value: dict[str, int]) -> dict[str, int]:
        for skill, level in value.items():
            if not 1 <= level <= 10:
                raise ValueError(f"skill {skill!r}: level {level} is not within 1..10")
        return value

    @field_validator("targets")
    @classmethod
    def _steps(cls, value: tuple[Target, ...]) -> tuple[Target, ...]:
        if not value:
            raise ValueError("at least one target is needed")
        for target in value[:-1]:
            if target.timeout is None and target.overflow is None:
                raise ValueError("every target but the last needs a timeout")
        return value

    def step_at(self, waited: float) -> int:
        """The escalation step in force after ``waited`` seconds."""
        elapsed = 0.0
        for index, target in enumerate(self.targets):
            if target.timeout is None:
                return index
            elapsed += target.timeout
            if waited < elapsed:
                return index
        return len(self.targets) - 1


class Route(_Strict):
    name: str
    when: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    queue: str
    priority: int = Field(default=0, ge=0, le=100)

    @field_validator("when", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        unknown = [k for k in value if k not in ATTRIBUTES]
        if unknown:
            raise ValueError(f"unknown attribute(s) {unknown}; known: {', '.join(ATTRIBUTES)}")
        return {k: (v,) if isinstance(v, str) else tuple(str(x) for x in v) for k, v in value.items()}

    def matches(self, attributes: Mapping[str, str | None]) -> bool:
        return all(attributes.get(name) in allowed for name, allowed in self.when.items())


class Rules(_Strict):
    queues: dict[str, QueueRule]
    routes: tuple[Route, ...]
    calendars: dict[str, dict[str, Any]] = Field(default_factory=dict)
    default_queue: str
    default_region: str | None = Field(
        default=None, pattern=r"^[a-z0-9_-]{1,32}$",
        description="region of callers whose number has none (mobiles); the CRM's address will come first")
    _calendars: dict[str, Calendar] = PrivateAttr(default_factory=dict)
    # Positions of the routes that test service_number, by number, and of those that do not: a call's
    # candidates are its number's routes merged with the rest, so the first match is found in a few steps.
    _by_service: dict[str, list[int]] = PrivateAttr(default_factory=dict)
    _unkeyed: list[int] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> Rules:
        for name, spec in self.calendars.items():
            try:
                self._calendars[name] = parse_calendar(name, spec)
            except CalendarError as exc:
                raise ValueError(str(exc)) from exc
        queues = set(self.queues)
        if self.default_queue not in queues:
            raise ValueError(f"default_queue {self.default_queue!r} is not a queue")
        for route in self.routes:
            if route.queue not in queues:
                raise ValueError(f"route {route.name!r}: no queue {route.queue!r}")
        for name, queue in self.queues.items():
            for overflow in (queue.overflow, queue.after_hours):
                if overflow is not None and overflow.queue is not None and overflow.queue not in queues:
                    raise ValueError(f"queue {name!r}: overflow to unknown queue {overflow.queue!r}")
            for target in queue.targets:
                if target.overflow is not None and target.overflow not in queues:
                    raise ValueError(f"queue {name!r}: target overflows to unknown queue {target.overflow!r}")
            if queue.calendar is not None and queue.calendar not in self.calendars:
                raise ValueError(f"queue {name!r}: no calendar {queue.calendar!r}")
        for index, route in enumerate(self.routes):
            numbers = route.when.get("service_number")
            if numbers is None:
                self._unkeyed.append(index)
            for number in dict.fromkeys(numbers or ()):
                self._by_service.setdefault(number, []).append(index)
        return self

    def calendar(self, name: str) -> Calendar:
        return self._calendars[name]

    def route_for(self, attributes: Mapping[str, str | None]) -> Route:
        """The first route (in file order) whose conditions the call's attributes meet."""
        # Through __pydantic_private__: pydantic's lookup of a private attribute costs microseconds.
        private: dict[str, Any] = self.__pydantic_private__ or {}
        unkeyed: list[int] = private["_unkeyed"]
        number = attributes.get("service_number")
        keyed: list[int] | None = private["_by_service"].get(number) if number is not None else None
        for index in sorted(keyed + unkeyed) if keyed and unkeyed else keyed or unkeyed:
            route = self.routes[index]
            if route.matches(attributes):
                return route
        return Route(name="default", queue=self.default_queue)

    def place(self, routing: Routing, service_number: str) -> tuple[Route, str, tuple[Why, ...]]:
        """Where a new call goes, and why (in English, and as codes and values): the first matching route, with
        the queue the IVR named (a known one) and at least the priority it asked for."""
        route = self.route_for(routing.attributes(service_number))
        reason = f"route {route.name!r} matched; priority {route.priority}"
        why = [Why("route_matched", {"route": route.name, "priority": route.priority})]
        queue, priority = route.queue, route.priority
        asked = routing.requested_queue
        if asked is not None and asked != queue:
            if asked in self.queues:
                queue = asked
                reason += f"; the IVR asked for queue {asked!r}"
                why.append(Why("ivr_queue", {"queue": asked}))
            else:  # a flow edited apart from the rules: the caller still reaches someone
                reason += f"; the IVR asked for queue {asked!r}, which the rules do not have"
                why.append(Why("ivr_queue_unknown", {"queue": asked}))
        if routing.requested_priority is not None and routing.requested_priority > priority:
            priority = routing.requested_priority
            reason += f"; the IVR raised the priority to {priority}"
            why.append(Why("ivr_priority", {"priority": priority}))
        if (queue, priority) != (route.queue, route.priority):
            route = route.model_copy(update={"queue": queue, "priority": priority})
        return route, reason, tuple(why)


def parse_rules(data: Mapping[str, Any]) -> Rules:
    """Validate a rules document (the parsed YAML); :class:`RulesError` lists every problem, each by its field."""
    if not isinstance(data, Mapping):
        raise RulesError("the rules document must be a mapping", [Problem("rules", "must be a mapping")])
    queues = data.get("queues") or {}
    if not isinstance(queues, Mapping):
        raise RulesError("queues: must be a mapping of queue name to settings",
                         [Problem("queues", "must be a mapping of queue name to settings")])
    # A queue whose settings are not a mapping is left as it is, for the model to refuse by its name.
    named = {name: {**(spec or {}), "name": name} if isinstance(spec, Mapping) or not spec else spec
             for name, spec in queues.items()}
    routes = data.get("routes") or []
    default_queue = data.get("default_queue") or next(iter(named), "general")
    try:
        return Rules.model_validate({**data, "queues": named, "routes": routes,
                                     "calendars": data.get("calendars") or {}, "default_queue": default_queue})
    except ValidationError as exc:
        # Without pydantic's "Value error, " before what our validators say: the problem is the message.
        problems = [Problem(".".join(str(p) for p in e["loc"]) or "rules", e["msg"].removeprefix("Value error, "))
                    for e in exc.errors()]
        raise RulesError("invalid routing rules:\n" + "\n".join(f"  {p}" for p in problems), problems) from exc


def parse_rules_text(text: str) -> Rules:
    """Validate a rules file's text (YAML); :class:`RulesError` lists every problem, a YAML one by its line."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "yaml"
        reason = str(getattr(exc, "problem", None) or exc)
        raise RulesError(f"not valid YAML: {exc}", [Problem(where, reason)]) from exc
    if not _within(data, MAX_VALUES):
        raise RulesError(f"the rules hold more than {MAX_VALUES} values once YAML aliases are expanded",
                         [Problem("rules", f"more than {MAX_VALUES} values once YAML aliases are expanded")])
    return parse_rules(data or {})


MAX_VALUES = 100_000
"""Far above any real rules file. A few nested YAML aliases (a "billion laughs") expand to billions of values;
counting stops at this bound, so a hostile or mistaken file is refused instead of validated for hours."""


def _within(data: object, limit: int) -> bool:
    stack, seen = [data], 0
    while stack:
        item = stack.pop()
        seen += 1
        if seen > limit:
            return False
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def load_rules_file(path: Path) -> Rules:
    try:
        text = path.read_text()
    except OSError as exc:
        raise RulesError(f"cannot read routing rules {path}: {exc}") from exc
    try:
        return parse_rules_text(text)
    except RulesError as exc:
        raise RulesError(f"{path}: {exc}", exc.problems) from exc


def rules_for_service_numbers(queues: Mapping[str, str], default_queue: str) -> Rules:
    """The simplest rules: each service number to its queue, longest idle, no skills needed."""
    names = {default_queue, *queues.values()}
    return parse_rules({
        "queues": {name: {} for name in sorted(names)},
        "routes": [{"name": f"service {number}", "when": {"service_number": number}, "queue": queue}
                   for number, queue in queues.items()],
        "default_queue": default_queue,
    })


DEFAULT_RULES = parse_rules({"queues": {"general": {}}, "default_queue": "general"})
