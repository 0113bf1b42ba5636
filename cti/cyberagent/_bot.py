"""The virtual agent's decisions: one customer message in, one reply out (see the package's docstring)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, Literal, Protocol

from cti.crm import MINOR_PER_MAJOR, OrderRecord, ProductRecord
from cti.cyberagent._combiner import COMBINER, NEIGHBOURS, Combiner, Evidence
from cti.cyberagent._elsewhere import FaqAllows, about_elsewhere, dotted_names, faq_allows
from cti.cyberagent._intents import Intent, asks_how, match_intent, tops_up, wants_to_buy
from cti.cyberagent._language import detect_language
from cti.cyberagent._learnt import HANDOVER, Learnt, LearntQuestions
from cti.cyberagent._meaning import MeaningIndex
from cti.cyberagent._model import INTENTS, OTHER, IntentModel
from cti.cyberagent._normalize import Vocabulary
from cti.cyberagent._texts import ORDER_STATUS, SHIPMENT_STATUS, text
from cti.cyberagent._unfamiliar import unfamiliar
from cti.errors import InvalidInput
from cti.faq import FaqEntry, FaqHit, expand_short_forms
from cti.types import LANGUAGES, Language

__all__ = [
    "REPEATED_FAILURES",
    "THRESHOLDS",
    "TRANSCRIPT_TURNS",
    "Account",
    "Action",
    "CyberAgent",
    "Expression",
    "FaqSearch",
    "FaqSource",
    "Handover",
    "HandoverReason",
    "Persona",
    "Reply",
    "Session",
    "Thresholds",
    "Turn",
    "rupiah",
]

Expression = Literal["greeting", "neutral", "thinking", "sorry", "happy"]
"""The face's expression while it says the reply."""
Action = Literal["greeting", "faq", "order_status", "balance", "sign_in", "purchase", "purchase_which", "handover",
                 "rephrase", "small_talk", "goodbye", "empty"]
HandoverReason = Literal["person", "angry", "unsure", "repeated", "purchase"]

REPEATED_FAILURES: Final = 2
"""Answers the customer said did not help before a person takes over."""
TRANSCRIPT_TURNS: Final = 200
"""Turns a session keeps (and a hand-over carries): the latest ones."""
MESSAGE_LENGTH: Final = 1000
"""Longer messages are cut (a chat line, not a letter)."""


@dataclass(frozen=True, slots=True)
class Persona:
    """Who the virtual agent says it is, and where it hands customers over (the queues of the routing rules)."""

    names: Mapping[Language, str] = field(default_factory=lambda: {"id": "Sari", "en": "Sari"})
    care_queue: str = "care"
    sales_queue: str = "sales"
    own_names: tuple[str, ...] = ()
    """The company's own names and brands (lowercase words): never "another company" (:mod:`._elsewhere`); the
    catalog's product names are added to them."""

    def name(self, lang: Language) -> str:
        return self.names.get(lang) or next(iter(self.names.values()), "Sari")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When the likeliest FAQ entry is answered without a person: all of these must hold."""

    answer: float
    """The least probability (:meth:`cti.faq.FaqIndex.classify`) of the likeliest entry. The classifier has a
    "none of the FAQ" class, so a question about something else leaves every entry a low probability."""
    similarity: float = 0.0
    """The least cosine (:meth:`cti.faq.FaqIndex.search`) of the closest entry: the question's words must be near
    some entry's at all."""
    margin: float = 0.0
    """How far the likeliest entry must lead the second: two entries nearly tied mean the question is ambiguous."""
    agree: bool = False
    """Answer only when the likeliest entry is also the closest one (the classifier and the plain similarity are
    two views of the question; where they part it is too close to call)."""
    intent: float = 1.01
    """The least probability (:class:`IntentModel`) of the customer's own order, balance or buying for the agent to
    take it when no rule did (above 1: never)."""
    veto: float = 1.01
    """The least probability of "something else" (:data:`cti.cyberagent._model.OTHER`) to overrule a rule that
    read the customer's own order, balance or buying (above 1: never)."""
    agreed: float = 1.01
    """When the two views of the question agree — the FAQ classifier alone (:meth:`cti.faq.FaqIndex.classify`)
    and the nearest example in meaning (:meth:`cti.cyberagent.MeaningIndex.views`) both name the likeliest entry —
    the least blended probability to answer it, the margin still required but not :attr:`similarity` (above 1:
    never). Two scorers that see different things (n-grams, meaning) agreeing is evidence the threshold for one
    alone does not count."""
    agreed_intent: float = 1.01
    """The least probability (:class:`IntentModel`) of the customer's own order, balance or buying for the agent
    to take it, when no rule did, where the nearest example in meaning is that intent's too (above 1: never)."""
    overrule: float = 1.01
    """The least probability of "something else" (:class:`IntentModel`) at which the customer's own order, balance
    or buying that a rule found (or a named product with a verb of wanting) is set aside for the FAQ's decision,
    when nearness in meaning agrees: the nearest label is an FAQ entry, nearer than the intent's own examples by
    at least :attr:`overrule_gap` (above 1: never). Two scorers that read the whole message against one rule that
    read a word ("beli" in "the charger I bought, can I return it")."""
    overrule_gap: float = 0.0
    """See :attr:`overrule`."""


