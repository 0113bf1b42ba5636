"""The ``cti`` command: serve, demo, database and Asterisk management."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from cti.settings import DEFAULT_ASTERISK_ROOT, Settings, SettingsError, load_settings

__all__ = ["main"]


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        print(f"cti: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from cti.bootstrap import create_app

    settings = _settings()
    web.run_app(create_app(settings), host=settings.http_host, port=settings.http_port,
                print=lambda msg: logging.getLogger("cti").info(msg.strip()))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from cti.storage import Database

    async def run() -> None:
        db = Database(_settings().database_url)
        try:
            await db.upgrade()
        finally:
            await db.close()
        print(f"database {db.url} is at the newest schema")

    asyncio.run(run())
    return 0


def _asterisk(args: argparse.Namespace) -> int:
    from cti.asterisk import AsteriskError, AsteriskRoot

    if args.action == "build":  # needs no credentials: only where the root goes
        root = AsteriskRoot(Path(os.environ.get("CTI_ASTERISK_ROOT", DEFAULT_ASTERISK_ROOT)))
        try:
            print("built" if root.build() else "already built", root.path)
        except AsteriskError as exc:
            print(f"cti: {exc}", file=sys.stderr)
            return 1
        return 0
    settings = _settings()
    root = AsteriskRoot(settings.asterisk_root)
    try:
        if args.action == "install":
            root.install_config(settings)
            print("configuration installed into", root.path)
        elif args.action == "start":
            root.build()
            root.install_config(settings)
            print("Asterisk running, pid", root.start(settings))
        elif args.action == "stop":
            root.stop()
            print("Asterisk stopped")
        elif args.action == "status":
            pid = root.pid()
            print(f"running, pid {pid}" if pid else "not running")
            return 0 if pid else 3
        elif args.action == "cli":
            print(root.cli(" ".join(args.command)), end="")
    except AsteriskError as exc:
        print(f"cti: {exc}", file=sys.stderr)
        return 1
    return 0


def _demo(args: argparse.Namespace) -> int:
    from cti.sim.demo import run_demo

    return run_demo(minutes=args.minutes, agents=args.agents, rate=args.rate)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cti", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the server (HTTP API + ARI controller)").set_defaults(func=_serve)
    demo = sub.add_parser("demo", help="Asterisk + cti + simulated agents and callers, live")
    demo.add_argument("--minutes", type=float, default=0, help="stop after this long (0: until Ctrl-C)")
    demo.add_argument("--agents", type=int, default=6)
    demo.add_argument("--rate", type=float, default=0.4, help="new callers per second")
    demo.set_defaults(func=_demo)
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(func=_db_upgrade)
    ast = sub.add_parser("asterisk", help="the Asterisk root: build, install config, start, stop")
    ast.add_argument("action", choices=["build", "install", "start", "stop", "status", "cli"])
    ast.add_argument("command", nargs="*", help="for 'cli': the Asterisk CLI command")
    ast.set_defaults(func=_asterisk)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations are quiet unless they fail
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
