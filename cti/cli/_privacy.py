"""``cti customers forget`` and ``cti retention run``: erasure and retention from the command line, added to ``cti``
by :func:`add_privacy_commands`.

Both work on the configured database, Redis and prompt audio directly, so they work with the server stopped.
With it running, ``forget`` also tells it (on Redis, ids only) to drop what it keeps of the customer in memory:
screen pops, cached views, the desktops' replay buffers. Heavy imports wait until a command runs.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cti.settings import Settings
    from cti.telephony import TtsPrompts

__all__ = ["add_privacy_commands"]

log = logging.getLogger("cti.cli")


def add_privacy_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                         settings: Callable[[], Settings]) -> None:
    """Add the ``customers`` and ``retention`` command groups; ``settings`` is called only when one runs."""
    customers = sub.add_parser("customers", help="customers' personal data: erasure (see docs/crm.md)")
    actions = customers.add_subparsers(dest="customers_command", required=True)
    forget = actions.add_parser("forget", help="erase a customer everywhere cti keeps them; prints what was erased")
    forget.add_argument("customer_id")
    forget.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    forget.add_argument("--force", action="store_true",
                        help="erase even if Redis lists a call of theirs as live (the stale state of a server that "
                             "stopped mid-call)")
    forget.set_defaults(func=lambda args: _forget(args, settings()))
    retention = sub.add_parser("retention", help="the retention of interactions' personal fields")
    steps = retention.add_subparsers(dest="retention_command", required=True)
    run = steps.add_parser("run", help="purge the personal fields of interactions older than the retention, now")
    run.add_argument("--days", type=int, help="the retention in days (default: CTI_INTERACTION_RETENTION_DAYS)")
    run.add_argument("--json", action="store_true")
    run.set_defaults(func=lambda args: _retention(args, settings()))


def audit(settings: Settings, action: str, subject_type: str, subject_id: str, outcome: str,
          counts: Mapping[str, int] | None = None) -> None:
    """What the command line did to whom, in the audit log (ids and counts, never content) and in the log:
    every command here calls it once, whatever the outcome. The actor is the system user who ran it."""
    from cti.persistence import AuditRepository, Database
    from cti.records import AuditRecord
    from cti.types import utc_now

    details = "" if not counts else ": " + ", ".join(f"{k} {v}" for k, v in counts.items())
    operator = getpass.getuser()
    log.info("%s of %s %s by system user %s: %s%s", action, subject_type, subject_id, operator, outcome, details)

    async def write() -> None:
        async with Database(settings.database_url) as db:
            await db.upgrade()
            await AuditRepository(db).append([AuditRecord(
                at=utc_now(), actor=f"cli:{operator}"[:64], role="admin", action=action, subject_type=subject_type,
                subject_id=subject_id, source="cli", detail={"outcome": outcome, **(counts or {})})])

    try:
        asyncio.run(write())
    except Exception as exc:  # the log line above stays; the operator is told the audit log missed it
        print(f"cti: the audit log could not be written ({type(exc).__name__}); the log has the entry",
              file=sys.stderr)


def _prompts(settings: Settings) -> TtsPrompts:
    """The IVR's prompt audio, with the flows' own prompts (every caller hears them) never deleted."""
    from cti.asterisk import AsteriskRoot
    from cti.ivr import load_flows_file
    from cti.speech import PromptRenderer
    from cti.telephony import TtsPrompts

    renderer = PromptRenderer(settings.sounds_dir or AsteriskRoot(settings.asterisk_root).sounds_dir)
    shared = [] if settings.ivr_flows is None else [t for _, t in load_flows_file(settings.ivr_flows).static_prompts()]
    return TtsPrompts(renderer, shared=shared)


def _forget(args: argparse.Namespace, settings: Settings) -> int:
    from cti.errors import CtiError
    from cti.live import LiveStore
    from cti.persistence import CustomerRepository, Database, RecordingRepository
    from cti.services import Erasure, ErasureReport, ErasureSubject, LiveContact

    async def run() -> ErasureReport:
        prompts = _prompts(settings)
        live = LiveStore(settings.redis_url, settings.redis_prefix)
        try:
            async with Database(settings.database_url) as db:
                await db.upgrade()
                live_ids: set[str] = set()

                async def live_contacts() -> list[LiveContact]:
                    _, calls = await live.load()  # Redis away: refused, the server's live calls are unknown
                    if args.force:
                        return []
                    live_ids.update(c.call_id for c in calls)
                    return [LiveContact(c.call_id, c.customer_id, c.caller_number) for c in calls]

                async def live_calls(subject: ErasureSubject) -> int:
                    return await live.forget(subject.mentions(), call_ids=subject.call_ids, keep=live_ids)

                async def prompt_files(subject: ErasureSubject) -> int:
                    return await prompts.discard(subject.prompts)

                async def recordings(subject: ErasureSubject) -> int:
                    return await RecordingRepository(db, settings.recording_dir).delete_for_calls(subject.call_ids)

                async def servers_notified(subject: ErasureSubject) -> int:
                    return await live.announce_erasure(subject.customer_id, subject.call_ids)

                erasure = Erasure(CustomerRepository(db), live=live_contacts, holders={
                    "live_calls": live_calls, "prompt_files": prompt_files, "recordings": recordings,
                    "servers_notified": servers_notified})
                return await erasure.erase(args.customer_id)
        finally:
            await live.close()
            prompts.renderer.close()

    try:
        report = asyncio.run(run())
    except CtiError as exc:
        audit(settings, "erase", "customer", args.customer_id, f"refused ({type(exc).__name__})")
        print(f"cti: {exc}", file=sys.stderr)
        return 1
    audit(settings, "erase", "customer", report.customer_id, "done", report.erased)
    if args.json:
        print(json.dumps({"customer_id": report.customer_id, "erased": report.erased}))
    else:
        print(f"customer {report.customer_id} erased: "
              + ", ".join(f"{kind} {count}" for kind, count in report.erased.items()))
    return 0


def _retention(args: argparse.Namespace, settings: Settings) -> int:
    from cti.errors import CtiError
    from cti.persistence import CustomerRepository, Database, InteractionRepository, RecordingRepository
    from cti.services import Retention, RetentionReport
    from cti.types import utc_now

    days = settings.interaction_retention_days if args.days is None else args.days
    if days < 1:
        print("cti: retention is off (CTI_INTERACTION_RETENTION_DAYS=0); name --days to purge anyway",
              file=sys.stderr)
        return 2

    async def run() -> RetentionReport:
        prompts = _prompts(settings)
        try:
            async with Database(settings.database_url) as db:
                await db.upgrade()
                retention = Retention(InteractionRepository(db), CustomerRepository(db), days=days, clock=utc_now,
                                      discard_prompts=prompts.discard,
                                      discard_recordings=RecordingRepository(db, settings.recording_dir).delete_before)
                return await retention.run()
        finally:
            prompts.renderer.close()

    try:
        report = asyncio.run(run())
    except CtiError as exc:
        audit(settings, "erase", "retention", f"older than {days} days", f"failed ({type(exc).__name__})")
        print(f"cti: {exc}", file=sys.stderr)
        return 1
    counts = {"interactions": report.interactions, "contacts": report.contacts,
              "prompt_files": report.prompt_files, "recordings": report.recordings}
    audit(settings, "erase", "retention", f"older than {days} days", "done", counts)
    if args.json:
        print(json.dumps({"before": report.before.isoformat(), **counts}))
    else:
        print(f"before {report.before.isoformat()}: personal fields purged from {report.interactions} "
              f"interactions and {report.contacts} contacts; {report.prompt_files} prompt files and "
              f"{report.recordings} recordings deleted")
    return 0
