"""Websocket fan-out benchmark (issue 21, docs/benchmarks.md, *Cheaper fan-out*): one :class:`cti.web.Hub` in
this process, N real websocket pages on loopback in client processes, one topic published at a steady rate; the
hub's batched writes (cti/web/_sockets.py: every frame queued when a socket's task wakes, in one write) against
the one-send-per-frame fan-out it replaced, in the same run. No Asterisk, no Redis.

Run from the repository root inside the venv::

    python bench/fanout.py                 # 500 and 2,000 pages, each variant, two publishing patterns
    python bench/fanout.py --quick         # 200 pages, 3 s a phase

Variants (each phase connects its pages afresh, so the server's socket code is the variant's throughout):

* ``one_send_per_frame``: the fan-out as it was before: an ``asyncio.Queue`` per socket and one
  ``WebSocketResponse.send_frame`` per frame (one ``transport.write``, one ``send`` system call, one task wake-up).
* ``batched``: the hub as it is.
* ``batched_1``: the hub as it is with a batch of at most one frame (what the new queue and the frames' bytes built
  once give without the batching).

Patterns: ``steady`` publishes one frame at a time, evenly spaced (a socket's task mostly finds one frame when it
wakes: batching can only help once the loop falls behind); ``bursts`` publishes ``--burst`` frames back to back
every ``burst / rate`` seconds (what a front end does when one read of the leader's stream brings several frames,
and what the dashboard's feed does when a cycle has a ``live`` and a ``stats`` frame for a topic).

Frames are ``live``-like: ``--size`` bytes of JSON text, stamped with the publisher's ``time.monotonic()`` (the
same clock in every process on Linux). Reported per phase: the server process's CPU seconds (user + system, from
``getrusage``, from the first frame published until every socket's queue is empty) per 1,000 frames delivered
(frames x pages), the pages' latency p50/p99 from the stamp to the client reading the message, and frames missing
or out of order (none expected). Run it niced on a shared machine; the ratios are what to read. Progress goes to
stderr; one JSON object is the last line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `python bench/fanout.py` puts bench/, not the repository, on sys.path
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
from aiohttp import WSMsgType, web  # noqa: E402

from cti.web import RawJson  # noqa: E402
from cti.web import _sockets as sockets  # noqa: E402

VARIANTS = ("one_send_per_frame", "batched", "batched_1")
TOPIC = "dashboard"


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (bench/_harness.py's, without importing what it brings)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


class OneSendPerFrame(sockets._Subscriber):
    """The socket's queue and task as they were before the batching (one ``send_frame`` per frame)."""

    __slots__ = ("queue",)

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.queue: asyncio.Queue[sockets.Frame] = asyncio.Queue(sockets.SEND_QUEUE)

    def push(self, frame: sockets.Frame) -> bool:
        if frame.seq <= self.covered:
            return True
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False
        return True

    async def drain(self) -> None:
        while True:
            frame = await self.queue.get()
            wire = frame.wire
            # The payload without copying it: the old Frame kept the encoded text itself.
            payload = memoryview(wire)[2 if wire[1] < 126 else 4 if wire[1] == 126 else 10:]
            try:
                await self.ws.send_frame(payload, WSMsgType.TEXT)  # type: ignore[arg-type]
            except (ConnectionError, RuntimeError):
                return

    def pending(self) -> int:
        return self.queue.qsize()


def pending(subscriber: sockets._Subscriber) -> int:
    if isinstance(subscriber, OneSendPerFrame):
        return subscriber.pending()
    return len(subscriber.frames)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- client process ----------------------------------------------------------------------------------------------
async def client_main(url: str, pages: int, concurrency: int) -> None:
    received: list[tuple[int, float]] = []
    last: dict[int, int] = {}
    disorder = [0]
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))  # one connection a page
    sockets_: list[aiohttp.ClientWebSocketResponse] = []
    gate = asyncio.Semaphore(concurrency)

    async def connect() -> aiohttp.ClientWebSocketResponse:
        async with gate:
            ws = await session.ws_connect(url, max_msg_size=2**22, heartbeat=None)
            await ws.receive(timeout=60)  # the snapshot
            return ws

    async def read(index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        find = str.find
        while True:
            message = await ws.receive()
            if message.type is not WSMsgType.TEXT:
                return
            now = time.monotonic()
            text = message.data
            # Parsing the whole frame would make the clients the bottleneck: the seq and the stamp are at fixed
            # places ({"seq":N,"type":"live","data":{"t":T,...).
            seq = int(text[7:find(text, ",", 7)])
            start = find(text, '"t":') + 4
            received.append((seq, now - float(text[start:find(text, ",", start)])))
            if seq != last.get(index, seq - 1) + 1:
                disorder[0] += 1
            last[index] = seq

    sockets_ = list(await asyncio.gather(*(connect() for _ in range(pages))))
    readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets_)]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    line = (await reader.readline()).split()  # stop FIRST LAST: the measured frames' numbers
    first, last_seq = int(line[1]), int(line[2])
    latencies = [latency for seq, latency in received if first <= seq <= last_seq]
    expected = pages * (last_seq - first + 1)
    for task in readers:
        task.cancel()
    print(json.dumps({"received": len(latencies), "missing": expected - len(latencies), "disorder": disorder[0],
                      "latencies": latencies}), flush=True)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.gather(*(ws.close() for ws in sockets_), return_exceptions=True), 10)
    await session.close()


