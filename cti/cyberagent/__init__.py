"""CyberAgent: the bilingual virtual agent that answers chats first. Pure: no I/O, no clock.

How a chat uses it (one :class:`CyberAgent` per process, one :class:`Session` per conversation)::

    bot = CyberAgent(FaqIndex(published_entries), persona=Persona({"id": "Sari", "en": "Sarah"}),
                     catalog=products, account=account)   # cti.services.CyberAgentDesk builds it
    session = Session(lang=None, customer_id=None)        # customer_id once the customer is verified
    first = bot.greet(session)
    reply = await bot.respond(session, "kapan tagihan saya jatuh tempo?")
    reply.text, reply.action, reply.expression, reply.source, reply.handover

Per message: the language (:func:`detect_language`, unless the session fixes it); then the rules of
:mod:`cti.cyberagent._intents` (a person asked for, anger, one's own orders or balance, buying, greetings); a
person asked for, anger or "that didn't help" are taken as such, and otherwise a question a supervisor labelled
(``learnt=``, :class:`LearntQuestions`: the same question or one worded nearly the same) is answered as labelled;
else the rules' reading stands,
corrected where it is sure by a trained :class:`IntentModel` (given as ``intents=``, learnt from customers'
labelled questions, :data:`QUESTIONS`); else
the FAQ (:class:`cti.faq.FaqIndex`): answered, with its entry as the source, only when the likeliest entry's
probability (:meth:`cti.faq.FaqIndex.classify`, whose classifier also knows "none of the FAQ") clears the
language's :data:`THRESHOLDS` (:class:`Thresholds`: probability, lead over the next, nearness of its words) or,
over a :class:`MeaningIndex`, when the language's learnt :class:`Combiner` (:data:`COMBINER`: alone in Indonesian,
beside the thresholds in English) finds answering it likely enough to be right; otherwise a person takes over
(``reply.handover``: the queue, the reason and the transcript). Buying hands a
sales lead with the product to the sales queue. Orders and balance are told only to
a verified customer (``session.customer_id``), through the :class:`Account` port; others are asked to sign in.
A question naming another company, shop, bank or brand where
ours is not in question ("jam buka bank bca", "return shoes to nike") is handed over (:mod:`._elsewhere`).
Every reply carries the face's ``expression``. bench/cyberagent.py measures it; docs/benchmarks.md has the
numbers.
"""

from cti.cyberagent._bot import (
    REPEATED_FAILURES,
    THRESHOLDS,
    TRANSCRIPT_TURNS,
    Account,
    Action,
    CyberAgent,
    Expression,
    FaqSearch,
    FaqSource,
    Handover,
    HandoverReason,
    Persona,
    Reply,
    Session,
    Thresholds,
    Turn,
    rupiah,
)
from cti.cyberagent._combiner import COMBINER, FEATURES, Combiner, Evidence
from cti.cyberagent._elsewhere import (
    ELSEWHERE,
    FaqAllows,
    about_elsewhere,
    faq_allows,
    known_words,
    named_elsewhere,
    unknown_names,
)
from cti.cyberagent._embedding import Embedder, embedder
from cti.cyberagent._intents import Intent, match_intent, tops_up, wants_to_buy
from cti.cyberagent._labels import (
    LABEL_KINDS,
    LOW_CONFIDENCE,
    AskedQuestion,
    LabelKind,
    QuestionLabel,
    UnsureReply,
    unsure_reply,
    valid_target,
)
from cti.cyberagent._language import detect_language
from cti.cyberagent._learnt import HANDOVER, LEARNT_SIMILARITY, Learnt, LearntQuestions
from cti.cyberagent._meaning import BLEND, Blend, MeaningIndex
from cti.cyberagent._model import INTENTS, OTHER, IntentModel, faq_questions, intent_examples
from cti.cyberagent._questions import QUESTIONS

__all__ = [
    "BLEND",
    "COMBINER",
    "ELSEWHERE",
    "FEATURES",
    "HANDOVER",
    "INTENTS",
    "LABEL_KINDS",
    "LEARNT_SIMILARITY",
    "LOW_CONFIDENCE",
    "OTHER",
    "QUESTIONS",
    "REPEATED_FAILURES",
    "THRESHOLDS",
    "TRANSCRIPT_TURNS",
    "Account",
    "Action",
    "AskedQuestion",
    "Blend",
    "Combiner",
    "CyberAgent",
    "Embedder",
    "Evidence",
    "Expression",
    "FaqAllows",
    "FaqSearch",
    "FaqSource",
    "Handover",
    "HandoverReason",
    "Intent",
    "IntentModel",
    "LabelKind",
    "Learnt",
    "LearntQuestions",
    "MeaningIndex",
    "Persona",
    "QuestionLabel",
    "Reply",
    "Session",
    "Thresholds",
    "Turn",
    "UnsureReply",
    "about_elsewhere",
    "detect_language",
    "embedder",
    "faq_allows",
    "faq_questions",
    "intent_examples",
    "known_words",
    "match_intent",
    "named_elsewhere",
    "rupiah",
    "tops_up",
    "unknown_names",
    "unsure_reply",
    "valid_target",
    "wants_to_buy",
]
