"""``cti crm seed`` and ``cti crm import``: the CRM's commands, added to ``cti`` by :func:`add_crm_commands`.

Heavy imports wait until a command runs, so ``cti --help`` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Final

__all__ = ["EXIT_REJECTED", "add_crm_commands"]

EXIT_REJECTED: Final = 3
"""``cti crm import`` exit status when some rows were rejected (the others were imported)."""


def add_crm_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                     database_url: Callable[[], str]) -> None:
    """Add the ``crm`` command group; ``database_url`` is called only when a command runs."""
    crm = sub.add_parser("crm", help="CRM data: demo customers, customer CSV import")
    actions = crm.add_subparsers(dest="crm_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    # The CRM needs only the database: no reason to demand the ARI and API credentials of the full settings.
    common.add_argument("--database-url", metavar="URL", help="default: the configured CTI_DATABASE_URL")
    seed = actions.add_parser("seed", parents=[common],
                              help="fill an empty CRM with generated demo customers (see docs/crm.md)")
    seed.add_argument("--customers", type=int, default=200, help="customers in all, the six fixed ones included")
    seed.add_argument("--seed", type=int, default=1, help="the same seed gives the same customers")
    seed.set_defaults(func=lambda args: _seed(args, args.database_url or database_url()))
    load = actions.add_parser("import", parents=[common],
                              help="import customers from a CSV file (columns: see docs/crm.md)")
    load.add_argument("file", type=Path)
    load.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    load.add_argument("--json", action="store_true", help="print the report as one JSON object")
    load.set_defaults(func=lambda args: _import(args, args.database_url or database_url()))


def _seed(args: argparse.Namespace, url: str) -> int:
    from datetime import UTC, datetime

    from cti.persistence import CustomerRepository, Database, StorageError
    from cti.sim import generate

    try:
        dataset = generate(now=datetime.now(UTC), customers=args.customers, seed=args.seed)
    except ValueError as exc:
        print(f"cti: {exc}", file=sys.stderr)
        return 2

    async def run() -> int:
        async with Database(url) as db:
            await db.upgrade()
            return await CustomerRepository(db).seed(dataset)

    try:
        written = asyncio.run(run())
    except StorageError as exc:
        print(f"cti: {exc}", file=sys.stderr)
        return 1
    print(f"seeded {written} customers" if written else "the CRM already holds customers: nothing seeded")
    return 0


def _import(args: argparse.Namespace, url: str) -> int:
    from cti.crm import CsvFormatError, ImportReport
    from cti.persistence import CustomerRepository, Database, StorageError

    try:
        text = args.file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        print(f"cti: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:
        print(f"cti: {args.file} is not UTF-8 text (byte {exc.start})", file=sys.stderr)
        return 1

    async def run() -> ImportReport:
        async with Database(url) as db:
            await db.upgrade()
            return await CustomerRepository(db).import_customers(text, dry_run=args.dry_run)

    try:
        report = asyncio.run(run())
    except CsvFormatError as exc:
        print(f"cti: {args.file}: {exc}", file=sys.stderr)
        return 1
    except StorageError as exc:
        print(f"cti: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(report.summary())
        for rejection in report.rejected:
            print(f"row {rejection.row}, {rejection.column}: {rejection.reason}")
    return EXIT_REJECTED if report.rejected else 0