# -- server ------------------------------------------------------------------------------------------------------
async def phase(args: argparse.Namespace, variant: str, pages: int, pattern: str, rate: float) -> dict[str, Any]:
    hub = sockets.Hub()
    saved = sockets._Subscriber, sockets.BATCH_FRAMES
    if variant == "one_send_per_frame":
        sockets._Subscriber = OneSendPerFrame  # type: ignore[misc, assignment]
    elif variant == "batched_1":
        sockets.BATCH_FRAMES = 1  # type: ignore[misc]

    async def snapshot() -> RawJson:
        return RawJson("{}")

    async def handler(request: web.Request) -> web.StreamResponse:
        return await hub.serve(request, TOPIC, snapshot)

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = runner.addresses[0][1]
    per = [pages // args.client_processes + (1 if i < pages % args.client_processes else 0)
           for i in range(args.client_processes)]
    clients = [await asyncio.create_subprocess_exec(
        "nice", "-n", str(args.client_nice), sys.executable, __file__, "--client", f"http://127.0.0.1:{port}/ws",
        "--pages", str(n), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=2**30)
        for n in per if n]
    try:
        for client in clients:
            assert client.stdout is not None
            line = await asyncio.wait_for(client.stdout.readline(), 300)
            assert line.strip() == b"ready", line
        pad = "x" * max(0, args.size - 60)
        burst = 1 if pattern == "steady" else args.burst
        interval = burst / rate

        async def publish(seconds: float) -> tuple[int, int]:
            first = hub.topic(TOPIC).seq + 1
            start = time.monotonic()
            ticks = int(seconds / interval)
            for tick in range(ticks):
                delay = start + tick * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                for _ in range(burst):
                    hub.publish_json(TOPIC, "live", f'{{"t":{time.monotonic():.6f},"pad":"{pad}"}}')
            return first, hub.topic(TOPIC).seq

        await publish(args.warmup)
        await asyncio.sleep(0.5)
        cpu0, t0 = cpu(), time.monotonic()
        first, last = await publish(args.seconds)
        published_for = time.monotonic() - t0
        subscribers = hub.topic(TOPIC).subscribers
        for _ in range(3000):  # at most 30 s
            if not any(pending(s) for s in subscribers):
                break
            await asyncio.sleep(0.01)
        cpu1, t1 = cpu(), time.monotonic()
        pages_open = len(subscribers)
        results = []
        for client in clients:
            assert client.stdin is not None and client.stdout is not None
            client.stdin.write(f"stop {first} {last}\n".encode())
            await client.stdin.drain()
            results.append(json.loads(await asyncio.wait_for(client.stdout.readline(), 120)))
        latencies = [latency for r in results for latency in r["latencies"]]
        delivered = sum(r["received"] for r in results)
        frames = last - first + 1
        return {
            "variant": variant, "pages": pages, "pattern": pattern, "rate": rate, "burst": burst,
            "frames": frames, "delivered": delivered,
            "missing": sum(r["missing"] for r in results), "out_of_order": sum(r["disorder"] for r in results),
            "pages_open": pages_open,
            "server_cpu_s": round(cpu1 - cpu0, 3),
            "server_cpu_s_per_1000_delivered": round((cpu1 - cpu0) / max(1, delivered) * 1000, 5),
            "server_cores": round((cpu1 - cpu0) / (t1 - t0), 3),
            "published_for_s": round(published_for, 2), "drained_after_s": round(t1 - t0 - published_for, 3),
            "latency_ms": {"p50": _ms(percentile(latencies, 50)), "p99": _ms(percentile(latencies, 99)),
                           "max": _ms(max(latencies) if latencies else None)},
        }
    finally:
        sockets._Subscriber, sockets.BATCH_FRAMES = saved  # type: ignore[misc]
        for client in clients:
            if client.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    client.stdin.close()  # type: ignore[union-attr]
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(client.wait(), 20)
                if client.returncode is None:
                    client.kill()
                    await client.wait()
        await hub.close()
        await runner.cleanup()


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    phases = []
    page_counts = [int(n) for n in args.pages.split(",")]
    rates = [float(r) for r in args.rates.split(",")]
    for pages, rate in zip(page_counts, rates, strict=True):
        for pattern in args.patterns.split(","):
            for variant in args.variants.split(","):
                print(f"{variant} {pages} pages {pattern} {rate}/s ...", file=sys.stderr, flush=True)
                result = await phase(args, variant, pages, pattern, rate)
                print(json.dumps(result), file=sys.stderr, flush=True)
                phases.append(result)
    compared = []
    for pages in page_counts:
        for pattern in args.patterns.split(","):
            by = {p["variant"]: p for p in phases if p["pages"] == pages and p["pattern"] == pattern}
            base = by.get("one_send_per_frame")
            if base is None:
                continue
            for variant, p in by.items():
                if variant != "one_send_per_frame":
                    compared.append({
                        "pages": pages, "pattern": pattern, "variant": variant,
                        "cpu_per_1000_ratio": round(p["server_cpu_s_per_1000_delivered"]
                                                    / base["server_cpu_s_per_1000_delivered"], 3)})
    return {"benchmark": "fanout", "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "size": args.size, "seconds": args.seconds, "client_processes": args.client_processes,
            "cpus": os.cpu_count(), "phases": phases, "against_one_send_per_frame": compared}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--pages", default="500,2000", help="pages per phase set, comma-separated")
    parser.add_argument("--rates", default="20,5", help="frames/s published, one per --pages entry")
    parser.add_argument("--patterns", default="steady,bursts")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--burst", type=int, default=4, help="frames back to back in the bursts pattern")
    parser.add_argument("--size", type=int, default=1000, help="bytes of JSON text a frame")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured publishing a phase")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--client-nice", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="200 pages at 20 frames/s, 3 s a phase")
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard != resource.RLIM_INFINITY:  # a socket a page, here and in each client process
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.client:
        asyncio.run(client_main(args.client, int(args.pages), 100))
        return 0
    if args.quick:
        args.pages, args.rates, args.seconds, args.warmup = "200", "20", 3.0, 1.0
    print(json.dumps(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
