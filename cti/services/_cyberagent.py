"""The virtual agent as a use case: :class:`cti.cyberagent.CyberAgent` over the published FAQ, the catalog and
the CRM, and its replies spoken with the IVR's text-to-speech.

How the chat plugs it in (the chat owns the conversation and its transport; this owns the answers)::

    desk = app[CYBERAGENT]                                   # cti.web's AppKey, set by the composition root
    spoken = await desk.respond(session, text, owner=f"chat:{chat_id}")   # or owner=f"customer:{customer_id}"
    spoken.reply.text, spoken.reply.expression, spoken.reply.handover     # handover: queue it with the transcript
    audio = await desk.audio(spoken.reply_id, owner=...)     # WAV bytes; NotFound unless the same owner asks

``owner`` is who may hear the reply: the chat session (or the signed-in customer) that got it. The audio is made
on demand and never cached on disk, because a reply may tell a balance or an order; the reply's text is kept in
memory only, for :data:`REPLY_TTL` at most and :data:`MAX_REPLIES` in all, so its audio can be fetched once the
page has shown the text. A verified customer's orders and balance are read through the CRM and audited as reads
of that customer by that customer (``customer:<id>``), like the portal's account page.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Final, Protocol

from cti.crm import CustomerView, OrderRecord, ProductRecord
from cti.cyberagent import (
    CyberAgent,
    Embedder,
    IntentModel,
    LearntQuestions,
    MeaningIndex,
    Persona,
    QuestionLabel,
    Reply,
    Session,
    detect_language,
    embedder,
    intent_examples,
    known_words,
)
from cti.errors import InvalidInput, NotFound, Problem
from cti.faq import LINK, FaqIndex
from cti.ivr import SpeakVerbalizer
from cti.services._audit import AuditTrail
from cti.services._faq import Faq
from cti.types import Clock, Language

__all__ = ["MAX_REPLIES", "REPLY_TTL", "CyberAgentCustomers", "CyberAgentDesk", "ReplyVoice", "SpokenReply",
           "speakable"]

REPLY_TTL: Final = timedelta(minutes=15)
MAX_REPLIES: Final = 10_000
MESSAGE_LENGTH: Final = 1000
_ROLE: Final = "customer"
_MONEY: Final = re.compile(r"Rp ?(\d{1,3}(?:\.\d{3})+|\d+)")
_DIGITS: Final = re.compile(r"\b\d{5,}\b")


class ReplyVoice(Protocol):
    """Speech for a reply: a WAV file's bytes (:class:`cti.speech.SpokenReplies`, espeak-ng as the IVR)."""

    async def speak(self, text: str, language: Language) -> bytes: ...


class LearntLabels(Protocol):
    """The labels the agent learns from (:class:`cti.services.QuestionLabels`' ``learnt``)."""

    async def learnt(self) -> list[QuestionLabel]: ...


class CyberAgentCustomers(Protocol):
    async def customer_view(self, customer_id: str, *, contacts: int = 5) -> CustomerView | None: ...

    async def recent_orders(self, customer_id: str, *, limit: int = 5) -> list[OrderRecord]: ...

    async def catalog(self, *, include_inactive: bool = False) -> list[ProductRecord]: ...


@dataclass(frozen=True, slots=True)
class SpokenReply:
    """A reply and the id its audio is fetched by."""

    reply: Reply
    reply_id: str


@dataclass(frozen=True, slots=True)
class _Kept:
    owner: str
    text: str
    lang: Language
    at: datetime


class _CrmAccount:
    """The agent's :class:`cti.cyberagent.Account` over the CRM, each read audited as the customer's own."""

    def __init__(self, customers: CyberAgentCustomers, audit: AuditTrail) -> None:
        self._customers = customers
        self._audit = audit

    async def open_orders(self, customer_id: str) -> Sequence[OrderRecord]:
        self._audit.record_as_soon(f"customer:{customer_id}", _ROLE, "view", "customer", customer_id,
                                   source="cyberagent", detail={"what": "orders"})
        return [order for order in await self._customers.recent_orders(customer_id, limit=20) if order.is_open]

    async def balance_due(self, customer_id: str) -> int:
        self._audit.record_as_soon(f"customer:{customer_id}", _ROLE, "view", "customer", customer_id,
                                   source="cyberagent", detail={"what": "balance"})
        view = await self._customers.customer_view(customer_id, contacts=0)
        return 0 if view is None else view.balance_due_minor


