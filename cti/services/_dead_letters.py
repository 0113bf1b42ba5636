"""Dead letters: a record the database refused, kept as JSON with why, and the way back in once that is fixed.

The journal sets a refused record aside (:func:`dead_letter_of` gives its kind, key and JSON payload) and goes
on with the next one. An operator lists them, reads why each was refused, fixes the cause (a migration, a
corrected payload) and replays them (:class:`DeadLetterService`): a replayed record is saved as the journal
would have saved it, and its letter removed; one refused again stays where it is. Interactions are snapshots
of a call: a replay never replaces a snapshot saved after the refused one, and the letters of one call
replayed oldest first each replace the one before.

Webhook events their receiver never took (:mod:`._webhooks`) are dead letters too (kind ``webhook``): replaying
one puts the event back into its subscription's outbox (``requeue``), to be delivered again.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any, Final

from cti.errors import InvalidInput, NotFound
from cti.records import AgentStateRecord, DeadLetterRecord, InteractionRecord
from cti.services._ports import AgentRegistry, DeadLetters, Interactions

__all__ = ["DeadLetterService", "InvalidDeadLetter", "UnknownDeadLetter", "dead_letter_of", "record_of"]

Record = InteractionRecord | AgentStateRecord

_TYPES: Final[dict[str, type[InteractionRecord] | type[AgentStateRecord]]] = {
    "interaction": InteractionRecord, "agent_state": AgentStateRecord}


class UnknownDeadLetter(NotFound):
    """No dead letter has this id (replayed or discarded already)."""


class InvalidDeadLetter(InvalidInput):
    """A payload that is not a record of its kind (a hand-edited one, usually)."""


def dead_letter_of(record: Record) -> tuple[str, str, dict[str, Any]]:
    """The record's kind, whose it is (call or agent id) and the record as JSON."""
    payload = _json(asdict(record))
    assert isinstance(payload, dict)
    if isinstance(record, InteractionRecord):
        return "interaction", str(record.call_id), payload
    return "agent_state", str(record.agent_id), payload


def record_of(kind: str, payload: Mapping[str, Any]) -> Record:
    """The record a dead letter holds, as the journal would save it."""
    kind_type = _TYPES.get(kind)
    if kind_type is None:
        raise InvalidDeadLetter(f"a dead letter of kind {kind!r} cannot be replayed")
    names = {f.name: str(f.type) for f in fields(kind_type)}
    unknown = sorted(set(payload) - set(names))
    if unknown:
        raise InvalidDeadLetter(f"not fields of a {kind} record: {', '.join(unknown)}")
    values = dict(payload)
    for name, annotation in names.items():
        if annotation.startswith("datetime") and isinstance(values.get(name), str):
            try:
                values[name] = datetime.fromisoformat(values[name])
            except ValueError as exc:
                raise InvalidDeadLetter(f"{kind}.{name} is not an ISO 8601 time: {exc}") from exc
    try:
        return kind_type(**values)
    except TypeError as exc:  # a required field missing
        raise InvalidDeadLetter(f"not a {kind} record: {exc}") from exc


class DeadLetterService:
    """What an operator does with dead letters: read them, replay them once their cause is fixed, or drop them."""

    def __init__(self, letters: DeadLetters, interactions: Interactions, agents: AgentRegistry, *,
                 requeue: Callable[[Mapping[str, Any]], Awaitable[None]] | None = None) -> None:
        self._letters = letters
        self._interactions = interactions
        self._agents = agents
        self._requeue = requeue

    async def list(self, *, kind: str | None = None, key: str | None = None,
                   limit: int = 100) -> builtins.list[DeadLetterRecord]:
        return await self._letters.list(kind=kind, key=key, limit=limit)

    async def get(self, letter_id: int) -> DeadLetterRecord:
        letter = await self._letters.get(letter_id)
        if letter is None:
            raise UnknownDeadLetter(f"no dead letter {letter_id}")
        return letter

    async def replay(self, letter_id: int, payload: Mapping[str, Any] | None = None) -> tuple[DeadLetterRecord, bool]:
        """Save the letter's record (or ``payload``, a corrected one) and remove the letter; with whether it was
        saved: an interaction whose call was saved again after the letter (a later snapshot of it) is left as
        it is, and the letter, superseded, removed all the same.

        Raises what the save raises when the database refuses it again (an ``InvalidInput``: the letter stays)
        or is away (an ``Unavailable``).
        """
        letter = await self.get(letter_id)
        if letter.kind == "webhook":
            if self._requeue is None:
                raise InvalidDeadLetter("a webhook event is replayed by the server that delivers it: "
                                        "POST /api/webhooks/dead-letters/{letter_id}/replay")
            await self._requeue(letter.payload if payload is None else payload)
            await self._letters.delete(letter_id)
            return letter, True
        record = record_of(letter.kind, letter.payload if payload is None else payload)
        saved = True
        if isinstance(record, InteractionRecord):
            saved = await self._interactions.save_unless_newer(record, letter.at)
        else:
            await self._agents.record_state(record)
        await self._letters.delete(letter_id)
        return letter, saved

    async def discard(self, letter_id: int) -> None:
        if not await self._letters.delete(letter_id):
            raise UnknownDeadLetter(f"no dead letter {letter_id}")


def _json(value: Any) -> Any:
    """JSON the database always takes: times in ISO 8601, anything unknown as its text, no NaN (PostgreSQL's
    JSON has none)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json(v) for v in value]
    return str(value)
