"""``cti partners ...``: partner tokens from the command line (docs/integration.md): list them with their grants,
create one (its token printed once, alone on standard output), replace a partner's grants. Rotating, disabling
and deleting a partner's token is ``cti users rotate|disable|delete``, as for any user.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cti.settings import Settings

if TYPE_CHECKING:  # heavy imports wait until a command runs, so ``cti --help`` stays fast
    from cti.records import UserRecord
    from cti.services import PartnerAccess

__all__ = ["add_partner_commands"]


def add_partner_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                         settings: Callable[[], Settings]) -> None:
    """Add the ``partners`` command group; ``settings`` is called only when a command runs."""
    partners = sub.add_parser("partners", help="partner tokens and their grants: list, create, grant")
    actions = partners.add_subparsers(dest="partners_command", required=True)
    listing = actions.add_parser("list", help="every partner with its grants")
    listing.add_argument("--json", action="store_true", help="one JSON object instead of text")
    commands = []
    for name, text in (("create", "a new partner; prints its token once"),
                       ("grant", "replace a partner's grants (operations, customers, segments)")):
        command = actions.add_parser(name, help=text)
        command.add_argument("name")
        command.add_argument("--operation", action="append", default=[], metavar="NAME",
                             help="an operation it may call (customers.read, customers.update, callbacks.create, "
                                  "surveys.read); repeat for more")
        command.add_argument("--customer", action="append", default=[], metavar="ID",
                             help="a customer of its own; repeat for more")
        command.add_argument("--segment", action="append", default=[], metavar="SEGMENT",
                             help="the customers of a CRM segment (a product line); repeat for more")
        command.add_argument("--json", action="store_true", help="one JSON object instead of text")
        commands.append(command)
    for command in (listing, *commands):
        command.set_defaults(func=lambda args: _run(args, settings()))


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from cti.acd import ContactCenter
    from cti.errors import CtiError
    from cti.persistence import (
        AgentRepository,
        AuditRepository,
        CustomerRepository,
        Database,
        InteractionRepository,
        UserRepository,
    )
    from cti.services import Accounts, AuditTrail, CenterView, PartnerAccess, Policy
    from cti.types import utc_now

    async def run() -> int:
        async with Database(settings.database_url) as db:
            await db.upgrade()
            accounts = Accounts(UserRepository(db), AgentRepository(db),
                                token_ttl=timedelta(days=settings.token_ttl_days))
            customers = CustomerRepository(db)
            policy = Policy(CenterView(ContactCenter(), utc_now), InteractionRepository(db), customers)
            access = PartnerAccess(accounts, policy, customers, AuditTrail(AuditRepository(db), utc_now),
                                   clock=utc_now, per_minute=settings.partner_requests_per_minute)
            return await _command(access, args)

    try:
        return asyncio.run(run())
    except CtiError as exc:
        print(f"cti: {exc}", file=sys.stderr)
        return 1


def _view(user: UserRecord) -> dict[str, Any]:
    scope = user.scope or {}
    expires = user.token_expires_at
    return {"name": user.name, "disabled": user.disabled, "operations": scope.get("operations", []),
            "customers": scope.get("customers", []), "segments": scope.get("segments", []),
            "token_expires_at": None if expires is None else expires.isoformat()}


async def _command(access: PartnerAccess, args: argparse.Namespace) -> int:
    from cti.services import check_grants

    if args.partners_command == "list":
        partners = await access.list()
        if args.json:
            print(json.dumps({"partners": [_view(p) for p in partners]}))
            return 0
        for partner in partners:
            view = _view(partner)
            print(f"{partner.name}\t{'disabled' if partner.disabled else 'enabled'}\t"
                  f"{','.join(view['operations']) or '-'}\t{len(view['customers'])} customer(s)\t"
                  f"{','.join(view['segments']) or '-'}")
        return 0
    grants = check_grants(args.operation, args.customer, args.segment)
    if args.partners_command == "create":
        user, token = await access.create(args.name, grants)
        if args.json:
            print(json.dumps({"partner": _view(user), "token": token}))
            return 0
        print(f"token for partner {user.name}; it is shown only now:", file=sys.stderr)
        print(token)
        return 0
    user = await access.set_grants(args.name, grants)
    print(json.dumps(_view(user)) if args.json else f"{user.name}: grants replaced")
    return 0
