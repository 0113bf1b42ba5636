"""Live chats in Redis: each chat's session and its messages, kept while the chat lives.

Keys (``<p>`` is the configured prefix)::

    <p>:chat:<chat_id>           JSON of the chat's session        <p>:chats  set of live chat ids
    <p>:chat:<chat_id>:messages  a stream: one entry per message, its id the message's id

A message is kept (``XADD``) before anyone is told of it, so a restarted cti or a page that reconnects finds every
message said: a page resumes after the last id it saw (``XRANGE`` from that id, exclusive). When the chat ended and
its transcript is in the database, both keys are deleted.

Unlike the live calls (which Asterisk can tell again), nothing else knows what was said in a chat: a message
Redis does not take is refused (:class:`~cti.live.LiveStoreError`, an ``Unavailable``), not kept in memory.

Messages said at about the same time, in any chats, go to Redis together: one pipeline of ``XADD`` s (no
transaction: each is kept or refused alone) in one round trip, on one connection, while the next ones gather
(:meth:`ChatStreams.append`). Each is still answered only once Redis has it. One connection and one round trip
per batch instead of per message: at 1,000 chats the connections ran out and the event loop spent its time
taking and giving them back (bench/chat.py).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from cti.chat import ChatMessage, ChatSession, Link, NewMessage, Sender
from cti.live._store import LiveStoreError
from cti.redis_client import redis_client
from cti.tasks import stop_task

__all__ = ["ChatStreams"]

_MAX_READ = 1000
_MAX_BATCH = 500
"""Appends in one pipeline at most: after a stall, what piled up goes in round trips of bounded size."""
_CONNECTIONS = 50
"""Connections to Redis at most: requests beyond wait for one (up to :data:`_POOL_WAIT`) rather than fail. The
client's own pool refuses outright past its limit (100 in redis-py 8): 1,000 chats saying something at once got
503s (bench/chat.py)."""
_POOL_WAIT = 10.0
"""How long a request waits for a free connection. Longer than the socket timeout (2 s, which is what tells that
Redis is gone): connections are busy for that long only when this process's event loop is, and a 2 s wait turned
a stall of the loop on a busy machine into refused chats and closed sockets (`No connection available`,
bench/chat.py). Were Redis gone, every held connection fails within the socket timeout and the waiters with it."""


class ChatStreams:
    def __init__(self, url: str, prefix: str) -> None:
        self._redis: aioredis.Redis = redis_client(url, socket_timeout=2.0, health_check_interval=10,
                                                   decode_responses=True, max_connections=_CONNECTIONS,
                                                   pool_wait=_POOL_WAIT)
        self._p = prefix
        self._batch: list[tuple[str, str, asyncio.Future[str]]] = []  # (key, JSON, its sender's answer)
        self._writer: asyncio.Task[None] | None = None

    def _key(self, *parts: str) -> str:
        return ":".join((self._p, *parts))

    async def close(self) -> None:
        if self._writer is not None:
            await stop_task(self._writer)
        for _key, _payload, answer in self._batch:
            if not answer.done():
                answer.set_exception(LiveStoreError("the chat store is closing"))
        self._batch.clear()
        await self._redis.aclose()

    async def save_session(self, session: ChatSession) -> None:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(self._key("chat", session.chat_id), json.dumps(_session_json(session)))
                pipe.sadd(self._key("chats"), session.chat_id)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot keep chat {session.chat_id}: {exc}") from exc

    async def sessions(self) -> list[ChatSession]:
        """Every chat a previous process left (live, or ended with its transcript not yet stored)."""
        try:
            ids = sorted(map(str, await self._redis.smembers(self._key("chats"))))
            raw = await self._redis.mget([self._key("chat", i) for i in ids]) if ids else []
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot load the live chats: {exc}") from exc
        return [_session(json.loads(r)) for r in raw if r is not None]

    async def append(self, chat_id: str, message: NewMessage) -> ChatMessage:
        """Keep the message at the end of the chat's stream: its id once Redis has it; :class:`LiveStoreError`
        if Redis refused it or could not be reached. Appends of one chat are kept in the order they were asked
        for (a batch's commands run in order, and a batch is sent only after the one before was answered)."""
        answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._batch.append((self._key("chat", chat_id, "messages"), json.dumps(_message_json(message)), answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write(), name="cti-chat-appends")
        try:
            message_id = await answer
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot keep a message of chat {chat_id}: {exc}") from exc
        return ChatMessage.kept(message_id, message)

    async def _write(self) -> None:
        """Send what has gathered, one pipeline per round trip, until nothing is waiting."""
        while self._batch:
            batch, self._batch = self._batch[:_MAX_BATCH], self._batch[_MAX_BATCH:]
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, payload, _answer in batch:
                        pipe.xadd(key, {"m": payload})
                    results = await pipe.execute(raise_on_error=False)
            except Exception as exc:  # every sender is answered, whatever went wrong
                results = [exc] * len(batch)
            except asyncio.CancelledError:
                for _key, _payload, answer in batch:
                    answer.cancel()
                raise
            for (_key, _payload, answer), result in zip(batch, results, strict=True):
                if answer.done():  # its sender stopped waiting; what Redis did with it stands
                    continue
                if isinstance(result, BaseException):
                    answer.set_exception(result)
                else:
                    answer.set_result(str(result))

    async def after(self, chat_id: str, after: str | None = None, *, limit: int = _MAX_READ) -> list[ChatMessage]:
        """The chat's messages after ``after`` (exclusive; all of them without it), oldest first."""
        try:
            entries = await self._redis.xrange(self._key("chat", chat_id, "messages"),
                                               min="-" if after is None else f"({after}", count=limit)
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot read the messages of chat {chat_id}: {exc}") from exc
        return [ChatMessage.kept(str(entry_id), _new_message(json.loads(str(fields["m"]))))
                for entry_id, fields in entries or () if fields]

    async def drop(self, chat_id: str) -> None:
        """The chat is over and stored elsewhere: its session and messages go."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._key("chat", chat_id), self._key("chat", chat_id, "messages"))
                pipe.srem(self._key("chats"), chat_id)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise LiveStoreError(f"cannot delete chat {chat_id}: {exc}") from exc


def _session_json(session: ChatSession) -> dict[str, Any]:
    return {"v": 1, "chat_id": session.chat_id, "name": session.name, "language": session.language,
            "started_at": session.started_at.isoformat(), "service": session.service,
            "customer_id": session.customer_id, "secret_hash": session.secret_hash, "topic": session.topic,
            "ended_at": session.ended_at.isoformat() if session.ended_at else None, "bot": session.bot}


def _session(data: dict[str, Any]) -> ChatSession:
    ended = data.get("ended_at")
    return ChatSession(chat_id=data["chat_id"], name=data["name"], language="en" if data["language"] == "en" else "id",
                       started_at=datetime.fromisoformat(data["started_at"]), service=data.get("service", "chat"),
                       customer_id=data.get("customer_id"), secret_hash=data.get("secret_hash", ""),
                       topic=data.get("topic"), ended_at=datetime.fromisoformat(ended) if ended else None,
                       bot=data.get("bot") if isinstance(data.get("bot"), dict) else None)


def _message_json(message: NewMessage) -> dict[str, Any]:
    return {"sender": message.sender.value, "text": message.text, "at": message.at.isoformat(),
            "author": message.author, "author_name": message.author_name,
            "links": [link.as_json() for link in message.links], "code": message.code, "params": message.params}


def _new_message(data: dict[str, Any]) -> NewMessage:
    return NewMessage(sender=Sender(data["sender"]), text=data["text"], at=datetime.fromisoformat(data["at"]),
                      author=data.get("author", ""), author_name=data.get("author_name", ""),
                      links=tuple(Link(link["url"], link.get("title", "")) for link in data.get("links", ())),
                      code=data.get("code", ""), params={str(k): str(v) for k, v in data.get("params", {}).items()})
