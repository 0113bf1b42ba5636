"""CyberAgent benchmark: how often the virtual agent answers right, hands over when it must, and answers wrong,
and how fast it replies, per language, against a baseline in the same run.

Run from the repository root inside the venv::

    python bench/cyberagent.py               # the held-out set, test13.yaml (a few minutes on one core)
    python bench/cyberagent.py --set test12  # a development set (dev, test, test2, dev2, test3 ... test12)
    python bench/cyberagent.py --leave-one-set-out  # the primary development measure (round 10), below
    python bench/cyberagent.py --cv sweep   # leave-one-set-out cross-validation: the thresholds in force
    python bench/cyberagent.py --cv modes   # the same, comparing ways of training the agent
    python bench/cyberagent.py --cv meaning # the same, blends of e5 with the classifier (round 6's choice)
    python bench/cyberagent.py --cv agent --mistakes  # the same, the agent as it is, with its mistakes
    python bench/cyberagent.py --cv combiner  # the same, round 8's thresholds against a learnt combiner (round 9)
    python bench/cyberagent.py --export-questions   # the development sets into cti/cyberagent/_questions.py
    python bench/cyberagent.py --embed-cache        # their e5 vectors into cti/cyberagent/vectors.npz

No server, no I/O: the agent (:class:`cti.cyberagent.CyberAgent`) is pure, so this drives it directly over the
demo's FAQ (``cti/sim/demo-faq.yaml``, with its alternative phrasings) and catalog, pinned to one core
(``--cpu``). Each question is a fresh conversation with a verified customer (an in-memory account), so order
and balance questions can be answered. Progress goes to stderr; one JSON object is the last line of stdout.
See docs/benchmarks.md, section "CyberAgent".

The questions are ``bench/cyberagent_questions/test13.yaml`` (held out: written by someone else during the
fourteenth round, to be run once after it; none of them may be in the FAQ's data, the out-of-scope examples or the
development sets, which the script checks; while it is not there the script says so and exits 2), and ``dev.yaml``,
``test.yaml``, ``test2.yaml``, ``dev2.yaml``, ``test3.yaml``, ``test4.yaml``, ``test5.yaml``, ``test6.yaml``,
``test7.yaml``, ``test8.yaml``, ``test9.yaml``, ``test10.yaml``, ``test11.yaml`` and ``test12.yaml`` (the
development sets; ``test`` to ``test12`` were held-out sets, and became development data once they had been
run). Since round 5 the agent *learns* from the development sets' questions (:data:`cti.cyberagent.QUESTIONS`, a
copy made by ``--export-questions``), so a development set says nothing by itself any more: the method and
thresholds are chosen by cross-validation (``--cv``: each set scored by an agent trained on the others), and
``--tune`` (round 4's sweep on the development sets) is kept for the record only.
Since round 10 the primary measure is ``--leave-one-set-out``: each set that was *written as a held-out set*
(``test`` to ``test12``) scored by an agent trained on the other development sets and a FAQ decision fitted and
its threshold chosen on them only (nested), per set and pooled. In-set cross-validation had promised 6-14 points
more than every fresh set gave; this is the closest the development data comes to a fresh set, and only the newest
set (never looked at before its own run) is fully honest: the rules, the FAQ's phrasings and the out-of-scope
examples were written having seen the older ones.
Each question says what the agent must do: answer with an FAQ entry, answer an intent (the customer's order status
or balance, a purchase), or hand over to a person (asked for one, angry, or out of scope).

Per language:

* ``correct_rate``: of the questions it should answer, the share answered with the right entry or intent;
* ``handover_rate``: of the questions it must hand over, the share handed over (at once, in the first reply);
* ``wrong_rate``: of all questions, the share given a wrong answer (a wrong entry or intent, or any answer to a
  question it had to hand over) — handing over an answerable question is not wrong, only not correct;
* ``reply_ms_p99``: ``respond`` wall time per question, nearest-rank p99 (after one warm-up pass).

The baseline is the same agent (same rules, same FAQ data, nothing learnt) over the FAQ search cti had before
(``bench/_faq_bm25.py``: a home-made stemmer and BM25), its threshold chosen on the development sets in this run
by the same rule as the agent's; ``without_learning`` is the agent without the learnt questions and the intent
model (round 5's rule fixes kept) at round 4's thresholds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _faq_bm25 import FaqIndex as Bm25Index
from _harness import percentile, run_and_print

from cti.crm import OrderRecord
from cti.cyberagent import (
    COMBINER,
    THRESHOLDS,
    CyberAgent,
    IntentModel,
    Session,
    Thresholds,
    faq_questions,
    intent_examples,
    known_words,
)
from cti.cyberagent import QUESTIONS as LEARNT
from cti.cyberagent._combiner import FEATURES, NEIGHBOURS, Combiner, Evidence
from cti.cyberagent._embedding import CACHE, Embedder
from cti.cyberagent._intents import asks_how
from cti.cyberagent._learnt import HANDOVER
from cti.cyberagent._meaning import BLEND, Blend, MeaningIndex
from cti.cyberagent._model import OTHER
from cti.faq import NONE, OUT_OF_SCOPE, FaqEntry, FaqIndex, normalize, read_texts
from cti.faq import _search as _search_module
from cti.faq._words import _ELSEWHERE, _GENERIC, FRAMED_OUT_OF_SCOPE, framed
from cti.sim._crm_seed_data import PRODUCTS
from cti.sim._demo_seed import starter_faq
from cti.types import Language

QUESTIONS = Path(__file__).resolve().parent / "cyberagent_questions"
INTENTS = ("order_status", "balance", "purchase")
T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
HELD_OUT = "test13"
DEVELOPMENT = ("dev", "test", "test2", "dev2", "test3", "test4", "test5", "test6", "test7", "test8", "test9",
               "test10", "test11", "test12")
"""The sets the method and thresholds are chosen on (``test`` to ``test12`` were held-out sets, spent once looked
at)."""
WRITTEN_HELD_OUT = tuple(name for name in DEVELOPMENT if name.startswith("test"))
"""The development sets that were written as held-out sets (by someone who never ran the agent): what
``--leave-one-set-out`` scores (``dev`` and ``dev2`` were written by the developers, so it only learns from them)."""
ROUND4_THRESHOLDS: Mapping[str, Thresholds] = {
    "id": Thresholds(answer=0.325, similarity=0.25, agree=True),
    "en": Thresholds(answer=0.65, similarity=0.3, margin=0.2),
}
"""The agent's thresholds before round 5, for the comparison without the learnt questions."""
ROUND5_THRESHOLDS: Mapping[str, Thresholds] = {
    "id": Thresholds(answer=0.35, similarity=0.25, margin=0.1, agree=True, intent=0.9),
    "en": Thresholds(answer=0.5, similarity=0.15, margin=0.2, intent=0.7),
}
"""The agent's thresholds in round 5, for the comparison without e5 (round 6)."""
ROUND8_THRESHOLDS: Mapping[str, Thresholds] = {
    "id": Thresholds(answer=0.25, similarity=0.25, margin=0.1, intent=0.9, agreed=0.3),
    "en": Thresholds(answer=0.55, similarity=0.15, margin=0.2, intent=0.7),
}
"""The agent's thresholds in round 8, what ``--cv combiner`` compares with (and records the evidence under)."""
MAX_CV_WRONG = 0.01
"""The rule thresholds are chosen by since round 5: the most right answers and hand-overs in cross-validation
with at most this share wrong — half the 2 % target, because every fresh set so far gave two to four times the
development sets' share of wrong answers."""
WRONG_COST = 5
"""Since round 6 (``--cv meaning``): a wrong answer counts as five right answers or hand-overs lost. The fresh
sets gave two to four times cross-validation's share of wrong answers, and a hand-over is better than a wrong
answer: among settings within :data:`MAX_CV_WRONG`, the one that trades a few right answers for fewer wrong ones."""
MAX_DEV_WRONG = 0.015
"""The rule thresholds are chosen by: the most correct answers on the development sets with at most this share
wrong (stricter than the 2 % target, to leave room for the held-out set)."""


class Account:
    """A verified customer with one shipped order and a balance."""

    async def open_orders(self, customer_id: str) -> Sequence[OrderRecord]:
        return [OrderRecord(order_number="70012345", customer_id=customer_id, status="shipped", items=(),
                            total_minor=349_900_000, placed_at=T0, shipment_status="in_transit")]

    async def balance_due(self, customer_id: str) -> int:
        return 25_000_000


def faq_entries() -> list[FaqEntry]:
    return [FaqEntry(entry_id, "published", 1, draft.product_line, read_texts(draft.texts), "cti", T0, T0)
            for entry_id, draft in starter_faq()]