THRESHOLDS: Final[Mapping[Language, Thresholds]] = {
    "id": Thresholds(answer=0.25, similarity=0.25, margin=0.1, intent=0.9, agreed=0.3, overrule=0.5,
                     agreed_intent=0.7),
    "en": Thresholds(answer=0.55, similarity=0.15, margin=0.2, intent=0.7, overrule=0.7, agreed_intent=0.6),
}
"""Per language, because the two classifiers are not equally sure of themselves. For the FAQ's probabilities
blended with nearness in meaning (:class:`cti.cyberagent.MeaningIndex`, :data:`cti.cyberagent.BLEND`), as the
server's agent has them. Chosen with the blend by cross-validation on the development sets of
bench/cyberagent.py (``--cv meaning``: each set scored by an agent that learnt from the others; the most right
answers and hand-overs, a wrong answer counting as five of them lost, with at most 1 % wrong in that language),
never on its held-out set; docs/benchmarks.md has the measurement. The intent model's were round 5's
(``--cv sweep``). Round 7 checked them on seven sets, the choice itself cross-validated, and kept them. Since
round 9, over a :class:`MeaningIndex`, Indonesian's FAQ decision is the learnt :data:`cti.cyberagent.COMBINER`'s
alone (these answer there only over an index without meaning), and English's combiner answers what these hand
over; since round 10 it decides alone in English too. Round 10's :attr:`Thresholds.overrule` (0.5, 0.7) was chosen
by leave-one-set-out (bench/cyberagent.py ``--leave-one-set-out``). Round 11's :attr:`Thresholds.agreed_intent`
(0.7, 0.6: the customer's own order, balance or buying taken below :attr:`Thresholds.intent` where the nearest
example in meaning is that intent's too) was chosen there with the combiner's threshold, nested: on out-of-set
probabilities, by the round-6 rule."""


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: Literal["customer", "bot"]
    text: str


@dataclass(frozen=True, slots=True)
class FaqSource:
    """The FAQ entry an answer comes from (shown as the answer's source) and how sure the match was."""

    entry_id: str
    question: str
    score: float


@dataclass(frozen=True, slots=True)
class Handover:
    """What the chat hands to a queue when a person takes over: why, in which language, the product of a sales
    lead, and the conversation so far (the agent reads it instead of asking again)."""

    queue: str
    reason: HandoverReason
    lang: Language
    transcript: tuple[Turn, ...]
    product_sku: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    lang: Language
    action: Action
    expression: Expression
    source: FaqSource | None = None
    handover: Handover | None = None
    confidence: float | None = None
    """The best FAQ score when the FAQ was searched; the closeness to a labelled question when one answered."""
    learnt: str | None = None
    """The key of the supervisor's label (:class:`LearntQuestions`) that chose this reply's FAQ answer or hand-over
    (a label of an intent leads to the intent's own reply, which does not carry it)."""


