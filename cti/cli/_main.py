"""The ``cti`` command: serve, demo, database, Asterisk and workforce management (the CRM's in :mod:`._crm`,
erasure and retention in :mod:`._privacy`, dead letters in :mod:`._dead_letters`, users in :mod:`._users`)."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import math
import os
import secrets
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from cti.settings import DEFAULT_ASTERISK_ROOT, Settings, SettingsError, load_settings

from ._cluster import add_cluster_commands
from ._crm import add_crm_commands
from ._dead_letters import add_dead_letter_commands
from ._partners import add_partner_commands
from ._privacy import add_privacy_commands
from ._speech import add_speech_commands
from ._users import add_user_commands

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
    from cti.web import AccessLogger

    settings = _settings()
    if args.standby:
        settings = settings.model_copy(update={"standby": True})
    web.run_app(create_app(settings), host=settings.http_host, port=settings.http_port,
                access_log_class=AccessLogger, print=lambda msg: logging.getLogger("cti").info(msg.strip()))
    return 0


def _front(args: argparse.Namespace) -> int:
    from aiohttp import web

    from cti.bootstrap import create_front_app
    from cti.web import AccessLogger

    # A front end holds no credential: the secrets a controller needs are neither asked for nor kept (stand-ins,
    # never used, in their place).
    try:
        settings = load_settings(admin_token=secrets.token_urlsafe(32), ari_password=secrets.token_urlsafe(32))
    except SettingsError as exc:
        print(f"cti: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    host = args.host or settings.http_host
    port = args.port if args.port is not None else settings.http_port
    web.run_app(create_front_app(settings), host=host, port=port, access_log_class=AccessLogger,
                print=lambda msg: logging.getLogger("cti").info(msg.strip()))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from cti.persistence import Database

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
    from cti.sim import run_demo

    return run_demo(minutes=args.minutes, agents=args.agents, rate=args.rate, log_file=Path(args.log_file))


def _wfm_request(args: argparse.Namespace, calls: float, interval_minutes: float, aht: float) -> Any:
    from cti.wfm import StaffingRequest

    return StaffingRequest(
        calls=calls, interval_minutes=interval_minutes, aht_seconds=aht, service_level=args.service_level,
        answer_within_seconds=args.answer_within, asa_seconds=args.asa, max_occupancy=args.max_occupancy,
        shrinkage=args.shrinkage, patience_seconds=args.patience, max_abandon=args.max_abandon)


def _wfm_staff(args: argparse.Namespace) -> int:
    from cti.wfm import WfmError, staff

    try:
        result = staff(_wfm_request(args, args.calls, args.interval_minutes, args.aht))
    except WfmError as exc:
        print(f"cti: {exc}", file=sys.stderr)
        return 2
    metrics = result.metrics
    asa = metrics.asa_seconds if math.isfinite(metrics.asa_seconds) else None
    if args.json:
        print(json.dumps({"model": result.model, "traffic": result.traffic, "agents": result.agents,
                          "scheduled_agents": result.scheduled_agents, "service_level": metrics.service_level,
                          "wait_probability": metrics.wait_probability, "asa_seconds": asa,
                          "occupancy": metrics.occupancy, "abandon_rate": metrics.abandon_rate,
                          "limited_by": list(result.limited_by)}))
        return 0
    model = "Erlang C" if result.model == "erlang_c" else f"Erlang A, mean patience {args.patience:g} s"
    lines = [
        ("traffic", f"{result.traffic:.2f} Erlangs ({model})"),
        ("agents", f"{result.agents} on the phones"
                   + (f", {result.scheduled_agents} scheduled ({args.shrinkage:.0%} shrinkage)"
                      if args.shrinkage else "")),
        ("service level", f"{metrics.service_level:.2%} answered within {args.answer_within:g} s"
                          + (f" (target {args.service_level:.0%})" if args.service_level is not None else "")),
        ("P(wait)", f"{metrics.wait_probability:.4f}"),
        ("ASA", "unbounded" if asa is None else f"{asa:.2f} s"),
        ("occupancy", f"{metrics.occupancy:.1%}"),
    ]
    if metrics.abandon_rate is not None:
        lines.append(("abandoned", f"{metrics.abandon_rate:.2%}"))
    lines.append(("limited by", ", ".join(result.limited_by) or "-"))
    for label, value in lines:
        print(f"{label:<14} {value}")
    return 0


def _wfm_samples(path: Path) -> list[Any]:
    """Interaction history from CSV (header: queue,arrived_at,handle_seconds) or a JSON list of objects."""
    from cti.wfm import InteractionSample

    text = path.read_text(encoding="utf-8")
    rows: list[dict[str, Any]]
    if path.suffix.lower() == ".json":
        rows = json.loads(text)
    else:
        rows = list(csv.DictReader(text.splitlines()))
    samples = []
    for number, row in enumerate(rows, start=1):
        try:
            arrived = datetime.fromisoformat(str(row["arrived_at"]))
            handle = row.get("handle_seconds")
            samples.append(InteractionSample(str(row["queue"]), arrived,
                                             None if handle in (None, "") else float(handle)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: record {number}: {exc}") from exc
        if arrived.tzinfo is None:
            raise ValueError(f"{path}: record {number}: arrived_at needs a UTC offset")
    return samples


def _wfm_forecast(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from cti.wfm import WfmError, aggregate, forecast_queue, staff_batch

    try:
        zone = ZoneInfo(args.timezone)
        samples = _wfm_samples(Path(args.input))
        queue = args.queue or (samples[0].queue if samples else "")
        mine = [s for s in samples if s.queue == queue]
        if not mine:
            raise ValueError(f"no interactions of queue {queue!r} in {args.input}")
        first = min(s.arrived_at for s in mine).astimezone(zone)
        last = max(s.arrived_at for s in mine).astimezone(zone)
        start = datetime(first.year, first.month, first.day, tzinfo=zone)
        days = (last.date() - first.date()).days + 1
        series = aggregate(mine, start=start, days=days, interval_minutes=args.interval_minutes)[queue]
        result = forecast_queue(series, horizon_days=args.horizon_days, holdout_days=args.holdout_days)
        rows: list[dict[str, Any]] = [
            {"start": item.start.isoformat(), "calls": round(item.calls, 3),
             "aht_seconds": None if item.aht_seconds is None else round(item.aht_seconds, 1)}
            for item in result.intervals]
        if args.service_level is not None:
            known = [(row, item) for row, item in zip(rows, result.intervals, strict=True)
                     if item.aht_seconds is not None]
            staffed = staff_batch([_wfm_request(args, item.calls, args.interval_minutes, item.aht_seconds or 0.0)
                                   for _, item in known])
            for (row, _), one in zip(known, staffed, strict=True):
                row.update(agents=one.agents, scheduled_agents=one.scheduled_agents)
    except (OSError, ValueError, WfmError) as exc:  # WfmError is a ValueError; named for the reader
        print(f"cti: {exc}", file=sys.stderr)
        return 2
    backtest = [{"model": s.model, "wape": s.wape, "mape": s.mape} for s in result.backtest]
    if args.json:
        print(json.dumps({"queue": queue, "model": result.model, "interval_minutes": result.interval_minutes,
                          "history_days": days, "backtest": backtest, "aht_wape": result.aht_wape,
                          "intervals": rows}))
        return 0
    print(f"queue {queue}: {len(mine)} calls over {days} days; model {result.model} "
          f"(holdout backtest of the last {result.holdout_days} days)")
    for score in result.backtest:
        mape = "-" if score.mape is None else f"{score.mape:.1%}"
        print(f"  {score.model:<15} WAPE {score.wape:.1%}  MAPE {mape}")
    header = f"{'interval start':<26} {'calls':>8} {'AHT s':>7}"
    print(header + (f" {'agents':>6} {'sched.':>6}" if args.service_level is not None else ""))
    for row in rows:
        aht = "-" if row["aht_seconds"] is None else f"{row['aht_seconds']:.0f}"
        line = f"{row['start']:<26} {row['calls']:>8.1f} {aht:>7}"
        if "agents" in row:
            line += f" {row['agents']:>6} {row['scheduled_agents']:>6}"
        print(line)
    return 0


def _wfm_schedule(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from cti.web import WfmScheduleCreate
    from cti.wfm import WfmError, solve_schedule

    try:
        body = WfmScheduleCreate.model_validate_json(Path(args.input).read_text(encoding="utf-8"))
        schedule = solve_schedule(body.problem())
    except (OSError, ValidationError, WfmError) as exc:
        print(f"cti: {exc}", file=sys.stderr)
        return 2
    if args.save:
        from cti.persistence import Database, StorageError, WfmRepository

        async def save() -> int:
            db = Database(_settings().database_url)
            try:
                await db.upgrade()
                return (await WfmRepository(db).save_schedule(body.name, schedule)).summary.schedule_id
            finally:
                await db.close()

        try:
            schedule_id: int | None = asyncio.run(save())
        except StorageError as exc:
            print(f"cti: {exc}", file=sys.stderr)
            return 1
    else:
        schedule_id = None
    shifts = [{"agent_id": s.agent_id, "pattern": s.pattern, "start": s.start.isoformat(), "end": s.end.isoformat(),
               "activities": [{"start": a.start.isoformat(), "end": a.end.isoformat(), "kind": a.kind,
                               "skill": a.skill} for a in s.activities]} for s in schedule.shifts]
    coverage = [{"start": r.start.isoformat(), "skill": r.skill, "required": r.required, "scheduled": r.scheduled}
                for r in schedule.coverage]
    if args.json:
        print(json.dumps({"schedule_id": schedule_id, "status": schedule.status, "objective": schedule.objective,
                          "shifts": shifts, "coverage": coverage}))
        return 0
    print(f"{len(schedule.shifts)} shifts, {schedule.status}, weighted under/over-staffing {schedule.objective:g}"
          + (f"; stored as schedule {schedule_id}" if schedule_id is not None else ""))
    for shift in schedule.shifts:
        parts = [f"{a.start:%H:%M}-{a.end:%H:%M} {a.skill or 'work' if a.kind == 'work' else 'break'}"
                 for a in shift.activities]
        print(f"  {shift.agent_id:<16} {shift.start:%Y-%m-%d} {shift.pattern:<12} {', '.join(parts)}")
    print(f"{'interval start':<26} {'skill':<12} {'required':>8} {'scheduled':>9}")
    for row in schedule.coverage:
        print(f"{row.start.isoformat():<26} {row.skill:<12} {row.required:>8} {row.scheduled:>9}")
    return 0


def _add_wfm_targets(parser: argparse.ArgumentParser, *, service_level: float | None) -> None:
    parser.add_argument("--service-level", type=float, default=service_level,
                        help="share of calls answered within --answer-within (e.g. 0.8)")
    parser.add_argument("--answer-within", type=float, default=20.0, metavar="SECONDS",
                        help="the service level's threshold T (default 20; not the ASA)")
    parser.add_argument("--asa", type=float, metavar="SECONDS", help="target mean wait of answered calls")
    parser.add_argument("--shrinkage", type=float, default=0.0, help="share of paid time off the phones (e.g. 0.3)")
    parser.add_argument("--max-occupancy", type=float, help="e.g. 0.85")
    parser.add_argument("--patience", type=float, metavar="SECONDS", help="mean caller patience: Erlang A")
    parser.add_argument("--max-abandon", type=float, help="max share abandoning (Erlang A), e.g. 0.05")


def _add_wfm(sub: Any) -> None:
    wfm = sub.add_parser("wfm", help="workforce management: staffing, forecast, schedules")
    commands = wfm.add_subparsers(dest="wfm_command", required=True)
    staff = commands.add_parser("staff", help="agents needed for one interval (Erlang C, or Erlang A)")
    staff.add_argument("--calls", type=float, required=True, help="calls offered in the interval")
    staff.add_argument("--interval-minutes", type=float, default=30.0)
    staff.add_argument("--aht", type=float, required=True, metavar="SECONDS", help="average handle time")
    _add_wfm_targets(staff, service_level=None)
    staff.add_argument("--json", action="store_true", help="one JSON object instead of text")
    staff.set_defaults(func=_wfm_staff)
    forecast = commands.add_parser("forecast", help="forecast volume and AHT per interval from history")
    forecast.add_argument("--input", required=True, help="CSV (queue,arrived_at,handle_seconds) or JSON list")
    forecast.add_argument("--queue", help="the queue to forecast (default: the first record's)")
    forecast.add_argument("--interval-minutes", type=int, choices=[15, 30, 60], default=30)
    forecast.add_argument("--horizon-days", type=int, default=7)
    forecast.add_argument("--holdout-days", type=int, default=7)
    forecast.add_argument("--timezone", default="UTC", help="IANA zone that days and weekdays are in")
    _add_wfm_targets(forecast, service_level=None)
    forecast.add_argument("--json", action="store_true")
    forecast.set_defaults(func=_wfm_forecast)
    schedule = commands.add_parser("schedule", help="solve shift schedules for a requirement (JSON as the API's)")
    schedule.add_argument("--input", required=True, help="JSON: the body of POST /api/wfm/schedules")
    schedule.add_argument("--save", action="store_true", help="also store it in the configured database")
    schedule.add_argument("--json", action="store_true")
    schedule.set_defaults(func=_wfm_schedule)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cti", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server (HTTP API + ARI controller)")
    serve.add_argument("--standby", action="store_true",
                       help="one of several controllers: lead only while holding the lease in Redis (CTI_STANDBY)")
    serve.set_defaults(func=_serve)
    front = sub.add_parser("front", help="a web front end: the pages' live sockets from the leader's frame stream "
                                         "(CTI_FRAME_STREAM on the controllers), the rest forwarded to the leader")
    front.add_argument("--host", help="listen address (default CTI_HTTP_HOST)")
    front.add_argument("--port", type=int, help="listen port (default CTI_HTTP_PORT)")
    front.set_defaults(func=_front)
    demo = sub.add_parser("demo", help="Asterisk + cti + simulated agents and callers, live")
    demo.add_argument("--minutes", type=float, default=0, help="stop after this long (0: until Ctrl-C)")
    demo.add_argument("--agents", type=int, default=6)
    demo.add_argument("--rate", type=float, default=0.4, help="new callers per second")
    demo.add_argument("--log-file", default="var/cti-demo.log",
                      help="where the request log and the server's log go (the console shows neither)")
    demo.set_defaults(func=_demo)
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])
    db.set_defaults(func=_db_upgrade)
    add_crm_commands(sub, lambda: _settings().database_url)
    add_dead_letter_commands(sub, lambda: _settings().database_url)
    add_user_commands(sub, _settings)
    add_partner_commands(sub, _settings)
    add_privacy_commands(sub, _settings)
    add_speech_commands(sub)
    ast = sub.add_parser("asterisk", help="the Asterisk root: build, install config, start, stop")
    ast.add_argument("action", choices=["build", "install", "start", "stop", "status", "cli"])
    ast.add_argument("command", nargs="*", help="for 'cli': the Asterisk CLI command")
    ast.set_defaults(func=_asterisk)
    add_cluster_commands(sub)
    _add_wfm(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations are quiet unless they fail
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