def load(*names: str) -> dict[str, list[tuple[str, str]]]:
    """The named sets' questions per language, in order (several sets are joined)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        data = yaml.safe_load((QUESTIONS / f"{name}.yaml").read_text())
        for lang, items in data.items():
            found.setdefault(lang, []).extend(next(iter(item.items())) for item in items)
    return found


def leaks(entries: list[FaqEntry], questions: dict[str, list[tuple[str, str]]]) -> list[str]:
    """Test questions that are, word for word (stop words aside), a phrasing of the FAQ or one of the classifier's
    out-of-scope examples (:mod:`cti.faq._words`): there must be none."""
    phrasings = {(lang, normalize(p, lang)) for entry in entries for lang, text in entry.texts.items()
                 for p in (text.question, *text.keywords)}
    phrasings |= {(lang, normalize(p, lang)) for examples in (OUT_OF_SCOPE, FRAMED_OUT_OF_SCOPE)
                  for lang, found in examples.items() for p in found}
    return [q for lang, items in questions.items() for _, q in items if (lang, normalize(q, lang)) in phrasings]


def judge(want: str, reply: Any) -> str:
    """``correct``, ``handover``, ``wrong`` or ``other`` (asked to rephrase or sign in, or the like)."""
    if reply.action == "handover":
        return "correct" if want == "handover" else "handover"
    if want == "handover":
        return "wrong" if reply.action in ("faq", *INTENTS, "purchase_which") else "other"
    if want in INTENTS:
        got = "purchase" if reply.action == "purchase_which" else reply.action
        if got == want:
            return "correct"
        return "wrong" if reply.action in ("faq", *INTENTS, "purchase_which") else "other"
    if reply.action == "faq":
        return "correct" if reply.source.entry_id == want else "wrong"
    return "wrong" if reply.action in (*INTENTS, "purchase_which") else "other"


async def evaluate(bot: CyberAgent, questions: dict[str, list[tuple[str, str]]], *,
                   timed: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for lang, items in questions.items():
        verdicts: list[tuple[str, str, str, Any]] = []
        times: list[float] = []
        languages_right = 0
        for want, question in items:
            session = Session(customer_id="10000001")
            start = time.perf_counter()
            reply = await bot.respond(session, question)
            times.append(time.perf_counter() - start)
            languages_right += reply.lang == lang
            verdicts.append((want, question, judge(want, reply), reply))
        answerable = [v for v in verdicts if v[0] != "handover"]
        must = [v for v in verdicts if v[0] == "handover"]
        entry: dict[str, Any] = {
            "questions": len(verdicts), "answerable": len(answerable), "must_hand_over": len(must),
            "correct_rate": round(sum(v[2] == "correct" for v in answerable) / max(1, len(answerable)), 4),
            "handover_rate": round(sum(v[2] == "correct" for v in must) / max(1, len(must)), 4),
            "wrong_rate": round(sum(v[2] == "wrong" for v in verdicts) / max(1, len(verdicts)), 4),
            "handed_over_answerable": sum(v[2] == "handover" for v in answerable),
            "language_detected_rate": round(languages_right / max(1, len(items)), 4),
        }
        if timed:
            entry["reply_ms_p50"] = round(statistics.median(times) * 1000, 3)
            entry["reply_ms_p99"] = round((percentile(times, 99) or 0.0) * 1000, 3)
            entry["reply_ms_max"] = round(max(times) * 1000, 3)
        entry["mistakes"] = [
            {"want": want, "question": question, "verdict": verdict, "action": reply.action,
             "entry": reply.source.entry_id if reply.source else None,
             "score": None if reply.confidence is None else round(reply.confidence, 3)}
            for want, question, verdict, reply in verdicts if verdict != "correct"]
        result[lang] = entry
    return result


class Memo:
    """An index whose answers are remembered: a threshold sweep asks the same questions hundreds of times."""

    def __init__(self, index: Any) -> None:
        self.index = index
        self.memo: dict[tuple[Any, ...], Any] = {}

    def search(self, query: str, lang: str, **options: Any) -> Any:
        key = ("search", query, lang, *sorted(options.items()))
        if key not in self.memo:
            self.memo[key] = self.index.search(query, lang, **options)
        return self.memo[key]

    def classify(self, query: str, lang: str, **options: Any) -> Any:
        key = ("classify", query, lang, *sorted(options.items()))
        if key not in self.memo:
            self.memo[key] = self.index.classify(query, lang, **options)
        return self.memo[key]

    def entry(self, entry_id: str) -> FaqEntry | None:
        found: FaqEntry | None = self.index.entry(entry_id)
        return found

    def entries(self, lang: str) -> list[FaqEntry]:
        found: list[FaqEntry] = self.index.entries(lang)
        return found

    def phrasings(self, lang: str) -> list[str]:
        found: list[str] = self.index.phrasings(lang)
        return found


class Baseline:
    """The old BM25 index as the agent's index: its ranking is its classification, its score the confidence."""

    def __init__(self, entries: list[FaqEntry]) -> None:
        self.index = Bm25Index(entries)
        self._by_id = {entry.entry_id: entry for entry in entries}

    def entry(self, entry_id: str) -> FaqEntry | None:
        return self._by_id.get(entry_id)

    def entries(self, lang: str) -> list[FaqEntry]:
        """The entries with a text in ``lang`` (the agent reads the FAQ's own dotted names from them)."""
        return [entry for entry in self._by_id.values() if lang in entry.texts]

    def search(self, query: str, lang: str, **options: Any) -> Any:
        return self.index.search(query, lang, **options)

    def classify(self, query: str, lang: str, *, limit: int = 2) -> Any:
        return self.index.search(query, lang, limit=limit)


async def sweep(make: Callable[[Thresholds], CyberAgent], dev: dict[str, list[tuple[str, str]]],
                grid: Sequence[tuple[float, float, float, bool]]) -> tuple[dict[str, Thresholds],
                                                                           list[dict[str, Any]]]:
    """Per language, the thresholds with the most right answers and hand-overs among those with at most
    :data:`MAX_DEV_WRONG` wrong (ties: the stricter)."""
    rows: list[dict[str, Any]] = []
    best: dict[str, tuple[float, ...]] = {}
    chosen: dict[str, Thresholds] = {}
    for answer, similarity, margin, agree in grid:
        thresholds = Thresholds(answer=round(answer, 3), similarity=similarity, margin=margin, agree=agree)
        scored = await evaluate(make(thresholds), dev, timed=False)
        row: dict[str, Any] = {"answer": thresholds.answer, "similarity": similarity, "margin": margin,
                               "agree": agree}
        for lang, result in scored.items():
            row[lang] = {key: result[key] for key in ("correct_rate", "wrong_rate", "handover_rate")}
            key = (result["correct_rate"] + result["handover_rate"], agree, thresholds.answer, similarity, margin)
            if result["wrong_rate"] <= MAX_DEV_WRONG and (lang not in best or key > best[lang]):
                best[lang], chosen[lang] = key, thresholds
        rows.append(row)
    return chosen, rows


@contextmanager
def patched(module: Any, **values: Any) -> Iterator[None]:
    old = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(module, name, value)


def described(thresholds: Mapping[str, Thresholds]) -> dict[str, dict[str, Any]]:
    return {lang: {"answer": t.answer, "similarity": t.similarity, "margin": t.margin, "agree": t.agree,
                   "intent": t.intent, "veto": t.veto} for lang, t in thresholds.items()}


