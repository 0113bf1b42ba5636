"""Waiting for channels cti made to enter Stasis.

Asterisk answers some requests before the channel they make is in Stasis: a snoop enters on a thread of its own
(snoop_stasis_thread), an externalMedia channel through an originate. A bridge refuses such a channel until then
(422 "Channel not in Stasis application"): the IVR's audio tap left callers unheard, and a supervisor's monitor hung
up as the phone answered. So whoever bridges one waits for its StasisStart; the waiter is made before the request,
as the event may beat the response.
"""

from __future__ import annotations

import asyncio

from cti.ari import AriError

__all__ = ["StasisEntries"]


class StasisEntries:
    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[None]] = {}

    def expect(self, channel_id: str) -> asyncio.Future[None]:
        """A waiter for ``channel_id``'s StasisStart; :meth:`forget` it once done with."""
        waiter = self._waiting[channel_id] = asyncio.get_running_loop().create_future()
        return waiter

    def release(self, channel_id: str) -> bool:
        """The channel entered (or is waited for no more): its waiter goes on. True if one was waiting."""
        waiter = self._waiting.pop(channel_id, None)
        if waiter is None or waiter.done():
            return False
        waiter.set_result(None)
        return True

    def gone(self, channel_id: str, why: str) -> None:
        """The channel will never enter: its waiter fails with an :class:`AriError` saying ``why``."""
        waiter = self._waiting.pop(channel_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_exception(AriError(f"{channel_id} {why} before entering Stasis"))

    def forget(self, channel_id: str) -> None:
        self._waiting.pop(channel_id, None)