@dataclass(slots=True)
class Session:
    """One conversation's state, kept by the chat between messages.

    ``lang``: fixed by the chat (the customer chose it), or None to detect it per message. ``customer_id``: set
    only once the customer is verified (signed in); orders and balance are told to nobody else."""

    lang: Language | None = None
    customer_id: str | None = None
    last_lang: Language = "id"
    greeted: bool = False
    failures: int = 0
    wants_to_buy: bool = False
    transcript: list[Turn] = field(default_factory=list)
    """The conversation so far, the last :data:`TRANSCRIPT_TURNS` turns."""

    def add(self, turn: Turn) -> None:
        self.transcript.append(turn)
        del self.transcript[:-TRANSCRIPT_TURNS]

    def to_dict(self) -> dict[str, object]:
        """The session as JSON values, for a chat that keeps it outside the process (:meth:`from_dict`)."""
        return {"lang": self.lang, "customer_id": self.customer_id, "last_lang": self.last_lang,
                "greeted": self.greeted, "failures": self.failures, "wants_to_buy": self.wants_to_buy,
                "transcript": [[turn.speaker, turn.text] for turn in self.transcript]}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Session:
        """A session from :meth:`to_dict`; :class:`cti.errors.InvalidInput` for anything else."""
        try:
            lang, last_lang = data.get("lang"), data.get("last_lang", "id")
            customer_id = data.get("customer_id")
            failures = data.get("failures", 0)
            turns = data.get("transcript", [])
            if lang not in (None, *LANGUAGES) or last_lang not in LANGUAGES or not isinstance(failures, int) \
                    or not (customer_id is None or isinstance(customer_id, str)) or not isinstance(turns, list):
                raise ValueError("a field out of range")
            transcript = []
            for item in turns:
                speaker, said = item
                if speaker not in ("customer", "bot") or not isinstance(said, str):
                    raise ValueError("a turn is [customer|bot, text]")
                transcript.append(Turn(speaker, said))
            return cls(lang=lang, customer_id=customer_id,
                       last_lang=last_lang, greeted=bool(data.get("greeted", False)),
                       failures=failures, wants_to_buy=bool(data.get("wants_to_buy", False)),
                       transcript=transcript[-TRANSCRIPT_TURNS:])
        except (ValueError, TypeError, AttributeError) as exc:
            raise InvalidInput(f"not a virtual agent session: {exc}", code="invalid_session") from exc


class FaqSearch(Protocol):
    """What the agent needs of an FAQ index (:class:`cti.faq.FaqIndex`; the benchmark plugs its baseline in)."""

    def search(self, query: str, lang: str, *, product_line: str | None = None, limit: int = 10,
               min_score: float = ...) -> list[FaqHit]: ...

    def classify(self, query: str, lang: str, *, limit: int = 2) -> list[FaqHit]: ...

    def entry(self, entry_id: str) -> FaqEntry | None: ...


class Account(Protocol):
    """A verified customer's own orders and balance (the service implements it over the CRM, audited)."""

    async def open_orders(self, customer_id: str) -> Sequence[OrderRecord]: ...

    async def balance_due(self, customer_id: str) -> int:
        """Unpaid invoices' total, in minor units."""
        ...


def rupiah(minor: int) -> str:
    """Money as Indonesians write it, in either language: ``Rp 1.250.000``."""
    whole = minor // MINOR_PER_MAJOR
    return "Rp " + f"{whole:,}".replace(",", ".")


