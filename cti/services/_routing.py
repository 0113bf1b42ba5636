"""The routing rules in force, and reloading them from their file while calls go on."""

from __future__ import annotations

from collections.abc import Callable

from cti.acd import Rules
from cti.services._distributor import Distributor

__all__ = ["RoutingRules"]


class RoutingRules:
    def __init__(self, distributor: Distributor, source: Callable[[], Rules]) -> None:
        self._distributor = distributor
        self._source = source

    @property
    def current(self) -> Rules:
        return self._distributor.query.rules

    def reload(self) -> Rules:
        """Read the rules again (``RulesError`` if they do not hold: the running rules stay); the next decision
        uses them, and calls of queues that are gone move to the default queue."""
        rules = self._source()
        self._distributor.set_rules(rules)
        return rules