def speakable(text: str, language: Language) -> str:
    """A reply as it is said: money and long numbers in words (as the IVR says them), links by their host."""
    verbalizer = SpeakVerbalizer()
    text = LINK.sub(lambda m: m.group().removeprefix("https://").split("/")[0], text)
    text = _MONEY.sub(lambda m: verbalizer.money(Decimal(m.group(1).replace(".", "")), "IDR", language), text)
    return _DIGITS.sub(lambda m: verbalizer.digits(m.group(), language), text)


class CyberAgentDesk:
    def __init__(self, faq: Faq, customers: CyberAgentCustomers, audit: AuditTrail, *, clock: Clock,
                 voice: ReplyVoice | None = None, persona: Persona | None = None,
                 questions: Mapping[str, Sequence[tuple[str, str]]] | None = None,
                 labels: LearntLabels | None = None, vectors: Embedder | None = None) -> None:
        """``questions``: customers' messages labelled with what they ask for (:data:`cti.cyberagent.QUESTIONS`),
        for the agent's intent model (:class:`cti.cyberagent.IntentModel`); None: the rules alone. ``labels``:
        supervisors' labels of the questions it could not answer, learnt when the agent is first built and then
        one by one as they are given (:meth:`learn`, :meth:`unlearn`), with no training. ``vectors``: the sentence
        encoder the FAQ's answers are also chosen by nearness in meaning with (:class:`cti.cyberagent.MeaningIndex`;
        the process's own, :func:`cti.cyberagent.embedder`, by default)."""
        self._faq = faq
        self._questions = questions
        self._labels = labels
        self._vectors = vectors or embedder()
        self._learnt: LearntQuestions | None = None
        self._learning = asyncio.Lock()
        self._customers = customers
        self._account = _CrmAccount(customers, audit)
        self._clock = clock
        self._voice = voice
        self._persona = persona or Persona()
        self._agent: tuple[FaqIndex, CyberAgent] | None = None
        self._building = asyncio.Lock()
        self._catalog: list[ProductRecord] | None = None
        self._replies: OrderedDict[str, _Kept] = OrderedDict()

    def name(self, language: Language) -> str:
        """The virtual agent's first name in ``language`` (what a chat shows beside its replies)."""
        return self._persona.name(language)

    @property
    def speaks(self) -> bool:
        """Whether replies have audio (a voice was configured)."""
        return self._voice is not None

    async def agent(self) -> CyberAgent:
        """The agent over the FAQ as published now (rebuilt after an FAQ change)."""
        async with self._building:
            index = await self._faq.index()
            if self._agent is None or self._agent[0] is not index:
                if self._catalog is None:
                    self._catalog = await self._customers.catalog()
                # Training the classifiers takes a second or so per language: on a worker thread, once.
                meaning, intents, known = await asyncio.to_thread(self._train, index)
                learnt = await self._learnt_questions(index)
                self._agent = (index, CyberAgent(meaning, persona=self._persona, catalog=self._catalog,
                                                 account=self._account, intents=intents, learnt=learnt,
                                                 known=known))
            return self._agent[1]

    # -- what supervisors labelled --------------------------------------------------------------------------------
    async def _learnt_questions(self, index: FaqIndex) -> LearntQuestions | None:
        """The labels' memory, built once (the agents built after an FAQ change share it): fitted on the shipped
        questions' words, then every stored label learnt, off the event loop."""
        if self._labels is None:
            return None
        async with self._learning:
            if self._learnt is None:
                background = {lang: [question for _, question in items]
                              for lang, items in (self._questions or {}).items()}
                for lang in ("id", "en"):
                    background.setdefault(lang, []).extend(index.phrasings(lang))
                memory = await asyncio.to_thread(LearntQuestions, background)
                learnt = [found for label in await self._labels.learnt() if (found := label.learnt()) is not None]
                await asyncio.to_thread(memory.extend, learnt)
                self._learnt = memory
            return self._learnt

    async def learn(self, label: QuestionLabel) -> bool:
        """Answer as ``label`` says from the next message on (one message's n-grams, well under a millisecond);
        False when it teaches nothing (a new FAQ entry to write). Before the agent is first built, nothing to do:
        it reads every stored label then."""
        async with self._learning:
            if self._learnt is None:
                return False
            learnt = label.learnt()
            if learnt is None:
                self._learnt.remove(str(label.label_id))  # labelled again, as teaching nothing
                return False
            return self._learnt.add(learnt)

    async def unlearn(self, label_id: int) -> bool:
        """Forget the label (undone); False if it was not learnt."""
        async with self._learning:
            return self._learnt is not None and self._learnt.remove(str(label_id))

    async def reload_labels(self) -> int:
        """Forget the labels whose words are gone from the database (erasure, retention); how many."""
        async with self._learning:
            if self._learnt is None or self._labels is None:
                return 0
            kept = {str(label.label_id) for label in await self._labels.learnt()}
            gone = [key for key in self._learnt.keys() if key not in kept]
            for key in gone:
                self._learnt.remove(key)
            return len(gone)

    def _train(self, index: FaqIndex) -> tuple[MeaningIndex, IntentModel | None, frozenset[str]]:
        index.prepare()
        # The words it has seen: a word in none of them where a name goes is another company's name.
        entries = {entry.entry_id: entry for lang in ("id", "en") for entry in index.entries(lang)}
        known = known_words(entries.values(), self._questions)
        # The vectors of the FAQ's phrasings and the learnt questions: read from the shipped cache, only new
        # wording embedded (about 15 ms a phrasing).
        meaning = MeaningIndex(index, self._vectors, self._questions)
        meaning.prepare()
        if self._questions is None:
            return meaning, None, known
        # The FAQ's own phrasings are examples of "something else" too: trained again when the FAQ changes.
        model = IntentModel(intent_examples(self._questions, index))
        model.prepare()
        return meaning, model, known

    async def greet(self, session: Session, *, owner: str) -> SpokenReply:
        return self._keep((await self.agent()).greet(session), owner)

    async def respond(self, session: Session, message: str, *, owner: str) -> SpokenReply:
        """The agent's reply to ``message`` (:class:`InvalidInput` if longer than :data:`MESSAGE_LENGTH`)."""
        if len(message) > MESSAGE_LENGTH:
            raise InvalidInput(f"a message has at most {MESSAGE_LENGTH} characters",
                               [Problem("text", f"at most {MESSAGE_LENGTH} characters", code="too_long")],
                               code="invalid_message")
        agent = await self.agent()
        # The message's vector (15-20 ms of one core) is made on a worker thread, not on the event loop; the agent
        # then finds it (the same words, in the language it will detect).
        said = " ".join(message.split())
        lang = session.lang or detect_language(said, session.last_lang)
        await asyncio.to_thread(self._vectors.prime, agent.normalized(said, lang), lang)
        return self._keep(await agent.respond(session, message), owner)

    async def audio(self, reply_id: str, *, owner: str) -> bytes:
        """The reply's speech (WAV); :class:`NotFound` for an unknown or expired reply, or one of another owner
        (the same answer: a reply out of reach is not told from a missing one)."""
        self._expire()
        kept = self._replies.get(reply_id)
        if kept is None or not secrets.compare_digest(kept.owner, owner) or self._voice is None:
            raise NotFound("no such reply", code="reply_not_found")
        return await self._voice.speak(speakable(kept.text, kept.lang), kept.lang)

    def forget(self, owner: str) -> int:
        """Drop every reply kept for ``owner`` (the chat ended); returns how many."""
        gone = [key for key, kept in self._replies.items() if kept.owner == owner]
        for key in gone:
            del self._replies[key]
        return len(gone)

    def _keep(self, reply: Reply, owner: str) -> SpokenReply:
        self._expire()
        reply_id = secrets.token_urlsafe(16)
        self._replies[reply_id] = _Kept(owner, reply.text, reply.lang, self._clock())
        while len(self._replies) > MAX_REPLIES:
            self._replies.popitem(last=False)
        return SpokenReply(reply, reply_id)

    def _expire(self) -> None:
        oldest = self._clock() - REPLY_TTL
        while self._replies:
            key, kept = next(iter(self._replies.items()))
            if kept.at > oldest:
                break
            del self._replies[key]
