"""``cti dead-letters``: list, show, replay and discard the records the database refused (see docs/operations.md).

Heavy imports wait until a command runs, so ``cti --help`` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cti.records import DeadLetterRecord
    from cti.services import DeadLetterService

__all__ = ["add_dead_letter_commands"]


def add_dead_letter_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                             database_url: Callable[[], str]) -> None:
    """Add the ``dead-letters`` command group; ``database_url`` is called only when a command runs."""
    group = sub.add_parser("dead-letters", help="records the database refused: list, show, replay, discard")
    actions = group.add_subparsers(dest="dead_letter_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", metavar="URL", help="default: the configured CTI_DATABASE_URL")

    listing = actions.add_parser("list", parents=[common], help="dead letters, oldest first")
    listing.add_argument("--kind", choices=["interaction", "agent_state", "webhook"])
    listing.add_argument("--key", metavar="ID", help="only those of this call id (or agent id)")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true", help="one JSON object per line, payload included")
    listing.set_defaults(func=lambda args: _run(args, database_url, _list))

    show = actions.add_parser("show", parents=[common], help="one dead letter as JSON: payload, error, when")
    show.add_argument("letter_id", type=int)
    show.set_defaults(func=lambda args: _run(args, database_url, _show))

    replay = actions.add_parser("replay", parents=[common],
                                help="save the records again (once the cause is fixed) and remove their letters")
    replay.add_argument("letter_ids", type=int, nargs="*", metavar="ID")
    replay.add_argument("--all", action="store_true", help="every dead letter (of --kind), oldest first")
    replay.add_argument("--kind", choices=["interaction", "agent_state", "webhook"])
    replay.add_argument("--payload", type=Path, metavar="FILE",
                        help="with one ID: save this corrected record (JSON, as 'show' prints its payload)")
    replay.set_defaults(func=lambda args: _run(args, database_url, _replay))

    discard = actions.add_parser("discard", parents=[common], help="remove dead letters without saving them")
    discard.add_argument("letter_ids", type=int, nargs="+", metavar="ID")
    discard.set_defaults(func=lambda args: _run(args, database_url, _discard))


Command = Callable[[argparse.Namespace, "DeadLetterService"], Awaitable[int]]


def _run(args: argparse.Namespace, database_url: Callable[[], str], command: Command) -> int:
    from cti.errors import CtiError
    from cti.persistence import AgentRepository, Database, DeadLetterRepository, InteractionRepository
    from cti.services import DeadLetterService

    async def run() -> int:
        async with Database(args.database_url or database_url()) as db:
            await db.upgrade()
            service = DeadLetterService(DeadLetterRepository(db), InteractionRepository(db), AgentRepository(db))
            return await command(args, service)

    try:
        return asyncio.run(run())
    except CtiError as exc:
        print(f"cti: {exc}", file=sys.stderr)
        return 1


def _view(letter: DeadLetterRecord, *, payload: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"letter_id": letter.letter_id, "kind": letter.kind, "key": letter.key,
                            "at": letter.at.isoformat(), "error": letter.error}
    if payload:
        view["payload"] = letter.payload
    return view


async def _list(args: argparse.Namespace, service: DeadLetterService) -> int:
    letters = await service.list(kind=args.kind, key=args.key, limit=args.limit)
    for letter in letters:
        if args.json:
            print(json.dumps(_view(letter, payload=True), ensure_ascii=False))
        else:
            print(f"{letter.letter_id}\t{letter.at.isoformat(timespec='seconds')}\t{letter.kind}\t{letter.key}\t"
                  f"{letter.error[:160]}")
    if not args.json:
        print(f"{len(letters)} dead letter(s)", file=sys.stderr)
    return 0


async def _show(args: argparse.Namespace, service: DeadLetterService) -> int:
    print(json.dumps(_view(await service.get(args.letter_id), payload=True), ensure_ascii=False, indent=2))
    return 0


async def _replay(args: argparse.Namespace, service: DeadLetterService) -> int:
    from cti.errors import InvalidInput, NotFound

    if args.all == bool(args.letter_ids):
        print("cti: name the dead letters to replay, or --all", file=sys.stderr)
        return 2
    payload: dict[str, Any] | None = None
    if args.payload is not None:
        if len(args.letter_ids) != 1:
            print("cti: --payload replays one dead letter: name exactly one", file=sys.stderr)
            return 2
        try:
            payload = json.loads(args.payload.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            print(f"cti: cannot read {args.payload}: {exc}", file=sys.stderr)
            return 2
        if not isinstance(payload, dict):
            print(f"cti: {args.payload} must hold one JSON object (a record)", file=sys.stderr)
            return 2
    ids = args.letter_ids or [letter.letter_id for letter in await service.list(kind=args.kind, limit=1_000_000)]
    failed = 0
    for letter_id in ids:
        try:
            letter, saved = await service.replay(letter_id, payload)
        except (InvalidInput, NotFound) as exc:  # refused again, or not there: the next one may do
            failed += 1
            print(f"{letter_id}\tnot replayed: {exc}")
            continue
        outcome = "replayed" if saved else "superseded by a later save of"
        print(f"{letter_id}\t{outcome} {letter.kind} {letter.key}")
    return 1 if failed else 0


async def _discard(args: argparse.Namespace, service: DeadLetterService) -> int:
    from cti.errors import NotFound

    failed = 0
    for letter_id in args.letter_ids:
        try:
            await service.discard(letter_id)
        except NotFound as exc:
            failed += 1
            print(f"{letter_id}\tnot discarded: {exc}")
            continue
        print(f"{letter_id}\tdiscarded")
    return 1 if failed else 0