_PRODUCT_WORDS: Final[Mapping[str, tuple[str, ...]]] = {
    "plan": ("pascabayar", "postpaid", "plan", "langganan bulanan", "unlimited", "tanpa batas"),
    "home": ("internet rumah", "home internet", "home fibre", "home fiber", "fiber", "fibre", "wifi rumah",
             "tv kabel", "cable tv", "indihome", "broadband"),
    "device": ("ponsel", "hp", "smartphone", "handphone", "phone", "router", "mesh"),
    "accessory": ("casing", "case", "charger", "pengisi daya", "earbud", "earbuds", "buds", "power bank",
                  "powerbank"),
    "addon": ("kuota", "data", "roaming", "proteksi", "protection"),
}
_NAME_WORD: Final = re.compile(r"[a-z0-9]+")
_ELSEWHERE_WORD: Final = re.compile(r"[a-z0-9&+-]+")
_GENERIC: Final = frozenset({"paket", "plan", "internet", "rumah", "home", "gb", "the", "and", "nusa"})
_COMMON: Final = frozenset({"pascabayar", "postpaid", "kuota", "tambahan", "extra", "data", "ponsel", "smartphone",
                            "router", "casing", "case", "tv", "power", "bank", "pengisi", "daya", "proteksi",
                            "perangkat", "device", "protection", "paket", "roaming", "pack", "wi", "fi", "cepat",
                            "fast", "nirkabel", "wireless", "kabel", "cable", "dasar", "basic"})
"""Product-name words that name a kind of product rather than one product (``data``, ``router``)."""
_SMALL_TALK: Final = frozenset({"greeting", "thanks", "goodbye"})