def pooled(results: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Several folds' results as one: counts added, rates over the sums."""
    total: dict[str, dict[str, Any]] = {}
    for result in results:
        for lang, entry in result.items():
            mine = total.setdefault(lang, {"questions": 0, "answerable": 0, "must_hand_over": 0, "correct": 0,
                                           "handed": 0, "wrong": 0})
            mine["questions"] += entry["questions"]
            mine["answerable"] += entry["answerable"]
            mine["must_hand_over"] += entry["must_hand_over"]
            mine["correct"] += round(entry["correct_rate"] * entry["answerable"])
            mine["handed"] += round(entry["handover_rate"] * entry["must_hand_over"])
            mine["wrong"] += round(entry["wrong_rate"] * entry["questions"])
    for mine in total.values():
        mine["correct_rate"] = round(mine["correct"] / max(1, mine["answerable"]), 4)
        mine["handover_rate"] = round(mine["handed"] / max(1, mine["must_hand_over"]), 4)
        mine["wrong_rate"] = round(mine["wrong"] / max(1, mine["questions"]), 4)
    return total


class MemoIntents:
    """An intent model whose answers are remembered (a sweep asks the same messages many times)."""

    def __init__(self, model: IntentModel) -> None:
        self.model = model
        self.memo: dict[tuple[str, str], dict[str, float]] = {}

    def probabilities(self, text: str, lang: str) -> dict[str, float]:
        key = (text, lang)
        if key not in self.memo:
            self.memo[key] = self.model.probabilities(text, lang)
        return self.memo[key]


def fold_models(entries: list[FaqEntry], others: Mapping[str, Sequence[tuple[str, str]]], c: float, *,
                mode: str = "faq+questions") -> tuple[Any, MemoIntents]:
    """The FAQ index and intent model the agent gets when trained on ``others`` (as the server's are on
    :data:`cti.cyberagent.QUESTIONS`): ``mode`` faq-only leaves the FAQ classifier to the FAQ's own data,
    faq+questions+intents-as-none teaches it the intents' questions as none of the FAQ's."""
    index = FaqIndex(entries)
    model = IntentModel(intent_examples(others, index), c=c)
    model.prepare()
    if mode != "faq-only":
        learnt = faq_questions(others)
        if mode.endswith("none"):
            learnt = {lang: [*found, *((NONE, q) for want, q in others[lang] if want in INTENTS)]
                      for lang, found in learnt.items()}
        index = FaqIndex(entries, learnt)
    index.prepare()
    return Memo(index), MemoIntents(model)


async def cross_validate(args: argparse.Namespace, entries: list[FaqEntry]) -> dict[str, Any]:
    """Leave one development set out: the FAQ classifier and the intent model trained on the other sets (and the
    FAQ's own data), the agent measured on the set left out, for each setting; results pooled over the folds.
    ``--cv modes`` compares ways of training; ``--cv sweep`` sweeps the thresholds of the way chosen and picks, per
    language, the most right answers and hand-overs with at most :data:`MAX_CV_WRONG` wrong."""
    sets = {name: load(name) for name in DEVELOPMENT}
    if args.cv == "modes":
        modes: tuple[str, ...] = ("faq-only", "faq+questions", "faq+questions+intents-as-none")
        answers = {"id": (0.25, 0.325, 0.4, 0.5), "en": (0.45, 0.55, 0.65, 0.75)}
        grid = [(mode, {lang: replace(t, answer=answers[lang][n], intent=intent) for lang, t in THRESHOLDS.items()})
                for mode in modes for n in range(4) for intent in (0.8, 1.01)]
    else:
        modes = ("faq+questions",)
        grid = [("faq+questions", dict.fromkeys(THRESHOLDS, Thresholds(
                    answer=round(a / 20, 3), similarity=similarity, margin=margin, agree=agree, intent=intent)))
                for a in range(2, 19) for similarity in (0.0, 0.15, 0.25, 0.3) for margin in (0.0, 0.1, 0.2)
                for agree in (False, True) for intent in (0.7, 0.8, 0.9, 1.01)]
    folds: dict[int, list[dict[str, Any]]] = {}
    for name in DEVELOPMENT:
        others = {lang: [item for other in DEVELOPMENT if other != name for item in sets[other][lang]]
                  for lang in sets[name]}
        for mode in modes:
            index, model = fold_models(entries, others, args.cv_c, mode=mode)
            for n, (mode_, thresholds) in enumerate(grid):
                if mode_ != mode:
                    continue
                bot = CyberAgent(index, catalog=PRODUCTS, account=Account(), thresholds=thresholds,
                                 intents=model, known=known_words(entries, others))  # type: ignore[arg-type]
                result = await evaluate(bot, sets[name], timed=False)
                for entry in result.values():
                    entry.pop("mistakes")
                folds.setdefault(n, []).append(result)
        print(f"fold {name} done", file=sys.stderr)
    rows = [{"mode": grid[n][0], "thresholds": described(grid[n][1]), **pooled(results)}
            for n, results in folds.items()]
    best: dict[str, tuple[tuple[float, ...], dict[str, Any]]] = {}
    for row in rows:
        for lang in THRESHOLDS:
            t = row["thresholds"][lang]
            key = (row[lang]["correct_rate"] + row[lang]["handover_rate"], -row[lang]["wrong_rate"], t["agree"],
                   t["answer"], t["similarity"], t["margin"], -t["intent"])
            if row[lang]["wrong_rate"] <= MAX_CV_WRONG and (lang not in best or key > best[lang][0]):
                best[lang] = (key, {"mode": row["mode"], "thresholds": t, **row[lang]})
    return {"cv": args.cv, "c": args.cv_c, "sets": list(DEVELOPMENT), "max_wrong": MAX_CV_WRONG,
            "chosen": {lang: found for lang, (_, found) in best.items()}, "rows": rows}


BLENDS: tuple[Blend, ...] = (Blend(0.0), *(Blend(w, t) for w in (0.25, 0.5, 0.75, 1.0) for t in (0.01, 0.02, 0.05)))
"""The blends of meaning with the classifier that ``--cv meaning`` compares (weight 0: without e5)."""


class _Recorded(Exception):
    """The FAQ's decision was reached: its inputs are recorded instead (``--cv meaning``)."""


async def _decisions(bot: CyberAgent, questions: Sequence[tuple[str, str]],
                     lang: str) -> list[tuple[str, Any, Any, str]]:
    """Per question: what it wants, the top two hits and the closest entry when the agent reached the FAQ's
    decision (else None), and the verdict when the FAQ is not confident (or the fixed verdict otherwise)."""
    found: list[tuple[str, Any, Any, str]] = []
    seen: list[Any] = []
    original = CyberAgent._confident

    def record(hits: Any, closest: Any, thresholds: Thresholds) -> None:
        seen.append((hits, closest))
        return None

    CyberAgent._confident = staticmethod(record)  # type: ignore[method-assign,assignment]
    try:
        for want, question in questions:
            seen.clear()
            reply = await bot.respond(Session(customer_id="10000001"), question)
            verdict = judge(want, reply)
            found.append((want, seen[0][0] if seen else None, seen[0][1] if seen else None, verdict))
    finally:
        CyberAgent._confident = staticmethod(original)  # type: ignore[method-assign,assignment]
    return found


def _grid_scores(recorded: list[tuple[str, Any, Any, str]], grid: Sequence[Thresholds]) -> list[tuple[int, int, int]]:
    """Per thresholds of ``grid``: (right, handed over of those to hand over, wrong), vectorized."""
    import numpy as np
    n = len(recorded)
    reached = np.array([r[1] is not None and len(r[1]) > 0 and r[2] is not None for r in recorded])
    top = np.array([r[1][0].score if reached[i] else 0.0 for i, r in enumerate(recorded)])
    second = np.array([(r[1][1].score if len(r[1]) > 1 else 0.0) if reached[i] else 0.0
                       for i, r in enumerate(recorded)])
    closest = np.array([r[2].score if reached[i] else 0.0 for i, r in enumerate(recorded)])
    same = np.array([reached[i] and r[2].entry.entry_id == r[1][0].entry.entry_id for i, r in enumerate(recorded)])
    right_entry = np.array([reached[i] and r[1][0].entry.entry_id == r[0] for i, r in enumerate(recorded)])
    must = np.array([r[0] == "handover" for r in recorded])
    fallback = np.array([r[3] for r in recorded])
    out = []
    for t in grid:
        answered = reached & (closest >= t.similarity) & (top >= t.answer) & (top - second >= t.margin)
        if t.agree:
            answered &= same
        verdict = np.where(answered, np.where(right_entry, "correct", "wrong"), fallback)
        correct = int(((verdict == "correct") & ~must).sum())
        handed = int(((verdict == "correct") & must).sum())
        wrong = int((verdict == "wrong").sum())
        out.append((correct, handed, wrong))
    assert n == len(recorded)
    return out


async def cross_validate_meaning(args: argparse.Namespace, entries: list[FaqEntry]) -> dict[str, Any]:
    """``--cv meaning``: leave one development set out, as ``--cv``; for each blend of :data:`BLENDS` (weight 0 is
    the agent without e5) sweep the FAQ's thresholds (the intent model's as in force) and pick per language the
    most right answers and hand-overs less :data:`WRONG_COST` per wrong one, with at most :data:`MAX_CV_WRONG`
    wrong. The FAQ's decision is taken once per question and blend (its inputs recorded), and the thresholds are
    applied to the records, so the whole grid costs about as much as one agent's pass."""
    sets = {name: load(name) for name in DEVELOPMENT}
    embedder = Embedder()
    grid = [Thresholds(answer=round(a / 20, 3), similarity=similarity, margin=margin, agree=agree)
            for a in range(2, 19) for similarity in (0.0, 0.15, 0.25, 0.3) for margin in (0.0, 0.05, 0.1, 0.2)
            for agree in (False, True)]
    totals: dict[tuple[int, str], list[list[int]]] = {}
    per_fold: dict[tuple[int, str, str], list[tuple[int, int, int]]] = {}
    sizes: dict[str, list[int]] = {}
    started = time.perf_counter()
    for name in DEVELOPMENT:
        others = {lang: [item for other in DEVELOPMENT if other != name for item in sets[other][lang]]
                  for lang in sets[name]}
        index, model = fold_models(entries, others, args.cv_c)
        meaning = MeaningIndex(index, embedder, others)
        meaning.prepare()
        known = known_words(entries, others)
        for b, blend in enumerate(BLENDS):
            view = Memo(meaning.with_blend(dict.fromkeys(("id", "en"), blend)))
            bot = CyberAgent(view, catalog=PRODUCTS, account=Account(), thresholds=THRESHOLDS,
                             intents=model, known=known)  # type: ignore[arg-type]
            for lang, items in sets[name].items():
                recorded = await _decisions(bot, items, lang)
                scored = _grid_scores(recorded, grid)
                per_fold[(b, lang, name)] = scored
                rows = totals.setdefault((b, lang), [[0, 0, 0] for _ in grid])
                for row, (c, h, w) in zip(rows, scored, strict=True):
                    row[0] += c
                    row[1] += h
                    row[2] += w
                if b == 0:
                    mine = sizes.setdefault(lang, [0, 0, 0])
                    mine[0] += len(items)
                    mine[1] += sum(want != "handover" for want, _ in items)
                    mine[2] += sum(want == "handover" for want, _ in items)
        print(f"fold {name} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    result: dict[str, Any] = {"cv": "meaning", "sets": list(DEVELOPMENT), "max_wrong": MAX_CV_WRONG,
                              "sizes": sizes, "blends": {}}
    for (b, lang), rows in totals.items():
        questions, answerable, must = sizes[lang]
        best: tuple[Any, ...] | None = None
        for t, (c, h, w) in zip(grid, rows, strict=True):
            if w / questions > MAX_CV_WRONG:
                continue
            key = (c + h - WRONG_COST * w, -w, t.agree, t.answer, t.similarity, t.margin)
            if best is None or key > best[0]:
                best = (key, t, c, h, w)
        blend = BLENDS[b]
        name = f"w{blend.weight}-t{blend.temperature}"
        entry = result["blends"].setdefault(name, {"weight": blend.weight, "temperature": blend.temperature})
        if best is not None:
            _, t, c, h, w = best
            entry[lang] = {"thresholds": {"answer": t.answer, "similarity": t.similarity, "margin": t.margin,
                                          "agree": t.agree},
                           "correct_rate": round(c / answerable, 4), "handover_rate": round(h / must, 4),
                           "wrong_rate": round(w / questions, 4), "correct": c, "handed": h, "wrong": w}
        # And at the thresholds in force, for the record.
        force = THRESHOLDS[lang]  # type: ignore[index]
        for t, (c, h, w) in zip(grid, rows, strict=True):
            if (t.answer, t.similarity, t.margin, t.agree) == (force.answer, force.similarity, force.margin,
                                                                force.agree):
                entry[f"{lang}_in_force"] = {"correct_rate": round(c / answerable, 4),
                                             "handover_rate": round(h / must, 4),
                                             "wrong_rate": round(w / questions, 4)}
    result["nested"] = _nested(sets, per_fold, grid)
    return result


def _choose(rows: Mapping[int, Sequence[tuple[int, int, int]]], grid: Sequence[Thresholds],
            questions: int) -> tuple[int, int] | None:
    """The blend and thresholds (their indexes) ``--cv meaning``'s rule picks from pooled counts per blend: the
    most right answers and hand-overs less :data:`WRONG_COST` per wrong one, with at most :data:`MAX_CV_WRONG`
    wrong (ties: fewer wrong, then the stricter)."""
    best: tuple[tuple[Any, ...], int, int] | None = None
    for b, scored in rows.items():
        for n, (t, (c, h, w)) in enumerate(zip(grid, scored, strict=True)):
            if w / questions > MAX_CV_WRONG:
                continue
            key = (c + h - WRONG_COST * w, -w, t.agree, t.answer, t.similarity, t.margin)
            if best is None or key > best[0]:
                best = (key, b, n)
    return None if best is None else (best[1], best[2])


def _nested(sets: Mapping[str, Mapping[str, Sequence[tuple[str, str]]]],
            per_fold: Mapping[tuple[int, str, str], Sequence[tuple[int, int, int]]],
            grid: Sequence[Thresholds]) -> dict[str, Any]:
    """What choosing the blend and thresholds by cross-validation gives on a set it never saw: per development
    set, the choice (:func:`_choose`) made on the other sets' folds alone, scored on that set; pooled. The pooled
    choice flatters itself (the best of many settings on the very folds it is scored on); this does not."""
    result: dict[str, Any] = {}
    blends = sorted({b for b, _, _ in per_fold})
    for lang in ("id", "en"):
        pooled_counts = [0, 0, 0]
        size = [0, 0, 0]
        chosen: dict[str, Any] = {}
        for held in sets:
            rows: dict[int, list[tuple[int, int, int]]] = {}
            questions = 0
            for other in sets:
                if other == held:
                    continue
                questions += len(sets[other][lang])
                for b in blends:
                    scored = per_fold[(b, lang, other)]
                    rows[b] = [(c0 + c, h0 + h, w0 + w) for (c0, h0, w0), (c, h, w)
                               in zip(rows.get(b, [(0, 0, 0)] * len(grid)), scored, strict=True)]
            pick = _choose(rows, grid, questions)
            items = sets[held][lang]
            size[0] += len(items)
            size[1] += sum(want != "handover" for want, _ in items)
            size[2] += sum(want == "handover" for want, _ in items)
            if pick is None:
                continue
            b, n = pick
            c, h, w = per_fold[(b, lang, held)][n]
            pooled_counts = [pooled_counts[0] + c, pooled_counts[1] + h, pooled_counts[2] + w]
            t = grid[n]
            chosen[held] = {"blend": f"w{BLENDS[b].weight}-t{BLENDS[b].temperature}", "answer": t.answer,
                            "similarity": t.similarity, "margin": t.margin, "agree": t.agree,
                            "correct": c, "handed": h, "wrong": w}
        c, h, w = pooled_counts
        result[lang] = {"correct_rate": round(c / max(1, size[1]), 4), "handover_rate": round(h / max(1, size[2]), 4),
                        "wrong_rate": round(w / max(1, size[0]), 4), "correct": c, "handed": h, "wrong": w,
                        "chosen": chosen}
    return result


def kind_of_mistake(want: str, verdict: str, action: str) -> str:
    """A mistake's kind, for the error analysis (``--cv agent``)."""
    if verdict == "handover":
        return "answerable handed over"
    if want == "handover":
        return "hand-over answered"
    if action == "faq" and want not in INTENTS:
        return "wrong entry"
    if action in (*INTENTS, "purchase_which", "faq"):
        return "intent confusion"
    return "other"


async def cross_validate_agent(args: argparse.Namespace, entries: list[FaqEntry]) -> dict[str, Any]:
    """``--cv agent``: leave one development set out, the agent exactly as the server builds it (its rules, blend
    and thresholds in force) trained on the others, scored on the one left out; pooled over the folds, with every
    mistake and its kind (:func:`kind_of_mistake`) and per fold."""
    sets = {name: load(name) for name in DEVELOPMENT}
    embedder = Embedder()
    results: list[dict[str, Any]] = []
    folds: dict[str, Any] = {}
    mistakes: dict[str, list[dict[str, Any]]] = {}
    started = time.perf_counter()
    for name in DEVELOPMENT:
        others = {lang: [item for other in DEVELOPMENT if other != name for item in sets[other][lang]]
                  for lang in sets[name]}
        index, model = fold_models(entries, others, args.cv_c)
        meaning = MeaningIndex(index, embedder, others)
        meaning.prepare()
        bot = CyberAgent(meaning, catalog=PRODUCTS, account=Account(), thresholds=THRESHOLDS,
                         intents=model, known=known_words(entries, others))  # type: ignore[arg-type]
        result = await evaluate(bot, sets[name], timed=False)
        for lang, entry in result.items():
            for found in entry.pop("mistakes"):
                mistakes.setdefault(lang, []).append(
                    {"set": name, "kind": kind_of_mistake(found["want"], found["verdict"], found["action"]),
                     **found})
        folds[name] = {lang: {key: entry[key] for key in ("correct_rate", "handover_rate", "wrong_rate")}
                       for lang, entry in result.items()}
        results.append(result)
        print(f"fold {name} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    total = pooled(results)
    for lang, found in mistakes.items():
        kinds: dict[str, int] = {}
        for mistake in found:
            kinds[mistake["kind"]] = kinds.get(mistake["kind"], 0) + 1
        total[lang]["kinds"] = dict(sorted(kinds.items()))
        if args.mistakes:
            total[lang]["mistakes"] = found
    return {"cv": "agent", "sets": list(DEVELOPMENT), "thresholds": described(THRESHOLDS),
            "blend": {lang: {"weight": b.weight, "temperature": b.temperature} for lang, b in BLEND.items()},
            "pooled": total, "folds": folds}


AGREED: tuple[float, ...] = (1.01, 0.3, 0.2, 0.15)
"""``--cv agreed``'s values of :attr:`Thresholds.agreed` (1.01: off)."""
AGREED_INTENT: tuple[float, ...] = (1.01, 0.5, 0.3)
"""``--cv agreed``'s values of :attr:`Thresholds.agreed_intent` (1.01: off)."""


def _counts(result: Mapping[str, Any]) -> tuple[int, int, int]:
    """(right answers, hand-overs, wrong answers) of one language's :func:`evaluate` result."""
    right = round(result["correct_rate"] * result["answerable"])
    handed = round(result["handover_rate"] * result["must_hand_over"])
    return right, handed, round(result["wrong_rate"] * result["questions"])


def _pick(scored: Mapping[tuple[float, float], tuple[int, int, int]], questions: int) -> tuple[float, float]:
    """The setting the round's rule picks from pooled counts: the most right answers and hand-overs less
    :data:`WRONG_COST` per wrong one, with at most :data:`MAX_CV_WRONG` wrong (ties: the stricter)."""
    allowed = [(key, counts) for key, counts in scored.items() if counts[2] / questions <= MAX_CV_WRONG]
    allowed = allowed or [((1.01, 1.01), scored[(1.01, 1.01)])]
    return max(allowed, key=lambda item: (item[1][0] + item[1][1] - WRONG_COST * item[1][2], -item[1][2],
                                          item[0][0], item[0][1]))[0]


async def cross_validate_agreed(args: argparse.Namespace, entries: list[FaqEntry]) -> dict[str, Any]:
    """``--cv agreed`` (round 8): leave one development set out, the agent as the server builds it trained on the
    others, scored on the one left out with each pair of :data:`AGREED` and :data:`AGREED_INTENT` (the thresholds in
    force otherwise); pooled per pair, with the nested estimate (per set, the pair the rule picks on the other
    sets' folds, scored on that set)."""
    sets = {name: load(name) for name in DEVELOPMENT}
    embedder = Embedder()
    grid = [(a, i) for a in AGREED for i in AGREED_INTENT]
    per_fold: dict[tuple[str, str], dict[tuple[float, float], tuple[int, int, int]]] = {}
    started = time.perf_counter()
    for name in DEVELOPMENT:
        others = {lang: [item for other in DEVELOPMENT if other != name for item in sets[other][lang]]
                  for lang in sets[name]}
        index, model = fold_models(entries, others, args.cv_c)
        meaning = MeaningIndex(index, embedder, others)
        meaning.prepare()
        known = known_words(entries, others)
        for agreed, agreed_intent in grid:
            thresholds = {lang: replace(t, agreed=agreed, agreed_intent=agreed_intent)
                          for lang, t in THRESHOLDS.items()}
            bot = CyberAgent(meaning, catalog=PRODUCTS, account=Account(), thresholds=thresholds,
                             intents=model, known=known)  # type: ignore[arg-type]
            if (agreed, agreed_intent) == grid[0]:  # the fold's vectors kept for the whole grid
                for lang, items in sets[name].items():
                    embedder.vectors([bot.normalized(question, lang) for _, question in items], lang)
            result = await evaluate(bot, sets[name], timed=False)
            for lang, entry in result.items():
                per_fold.setdefault((lang, name), {})[(agreed, agreed_intent)] = _counts(entry)
        print(f"fold {name} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    report: dict[str, Any] = {"cv": "agreed", "sets": list(DEVELOPMENT), "thresholds": described(THRESHOLDS)}
    for lang in ("id", "en"):
        sizes = {name: (len(sets[name][lang]), sum(w != "handover" for w, _ in sets[name][lang])) for name in sets}
        total, answerable = sum(n for n, _ in sizes.values()), sum(a for _, a in sizes.values())
        pooled_rows = {key: tuple(sum(per_fold[(lang, name)][key][k] for name in sets) for k in range(3))
                       for key in grid}
        rows = [{"agreed": key[0], "agreed_intent": key[1], "correct": c, "handed": h, "wrong": w,
                 "correct_rate": round(c / answerable, 4), "wrong_rate": round(w / total, 4)}
                for key, (c, h, w) in pooled_rows.items()]
        nested = [0, 0, 0]
        chosen = {}
        for held in sets:
            others_rows = {key: tuple(sum(per_fold[(lang, name)][key][k] for name in sets if name != held)
                                      for k in range(3)) for key in grid}
            pick = _pick(others_rows, total - sizes[held][0])
            chosen[held] = {"agreed": pick[0], "agreed_intent": pick[1]}
            nested = [n + v for n, v in zip(nested, per_fold[(lang, held)][pick], strict=True)]
        report[lang] = {"grid": rows, "pooled_choice": dict(zip(("agreed", "agreed_intent"),
                                                                 _pick(pooled_rows, total), strict=True)),
                        "nested": {"correct": nested[0], "handed": nested[1], "wrong": nested[2],
                                   "correct_rate": round(nested[0] / answerable, 4),
                                   "wrong_rate": round(nested[2] / total, 4), "chosen": chosen}}
    return report


async def _evidence(bot: CyberAgent, meaning: MeaningIndex, questions: Sequence[tuple[str, str]],
                    lang: str) -> list[dict[str, Any]]:
    """Per question: what it wants, the verdict when the FAQ does not answer (the rules' and the fallback's), the
    entry round 8's thresholds answer (None: none) and the scorers' evidence (:class:`Evidence`; None when the
    agent never reached the FAQ's decision); since round 12 also whether the message asks how or where to do
    something (``how``: no intent of the model's taken) and whether it is about something the agent does not answer
    (``unfamiliar``: handed over whatever the FAQ's decision), which :func:`_decided` honours."""
    found: list[dict[str, Any]] = []
    seen: dict[str, Any] = {}
    confident, agreed = CyberAgent._confident, CyberAgent._agreed

    def record_closest(hits: Any, closest: Any, thresholds: Thresholds) -> None:
        seen["closest"], seen["round8"] = closest, confident(hits, closest, thresholds)
        return None

    def record(self: CyberAgent, said: str, lang_: Language, hits: list[Any]) -> None:
        round8 = seen["round8"] or agreed(self, said, lang_, hits)
        intents = self.intents.probabilities(said, lang_) if self.intents is not None else {}
        evidence = Evidence.of(hits, seen["closest"], meaning.alone(said, lang_), meaning.nearness(said, lang_),
                               meaning.neighbours(said, lang_, NEIGHBOURS),
                               max((intents.get(label, 0.0) for label in INTENTS), default=0.0))
        near = meaning.nearness(said, lang_)
        alone = meaning.alone(said, lang_)[:2]
        extra = {"hits": [[hit.entry.entry_id, round(hit.score, 4)] for hit in hits[:2]],
                 "alone": [[hit.entry.entry_id, round(hit.score, 4)] for hit in alone],
                 "near": sorted(([label, round(score, 4)] for label, score in near.items()),
                                key=lambda item: -item[1])[:3],
                 "labels": {label: round(near.get(label, -1.0), 4) for label in (*INTENTS, HANDOVER)},
                 "knn": meaning.neighbours(said, lang_, NEIGHBOURS),
                 "intents": {label: round(p, 4) for label, p in intents.items()},
                 "how": asks_how(said, lang_), "unfamiliar": self._unfamiliar(said, lang_)}
        seen["record"] = (round8.entry.entry_id if round8 is not None else None, evidence, extra)
        return None

    CyberAgent._confident = staticmethod(record_closest)  # type: ignore[method-assign,assignment]
    CyberAgent._agreed = record  # type: ignore[method-assign,assignment]
    try:
        for want, question in questions:
            seen.clear()
            reply = await bot.respond(Session(customer_id="10000001"), question)
            round8, evidence, extra = seen.get("record", (None, None, None))
            found.append({"want": want, "question": question, "fallback": judge(want, reply), "round8": round8,
                          "action": reply.action, "evidence": None if evidence is None else asdict(evidence),
                          "extra": extra})
    finally:
        CyberAgent._confident = staticmethod(confident)  # type: ignore[method-assign,assignment]
        CyberAgent._agreed = agreed  # type: ignore[method-assign]
    return found


async def _overrule_inputs(bot: CyberAgent, questions: Sequence[tuple[str, str]],
                           lang: str) -> list[dict[str, Any] | None]:
    """Per question, what :meth:`CyberAgent._overruled` reads of the intent the rules and the model settled on
    (None: no intent of :data:`INTENTS`): that intent, the intent model's "something else", the nearest label in
    meaning and how much nearer it is than the intent's examples."""
    assert isinstance(bot.index, MeaningIndex) and bot.intents is not None
    index, intents = bot.index, bot.intents
    seen: list[dict[str, Any]] = []
    original = CyberAgent._overruled

    def record(self: CyberAgent, said: str, lang_: Language, intent: str) -> bool:
        near = index.nearness(said, lang_)
        label = max(near, key=lambda name: near[name])
        seen.append({"intent": intent, "other": round(intents.probabilities(said, lang_)[OTHER], 4), "label": label,
                     "gap": round(near[label] - near.get(intent, -1.0), 4)})
        return bool(original(self, said, lang_, intent))

    CyberAgent._overruled = record  # type: ignore[method-assign]
    found: list[dict[str, Any] | None] = []
    try:
        for _, question in questions:
            seen.clear()
            await bot.respond(Session(customer_id="10000001"), question)
            found.append(seen[0] if seen else None)
    finally:
        CyberAgent._overruled = original  # type: ignore[method-assign]
    return found


def _verdict(record: Mapping[str, Any], entry: str | None) -> str:
    """The verdict of answering ``entry`` (None: the FAQ does not answer, the fallback's verdict stands)."""
    if entry is None:
        return str(record["fallback"])
    return "correct" if entry == record["want"] else "wrong"


def _tally(records: Sequence[Mapping[str, Any]], answered: Sequence[str | None]) -> tuple[int, int, int]:
    """(right answers, hand-overs of those to hand over, wrong answers)."""
    right = handed = wrong = 0
    for record, entry in zip(records, answered, strict=True):
        verdict = _verdict(record, entry)
        must = record["want"] == "handover"
        right += verdict == "correct" and not must
        handed += verdict == "correct" and must
        wrong += verdict == "wrong"
    return right, handed, wrong


def _matrix(records: Sequence[Mapping[str, Any]], features: Sequence[str]) -> Any:
    import numpy as np
    return np.asarray([[float(r["evidence"][f]) for f in features] for r in records], dtype=np.float64)


def _fit(records: Sequence[Mapping[str, Any]], features: Sequence[str], c: float, *,
         beside: bool = False) -> tuple[Combiner, Any]:
    """A :class:`Combiner` fitted on the records with evidence (is answering the likeliest entry right?), its
    threshold chosen on them by the round-6 rule; and the training's standardisation folded into the weights."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    usable = [r for r in records if r["evidence"] is not None]
    x = _matrix(usable, features)
    y = np.asarray([r["evidence"]["entry"] == r["want"] for r in usable])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y)
    weights = model.coef_[0] / scale
    bias = float(model.intercept_[0] - (model.coef_[0] * mean / scale).sum())
    probabilities = 1 / (1 + np.exp(-(x @ weights + bias)))
    by_id = {id(r): p for r, p in zip(usable, probabilities, strict=True)}
    best: tuple[tuple[float, ...], float] | None = None
    questions = len(records)
    for threshold in np.arange(0.3, 0.96, 0.01):
        answered = [r["round8"] if beside and r["round8"] is not None
                    else r["evidence"]["entry"] if id(r) in by_id and by_id[id(r)] >= threshold else None
                    for r in records]
        c_, h, w = _tally(records, answered)
        if w / questions > MAX_CV_WRONG:
            continue
        key = (c_ + h - WRONG_COST * w, -w, threshold)
        if best is None or key > best[0]:
            best = key, float(threshold)
    threshold = best[1] if best is not None else 1.01
    full = dict(zip(features, weights, strict=True))
    return Combiner(tuple(float(full.get(f, 0.0)) for f in FEATURES), bias, round(threshold, 2)), model


def _combined(records: Sequence[Mapping[str, Any]], combiner: Combiner, *,
              beside: bool = False) -> list[str | None]:
    """What the combiner answers (``beside``: where round 8's thresholds do not already)."""
    return [r["round8"] if beside and r["round8"] is not None
            else r["evidence"]["entry"] if r["evidence"] is not None
            and combiner.answers(Evidence(**r["evidence"])) else None for r in records]


COMBINER_FEATURES: Mapping[str, tuple[str, ...]] = {
    "all": FEATURES,
    "thresholds' own": ("blended", "lead", "similarity", "closest_same"),
    "without intent": tuple(f for f in FEATURES if f != "intent"),
    "meaning only": ("cosine", "cosine_gap", "nearest_same", "neighbours"),
    "no neighbours": tuple(f for f in FEATURES if f != "neighbours"),
}
"""The feature sets ``--cv combiner`` compares (each a logistic regression fitted on the training folds)."""


def combiner_report(per_set: Mapping[str, Mapping[str, list[dict[str, Any]]]], c: float = 1.0) -> dict[str, Any]:
    """Round 8's thresholds against combiners of each feature set, leave one set out: per held set, the combiner
    fitted on the other sets' records (each recorded by an agent that had not learnt its own set), scored on the
    held set; per set and pooled. And the combiner of all the features fitted on all the sets' records, with its
    threshold alone and beside round 8's (what ships: :data:`cti.cyberagent.COMBINER`)."""
    report: dict[str, Any] = {"c": c, "features": dict(COMBINER_FEATURES)}
    for lang in ("id", "en"):
        mine: dict[str, Any] = {}
        methods = ["round 8", *COMBINER_FEATURES, "all, beside round 8"]
        for method in methods:
            folds = {}
            totals = [0, 0, 0, 0, 0]
            for held in per_set:
                records = per_set[held][lang]
                if method == "round 8":
                    answered = [r["round8"] for r in records]
                else:
                    training = [r for other in per_set if other != held for r in per_set[other][lang]]
                    beside = method.endswith("beside round 8")
                    combiner, _ = _fit(training, COMBINER_FEATURES[method.split(",")[0]], c, beside=beside)
                    answered = _combined(records, combiner, beside=beside)
                right, handed, wrong = _tally(records, answered)
                answerable = sum(r["want"] != "handover" for r in records)
                folds[held] = {"correct_rate": round(right / answerable, 4),
                               "wrong_rate": round(wrong / len(records), 4), "correct": right, "wrong": wrong}
                totals = [a + b for a, b in zip(totals, (right, handed, wrong, answerable, len(records)),
                                                strict=True)]
            right, handed, wrong, answerable, questions = totals
            worst = min(folds, key=lambda name: folds[name]["correct_rate"])
            mine[method] = {"correct_rate": round(right / answerable, 4), "wrong_rate": round(wrong / questions, 4),
                            "handover_rate": round(handed / (questions - answerable), 4), "correct": right,
                            "handed": handed, "wrong": wrong, "worst_set": worst,
                            "worst_correct_rate": folds[worst]["correct_rate"], "folds": folds}
        combiner, _ = _fit([r for name in per_set for r in per_set[name][lang]], FEATURES, c)
        beside, _ = _fit([r for name in per_set for r in per_set[name][lang]], FEATURES, c, beside=True)
        mine["fitted_on_all"] = {"weights": dict(zip(FEATURES, (round(w, 4) for w in combiner.weights),
                                                     strict=True)),
                                 "bias": round(combiner.bias, 4), "threshold": combiner.threshold,
                                 "threshold_beside_round_8": beside.threshold}
        report[lang] = mine
    return report


async def record_folds(args: argparse.Namespace, entries: list[FaqEntry], *,
                       overrule: bool = False) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Leave one development set out, the agent as the server builds it trained on the others; per question of
    the set left out, what the agent does without the FAQ's decision and the scorers' evidence on the likeliest
    entry (:func:`_evidence`), written to ``--records`` (and read from ``--from-records`` instead, when given).
    ``overrule``: also what :attr:`Thresholds.overrule` would see of each intent and, where it could set the
    intent aside, the records as if it had (``overrule``, ``overruled``)."""
    if args.from_records:
        recorded: dict[str, dict[str, list[dict[str, Any]]]] = json.loads(
            await asyncio.to_thread(Path(args.from_records).read_text))
        if sorted(recorded) != sorted(DEVELOPMENT):
            raise SystemExit(f"{args.from_records} holds the sets {sorted(recorded)}, not {sorted(DEVELOPMENT)}")
        return recorded
    sets = {name: load(name) for name in DEVELOPMENT}
    embedder = Embedder()
    per_set: dict[str, dict[str, list[dict[str, Any]]]] = {}
    started = time.perf_counter()
    for name in DEVELOPMENT:
        others = {lang: [item for other in DEVELOPMENT if other != name for item in sets[other][lang]]
                  for lang in sets[name]}
        index, model = fold_models(entries, others, args.cv_c)
        meaning = MeaningIndex(index, embedder, others)
        meaning.prepare()
        known = known_words(entries, others)
        bot = CyberAgent(meaning, catalog=PRODUCTS, account=Account(), thresholds=ROUND8_THRESHOLDS,
                         intents=model, known=known, combiner={})  # type: ignore[arg-type]
        per_set[name] = {lang: await _evidence(bot, meaning, items, lang) for lang, items in sets[name].items()}
        if overrule:
            # Again with every intent the scorers could overrule set aside (Thresholds.overrule), its inputs kept:
            # a setting of the overrule is then what the records say, without a pass of its own.
            forced = CyberAgent(meaning, catalog=PRODUCTS, account=Account(), combiner={},  # type: ignore[arg-type]
                                thresholds={lang: replace(t, overrule=0.0, overrule_gap=-2.0)
                                            for lang, t in ROUND8_THRESHOLDS.items()}, intents=model, known=known)
            for lang, items in sets[name].items():
                inputs = await _overrule_inputs(forced, items, lang)
                again = await _evidence(forced, meaning, items, lang)
                for record, seen, other in zip(per_set[name][lang], inputs, again, strict=True):
                    record["overrule"] = seen
                    if seen is not None and seen["label"] not in (*INTENTS, HANDOVER):
                        record["overruled"] = {key: other[key] for key in ("fallback", "round8", "action",
                                                                            "evidence", "extra")}
        print(f"fold {name} done ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if args.records:
        await asyncio.to_thread(Path(args.records).write_text, json.dumps(per_set))
    return per_set


async def cross_validate_combiner(args: argparse.Namespace, entries: list[FaqEntry]) -> dict[str, Any]:
    """``--cv combiner`` (round 9): the folds' evidence (:func:`record_folds`), then :func:`combiner_report`
    compares round 8's thresholds with logistic combiners of that evidence, each fitted on the other sets'
    records."""
    per_set = await record_folds(args, entries)
    return {"cv": "combiner", "sets": list(DEVELOPMENT), **combiner_report(per_set)}


Records = Sequence[Mapping[str, Any]]
"""One language's questions as :func:`record_folds` recorded them."""
ROUND9_FEATURES: tuple[str, ...] = FEATURES[:11]
"""Round 9's combiner's features (round 10 added ``handover_gap``)."""


def _round9(training: Mapping[str, Records], records: Records, lang: str) -> list[str | None]:
    """Round 9's decision: the combiner of its features fitted on ``training`` (its threshold chosen on the same
    records by the round-6 rule), alone in Indonesian, beside round 8's thresholds in English; no overrule."""
    beside = lang == "en"
    combiner, _ = _fit([r for found in training.values() for r in found], ROUND9_FEATURES, 1.0, beside=beside)
    return _combined(records, combiner, beside=beside)


def _overruled(records: Records, lang: str) -> list[Mapping[str, Any]]:
    """The records as the agent with :attr:`Thresholds.overrule` in force (:data:`THRESHOLDS`) would have made
    them: where it sets the intent aside, the record of the FAQ's decision instead (``record_folds``)."""
    t = THRESHOLDS[lang]  # type: ignore[index]
    return [{**r, **r["overruled"]} if r.get("overrule") is not None and "overruled" in r
            and r["overrule"]["other"] >= t.overrule and r["overrule"]["gap"] >= t.overrule_gap else r
            for r in records]


AGREED_INTENT_GRID: tuple[float, ...] = (1.01, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
"""The values of :attr:`Thresholds.agreed_intent` round 11 chooses among (1.01: off), nested with the combiner's
threshold."""


def _agreed_intent(record: Mapping[str, Any]) -> tuple[str | None, float]:
    """The intent (of :data:`INTENTS`) the intent model finds likeliest and the nearest example in meaning names
    too, with the model's probability of it: what :attr:`Thresholds.agreed_intent` reads where no rule found an
    intent ((None, 0) when they part or the agent never reached the FAQ's decision, and since round 12 in a
    how-question or one about something else, where the agent takes no intent of the model's)."""
    extra = record.get("extra")
    if record["evidence"] is None or not extra or extra.get("how") or extra.get("unfamiliar"):
        return None, 0.0
    best = max(INTENTS, key=lambda label: extra["intents"][label])
    return (best, float(extra["intents"][best])) if extra["near"][0][0] == best else (None, 0.0)


def _decided(records: Records, probabilities: Sequence[float | None], threshold: float, *, alone: bool,
             agreed_intent: float = 1.01) -> list[str | None]:
    """Per record what the agent answers: the intent both scorers name at ``agreed_intent`` or more, else the entry
    whose combined probability is at least ``threshold`` (``alone``: or, if not, what round 8's thresholds answer)."""
    answered: list[str | None] = []
    for r, p in zip(records, probabilities, strict=True):
        intent, likely = _agreed_intent(r)
        answered.append(intent if intent is not None and likely >= agreed_intent
                        else None if (r.get("extra") or {}).get("unfamiliar")
                        else r["round8"] if not alone and r["round8"] is not None
                        else r["evidence"]["entry"] if p is not None and p >= threshold else None)
    return answered


def fit_nested(training: Mapping[str, Records], *, alone: bool,
               agreed_intents: Sequence[float] = (1.01,)) -> tuple[Combiner, float]:
    """Round 10's combiner (:data:`FEATURES`) fitted on all of ``training``, its threshold chosen by the round-6 rule
    on probabilities none of which saw their own set (each set's from a combiner fitted on the others): a
    threshold chosen on the records the weights were fitted on was looser than one that holds on unseen sets.
    Round 11: :attr:`Thresholds.agreed_intent` chosen with it, among ``agreed_intents``, by the same rule."""
    out_of_fold: list[tuple[Mapping[str, Any], float | None]] = []
    for name, found in training.items():
        inner, _ = _fit([r for other, rs in training.items() if other != name for r in rs], FEATURES, 1.0)
        out_of_fold += [(r, None if r["evidence"] is None else inner.probability(Evidence(**r["evidence"])))
                        for r in found]
    records = [r for r, _ in out_of_fold]
    probabilities = [p for _, p in out_of_fold]
    best: tuple[tuple[float, ...], float, float] | None = None
    for agreed_intent in agreed_intents:
        for threshold in (round(0.3 + n / 100, 2) for n in range(70)):
            right, handed, wrong = _tally(records, _decided(records, probabilities, threshold, alone=alone,
                                                            agreed_intent=agreed_intent))
            if wrong / len(records) > MAX_CV_WRONG:
                continue
            key = (right + handed - WRONG_COST * wrong, -wrong, threshold, -agreed_intent)
            if best is None or key > best[0]:
                best = key, threshold, agreed_intent
    combiner, _ = _fit(records, FEATURES, 1.0)
    chosen = replace(combiner, threshold=best[1] if best is not None else 1.01, alone=alone)
    return chosen, best[2] if best is not None else 1.01


def _probabilities(records: Records, combiner: Combiner) -> list[float | None]:
    return [None if r["evidence"] is None else combiner.probability(Evidence(**r["evidence"])) for r in records]


def _round10(training: Mapping[str, Records], records: Records, lang: str) -> list[str | None]:
    """Round 10's decision: the intent the scorers overrule set aside (:attr:`Thresholds.overrule`, in force), the
    combiner of :data:`FEATURES` fitted on ``training`` with its threshold chosen by :func:`fit_nested`, alone or
    beside the thresholds as :data:`cti.cyberagent.COMBINER` says."""
    alone = COMBINER[lang].alone  # type: ignore[index]
    combiner, _ = fit_nested({name: _overruled(found, lang) for name, found in training.items()}, alone=alone)
    return _combined(_overruled(records, lang), combiner, beside=not alone)


def _round11(training: Mapping[str, Records], records: Records, lang: str, *,
             grid: Sequence[float] | None = None) -> list[str | None]:
    """Round 11's decision: round 10's, and an intent the intent model and the nearest example in meaning both name
    taken where no rule found one, at :attr:`Thresholds.agreed_intent` as shipped (``grid``: its least probability
    chosen among these with the combiner's threshold, on ``training`` only); the combiner's threshold chosen
    nested, given it."""
    alone = COMBINER[lang].alone  # type: ignore[index]
    shipped = THRESHOLDS[lang].agreed_intent  # type: ignore[index]
    combiner, agreed_intent = fit_nested({name: _overruled(found, lang) for name, found in training.items()},
                                         alone=alone, agreed_intents=grid or (shipped,))
    held = _overruled(records, lang)
    return _decided(held, _probabilities(held, combiner), combiner.threshold, alone=alone,
                    agreed_intent=agreed_intent)


def _round11_nested(training: Mapping[str, Records], records: Records, lang: str) -> list[str | None]:
    """Round 11's decision with :attr:`Thresholds.agreed_intent` itself chosen nested (:data:`AGREED_INTENT_GRID`,
    off among them), not fixed at the shipped value."""
    return _round11(training, records, lang, grid=AGREED_INTENT_GRID)


DECISIONS: Mapping[str, Callable[[Mapping[str, Records], Records, str], list[str | None]]] = {
    "round 9": _round9,
    "round 10": _round10,
    "round 11": _round11,
    "round 11, agreed intent chosen nested": _round11_nested,
}
"""The decisions ``--leave-one-set-out`` compares, each fitted or chosen on the other sets' records only."""


def loso_report(per_set: Mapping[str, Mapping[str, Records]],
                decisions: Mapping[str, Callable[[Mapping[str, Records], Records, str], list[str | None]]] = DECISIONS,
                ) -> dict[str, Any]:
    """Per language and decision: each set written as a held-out set (:data:`WRITTEN_HELD_OUT`) scored by the
    decision fitted on all the other development sets' records; per set and pooled. And round 10's combiner fitted
    on every set (what :data:`cti.cyberagent.COMBINER` ships)."""
    report: dict[str, Any] = {}
    for lang in ("id", "en"):
        mine: dict[str, Any] = {}
        for method, decide in decisions.items():
            folds: dict[str, Any] = {}
            totals = [0, 0, 0, 0, 0]
            for held in WRITTEN_HELD_OUT:
                training = {other: per_set[other][lang] for other in per_set if other != held}
                answered = decide(training, per_set[held][lang], lang)
                records = per_set[held][lang] if method == "round 9" else _overruled(per_set[held][lang], lang)
                right, handed, wrong = _tally(records, answered)
                answerable = sum(r["want"] != "handover" for r in records)
                folds[held] = {"correct_rate": round(right / answerable, 4),
                               "wrong_rate": round(wrong / len(records), 4), "correct": right, "handed": handed,
                               "wrong": wrong, "questions": len(records),
                               "wrong_answers": [
                                   {"want": r["want"], "got": entry or r["action"], "question": r["question"]}
                                   for r, entry in zip(records, answered, strict=True)
                                   if _verdict(r, entry) == "wrong"]}
                totals = [a + b for a, b in zip(totals, (right, handed, wrong, answerable, len(records)),
                                                strict=True)]
            right, handed, wrong, answerable, questions = totals
            mine[method] = {"correct_rate": round(right / answerable, 4), "wrong_rate": round(wrong / questions, 4),
                            "handover_rate": round(handed / (questions - answerable), 4), "correct": right,
                            "handed": handed, "wrong": wrong, "answerable": answerable, "questions": questions,
                            "sets_over_2pct_wrong": sorted(name for name, fold in folds.items()
                                                           if fold["wrong_rate"] > 0.02),
                            "folds": folds}
        shipped, agreed_intent = fit_nested({name: _overruled(per_set[name][lang], lang) for name in per_set},
                                            alone=COMBINER[lang].alone,  # type: ignore[index]
                                            agreed_intents=AGREED_INTENT_GRID)
        mine["fitted_on_all"] = {"weights": [round(w, 4) for w in shipped.weights], "bias": round(shipped.bias, 4),
                                 "threshold": shipped.threshold, "alone": shipped.alone,
                                 "agreed_intent": agreed_intent}
        report[lang] = mine
    return report


async def leave_one_set_out(args: argparse.Namespace, entries: list[FaqEntry]) -> dict[str, Any]:
    """``--leave-one-set-out`` (round 10), the primary development measure: every set that was written as a held-out
    set (:data:`WRITTEN_HELD_OUT`) scored by an agent that learnt the other development sets and whose FAQ decision
    was fitted on their records only; per set and pooled, for each decision of :data:`DECISIONS`, in one run."""
    per_set = await record_folds(args, entries, overrule=True)
    return {"mode": "leave-one-set-out", "sets": list(DEVELOPMENT), "scored": list(WRITTEN_HELD_OUT),
            **loso_report(per_set)}


LEARNT_MODULE = Path(__file__).resolve().parent.parent / "cti" / "cyberagent" / "_questions.py"
LEARNT_DOC = '''"""Customers' messages the virtual agent learns from, each with what it asks for: an FAQ entry of
the demo FAQ (its id), the customer's own order or balance, buying (``order_status``, ``balance``, ``purchase``), or
a person (``handover``: asked for one, angry, or about something none of the FAQ answers).

They are bench/cyberagent.py's development sets (dev, test, test2, dev2, test3 ... test12: written as
customers type, in both languages), copied here by ``python bench/cyberagent.py --export-questions``; never its
held-out set.
The FAQ's classifier learns the entries' questions (:func:`cti.cyberagent.faq_questions`; a question for an entry a
deployment's FAQ does not have is left out) and the intent model the rest (:func:`cti.cyberagent.intent_examples`).
The way to raise the agent's rate of right answers in a deployment is to add its own customers' questions, such as
the chats it handed over, labelled by a supervisor.
"""

from collections.abc import Mapping
from typing import Final

__all__ = ["QUESTIONS"]

QUESTIONS: Final[Mapping[str, tuple[tuple[str, str], ...]]] = {'''


def export_questions() -> dict[str, Any]:
    """Write the development sets' questions to :mod:`cti.cyberagent._questions` (what the agent learns from)."""
    questions = load(*DEVELOPMENT)
    lines = [LEARNT_DOC]
    for lang, items in questions.items():
        lines.append(f'    "{lang}": (')
        for label, question in items:
            said = " ".join(str(question).split())
            line = f"        ({label!r}, {said!r}),"
            if len(line) > 120:
                cut = said.rfind(" ", 0, 70)
                line = f"        ({label!r},\n         {said[:cut + 1]!r}\n         {said[cut + 1:]!r}),"
            lines.append(line)
        lines.append("    ),")
    lines.append("}")
    LEARNT_MODULE.write_text("\n".join(lines) + "\n")
    return {"written": str(LEARNT_MODULE), "questions": {lang: len(items) for lang, items in questions.items()}}


def embed_cache() -> dict[str, Any]:
    """Write the vectors of the demo FAQ's phrasings, the learnt questions and the out-of-scope examples to
    :data:`cti.cyberagent._embedding.CACHE` (what a start-up reads instead of embedding them: about a minute)."""
    index = FaqIndex(faq_entries())
    texts = [(lang, text) for lang in ("id", "en")
             for text in (*index.phrasings(lang), *(q for _, q in LEARNT[lang]),
                          *(p for found in (OUT_OF_SCOPE, FRAMED_OUT_OF_SCOPE) for p in found.get(lang, ())))]
    started = time.perf_counter()
    embedder = Embedder(cache=None)
    written = embedder.save(texts, CACHE)
    return {"written": str(CACHE), "vectors": written, "embedded": embedder.embedded,
            "seconds": round(time.perf_counter() - started, 1)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.export_questions:
        return export_questions()
    if args.embed_cache:
        if args.cpu is not None:
            os.sched_setaffinity(0, {args.cpu})
        return embed_cache()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    entries = faq_entries()
    dev = load(*DEVELOPMENT)
    started = time.perf_counter()
    index = FaqIndex(entries, faq_questions(LEARNT))
    index_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    index.prepare()
    classifiers_ms = (time.perf_counter() - started) * 1000
    # As the server: the intent model learns the same questions, with this FAQ's phrasings as "something else".
    started = time.perf_counter()
    intents = IntentModel(intent_examples(LEARNT, index))
    intents.prepare()
    intents_ms = (time.perf_counter() - started) * 1000
    # As the server: the vectors of the FAQ's phrasings and the learnt questions, from the shipped cache.
    started = time.perf_counter()
    embedder = Embedder()
    loaded_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    meaning = MeaningIndex(index, embedder, LEARNT)
    meaning.prepare()
    vectors_ms = (time.perf_counter() - started) * 1000
    embedded = embedder.embedded
    baseline_index = Baseline(entries)
    memo, baseline_memo = Memo(index), Memo(baseline_index)
    known = known_words(entries, LEARNT)

    def ours(thresholds: Thresholds | Mapping[str, Thresholds], *, memoized: bool = True) -> CyberAgent:
        return CyberAgent(memo if memoized else meaning, catalog=PRODUCTS, account=Account(),  # type: ignore[arg-type]
                          thresholds=thresholds, intents=intents, known=known)

    def baseline(thresholds: Thresholds | Mapping[str, Thresholds], *, memoized: bool = True) -> CyberAgent:
        return CyberAgent(baseline_memo if memoized else baseline_index, catalog=PRODUCTS, account=Account(),
                          thresholds=thresholds, known=known)

    tfidf_grid = [(a / 40, s, m, agree) for a in range(2, 39) for s in (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35)
                  for m in (0.0, 0.05, 0.1, 0.2) for agree in (False, True)]
    bm25_grid = [(a / 4, 0.0, m, False) for a in range(0, 61) for m in (0.0, 0.5, 1.0, 2.0)]
    if args.cv == "meaning":
        return await cross_validate_meaning(args, entries)
    if args.cv == "agent":
        return await cross_validate_agent(args, entries)
    if args.cv == "agreed":
        return await cross_validate_agreed(args, entries)
    if args.cv == "combiner":
        return await cross_validate_combiner(args, entries)
    if args.leave_one_set_out:
        return await leave_one_set_out(args, entries)
    if args.cv:
        return await cross_validate(args, entries)
    if args.tune:
        # The sweep's classifier lacks the out-of-scope examples written from the development sets' out-of-scope
        # questions: with them, those questions are handed over at any threshold and choose nothing.
        with patched(_search_module, OUT_OF_SCOPE=_GENERIC, FRAMED_OUT_OF_SCOPE=framed(_ELSEWHERE)):
            blind = FaqIndex(entries)
            blind.prepare()
        blind_memo = Memo(blind)

        def blinded(thresholds: Thresholds | Mapping[str, Thresholds]) -> CyberAgent:
            return CyberAgent(blind_memo, catalog=PRODUCTS, account=Account(), thresholds=thresholds)

        chosen, rows = await sweep(blinded, dev, tfidf_grid)
        base_chosen, base_rows = await sweep(baseline, dev, bm25_grid)
        return {"set": "+".join(DEVELOPMENT), "cpu": args.cpu, "index_ms": round(index_ms, 1),
                "classifiers_ms": round(classifiers_ms, 1),
                "cyberagent": {"chosen": described(chosen), "in_force": described(THRESHOLDS),
                               "dev_blind": await evaluate(blinded(chosen), dev, timed=False),
                               "dev": await evaluate(ours(chosen), dev, timed=False),
                               "dev_in_force": await evaluate(ours(THRESHOLDS), dev, timed=False), "sweep": rows},
                "baseline_bm25": {"chosen": described(base_chosen),
                                  "dev": await evaluate(baseline(base_chosen), dev, timed=False),
                                  "sweep": base_rows}}
    test = load(args.set)
    # Only the held-out set must be unseen: the development sets guided the FAQ's phrasings and the out-of-scope
    # examples, so some of their questions are in them by design.
    leaked = leaks(entries, test) if args.set == HELD_OUT else []
    if leaked:
        raise SystemExit(f"questions of {args.set} found in the FAQ's data: {leaked}")
    seen = {(lang, normalize(q, lang)) for lang, items in dev.items() for _, q in items}
    repeated = [q for lang, items in test.items() for _, q in items if (lang, normalize(q, lang)) in seen] \
        if args.set == HELD_OUT else []
    if repeated:
        raise SystemExit(f"questions of {args.set} found in the development sets: {repeated}")
    base_chosen, _ = await sweep(baseline, dev, bm25_grid)
    bot = ours(THRESHOLDS, memoized=False)
    # Every question's vector is made as a customer's message would be (none is read from the cache: a development
    # set's questions are in it), in the timed pass too.
    asked = {(lang, question) for lang, items in test.items() for _, question in items}
    embedder.forget(asked)
    await evaluate(bot, test)  # warm-up: first calls pay for imports and caches
    embedder.forget(asked)
    result = await evaluate(bot, test)
    # The same agent without e5 (round 5's agent, its thresholds): what the meaning did on these questions.
    plain5 = CyberAgent(index, catalog=PRODUCTS, account=Account(), thresholds=ROUND5_THRESHOLDS, intents=intents,
                        known=known)
    await evaluate(plain5, test)
    without_e5 = await evaluate(plain5, test)
    base_bot = baseline(base_chosen, memoized=False)
    await evaluate(base_bot, test)
    base_result = await evaluate(base_bot, test)
    # The same agent without what round 5 added to it (the learnt questions, the intent model; its rules' fixes
    # stay) at round 4's thresholds: what the learning did on these questions.
    plain = FaqIndex(entries)
    plain.prepare()
    plain_bot = CyberAgent(plain, catalog=PRODUCTS, account=Account(), thresholds=ROUND4_THRESHOLDS, known=known)
    await evaluate(plain_bot, test)
    plain_result = await evaluate(plain_bot, test)
    if not args.mistakes:
        for block in (result, base_result, plain_result, without_e5):
            for entry in block.values():
                entry["mistakes"] = len(entry["mistakes"])
    return {"set": args.set, "cpu": args.cpu, "faq_entries": len(entries), "index_ms": round(index_ms, 1),
            "classifiers_ms": round(classifiers_ms, 1), "intent_model_ms": round(intents_ms, 1),
            "e5_load_ms": round(loaded_ms, 1), "vectors_ms": round(vectors_ms, 1), "vectors_embedded": embedded,
            "thresholds": described(THRESHOLDS), "blend": {lang: {"weight": b.weight, "temperature": b.temperature}
                                                           for lang, b in BLEND.items()},
            "cyberagent": result,
            "without_e5": {"thresholds": described(ROUND5_THRESHOLDS), **without_e5},
            "baseline_bm25": {"thresholds": described(base_chosen),
                              **base_result},
            "without_learning": {"thresholds": described(ROUND4_THRESHOLDS), **plain_result}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tune", action="store_true", help="sweep the thresholds on the development sets")
    parser.add_argument("--set", default=HELD_OUT, choices=(*dict.fromkeys((HELD_OUT, *DEVELOPMENT)),),
                        help=f"the questions to measure on (default {HELD_OUT}, the held-out set; the others are "
                             "development sets)")
    parser.add_argument("--cpu", type=int, default=min(os.sched_getaffinity(0)), help="the one core to run on")
    parser.add_argument("--cv", choices=("modes", "sweep", "meaning", "agent", "agreed", "combiner"),
                        help="cross-validate on the development sets (leave one set out): compare ways of training "
                             "(modes), sweep the thresholds (sweep), blends and thresholds (meaning), or the agent "
                             "as it is, with its mistakes (agent), the agreement thresholds of round 8 (agreed)")
    parser.add_argument("--leave-one-set-out", action="store_true",
                        help="the primary development measure: each set written as a held-out set scored by an "
                             "agent and a decision fitted on the other sets only (per set and pooled)")
    parser.add_argument("--export-questions", action="store_true",
                        help="write the development sets' questions to cti/cyberagent/_questions.py")
    parser.add_argument("--embed-cache", action="store_true",
                        help="write the e5 vectors of the shipped texts to cti/cyberagent/vectors.npz")
    parser.add_argument("--records", help="--cv combiner, --leave-one-set-out: write every question's evidence to "
                                          "this JSON file")
    parser.add_argument("--from-records", help="--cv combiner, --leave-one-set-out: read the evidence from this "
                                               "file (written by --records) instead of recording it again")
    parser.add_argument("--cv-c", type=float, default=10.0, help="the intent model's C in --cv")
    parser.add_argument("--mistakes", action="store_true", help="list every question not answered right")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    measuring = not (args.cv or args.tune or args.export_questions or args.embed_cache or args.leave_one_set_out)
    if measuring and not (QUESTIONS / f"{args.set}.yaml").exists():
        print(f"no question set {QUESTIONS / f'{args.set}.yaml'}: the held-out set ({HELD_OUT}) is being written "
              "by someone else, who never runs the agent, and is run once after the round's merge; until then "
              "measure on the development sets, "
              f"{', '.join(DEVELOPMENT)} (--leave-one-set-out, --set, --cv)", file=sys.stderr)
        return 2
    return run_and_print(args, run)


if __name__ == "__main__":
    sys.exit(main())
