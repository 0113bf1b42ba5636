"""Webhook delivery benchmark: call events at a steady rate through cti's webhooks (a real distributor's changes,
the Redis outbox, signed POSTs) to a healthy receiver, against a bare aiohttp POST loop to the same receiver in the
same run. No Asterisk: the calls are driven through the distributor directly.

Run from the repository root inside the venv::

    python bench/webhooks.py            # 100 call events/s for 30 s, each way (about 1.5 minutes)
    python bench/webhooks.py --quick    # 100 events/s for 5 s

* **cti**: a ``Webhooks`` as the server builds it (subscriptions in a temporary SQLite database, the outbox in
  Redis under a prefix of the run's own, ``HttpWebhookSender``), one subscription to ``call.*``; the events come
  from a ``Distributor`` whose handler table has the webhooks, as in the server: calls arrive, are offered to one
  of 50 agents, answered, and end, so each call makes three events (offered, answered, ended) and ``--rate``
  events/s is ``--rate / 3`` calls/s.
* **baseline**: the same number of events at the same rate, each POSTed with aiohttp at once as it is made (one
  task per event: no outbox, no order, no signature, no retry), to the same receiver.

Latency is from the event's ``occurred_at`` (the wall clock when the change happened) to the receiver reading the
request, both in this process. Reported per way: events sent and received, p50/p90/p99/max, and CPU seconds of
the process; and whether cti met the target (every event received, p99 < 1 s at ``--rate`` >= 100). Progress goes
to stderr; one JSON object is the last line of stdout. See docs/benchmarks.md, "Webhooks".
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/webhooks.py` puts bench/, not the repository, on sys.path
    sys.path.insert(0, str(REPO))

from aiohttp import ClientSession, ClientTimeout, web  # noqa: E402

from bench._harness import drop_redis_keys, proc_cpu, redis_url, run_and_print, summary_ms  # noqa: E402
from cti.acd import AgentChanged, Channel, Connect, ContactCenter, Hangup, Offer, WorkChanged, WorkItem  # noqa: E402
from cti.live import WebhookOutbox  # noqa: E402
from cti.messaging import HttpWebhookSender  # noqa: E402
from cti.persistence import AuditRepository, Database, DeadLetterRepository, WebhookRepository  # noqa: E402
from cti.records import UserRecord  # noqa: E402
from cti.services import AuditTrail, CommandBus, Distributor, Handler, HandlerKey, Webhooks  # noqa: E402

TARGET_P99_SECONDS = 1.0
AGENTS = 50


class Receiver:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.ids: set[str] = set()
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.expected = 0
        self.done = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        event = json.loads(await request.read())
        self.latencies.append(time.time() - datetime.fromisoformat(event["occurred_at"]).timestamp())
        self.ids.add(event["id"])
        if self.expected and len(self.ids) >= self.expected:
            self.done.set()
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    def reset(self) -> None:
        self.latencies, self.ids, self.expected = [], set(), 0


async def _settle(receiver: Receiver, expected: int, timeout: float) -> None:
    """Until ``expected`` events arrived, or ``timeout`` passed."""
    receiver.expected = expected
    if len(receiver.ids) < expected:
        receiver.done.clear()
        try:
            await asyncio.wait_for(receiver.done.wait(), timeout)
        except TimeoutError:
            pass


async def _cti(args: argparse.Namespace, receiver: Receiver, url: str, prefix: str, db: Database) -> dict[str, Any]:
    outbox, sender = WebhookOutbox(url, prefix), HttpWebhookSender(timeout=5.0, allow_private=True)
    hooks = Webhooks(WebhookRepository(db), outbox, sender, DeadLetterRepository(db),
                     AuditTrail(AuditRepository(db), lambda: datetime.now(UTC)), clock=lambda: datetime.now(UTC))
    await hooks.start()
    admin = UserRecord(user_id=1, name="admin", role="admin", agent_id=None, disabled=False)
    await hooks.create(admin, f"http://127.0.0.1:{receiver.port}/hooks", ["call.*"], source="bench")
    voice: dict[HandlerKey, list[Handler]] = {(kind, Channel.VOICE): [_carried_out]  # no telephony here
                                              for kind in (Offer, Connect, Hangup)}
    distributor = Distributor(ContactCenter(), lambda: datetime.now(UTC), CommandBus(
        {**voice, WorkChanged: [hooks.work_changed], AgentChanged: [hooks.agent_changed]}))
    for n in range(AGENTS):
        distributor.register_agent(f"a{n}", f"Agent {n}")
        distributor.login(f"a{n}", f"7{n:03d}", ready=True)
    receiver.reset()
    gc.freeze()  # as the server does once started (cti.bootstrap): what was loaded stays out of full collections
    calls = int(args.rate * args.seconds / 3)
    interval = 3 / args.rate
    cpu0, start = proc_cpu_self(), time.monotonic()
    live: list[str] = []
    for n in range(calls):
        call_id = f"b{n}"
        distributor.arrive(WorkItem(call_id=call_id, channel_id=f"leg-{call_id}", caller_number="0215550101",
                                    service_number="1500100", queue="", arrived_at=datetime.now(UTC)))
        distributor.offer_answered(f"{call_id}-a1")
        live.append(call_id)
        if len(live) > AGENTS // 2:  # calls last about AGENTS/2 arrivals: agents are free again for the next ones
            distributor.leg_gone(f"leg-{live.pop(0)}")
        await asyncio.sleep(max(0.0, start + (n + 1) * interval - time.monotonic()))
    for call_id in live:
        distributor.leg_gone(f"leg-{call_id}")
    sent = hooks.emitted
    await _settle(receiver, sent, timeout=30)
    cpu = proc_cpu_self() - cpu0
    await hooks.close()
    await outbox.close()
    await sender.close()
    return {"sent": sent, "received": len(receiver.ids), "latency_ms": summary_ms(receiver.latencies),
            "cpu_seconds": round(cpu, 2), "seconds": round(time.monotonic() - start, 1)}


async def _baseline(args: argparse.Namespace, receiver: Receiver) -> dict[str, Any]:
    receiver.reset()
    events = int(args.rate * args.seconds / 3) * 3
    interval = 1 / args.rate
    tasks: set[asyncio.Task[None]] = set()
    async with ClientSession(timeout=ClientTimeout(total=5)) as http:
        async def post(body: bytes) -> None:
            async with http.post(f"http://127.0.0.1:{receiver.port}/hooks", data=body) as response:
                await response.read()

        cpu0, start = proc_cpu_self(), time.monotonic()
        for n in range(events):
            body = json.dumps({"id": secrets.token_hex(16), "type": "call.answered", "subject": f"call:b{n // 3}",
                               "occurred_at": datetime.now(UTC).isoformat(), "data": {"n": n}}).encode()
            task = asyncio.create_task(post(body))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            await asyncio.sleep(max(0.0, start + (n + 1) * interval - time.monotonic()))
        await _settle(receiver, events, timeout=30)
        cpu = proc_cpu_self() - cpu0
    return {"sent": events, "received": len(receiver.ids), "latency_ms": summary_ms(receiver.latencies),
            "cpu_seconds": round(cpu, 2), "seconds": round(time.monotonic() - start, 1)}


def _carried_out(command: object, distributor: object) -> None:
    pass


def proc_cpu_self() -> float:
    import os

    return proc_cpu(os.getpid())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url, private = redis_url()
    prefix = f"cti-bench-webhooks-{secrets.token_hex(4)}"
    receiver = Receiver()
    await receiver.start()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await db.upgrade()
        try:
            print(f"cti: {args.rate} events/s for {args.seconds} s", file=sys.stderr)
            cti = await _cti(args, receiver, url, prefix, db)
            print(f"baseline: {args.rate} events/s for {args.seconds} s", file=sys.stderr)
            baseline = await _baseline(args, receiver)
        finally:
            await db.close()
            await receiver.stop()
            await drop_redis_keys(url, prefix)
            if private is not None:
                private.terminate()
    p99 = cti["latency_ms"]["p99"]
    return {"benchmark": "webhooks", "rate_events_per_second": args.rate, "seconds": args.seconds,
            "cti": cti, "baseline": baseline,
            "target": {"p99_ms_below": TARGET_P99_SECONDS * 1000,
                       "met": cti["received"] == cti["sent"] and p99 is not None and p99 < TARGET_P99_SECONDS * 1000
                       and args.rate >= 100}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="call events per second (default 100)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long each way runs (default 30)")
    parser.add_argument("--quick", action="store_true", help="5 s each way")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 5.0
    return run_and_print(args, run)


if __name__ == "__main__":
    raise SystemExit(main())
