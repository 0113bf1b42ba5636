"""What the end-to-end benchmarks (callpath, screenpop, dashboard) share: percentiles, CPU accounting from
/proc, and a Redis to run cti against. Their own set-ups differ (what cti runs, who calls, what is timed),
so only these helpers live here."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from cti.asterisk import AsteriskRoot
from cti.bootstrap import create_app
from cti.settings import Settings, load_settings
from cti.sim import local_redis_url

__all__ = ["acquire_root", "bench_settings", "cancel_on_signals", "drop_redis_keys", "machine_busy", "percentile",
           "proc_cpu", "redis_url", "run_and_print", "serve_cti", "stop_process_group", "summary_ms"]

CLK_TCK = os.sysconf("SC_CLK_TCK")


def run_and_print(args: argparse.Namespace,
                  run: Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]]) -> int:
    """A benchmark's main: cti's own log on stderr (INFO with ``--verbose``), the run's result as one JSON line on
    stdout, for a script or a person to compare."""
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(json.dumps(asyncio.run(run(args)), default=str))
    return 0


def cancel_on_signals() -> None:
    """SIGTERM and SIGHUP cancel the running task, as Ctrl-C does, so that its clean-up stops what it started (a
    cluster's processes outlive a benchmark killed without it)."""
    main = asyncio.current_task()
    assert main is not None
    for signum in (signal.SIGTERM, signal.SIGHUP):
        asyncio.get_running_loop().add_signal_handler(signum, main.cancel)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def summary_ms(values: list[float], digits: int = 1) -> dict[str, Any]:
    """n, p50/p90/p99/max/mean in milliseconds of values in seconds."""
    ms = [v * 1000 for v in values]

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, digits)

    return {"n": len(ms), "p50": r(percentile(ms, 50)), "p90": r(percentile(ms, 90)),
            "p99": r(percentile(ms, 99)), "max": r(max(ms) if ms else None),
            "mean": r(sum(ms) / len(ms) if ms else None)}


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy() -> float:
    """CPU seconds the whole machine spent busy since boot (all cores)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / CLK_TCK


def redis_url(*, private: bool = False) -> tuple[str, subprocess.Popen[bytes] | None]:
    """The machine's Redis on 6379 (with setup's password if it has one), or a private throwaway one (the
    caller stops it); ``private``: the throwaway one in any case (its CPU is then the run's own)."""
    def is_open(port: int) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    machine = None if private else local_redis_url(6379)
    if machine is not None:
        return machine, None
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("no Redis on 127.0.0.1:6379 and redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while not is_open(port):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("could not start a private redis-server")
        time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0", proc


async def drop_redis_keys(url: str, prefix: str) -> None:
    """Remove a run's keys (its own prefix) from a shared Redis."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def stop_process_group(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """SIGTERM a process started with ``start_new_session=True`` and its children, SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


async def serve_cti(settings: Settings) -> tuple[web.AppRunner, str, ClientSession]:
    """cti in this process on a free port: its runner, base URL, and an HTTP session with the admin token."""
    runner = web.AppRunner(create_app(settings, connect_timeout=15), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    http = ClientSession(headers={"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"})
    return runner, f"http://{host}:{port}", http


def bench_settings(redis: str, workdir: Path, asterisk_root: Path, **overrides: Any) -> Settings:
    """cti's settings for one run: fresh credentials, its own Redis prefix and SQLite file in ``workdir``,
    the shared Asterisk root, any free HTTP port; ``overrides`` for the rest (``sim_agents``, rules...)."""
    return load_settings(
        ari_password=secrets.token_urlsafe(16),
        admin_token=secrets.token_urlsafe(24),
        redis_url=redis,
        redis_prefix=f"cti-bench-{secrets.token_hex(4)}",
        database_url=f"sqlite+aiosqlite:///{workdir}/cti.db",
        sip_bind="127.0.0.1:5060",
        asterisk_root=asterisk_root,
        http_port=0,
        **overrides,
    )


def start_asterisk(root: AsteriskRoot, settings: Settings) -> None:
    """As the e2e session does (tests/conftest.py): a stale Asterisk has other credentials, so it goes first."""
    if root.pid() is not None:
        root.stop()
        root.acquire()
    root.install_config(settings)
    root.start(settings)


async def acquire_root(settings: Settings, say: Callable[[str], None]) -> tuple[AsteriskRoot, float]:
    """The shared Asterisk root, once this run has it to itself (tests and other benchmarks queue for it),
    and the seconds spent waiting."""
    root = AsteriskRoot(settings.asterisk_root)
    if not root.built:
        raise SystemExit(f"no Asterisk root at {root.path}: build it first (`cti asterisk build`)")
    say("waiting for exclusive use of the Asterisk root (tests may hold it)")
    waited = time.monotonic()
    await asyncio.to_thread(root.acquire)
    return root, time.monotonic() - waited