class CyberAgent:
    """Answers one message at a time (:meth:`respond`); holds no conversation state of its own."""

    def __init__(self, index: FaqSearch, *, persona: Persona | None = None, catalog: Sequence[ProductRecord] = (),
                 account: Account | None = None,
                 thresholds: Thresholds | Mapping[Language, Thresholds] | None = None,
                 intents: IntentModel | None = None, learnt: LearntQuestions | None = None,
                 known: Collection[str] | None = None,
                 combiner: Mapping[Language, Combiner] | None = None) -> None:
        """``learnt``: questions supervisors labelled, answered as labelled before anything else is asked
        (shared, and changed between messages, by whoever labels: :class:`cti.services.CyberAgentDesk`).
        ``known``: the words the agent has seen (:func:`cti.cyberagent.known_words`), so that a name it has never
        seen, where a name goes ("kartu tri"), is taken for another company's (:mod:`._elsewhere`); None: only
        the names it lists. ``combiner``: per language, whether to answer the likeliest entry, in place of the
        thresholds or where they do not (:class:`cti.cyberagent.Combiner`, over a :class:`MeaningIndex` only;
        default :data:`cti.cyberagent.COMBINER`)."""
        self.index = index
        self.known = known
        self.vocabulary = Vocabulary(known) if known is not None else None
        self._allows: dict[str, FaqAllows] = {}
        self._own_dotted: dict[Language, frozenset[str]] = {}
        self.intents = intents
        self.combiner = COMBINER if combiner is None else combiner
        self.learnt = learnt
        self.persona = persona or Persona()
        self.catalog = [product for product in catalog if product.active]
        self.account = account
        if isinstance(thresholds, Thresholds):
            thresholds = dict.fromkeys(LANGUAGES, thresholds)
        self.thresholds: Mapping[Language, Thresholds] = thresholds or THRESHOLDS
        self.own_phrases = tuple(sorted(
            {" ".join(_NAME_WORD.findall(phrase)) for product in self.catalog
             for phrase in (product.name_id.lower(), product.name_en.lower(),
                            *_PRODUCT_WORDS.get(product.category, ())) if " " in phrase.strip()},
            key=len, reverse=True))
        self.own_names = frozenset(word for product in self.catalog for name in (product.name_id, product.name_en)
                              for word in _NAME_WORD.findall(name.lower()) if word not in _COMMON) \
            | frozenset(word for name in self.persona.own_names for word in _NAME_WORD.findall(name.lower()))

    def greet(self, session: Session) -> Reply:
        """The first words of a conversation, in the session's language (Indonesian unless fixed)."""
        lang = session.lang or session.last_lang
        session.greeted = True
        return self._say(session, text("greeting", lang, name=self.persona.name(lang)), lang, "greeting",
                         "greeting")

    def normalized(self, message: str, lang: Language) -> str:
        """What the scorers read of ``message`` (whitespace collapsed): its words brought to the agent's own
        (:class:`cti.cyberagent._normalize.Vocabulary`; only short forms written out without ``known``). The desk
        embeds this text off the event loop before :meth:`respond`."""
        message = " ".join(message.split())[:MESSAGE_LENGTH]
        if self.vocabulary is None:
            return message
        return self.vocabulary.normalize(message, lang)

    async def respond(self, session: Session, message: str) -> Reply:
        """The reply to ``message``; updates ``session`` (language, failures, transcript)."""
        message = " ".join(message.split())[:MESSAGE_LENGTH]
        lang = session.lang or detect_language(message, session.last_lang)
        session.last_lang = lang
        if not message:
            return self._say(session, text("empty", lang), lang, "empty", "neutral")
        session.add(Turn("customer", message))
        # The customer's own words for names (a brand is not corrected into a word of ours) and the labels (taught
        # on customers' words); their normalized form for every scorer.
        said = self.normalized(message, lang)
        intent = match_intent(said, lang)
        if intent == "person":
            return self._handover(session, lang, "person", "handover_person", "neutral")
        if intent == "angry":
            return self._handover(session, lang, "angry", "handover_angry", "sorry")
        if intent == "unhelpful":
            session.failures += 1
            if session.failures >= REPEATED_FAILURES:
                return self._handover(session, lang, "repeated", "handover_unsure", "sorry")
            return self._say(session, text("rephrase", lang), lang, "rephrase", "sorry")
        lowered = self._not_ours(message, lang)
        taught = self._taught(message, lang)
        if taught is not None:
            label, closeness = taught
            if label.answer in INTENTS:
                intent = label.answer  # type: ignore[assignment]
            else:
                return self._answer_taught(session, lang, lowered, label.key, label.answer, closeness)
        # Words nothing it answers contains, none of the customer's own: about something else, whatever phrase
        # (``how much is``) a scorer is sure of. Left to the end for the FAQ, so every scorer's evidence is read
        # as before (what the combiner was fitted on).
        strange = taught is None and intent not in _SMALL_TALK and self._unfamiliar(said, lang)
        if taught is None and self._dotted(message, lang):
            return self._handover(session, lang, "unsure", "handover_unsure", "sorry")
        if taught is None:
            if strange and intent in INTENTS:
                return self._handover(session, lang, "unsure", "handover_unsure", "sorry")
            intent = self._learnt(said, lang, intent, strange=strange)
            if intent == "purchase" and tops_up(said, lang) and self._product(said, named=True) is None:
                intent = None  # more data for the plan one has: the FAQ's, unless a product is named
        product = self._product(said)
        if intent is None and self._product(said, named=True) is not None and wants_to_buy(said, lang):
            intent = "purchase"
        if intent in INTENTS and taught is None and self._overruled(said, lang, intent):
            intent = None
        if intent in ("order_status", "balance"):
            if self._elsewhere(lowered, lang, intent):
                return self._handover(session, lang, "unsure", "handover_unsure", "sorry")
            return await self._account(session, lang, intent)
        hits = self.index.classify(said, lang, limit=2)
        closest = self.index.search(said, lang, limit=1, min_score=0.0)
        if intent == "purchase" or (session.wants_to_buy and product is not None):
            if self._elsewhere(lowered, lang, "purchase"):
                return self._handover(session, lang, "unsure", "handover_unsure", "sorry")
            return self._purchase(session, lang, product)
        if hits and self._elsewhere(lowered, lang, hits[0].entry.entry_id, hits[0].entry):
            return self._handover(session, lang, "unsure", "handover_unsure", "sorry", confidence=hits[0].score)
        combiner = self.combiner.get(lang) if isinstance(self.index, MeaningIndex) else None
        confident = None if combiner is not None and combiner.alone else \
            self._confident(hits, closest[0] if closest else None, self.thresholds[lang]) \
            or self._agreed(said, lang, hits)
        confident = confident or self._combined(said, lang, hits, closest[0] if closest else None)
        if intent in _SMALL_TALK and confident is None:
            return self._small_talk(session, lang, intent)
        if confident is None or strange:
            return self._handover(session, lang, "unsure", "handover_unsure", "sorry",
                                  confidence=hits[0].score if hits else 0.0)
        session.failures = 0
        source = confident.entry.texts[lang]
        return self._say(session, source.answer, lang, "faq", "neutral",
                         source=FaqSource(confident.entry.entry_id, source.question, confident.score),
                         confidence=confident.score)

    # -- the decisions ----------------------------------------------------------------------------------------------

    def _taught(self, message: str, lang: Language) -> tuple[Learnt, float] | None:
        """The supervisor's label of a question this close to ``message``, if any (:class:`LearntQuestions`);
        one whose FAQ entry is no longer published (or not in ``lang``) is passed over."""
        found = self.learnt.closest(message, lang) if self.learnt is not None else None
        if found is None or found[0].answer in INTENTS or found[0].answer == HANDOVER:
            return found
        entry = self.index.entry(found[0].answer)
        return found if entry is not None and lang in entry.texts else None

    def _answer_taught(self, session: Session, lang: Language, lowered: str, key: str, answer: str,
                       closeness: float) -> Reply:
        """A labelled question's answer: its FAQ entry, with the entry as the source, or a person for one none
        of the FAQ answers. A question about another company is still handed over (a label of "what is your
        customer service number" must not answer "what is gojek's")."""
        entry = None if answer == HANDOVER else self.index.entry(answer)
        if entry is None or self._elsewhere(lowered, lang, answer, entry):
            reply = self._handover(session, lang, "unsure", "handover_unsure", "sorry", confidence=closeness)
            return replace(reply, learnt=key)
        session.failures = 0
        source = entry.texts[lang]
        said = self._say(session, source.answer, lang, "faq", "neutral",
                         source=FaqSource(entry.entry_id, source.question, closeness), confidence=closeness)
        return replace(said, learnt=key)

    def _not_ours(self, message: str, lang: Language) -> str:
        """The message's words (lowercase, short forms written out: ``lg`` is "lagi", not a brand) without the
        names of the company's own products ("power bank" is no bank): what :func:`about_elsewhere` reads."""
        said = expand_short_forms(message, lang)
        joined = f" {' '.join(_ELSEWHERE_WORD.findall(said))} "
        for phrase in self.own_phrases:
            joined = joined.replace(f" {phrase} ", " ")
        return joined.strip()

    def _elsewhere(self, lowered: str, lang: Language, topic: str, entry: FaqEntry | None = None) -> bool:
        """Whether the message (:meth:`_not_ours`) is about another company's version of ``topic`` (an intent, or
        ``entry``'s id: what the entry's own texts say is ours in it, :func:`faq_allows`, read once per entry)."""
        allows = None
        if entry is not None:
            allows = self._allows.get(entry.entry_id)
            if allows is None:
                allows = self._allows[entry.entry_id] = faq_allows(
                    part for text in entry.texts.values() for part in (text.question, *text.keywords, text.answer))
        return about_elsewhere(lowered, topic, self.own_names, known=self.known, allows=allows, lang=lang)

    def _learnt(self, message: str, lang: Language, intent: Intent | None, *, strange: bool = False) -> Intent | None:
        """The rules' intent, corrected by the trained model where it is sure: an own order, a balance or buying
        the rules missed, or one they read into something else (a person asked for, anger or "that didn't help"
        are never overruled). Not in a how-question nor in one about something else (``strange``:
        :meth:`_unfamiliar`): the model reads their familiar phrase ("where do i sign up", "how much is")."""
        if self.intents is None or intent in ("person", "angry", "unhelpful"):
            return intent
        thresholds = self.thresholds[lang]
        found = self.intents.probabilities(message, lang)
        if intent in INTENTS:
            return None if found[OTHER] >= thresholds.veto else intent
        if strange or asks_how(message, lang):
            return intent
        best = max(INTENTS, key=lambda label: found[label])
        if found[best] >= thresholds.intent:
            return best  # type: ignore[return-value]
        if intent is None and found[best] >= thresholds.agreed_intent and isinstance(self.index, MeaningIndex) \
                and self.index.views(message, lang)[1] == best:
            return best  # type: ignore[return-value]
        return intent

    def _dotted(self, message: str, lang: Language) -> bool:
        """Whether the message names something with a dot inside that is not ours (:func:`dotted_names`: "by.u",
        "live.on"; the dotted names of the FAQ's own texts, its web address, are ours), read once per language."""
        own = self._own_dotted.get(lang)
        if own is None:
            entries = getattr(self.index, "entries", None)
            texts = [part for entry in (entries(lang) if entries is not None else ())
                     for text in entry.texts.values() for part in (text.question, text.answer, *text.keywords)]
            own = self._own_dotted[lang] = frozenset(
                name for part in texts for name in dotted_names(part.lower(), lang))
        return bool(dotted_names(message.lower(), lang, own))

    def _unfamiliar(self, said: str, lang: Language) -> bool:
        """Whether the message is about something the agent does not answer (:func:`._unfamiliar.unfamiliar`, over
        the words of what it answers: only a :class:`MeaningIndex` keeps its examples)."""
        return isinstance(self.index, MeaningIndex) and unfamiliar(said, lang, self.index.familiar())

    def _overruled(self, said: str, lang: Language, intent: str) -> bool:
        """Whether the intent model and nearness in meaning both say the message is not ``intent`` but an FAQ
        question (:attr:`Thresholds.overrule`)."""
        thresholds = self.thresholds[lang]
        if thresholds.overrule > 1 or self.intents is None or not isinstance(self.index, MeaningIndex):
            return False
        if self.intents.probabilities(said, lang)[OTHER] < thresholds.overrule:
            return False
        near = self.index.nearness(said, lang)
        label = max(near, key=lambda name: near[name])
        return label not in INTENTS and label != HANDOVER and near[label] - near.get(intent, -1.0) >= \
            thresholds.overrule_gap

    def _agreed(self, said: str, lang: Language, hits: list[FaqHit]) -> FaqHit | None:
        """The likeliest entry when the classifier alone and the nearest example in meaning both name it and it
        clears :attr:`Thresholds.agreed` and the margin."""
        thresholds = self.thresholds[lang]
        if not hits or hits[0].score < thresholds.agreed or not isinstance(self.index, MeaningIndex):
            return None
        top = hits[0]
        second = hits[1].score if len(hits) > 1 else 0.0
        if top.score - second < thresholds.margin:
            return None
        classified, nearest = self.index.views(said, lang)
        return top if classified == nearest == top.entry.entry_id else None

    def _combined(self, said: str, lang: Language, hits: list[FaqHit], closest: FaqHit | None) -> FaqHit | None:
        """The likeliest entry when the language's :class:`Combiner`, weighing every scorer's evidence together,
        finds answering it likely enough to be right."""
        combiner = self.combiner.get(lang)
        if combiner is None or not hits or not isinstance(self.index, MeaningIndex):
            return None
        intents = self.intents.probabilities(said, lang) if self.intents is not None else {}
        evidence = Evidence.of(hits, closest, self.index.alone(said, lang), self.index.nearness(said, lang),
                               self.index.neighbours(said, lang, NEIGHBOURS),
                               max((intents.get(label, 0.0) for label in INTENTS), default=0.0))
        return hits[0] if evidence is not None and combiner.answers(evidence) else None

    @staticmethod
    def _confident(hits: list[FaqHit], closest: FaqHit | None, thresholds: Thresholds) -> FaqHit | None:
        if not hits or closest is None or closest.score < thresholds.similarity:
            return None
        top = hits[0]
        if thresholds.agree and closest.entry.entry_id != top.entry.entry_id:
            return None
        second = hits[1].score if len(hits) > 1 else 0.0
        if top.score >= thresholds.answer and top.score - second >= thresholds.margin:
            return top
        return None

    async def _account(self, session: Session, lang: Language, intent: Literal["order_status", "balance"]) -> Reply:
        what = "what_orders" if intent == "order_status" else "what_balance"
        if session.customer_id is None or self.account is None:
            return self._say(session, text("sign_in", lang, what=text(what, lang)), lang, "sign_in", "neutral")
        if intent == "balance":
            due = await self.account.balance_due(session.customer_id)
            said = text("balance", lang, amount=rupiah(due)) if due > 0 else text("no_balance", lang)
            return self._say(session, said, lang, "balance", "neutral" if due > 0 else "happy")
        orders = [order for order in await self.account.open_orders(session.customer_id) if order.is_open]
        if not orders:
            return self._say(session, text("no_orders", lang), lang, "order_status", "neutral")
        listed = "; ".join(text("order", lang, number=order.order_number, status=_order_status(order, lang))
                           for order in orders[:5])
        return self._say(session, text("orders", lang, orders=listed), lang, "order_status", "happy")

    def _purchase(self, session: Session, lang: Language, product: ProductRecord | None) -> Reply:
        if product is None:
            session.wants_to_buy = True
            examples = ", ".join(p.name(lang) for p in self.catalog[:3]) or "-"
            return self._say(session, text("purchase_which", lang, products=examples), lang, "purchase_which",
                             "thinking")
        session.wants_to_buy = False
        reply_text = text("purchase", lang, product=product.name(lang))
        session.add(Turn("bot", reply_text))
        handover = Handover(self.persona.sales_queue, "purchase", lang, tuple(session.transcript), product.sku)
        return Reply(reply_text, lang, "purchase", "happy", handover=handover)

    def _product(self, message: str, *, named: bool = False) -> ProductRecord | None:
        """The catalog's product the message names best: its own words (``X1 Pro``, ``100``) first, then its
        category's words (``internet rumah``); None when it names none. ``named``: only a product one of whose
        distinctive words (not its category's: ``60``, ``Buds``, ``mesh``, ``tanpa batas``) the message has."""
        lowered = f" {message.lower()} "
        words = set(_NAME_WORD.findall(lowered))
        best: tuple[int, int, int] = (0, 0, 0)
        found: ProductRecord | None = None
        for n, product in enumerate(self.catalog):
            own = {w for name in (product.name_id, product.name_en) for w in _NAME_WORD.findall(name.lower())
                   if w not in _GENERIC and len(w) > 1}
            matched = len(own & words)
            if named and not (own & words) - _COMMON:
                continue
            category = any(f" {w} " in lowered or f" {w}s " in lowered
                           for w in _PRODUCT_WORDS.get(product.category, ()))
            score = (matched + (2 if category else 0), -len(own - words), -n)
            if (matched or category) and score > best:
                best, found = score, product
        return found

    def _small_talk(self, session: Session, lang: Language, intent: str) -> Reply:
        if intent == "greeting":
            if session.greeted:
                return self._say(session, text("greeting_again", lang), lang, "greeting", "greeting")
            session.greeted = True
            return self._say(session, text("greeting", lang, name=self.persona.name(lang)), lang, "greeting",
                             "greeting")
        if intent == "thanks":
            return self._say(session, text("thanks", lang), lang, "small_talk", "happy")
        return self._say(session, text("goodbye", lang), lang, "goodbye", "happy")

    def _handover(self, session: Session, lang: Language, reason: HandoverReason, key: str,
                  expression: Expression, *, confidence: float | None = None) -> Reply:
        said = text(key, lang)
        session.add(Turn("bot", said))
        session.failures = 0
        handover = Handover(self.persona.care_queue, reason, lang, tuple(session.transcript))
        return Reply(said, lang, "handover", expression, handover=handover, confidence=confidence)

    @staticmethod
    def _say(session: Session, said: str, lang: Language, action: Action, expression: Expression, *,
             source: FaqSource | None = None, confidence: float | None = None) -> Reply:
        session.add(Turn("bot", said))
        return Reply(said, lang, action, expression, source=source, confidence=confidence)


def _order_status(order: OrderRecord, lang: Language) -> str:
    said = ORDER_STATUS.get(order.status, {}).get(lang, order.status)
    if order.status == "shipped" and order.shipment_status:
        said = SHIPMENT_STATUS.get(order.shipment_status, {}).get(lang, said)
        if order.carrier and order.tracking_number:
            said += f" ({order.carrier} {order.tracking_number})"
    return said
