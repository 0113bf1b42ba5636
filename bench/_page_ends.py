"""Why the benchmark's dashboards ended: a page the server closed, a connection lost, a connect that failed.

A client process of ``bench/dashboard.py`` holds a thousand pages; when some end, the run needs to say how (issue 21:
5,000 dashboards gave no answer and 2,300 pages had ended, nobody knew why). Each end is kept as a :class:`PageEnd`
with a short *reason* (what is counted: the close code, the HTTP status of a refused handshake, the exception's
class) and a *detail* (the close frame's reason, the exception's message), and summed up by :func:`summarise`
(counts by reason, the first few examples of each) and, across the client processes, by :func:`merge`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["EXAMPLES", "PageEnd", "connect_failure", "merge", "socket_end", "summarise"]

EXAMPLES = 3
"""Examples kept per reason (the earliest): enough to read the messages, not a log of thousands."""


@dataclass(frozen=True, slots=True)
class PageEnd:
    idx: int
    reason: str
    detail: str
    at: float
    """Wall clock (``time.time()``): the client processes' logs and the cluster's access logs are read by it."""
    connected: bool
    """The page had had its snapshot (False: it ended, or failed, while connecting)."""
    where: str = ""
    """The URL the page connected to (a front end, or haproxy)."""

    def example(self) -> dict[str, Any]:
        return {"idx": self.idx, "at": stamp(self.at), "while": "connected" if self.connected else "connecting",
                "where": self.where, "detail": self.detail}


def stamp(at: float) -> str:
    """UTC, to the millisecond: what the front ends' logs are compared with."""
    return time.strftime("%H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}"


def socket_end(closed_by_server: bool, code: int | None, message: str, exc: BaseException | None) -> tuple[str, str]:
    """(reason, detail) of an open page's socket that ended: with the server's close frame (its code; the frame's
    reason is the detail), or without one (the connection lost: aiohttp says 1006, and the exception it met, e.g. the
    pong a client sends to a server that has already dropped it for not answering its ping in time)."""
    if closed_by_server:
        return f"closed by the server, code {code}", message
    cause = f" {type(exc).__name__}" if exc is not None else ""
    return f"connection lost, code {code}{cause}", str(exc) if exc is not None else message


def connect_failure(exc: BaseException) -> tuple[str, str]:
    """(reason, detail) of a page that never had its snapshot: a refused handshake by its HTTP status, else the
    exception's class (a timeout, a refused or reset connection, too many open files...)."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and type(exc).__name__ == "WSServerHandshakeError":
        return f"handshake refused, HTTP {status}", str(getattr(exc, "message", "")) or str(exc)
    return f"connect failed, {type(exc).__name__}", str(exc)


def summarise(ends: Iterable[PageEnd], examples: int = EXAMPLES) -> dict[str, Any]:
    """Counts by reason (most first), how many ended while connecting, the earliest and latest, and the first
    ``examples`` of each reason."""
    ordered = sorted(ends, key=lambda end: end.at)
    counts = Counter(end.reason for end in ordered)
    shown: dict[str, list[dict[str, Any]]] = {}
    for end in ordered:
        mine = shown.setdefault(end.reason, [])
        if len(mine) < examples:
            mine.append(end.example())
    return {"pages": len(ordered), "while_connecting": sum(1 for end in ordered if not end.connected),
            "first_at": stamp(ordered[0].at) if ordered else None,
            "last_at": stamp(ordered[-1].at) if ordered else None,
            "by_reason": dict(counts.most_common()),
            "examples": {reason: shown[reason] for reason, _ in counts.most_common()}}


def merge(summaries: Iterable[dict[str, Any]], examples: int = EXAMPLES) -> dict[str, Any]:
    """Several processes' :func:`summarise` as one (the examples: the earliest of all, by their time of day)."""
    counts: Counter[str] = Counter()
    shown: dict[str, list[dict[str, Any]]] = {}
    pages = connecting = 0
    firsts, lasts = [], []
    for summary in summaries:
        pages += summary["pages"]
        connecting += summary["while_connecting"]
        counts.update(summary["by_reason"])
        firsts += [summary["first_at"]] if summary["first_at"] else []
        lasts += [summary["last_at"]] if summary["last_at"] else []
        for reason, found in summary["examples"].items():
            shown.setdefault(reason, []).extend(found)
    return {"pages": pages, "while_connecting": connecting, "first_at": min(firsts, default=None),
            "last_at": max(lasts, default=None), "by_reason": dict(counts.most_common()),
            "examples": {reason: sorted(shown[reason], key=lambda e: e["at"])[:examples]
                         for reason, _ in counts.most_common()}}
