"""Chats' transcripts: every message of a chat, stored with its interaction when the chat ended."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti.chat import ChatMessage, Link, Sender

from ._database import Database
from ._labels import redact_labels
from ._tables import ChatMessageRow

__all__ = ["ChatTranscriptRepository", "redact_chats"]


async def redact_chats(session: AsyncSession, call_ids: Collection[str]) -> None:
    """What was said in these chats goes (erasure, retention): the texts, links and the customer's name, and the
    copies of the customer's questions in supervisors' labels; who said what when, the system messages' codes and
    the labels themselves stay for the record."""
    if not call_ids:
        return
    chosen = ChatMessageRow.call_id.in_(list(call_ids))
    await session.execute(update(ChatMessageRow).where(chosen).values(text=None, links=None, params=None))
    await session.execute(update(ChatMessageRow).where(chosen, ChatMessageRow.sender == "customer")
                          .values(author_name=""))
    await redact_labels(session, call_ids)


class ChatTranscriptRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, call_id: str, messages: Sequence[ChatMessage]) -> None:
        """The chat's whole transcript, replacing any stored before (a save repeated after a restart changes
        nothing)."""
        async with self._db.transaction(f"save the transcript of chat {call_id!r}") as session:
            await session.execute(delete(ChatMessageRow).where(ChatMessageRow.call_id == call_id))
            session.add_all(ChatMessageRow(
                call_id=call_id, seq=seq, message_id=m.message_id, sender=m.sender.value, author=m.author,
                author_name=m.author_name, text=m.text, links=[link.as_json() for link in m.links] or None,
                code=m.code, params=dict(m.params) or None, at=m.at) for seq, m in enumerate(messages, 1))

    async def transcript(self, call_id: str) -> list[ChatMessage]:
        """The chat's messages in order; empty for a chat with none stored (or a call)."""
        async with self._db.transaction(f"read the transcript of chat {call_id!r}") as session:
            rows = (await session.scalars(select(ChatMessageRow).where(ChatMessageRow.call_id == call_id)
                                          .order_by(ChatMessageRow.seq))).all()
        return [ChatMessage(row.message_id, Sender(row.sender), row.text or "", row.at, row.author, row.author_name,
                            tuple(Link(link["url"], link.get("title", "")) for link in row.links or ()), row.code,
                            dict(row.params or {})) for row in rows]
