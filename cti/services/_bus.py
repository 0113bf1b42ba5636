"""The handler table: who carries out each command the distributor's core returns.

cosmicpython's message bus, reduced to what cti needs: a table from a command's type (and, for actions, its
channel) to the handlers that act on it, in order. The composition root builds the table; the distributor
hands every command to it in the order the core decided them. A handler gets the command and the distributor
it came from, so it can report back what happened (an offer Asterisk refused) without the distributor and
the adapter having to know each other at construction.

A handler must not block: I/O goes into a task. One that raises is logged and the others still run: an
observer's failure never becomes a call's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from cti.acd import Channel, Command

__all__ = ["CommandBus", "Handler", "HandlerKey"]

log = logging.getLogger("cti.services.bus")

Handler: TypeAlias = Callable[[Any, Any], None]
"""``handler(command, distributor)``: acts on one command (of the type it was registered for), told which
:class:`~cti.services.Distributor` it came from (typed by each handler: the bus only passes it on)."""
HandlerKey: TypeAlias = type[Any] | tuple[type[Any], Channel]
"""A command type (every channel), or a command type and a channel (the adapter of that channel)."""


class CommandBus:
    def __init__(self, table: Mapping[HandlerKey, Sequence[Handler]]) -> None:
        self._table = {key: tuple(handlers) for key, handlers in table.items()}
        self._resolved: dict[tuple[type[Any], Channel | None], tuple[Handler, ...]] = {}

    def handlers(self, command: Command) -> tuple[Handler, ...]:
        """The channel's adapter first (it acts), then those registered for every channel (they observe)."""
        kind = type(command)
        channel: Channel | None = getattr(command, "channel", None)
        key = (kind, channel)
        found = self._resolved.get(key)
        if found is None:
            specific = self._table.get((kind, channel), ()) if channel is not None else ()
            found = self._resolved[key] = specific + self._table.get(kind, ())
            if channel is not None and not specific:
                # Observers may watch it, but no adapter of the channel carries it out.
                log.error("no handler for %s on %s: nothing carries it out", kind.__name__, channel.value)
        return found

    def dispatch(self, commands: Iterable[Command], distributor: object) -> None:
        for command in commands:
            for handler in self.handlers(command):
                try:
                    handler(command, distributor)
                except Exception:
                    log.exception("handler %r failed on %s", handler, type(command).__name__)
