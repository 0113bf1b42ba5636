"""The FAQ knowledge base: supervisors and admins write, publish and retire entries; anyone searches the
published ones and says whether an answer helped.

Search and feedback are public (customers read the FAQ before signing in), so both are throttled per client
address (:data:`SEARCHES_PER_MINUTE`, :data:`FEEDBACK_PER_MINUTE`) and hold no personal data: the addresses are
kept only in memory, as keyed hashes, for a minute (the throttle) or until the day ends (the votes). A client
counts once per entry per day (UTC): voting again that day answers ``counted: false``. The votes are forgotten on a
restart, which at worst lets one client vote twice that day; that is the price of storing no addresses.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from cti.errors import Conflict, InvalidInput, NotFound, Problem, TooMany
from cti.faq import (
    ENTRY_ID,
    FAQ_LANGUAGES,
    PRODUCT_LINES,
    FaqEntry,
    FaqHit,
    FaqIndex,
    FaqStatus,
    FaqText,
    FaqVersion,
    read_texts,
)
from cti.records import UserRecord
from cti.services._ports import FaqStore
from cti.types import Clock

__all__ = ["FAQ_QUERY_LENGTH", "FEEDBACK_PER_MINUTE", "MAX_FAQ_HITS", "SEARCHES_PER_MINUTE", "Faq", "FaqDraft"]

FAQ_QUERY_LENGTH: Final = 200
MAX_FAQ_HITS: Final = 20
SEARCHES_PER_MINUTE: Final = 60
"""A person types a few searches a minute (the portal may search as they type); a scraper needs the whole FAQ,
which the published list is anyway: the limit protects the server, not the content."""
FEEDBACK_PER_MINUTE: Final = 20
_WINDOW: Final = 60.0
_MAX_VOTERS: Final = 100_000
"""Votes remembered in a day before the oldest are forgotten (memory stays bounded under a flood)."""


@dataclass(frozen=True, slots=True)
class FaqDraft:
    """What a supervisor sends to create or edit an entry (texts as ``read_texts`` takes them)."""

    texts: Mapping[str, object]
    product_line: str | None = None


class _Throttle:
    def __init__(self, per_minute: int, what: str) -> None:
        self._per_minute = per_minute
        self._what = what
        self._recent: dict[str, deque[float]] = {}

    def check(self, client: str, now: float) -> None:
        recent = self._recent.setdefault(client, deque())
        while recent and recent[0] <= now - _WINDOW:
            recent.popleft()
        if len(recent) >= self._per_minute:
            wait = max(1, int(recent[0] + _WINDOW - now + 0.999))
            raise TooMany(f"too many {self._what} from this address; retry in {wait} s", wait)
        recent.append(now)
        for key in [k for k, q in self._recent.items() if not q or q[-1] <= now - _WINDOW]:
            del self._recent[key]


def _product_problems(product_line: str | None, field: str) -> list[Problem]:
    if product_line is None or product_line in PRODUCT_LINES:
        return []
    return [Problem(field, f"one of {', '.join(PRODUCT_LINES)}", code="unknown_product_line")]


class Faq:
    def __init__(self, store: FaqStore, *, clock: Clock,
                 questions: Mapping[str, Sequence[tuple[str, str]]] | None = None) -> None:
        """``questions``: customers' questions labelled with the entry that answers them (or
        :data:`cti.faq.NONE`), which the index's classifier learns from too (:class:`cti.faq.FaqIndex`)."""
        self._store = store
        self._questions = questions
        self._clock = clock
        self._index: FaqIndex | None = None
        self._changes = 0
        """Counts changes to the entries: an index built while one happened is not kept."""
        self._searches = _Throttle(SEARCHES_PER_MINUTE, "FAQ searches")
        self._feedback = _Throttle(FEEDBACK_PER_MINUTE, "FAQ votes")
        self._key = secrets.token_bytes(16)
        self._votes: dict[str, None] = {}
        """Today's votes (hashed client and entry), oldest first."""
        self._day: date | None = None

    # -- supervisors and admins ---------------------------------------------------------------------------------

    async def entries(self, *, status: FaqStatus | None = None, product_line: str | None = None,
                      lang: str | None = None) -> list[FaqEntry]:
        """Every entry, by id; of a status, a product line, or with a text in a language when given."""
        found = await self._store.entries(status=status, product_line=product_line)
        return [entry for entry in found if lang is None or lang in entry.texts]

    async def get(self, entry_id: str) -> FaqEntry:
        found = await self._store.get(entry_id)
        if found is None:
            raise NotFound(f"no FAQ entry {entry_id!r}", code="faq_not_found", params={"entry_id": entry_id})
        return found

    async def versions(self, entry_id: str) -> list[FaqVersion]:
        versions = await self._store.versions(entry_id)
        if not versions:
            raise NotFound(f"no FAQ entry {entry_id!r}", code="faq_not_found", params={"entry_id": entry_id})
        return versions

    async def create(self, actor: UserRecord, draft: FaqDraft, *, entry_id: str | None = None,
                     publish: bool = False) -> FaqEntry:
        """Version 1 of a new entry, a draft unless ``publish``; :class:`Conflict` if ``entry_id`` is taken."""
        problems = _product_problems(draft.product_line, "product_line")
        if entry_id is not None and not ENTRY_ID.fullmatch(entry_id):
            problems.append(Problem("entry_id", "1 to 64 lowercase letters, digits or '-'", code="pattern"))
        texts = self._texts(draft, problems)
        entry_id = entry_id or uuid.uuid4().hex[:12]
        if await self._store.get(entry_id) is not None:
            raise Conflict(f"there is already an FAQ entry {entry_id!r}", code="faq_exists",
                           params={"entry_id": entry_id})
        created = await self._store.create(entry_id, texts, product_line=draft.product_line, author=actor.name,
                                           status="published" if publish else "draft")
        self._changed()
        return created

    async def edit(self, actor: UserRecord, entry_id: str, draft: FaqDraft) -> FaqEntry:
        """The entry's next version, status unchanged (a published entry's search answers change at once)."""
        texts = self._texts(draft, _product_problems(draft.product_line, "product_line"))
        edited = await self._store.edit(entry_id, texts, product_line=draft.product_line, author=actor.name)
        if edited is None:
            raise NotFound(f"no FAQ entry {entry_id!r}", code="faq_not_found", params={"entry_id": entry_id})
        self._changed()
        return edited

    async def set_status(self, entry_id: str, status: FaqStatus) -> FaqEntry:
        """Publish (searchable), unpublish (back to draft) or archive an entry."""
        changed = await self._store.set_status(entry_id, status)
        if changed is None:
            raise NotFound(f"no FAQ entry {entry_id!r}", code="faq_not_found", params={"entry_id": entry_id})
        self._changed()
        return changed

    async def delete(self, entry_id: str) -> None:
        """The entry and all its versions, for good (archiving keeps them)."""
        if not await self._store.delete(entry_id):
            raise NotFound(f"no FAQ entry {entry_id!r}", code="faq_not_found", params={"entry_id": entry_id})
        self._changed()

    async def install(self, entries: list[tuple[str, FaqDraft]], *, author: str = "cti") -> list[str]:
        """Publish each entry of a starter FAQ whose id is not taken yet (the demo's); returns those added."""
        added = []
        for entry_id, draft in entries:
            if await self._store.get(entry_id) is None:
                texts = self._texts(draft, _product_problems(draft.product_line, f"{entry_id}.product_line"))
                await self._store.create(entry_id, texts, product_line=draft.product_line, author=author,
                                         status="published")
                added.append(entry_id)
        self._changed()
        return added

    # -- anyone ---------------------------------------------------------------------------------------------------

    async def search(self, query: str, *, lang: str, product_line: str | None = None, limit: int = 10,
                     client: str) -> list[FaqHit]:
        """Published entries for ``query`` in ``lang``, best first (:class:`cti.faq.FaqIndex`).

        :class:`InvalidInput` (``invalid_faq_search``) for an empty or too long query, an unknown language or
        product line or a limit outside 1 to :data:`MAX_FAQ_HITS`; :class:`TooMany` past :data:`SEARCHES_PER_MINUTE`
        from one address."""
        problems = []
        if len(query) > FAQ_QUERY_LENGTH:
            problems.append(Problem("q", f"at most {FAQ_QUERY_LENGTH} characters", code="too_long"))
        elif not query.strip():
            problems.append(Problem("q", "a few words to look for", code="required"))
        if lang not in FAQ_LANGUAGES:
            problems.append(Problem("lang", "id or en", code="unknown_language"))
        problems += _product_problems(product_line, "product")
        if not 1 <= limit <= MAX_FAQ_HITS:
            problems.append(Problem("limit", f"from 1 to {MAX_FAQ_HITS}", code="out_of_range"))
        if problems:
            raise InvalidInput("cannot search the FAQ: " + "; ".join(map(str, problems)), problems,
                               code="invalid_faq_search", params={"max": FAQ_QUERY_LENGTH})
        self._searches.check(self._hashed(client), self._clock().timestamp())
        return (await self.index()).search(query, lang, product_line=product_line, limit=limit)

    async def index(self) -> FaqIndex:
        """The published entries' index, built once per change (the virtual agent answers from it too)."""
        index = self._index
        if index is None:
            changes = self._changes
            # Fitting the vectorizers takes tens of milliseconds: not on the event loop.
            index = await asyncio.to_thread(FaqIndex, await self._store.entries(status="published"),
                                            self._questions)
            if changes == self._changes:
                self._index = index
        return index

    async def feedback(self, entry_id: str, *, helpful: bool, client: str) -> bool:
        """Count a vote on a published entry; False when this client already voted on it today (not counted).

        :class:`NotFound` for an entry that is not published; :class:`TooMany` past :data:`FEEDBACK_PER_MINUTE`."""
        now = self._clock()
        who = self._hashed(client)
        self._feedback.check(who, now.timestamp())
        if self._day != now.date():
            self._votes.clear()
            self._day = now.date()
        key = f"{who}:{entry_id}"
        if key in self._votes:
            if await self._store.get(entry_id) is None:
                raise NotFound(f"no FAQ entry {entry_id!r}", code="faq_not_found", params={"entry_id": entry_id})
            return False
        if not await self._store.count_feedback(entry_id, helpful=helpful):
            raise NotFound(f"no published FAQ entry {entry_id!r}", code="faq_not_found",
                           params={"entry_id": entry_id})
        if len(self._votes) >= _MAX_VOTERS:
            del self._votes[next(iter(self._votes))]
        self._votes[key] = None
        return True

    def _changed(self) -> None:
        self._changes += 1
        self._index = None

    def _hashed(self, client: str) -> str:
        return hmac.new(self._key, client.encode(), hashlib.sha256).hexdigest()[:32]

    @staticmethod
    def _texts(draft: FaqDraft, problems: list[Problem]) -> dict[str, FaqText]:
        try:
            texts = read_texts(draft.texts)
        except InvalidInput as exc:
            problems = problems + list(exc.problems)
            texts = {}
        if problems:
            raise InvalidInput("invalid FAQ entry: " + "; ".join(map(str, problems)), problems, code="invalid_faq")
        return dict(texts)
