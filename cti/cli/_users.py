"""``cti users ...``: API users and their tokens from the command line, on the configured database.

``create`` and ``rotate`` print the new token alone on standard output (``TOKEN=$(cti users rotate sue)``) and
what it is for on standard error; it is shown this once. ``password`` sets the password a person signs in with:
read from standard input (asked twice, unechoed, on a terminal; the first line otherwise), or with ``--generate``
a random one printed once like a token; the user's web sessions end. A running server sees a change made here
within a few seconds: its token and session caches forget, and its watch closes the open websockets of a user
whose token stopped working (:mod:`cti.web._sessions`).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cti.settings import Settings

if TYPE_CHECKING:  # heavy imports wait until a command runs, so ``cti --help`` stays fast
    from cti.records import UserRecord
    from cti.services import Accounts, SignIn

__all__ = ["add_user_commands"]


def add_user_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                      settings: Callable[[], Settings]) -> None:
    """Add the ``users`` command group; ``settings`` is called only when a command runs."""
    users = sub.add_parser("users", help="API users and their tokens: list, create, rotate, password, disable, "
                                         "enable, delete")
    actions = users.add_subparsers(dest="users_command", required=True)
    listing = actions.add_parser("list", help="every user, with role, agent, state and token expiry")
    create = actions.add_parser("create", help="a new user; prints its token once")
    create.add_argument("name")
    create.add_argument("--role", required=True, choices=["agent", "supervisor", "admin"])
    create.add_argument("--agent-id", help="for an agent user: the agent they are")
    commands = [listing, create]
    for name, text in (("rotate", "a new token for the user (printed once); the old one stops working"),
                       ("disable", "the user's token stops working until enabled again"),
                       ("enable", "a disabled user's token works again (unless it expired)"),
                       ("delete", "remove the user and their token")):
        command = actions.add_parser(name, help=text)
        command.add_argument("name")
        commands.append(command)
    password = actions.add_parser("password", help="set the password the user signs in with (from standard input, "
                                                   "or --generate); their web sessions end")
    password.add_argument("name")
    password.add_argument("--generate", action="store_true", help="a random password, printed once")
    commands.append(password)
    for command in commands:
        command.add_argument("--json", action="store_true", help="one JSON object instead of text")
        command.set_defaults(func=lambda args: _run(args, settings()))


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from cti.errors import CtiError
    from cti.persistence import AgentRepository, Database, UserRepository, WebSessionRepository
    from cti.services import Accounts, SignIn

    password = _new_password(args) if args.users_command == "password" else None
    if args.users_command == "password" and password is None:
        return 1

    async def run() -> int:
        async with Database(settings.database_url) as db:
            await db.upgrade()
            if password is not None:
                sign_in = SignIn(UserRepository(db), WebSessionRepository(db), AgentRepository(db))
                return await _set_password(sign_in, args, password)
            accounts = Accounts(UserRepository(db), AgentRepository(db),
                                token_ttl=timedelta(days=settings.token_ttl_days))
            return await _COMMANDS[args.users_command](accounts, args)

    try:
        return asyncio.run(run())
    except CtiError as exc:
        print(f"cti: {exc}", file=sys.stderr)
        return 1


def _view(user: UserRecord) -> dict[str, Any]:
    expires = user.token_expires_at
    return {"name": user.name, "role": user.role, "agent_id": user.agent_id, "disabled": user.disabled,
            "token_expires_at": None if expires is None else expires.isoformat()}


def _show_token(args: argparse.Namespace, user: UserRecord, token: str, what: str) -> int:
    if args.json:
        print(json.dumps({"user": _view(user), "token": token}))
        return 0
    expires = "never (configured)" if user.token_expires_at is None else user.token_expires_at.isoformat()
    print(f"{what} for {user.name} ({user.role}), expires {expires}; it is shown only now:", file=sys.stderr)
    print(token)
    return 0


def _done(args: argparse.Namespace, user: UserRecord, what: str) -> int:
    print(json.dumps(_view(user)) if args.json else f"{user.name}: {what}")
    return 0


async def _list(accounts: Accounts, args: argparse.Namespace) -> int:
    users = await accounts.list_users()
    if args.json:
        print(json.dumps({"users": [_view(u) for u in users]}))
        return 0
    print(f"{'name':<24} {'role':<10} {'agent':<16} {'state':<9} token expires")
    for user in users:
        expires = "never (configured)" if user.token_expires_at is None else f"{user.token_expires_at:%Y-%m-%d %H:%M}Z"
        print(f"{user.name:<24} {user.role:<10} {user.agent_id or '-':<16} "
              f"{'disabled' if user.disabled else 'enabled':<9} {expires}")
    return 0


async def _create(accounts: Accounts, args: argparse.Namespace) -> int:
    user, token = await accounts.create_user(args.name, args.role, args.agent_id)
    return _show_token(args, user, token, "token")


async def _rotate(accounts: Accounts, args: argparse.Namespace) -> int:
    user, token = await accounts.rotate_token(args.name)
    return _show_token(args, user, token, "new token")


async def _disable(accounts: Accounts, args: argparse.Namespace) -> int:
    return _done(args, await accounts.set_disabled(args.name, True), "disabled")


async def _enable(accounts: Accounts, args: argparse.Namespace) -> int:
    return _done(args, await accounts.set_disabled(args.name, False), "enabled")


async def _delete(accounts: Accounts, args: argparse.Namespace) -> int:
    await accounts.delete_user(args.name)
    print(json.dumps({"deleted": args.name}) if args.json else f"{args.name}: deleted")
    return 0


def _new_password(args: argparse.Namespace) -> str | None:
    """The password to set: generated, asked twice on a terminal, or the first line of standard input."""
    if args.generate:
        return secrets.token_urlsafe(15)  # 20 characters, 120 random bits
    if sys.stdin.isatty():
        first = getpass.getpass(f"new password for {args.name}: ")
        if getpass.getpass("the same again: ") != first:
            print("cti: the two passwords differ; nothing changed", file=sys.stderr)
            return None
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line  # the password as typed, spaces and all


async def _set_password(sign_in: SignIn, args: argparse.Namespace, password: str) -> int:
    user = await sign_in.set_password(args.name, password)
    if args.generate:
        if args.json:
            print(json.dumps({"user": _view(user), "password": password}))
        else:
            print(f"password for {user.name} ({user.role}); it is shown only now:", file=sys.stderr)
            print(password)
        return 0
    return _done(args, user, "password set; their web sessions ended")


_COMMANDS: dict[str, Callable[[Accounts, argparse.Namespace], Awaitable[int]]] = {
    "list": _list, "create": _create, "rotate": _rotate, "disable": _disable, "enable": _enable, "delete": _delete,
}
