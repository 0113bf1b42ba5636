"""PocketSphinx 5 with a per-menu grammar (JSGF) and out-of-grammar rejection against a free phone loop.

The en-us acoustic model that ships with the ``pocketsphinx`` package serves both languages: English words come from
its CMU dictionary, Indonesian words from :mod:`cti.speech.asr._lexicon_id` (namespaced ``word_id`` so an Indonesian
"status" and an English one are different entries). Telephone audio (8 kHz) goes through a noise suppressor
(:mod:`cti.speech.asr._denoise`) and is resampled to the model's 16 kHz: the benchmark showed decoding 8 kHz features
with this wideband model to be far worse (30-43 % against 80-90 %), so the model keeps its own filterbank.

Confidence is a likelihood ratio: the grammar path's score against the best free phone sequence (the allphone
search with the model's phone bigram), per frame of the decoded span, through a logistic. Speech that no phrase
explains well scores low and is rejected; silence never reaches the decoder's decision (no speech frame: intent None).

A decoder holds one utterance at a time and cannot share its acoustic model with another decoder, so decoders live
in a pool per model (in the :class:`~cti.speech.asr._models.ModelCache`): a session borrows a pair (grammar + phone
loop) and gives it back when it finishes. The pool grows to the number of concurrent sessions and never shrinks.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cti.speech._audio import EnergyVad, Resampler, SpeechEnd, SpeechStart
from cti.speech.asr import _channel as channel
from cti.speech.asr import _lexicon_id as lexicon_id
from cti.speech.asr._denoise import NoiseSuppressor
from cti.speech.asr._garbage import filler_words, garbage_words
from cti.speech.asr._lm import arpa
from cti.speech.asr._models import ModelCache, shared_models
from cti.speech.asr._types import NUMBER, AsrError, Dictation, Grammar, ModelNotFound, Partial, Result
from cti.types import Language

__all__ = [
    "LineConditioner", "PocketSphinxOptions", "PocketSphinxRecognizer", "PocketSphinxSession", "default_model_dir",
]

logger = logging.getLogger("cti.speech.asr")

_FRAMES_PER_SECOND = 100
_NON_SPEECH = ("<", "[", "+")  # silence (<sil>) and filler words in a segmentation
_NOISY_DB, _CLEAN_DB = 13.0, 19.0  # peak-to-noise bounds of the rejection offset's interpolation
_WIDE_FROM_DB = 16.0  # peak to noise from which the grammar pass uses the widened model
_MAX_SEARCHES = 32
_NBEST_PATHS = 4  # lattice paths read per distinct transcript wanted
_LN_BASE = math.log(1.0001)  # PocketSphinx's log base, to natural logs
_GARBAGE = "_gb"  # suffix of the garbage loop's dictionary entries (cti.speech.asr._garbage)
TELEPHONE_CMN = (47.83, 16.25, -48.10, 11.04, -22.53, -33.38, 8.43, -38.05, -13.93, -2.35, -31.09, -0.61, -14.42)
"""The cepstral mean of callers on the telephone line as the decoder sees it (band 300-3400 Hz, noise suppressed,
resampled to 16 kHz): the mean over 80 utterances of the support line's training sentences said by synthetic voices
at 20 and 10 dB (bench/steering.py's training renderings, batch normalization; spread 2-5 per coefficient)."""


def default_model_dir() -> Path:
    """The ``pocketsphinx`` package's model directory (``en-us/en-us``, ``en-us/cmudict-en-us.dict``, ...)."""
    import pocketsphinx  # type: ignore[import-untyped]

    return Path(pocketsphinx.get_model_path()) / "en-us"


@dataclass(frozen=True, slots=True)
class PocketSphinxOptions:
    """Model files and tuning. Paths default to the en-us model inside the ``pocketsphinx`` package.

    ``offset`` and ``scale`` map the per-frame log-likelihood ratio to a confidence; results below ``reject_below`` get
    intent None. ``offset`` is the ratio on a noisy line, ``clean_offset`` on a clean one (by the suppressor's estimate;
    None: ``offset`` on every line), both calibrated on the benchmark for the telephone-adapted model (docs/speech.md):
    a stricter one costs far more accuracy. ``topn`` Gaussians per codebook: more is more accurate and slower.
    ``dither`` adds a faint deterministic noise floor so digital silence (zeros) does not reach the log filterbank as
    minus infinity.
    ``silprob`` is the probability of a silence between (and after) words: with PocketSphinx's default (0.005) the last
    phone of a phrase stretched over the caller's trailing silence, so phrases ending in a noise-like consonant won
    ("iya" heard as "tidak"); at 0.1 the silence is decoded as silence (docs/benchmarks.md). ``denoise`` runs the noise
    suppressor, whose gain floor goes from ``denoise_floor`` on a noisy line up to 0.25 on a clean one. ``telephone``
    adapts a wideband model to the telephone line (:mod:`cti.speech.asr._channel`; a model the shipped map does not
    fit is used as it is). ``clean_variance_scale``: on a clean line the grammar pass uses a copy of the
    telephone-adapted model with every variance multiplied by this, more tolerant of accents the model was not
    trained on; on a noisy line the widened model mistakes noise for speech, so it keeps the model as adapted (None:
    one model for both; docs/speech.md). ``decode_rate`` 8000 decodes 8 kHz features (for an 8 kHz model).
    ``pre_roll_ms``/``tail_ms``: audio kept before the first and after the last speech frame for the grammar pass.
    ``max_unexplained_ms``: a result whose grammar path explains that much of the caller's speech (by the VAD) as
    silence gets intent None: the caller said something the menu does not have (None turns the check off).
    ``live_dictation`` (off): a dictation (open question) is decoded while the caller speaks, with live cepstral
    mean normalization, so that only the last stretch is left at the end of speech (a batch pass over a sentence
    takes 0.3-1 s after the caller stopped); off because on a clean line it heard far less (32-38 % of callers right
    against 66-70 % for the batch pass with ``dictation_fwdflat``: docs/speech.md#call-steering). ``dictation_cmn``:
    where that live mean starts, for the dictation's decoders (the telephone line's usual mean: PocketSphinx's
    default, made for wideband speech, was far off for the whole first seconds, and each session starts afresh).
    ``dictation_lw``: the n-gram model's language weight (PocketSphinx's 6.5 let the noisy line's sounds through as
    words out of any context; 16 forced fluent sentences of the wrong intent: docs/speech.md);
    ``dictation_fwdflat``: the second, flat-lexicon pass, which runs over the whole sentence after the end of speech
    (0.2-0.3 s). Both apply to dictations only. ``dictation_offset``: how much lower a dictation's ratio may be for
    the same confidence as a menu's (its language model's weight costs score that the phone loop does not pay),
    chosen on the development set.
    ``garbage`` decodes a menu answer in one of ``garbage_languages`` a second time against the menu with a loop of
    everyday words (:mod:`cti.speech.asr._garbage`) and rejects it when the loop wins, on telephone audio (8 kHz) and
    a line at least ``garbage_from_db`` clean (peak to noise; None: on every line): on a noisy line the loop won over
    too many right answers, and on English menus it cost answers and decision time (docs/speech.md).
    ``garbage_weight`` is the loop's prior against the menu, ``garbage_word_weight`` each loop word's cost by language
    (a language not named: 1e-4), ``garbage_reject_below`` (None: never) the confidence from which an answer the loop
    won is kept all the same,
    ``filler_words`` how many filler words may stand on either side of a phrase, at ``filler_weight`` each.
    ``features`` overrides the model's feat.params (``remove_noise``, ...); ``extra`` any other decoder option.
    """

    model_dir: Path | None = None
    hmm: Path | None = None
    dictionary: Path | None = None
    phone_lm: Path | None = None
    rejection: bool = True
    offset: float = -9.0
    clean_offset: float | None = -2.0
    scale: float = 3.0
    reject_below: float = 0.5
    topn: int = 16
    beam: float = 1e-60
    wbeam: float = 1e-40
    pbeam: float = 1e-60
    silprob: float = 0.1
    dither: float = 4.0
    denoise: bool = True
    denoise_floor: float = 0.2
    telephone: bool = True
    clean_variance_scale: float | None = 1.7
    decode_rate: int = 16000
    pre_roll_ms: int = 300
    tail_ms: int = 200
    max_unexplained_ms: int | None = 300
    garbage: bool = True
    garbage_weight: float = 1.0
    garbage_word_weight: tuple[tuple[Language, float], ...] = (("id", 1e-3), ("en", 1e-4))
    garbage_from_db: float | None = 16.0
    garbage_languages: tuple[Language, ...] = ("id",)
    garbage_reject_below: float | None = None
    filler_words: int = 1
    filler_weight: float = 1e-2
    live_dictation: bool = False
    dictation_cmn: tuple[float, ...] | None = TELEPHONE_CMN
    dictation_lw: float = 10.0
    dictation_fwdflat: bool = True
    dictation_offset: float = 15.0
    features: tuple[tuple[str, str], ...] = ()
    extra: tuple[tuple[str, Any], ...] = ()

    def word_weight(self, language: Language) -> float:
        """The cost of each garbage-loop word in ``language``."""
        return dict(self.garbage_word_weight).get(language, 1e-4)

    def resolved(self) -> tuple[Path, Path, Path | None]:
        """(acoustic model dir, dictionary, phone LM or None), checked to exist; the model dir is its telephone-adapted
        copy when ``telephone`` is set and the map fits it."""
        base = self.model_dir or default_model_dir()
        hmm = self._source_hmm()
        dictionary = self.dictionary or base / "cmudict-en-us.dict"
        phone_lm = (self.phone_lm or base / "en-us-phone.lm.bin") if self.rejection else None
        for path in (hmm, dictionary, phone_lm):
            if path is not None and not path.exists():
                raise ModelNotFound(f"PocketSphinx model file missing: {path}")
        return (_telephone_model(hmm, 1.0) if self.telephone else hmm), dictionary, phone_lm

    def clean_model(self) -> Path | None:
        """The grammar pass's model on a clean line, or None when it is the same as on a noisy one."""
        if not self.telephone or self.clean_variance_scale in (None, 1.0):
            return None
        hmm = self._source_hmm()
        widened = _telephone_model(hmm, self.clean_variance_scale)
        return widened if widened != hmm else None

    def _source_hmm(self) -> Path:
        return self.hmm or (self.model_dir or default_model_dir()) / "en-us"


@dataclass(slots=True)
class _Slot:
    grammar: Any
    phones: Any | None
    clean: Any | None = None  # the grammar decoder for a clean line (widened model), when there is one
    garbage: Any | None = None  # the menu with a garbage loop, decoded after the end of speech (a veto)
    searches: OrderedDict[str, str | None] = field(default_factory=OrderedDict)  # name -> its garbage search
    words: set[str] = field(default_factory=set)
    pool: _DecoderPool | None = None  # where it goes back to


class _DecoderPool:
    """Decoders of one model. ``dictionary`` (lines of ``word phones``) replaces the model's dictionary: an n-gram
    search is compiled over every word of the decoder's dictionary (5-6 s with the 134,000 words of CMUdict, 10 ms
    with the few hundred of a domain), and a free transcription can only say the language model's words anyway."""

    def __init__(self, options: PocketSphinxOptions, *, dictionary: tuple[str, ...] = ()) -> None:
        self._options = options
        self._paths = options.resolved()
        self._dictionary = dictionary
        self._words = frozenset(line.split()[0].split("(")[0] for line in dictionary)
        self._clean = options.clean_model()
        self._lock = threading.Lock()
        self._idle: list[_Slot] = []
        self.created = 0

    def acquire(self) -> _Slot:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        slot = self._load()
        with self._lock:
            self.created += 1
        return slot

    def release(self, slot: _Slot) -> None:
        with self._lock:
            self._idle.append(slot)

    def _load(self) -> _Slot:
        import pocketsphinx

        hmm, dictionary, phone_lm = self._paths
        o = self._options
        common: dict[str, Any] = {"hmm": str(hmm), "loglevel": "FATAL", "topn": o.topn, "beam": o.beam,
                                  "pbeam": o.pbeam, "wbeam": o.wbeam, "silprob": o.silprob, "bestpath": False,
                                  **dict(o.extra)}
        if o.decode_rate != 16000:
            common.update(samprate=o.decode_rate, nfft=256 if o.decode_rate <= 8000 else 512)
        featparams = _feature_file(hmm, o.features) if o.features else None
        if featparams is not None:
            common["featparams"] = featparams
        own_dictionary = None
        if self._dictionary:
            fd, own_dictionary = tempfile.mkstemp(prefix="cti-dict-", suffix=".dict")
            with os.fdopen(fd, "w") as out:
                out.write("\n".join(self._dictionary) + "\n")
            dictionary = Path(own_dictionary)
        try:
            grammar = pocketsphinx.Decoder(pocketsphinx.Config(lm=None, dict=str(dictionary), **common))
            clean = None
            if self._clean is not None:
                clean = pocketsphinx.Decoder(pocketsphinx.Config(lm=None, dict=str(dictionary),
                                                                 **{**common, "hmm": str(self._clean)}))
            garbage = None
            if o.garbage and not self._dictionary:  # a dictation never has a veto
                garbage = pocketsphinx.Decoder(pocketsphinx.Config(lm=None, dict=str(dictionary), **common))
            phones = None
            if phone_lm is not None:
                phones = pocketsphinx.Decoder(pocketsphinx.Config(lm=None, dict=None, allphone=str(phone_lm),
                                                                  **common))
        except (RuntimeError, ValueError) as exc:
            raise AsrError(f"cannot load PocketSphinx model {hmm}: {exc}") from exc
        finally:
            if featparams is not None:
                os.unlink(featparams)
            if own_dictionary is not None:
                os.unlink(own_dictionary)
        return _Slot(grammar=grammar, phones=phones, clean=clean, garbage=garbage, words=set(self._words), pool=self)


@functools.lru_cache(maxsize=8)
def _telephone_model(hmm: Path, variance_scale: float) -> Path:
    try:
        return channel.telephone_model(hmm, variance_scale=variance_scale)
    except OSError as exc:
        # No writable cache (a read-only home, a full disk): callers are still understood, only less well.
        logger.warning("cannot write the telephone-adapted model for %s (%s); using the model as it is", hmm, exc)
        return hmm
    except ValueError as exc:
        raise AsrError(f"cannot adapt {hmm} to the telephone line: {exc}") from exc


def _feature_file(hmm: Path, overrides: tuple[tuple[str, str], ...]) -> str:
    """The model's feat.params with ``overrides`` applied, as a temporary file (the caller removes it).

    A decoder reads the model's feat.params after its configuration and lets it win, so feature options
    (``remove_noise``, ``upperf``, ...) can only be changed through a file of their own.
    """
    params = channel.read_feat_params(hmm)
    params.update((key.lstrip("-"), value) for key, value in overrides)
    fd, path = tempfile.mkstemp(prefix="cti-feat-", suffix=".params")
    with os.fdopen(fd, "w") as out:
        out.writelines(f"-{key} {value}\n" for key, value in params.items())
    return path


def unexplained_ms(spoken: list[tuple[int, int]], quiet: list[tuple[int, int]], origin_ms: int) -> int:
    """Milliseconds of ``spoken`` (VAD speech, stream ms) that the grammar path put in ``quiet`` segments (silence and
    fillers, as inclusive frame ranges of a decode that began at ``origin_ms``).

    A menu phrase covers the caller's speech; a sentence the menu does not have gets a phrase for part of it and
    silence for the rest. On the benchmark, 300 ms of speech heard as silence rejected no menu answer (five corpora,
    both SNRs) and some of the out-of-grammar sentences that passed the confidence test.
    """
    frame_ms = 1000 // _FRAMES_PER_SECOND
    total = 0
    for first, last in quiet:
        lo, hi = origin_ms + first * frame_ms, origin_ms + (last + 1) * frame_ms
        total += sum(max(0, min(hi, end) - max(lo, start)) for start, end in spoken)
    return total


def _line_offset(options: PocketSphinxOptions, peak_to_noise_db: float | None) -> float:
    """The rejection offset for a line this clean: ``offset`` up to 13 dB peak to noise, ``clean_offset`` from 19 dB.

    On a noisy line the grammar path scores lower against the phone loop for menu phrases too, so one offset had
    to choose between rejecting noisy answers and accepting out-of-grammar speech on clean lines.
    """
    if options.clean_offset is None or peak_to_noise_db is None:
        return options.offset
    share = min(max((peak_to_noise_db - _NOISY_DB) / (_CLEAN_DB - _NOISY_DB), 0.0), 1.0)
    return options.offset + share * (options.clean_offset - options.offset)


def _afresh(decoder: Any, cmn: str | None = None) -> None:
    """Forget the previous utterance's front-end state (the noise estimate of ``remove_noise``, the live cepstral
    mean), which a decoder otherwise carries into the next one: one caller's audio changed the next caller's result.
    ``cmn``: where the live cepstral mean starts (else the decoder's ``cmninit``)."""
    decoder.reinit_feat()
    if cmn is not None:
        decoder.set_cmn(cmn)


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


def _logscore(value: float) -> float:
    # Hypothesis.score is logmath.exp(score) with base 1.0001; back to the log domain.
    return math.log(value) / math.log(1.0001) if value > 0 else -math.inf


class PocketSphinxRecognizer:
    """Grammar-constrained PocketSphinx for English and Indonesian menus."""

    name = "pocketsphinx"

    def __init__(self, options: PocketSphinxOptions | None = None, *, cache: ModelCache | None = None) -> None:
        self.options = options or PocketSphinxOptions()
        if self.options.decode_rate not in (8000, 16000):
            raise AsrError(f"decode rate {self.options.decode_rate} Hz is not supported (8000 or 16000)")
        o = self.options
        # The garbage loop's settings are in the key: a slot keeps the veto search it built for a grammar, and a pool
        # made without the loop has no decoder for it (a recognizer with the loop would silently run without it).
        veto = ((o.garbage_weight, o.garbage_word_weight, o.filler_words, o.filler_weight, o.garbage_languages)
                if o.garbage else None)
        key = ("pocketsphinx", *o.resolved(), o.clean_model(), o.topn, o.beam, o.wbeam, o.pbeam, o.silprob,
               o.decode_rate, o.features, o.extra, veto)
        self._key = key
        self._models = cache or shared_models()
        self._pool: _DecoderPool = self._models.get(key, lambda: _DecoderPool(self.options))

    @property
    def decoders_loaded(self) -> int:
        """Decoder pairs created so far (one per concurrent session at the peak)."""
        return self._pool.created

    def warm_up(self) -> None:
        """Load one decoder pair now rather than on the first call."""
        self._pool.release(self._pool.acquire())

    def start(self, grammar: Grammar, language: Language, *, sample_rate: int = 8000) -> PocketSphinxSession:
        """Borrow a decoder, activate ``grammar`` (compiled once per decoder), start an utterance."""
        return self._start(grammar, language, sample_rate)

    def start_dictation(self, dictation: Dictation, language: Language, *, sample_rate: int = 8000,
                        nbest: int = 0) -> PocketSphinxSession:
        """Borrow a decoder and transcribe one utterance with an n-gram model of ``dictation``'s sentences (built
        once per decoder). The result has no intent: its text is for :mod:`cti.steering`; its confidence is the
        same phone-loop likelihood ratio as a menu's, never used to reject. ``nbest``: how many distinct
        transcripts the result carries in ``hypotheses`` (from the search's word lattice; 0: none)."""
        return self._start(dictation, language, sample_rate, nbest)

    def _start(self, model: Grammar | Dictation, language: Language, sample_rate: int,
               nbest: int = 0) -> PocketSphinxSession:
        if sample_rate not in (8000, 16000):
            raise AsrError(f"sample rate {sample_rate} Hz is not supported (8000 or 16000)")
        pool = self._pool if isinstance(model, Grammar) else self._dictation_pool(model, language)
        slot = pool.acquire()
        try:
            o = self.options
            settings = None if isinstance(model, Grammar) else {
                "lw": o.dictation_lw, "fwdflat": o.dictation_fwdflat, "fwdflatlw": o.dictation_lw * 8.5 / 6.5}
            keys, veto = _activate(slot, model, language, self.options, settings)
        except BaseException:
            pool.release(slot)
            raise
        return PocketSphinxSession(self, slot, model if isinstance(model, Grammar) else None, keys, sample_rate,
                                   veto=veto, nbest=nbest)

    def _dictation_pool(self, dictation: Dictation, language: Language) -> _DecoderPool:
        """Decoders whose dictionary is the dictation's words only (see :class:`_DecoderPool`), shared like the
        model's own pool by every recognizer of these options."""
        return self._models.get((*self._key, "dictation", language, dictation.words),
                                lambda: _DecoderPool(self.options, dictionary=self._lexicon(dictation, language)))

    def _lexicon(self, dictation: Dictation, language: Language) -> tuple[str, ...]:
        """``key phones`` lines for the dictation's words, from the full dictionary (and the Indonesian lexicon)."""
        slot = self._pool.acquire()
        try:
            lines: list[str] = []
            for word in dictation.words:
                key = _word_key(word, language)
                prons = _pronunciations(slot.grammar, word, language)
                lines.extend(f"{key if i == 0 else f'{key}({i + 1})'} {pron}" for i, pron in enumerate(prons))
            return tuple(lines)
        finally:
            self._pool.release(slot)

    def _release(self, slot: _Slot) -> None:
        (slot.pool or self._pool).release(slot)


def _word_key(word: str, language: Language) -> str:
    return f"{word}_id" if language == "id" else word


def _dictionary_prons(decoder: Any, word: str) -> tuple[str, ...]:
    prons: list[str] = []
    for n in range(1, 9):
        pron = decoder.lookup_word(word if n == 1 else f"{word}({n})")
        if pron is None:
            break
        prons.append(pron)
    return tuple(prons)


def _pronunciations(decoder: Any, word: str, language: Language) -> tuple[str, ...]:
    english = _dictionary_prons(decoder, word)
    if language == "en" and english:
        return english
    try:
        return lexicon_id.pronunciations(word, english)
    except ValueError as exc:
        raise AsrError(f"no pronunciation for {word!r} ({language}): spell numbers and symbols as words") from exc


def _activate(slot: _Slot, model: Grammar | Dictation, language: Language,
              options: PocketSphinxOptions, settings: dict[str, Any] | None = None,
              ) -> tuple[dict[str, str], bool]:
    """Add missing words and the grammar's (or dictation's) search to the slot's decoders; return word key -> word
    (the garbage loop's entries too, ending in ``_gb``) and whether the garbage decoder has the menu's veto search.
    ``settings``: decoder options for a dictation's n-gram search only (:func:`_add_search`)."""
    decoder = slot.grammar
    keys = {_word_key(w, language): w for w in model.words}
    garbage = (garbage_words(language, model.words)
               if options.garbage and language in options.garbage_languages and isinstance(model, Grammar)
               and not model.numbers else ())
    fillers = filler_words(language, model.words) if garbage else ()
    keys.update((_word_key(w, language) + _GARBAGE, w) for w in (*garbage, *fillers))
    entries: list[tuple[str, str]] = []
    new_keys = [key for key in keys if key not in slot.words]
    for key in new_keys:
        word = keys[key]
        if language == "en" and decoder.lookup_word(key) is not None:
            continue
        prons = _pronunciations(decoder, word, language)
        entries.extend((key if i == 0 else f"{key}({i + 1})", pron) for i, pron in enumerate(prons))
    decoders = [decoder] if slot.clean is None else [decoder, slot.clean]
    for n, (entry, pron) in enumerate(entries):
        for each in [*decoders, *([slot.garbage] if slot.garbage is not None else [])]:
            try:
                each.add_word(entry, pron, n == len(entries) - 1)  # one dictionary update for the batch
            except RuntimeError as exc:
                raise AsrError(f"cannot add {entry!r} /{pron}/ to the dictionary: {exc}") from exc
    slot.words.update(new_keys)
    vetoed = ""
    if isinstance(model, Grammar):
        source = _jsgf(model, language)
        name = "g" + hashlib.sha1(source.encode()).hexdigest()[:16]
        if garbage and slot.garbage is not None:
            vetoed = _garbage_fsg(model, language, garbage, fillers, options)
    else:
        source = arpa(model, lambda word: _word_key(word, language))
        name = "l" + hashlib.sha1(source.encode()).hexdigest()[:16]
    if name in slot.searches:
        slot.searches.move_to_end(name)
    else:
        veto_name = "v" + hashlib.sha1(vetoed.encode()).hexdigest()[:16] if vetoed else None
        try:
            for each in decoders:
                _add_search(each, name, source, isinstance(model, Grammar), settings)
            if veto_name is not None:
                _add_search(slot.garbage, veto_name, vetoed, True)
        except (ValueError, RuntimeError) as exc:
            raise AsrError(f"PocketSphinx rejected the grammar or language model: {exc}") from exc
        slot.searches[name] = veto_name
        if len(slot.searches) > _MAX_SEARCHES:
            old, old_veto = slot.searches.popitem(last=False)
            for each in decoders:
                each.remove_search(old)
            if old_veto is not None and slot.garbage is not None:
                slot.garbage.remove_search(old_veto)
    for each in decoders:
        each.activate_search(name)
    veto = slot.searches[name]
    if veto is not None and slot.garbage is not None:
        slot.garbage.activate_search(veto)
    return keys, veto is not None


def _jsgf(grammar: Grammar, language: Language) -> str:
    """The grammar as JSGF: one alternative per phrase; with number words, a run of them is the rule <number>
    (one or more of them), and phrases that differ only in their numbers are one alternative."""
    patterns = dict.fromkeys(grammar.pattern(p.text) if grammar.numbers else tuple(p.text.split())
                             for p in grammar.phrases)
    alternatives = " | ".join("( " + " ".join(w if w == NUMBER else _word_key(w, language) for w in pattern) + " )"
                              for pattern in patterns)
    source = f"#JSGF V1.0;\ngrammar cti;\npublic <menu> = {alternatives};\n"
    if grammar.numbers:
        digits = " | ".join(_word_key(w, language) for w in sorted(grammar.numbers))
        source += f"{NUMBER} = ( {digits} )+;\n"
    return source


def _garbage_fsg(grammar: Grammar, language: Language, garbage: tuple[str, ...], fillers: tuple[str, ...],
                 options: PocketSphinxOptions) -> str:
    """The menu with a garbage loop, as a finite-state grammar (PocketSphinx's FSG text format): a phrase with up
    to ``filler_words`` garbage words on either side, or (with the probability ``garbage_weight``) garbage words
    alone. Each garbage word costs the language's ``garbage_word_weight``, which JSGF cannot say (it normalizes its
    weights)."""
    words = [_word_key(w, language) + _GARBAGE for w in garbage]
    around = [_word_key(w, language) + _GARBAGE for w in fillers]
    transitions: list[tuple[int, int, float, str | None]] = []
    count = 3  # 0: start, 1: final, 2: the loop

    def state() -> int:
        nonlocal count
        count += 1
        return count - 1

    def flank(first: int, last: int) -> None:
        here = first
        for _ in range(options.filler_words):
            after = state()
            transitions.append((here, last, 1.0, None))
            transitions.extend((here, after, options.filler_weight, w) for w in around)
            here = after
        transitions.append((here, last, 1.0, None))

    before, after = state(), state()
    # Probabilities above 1 crash the decoder: a loop likelier than the menu lowers the menu instead.
    transitions.append((0, before, min(1.0, 1.0 / options.garbage_weight), None))
    flank(after, 1)
    phrase_from = state()
    flank(before, phrase_from)
    for text in dict.fromkeys(p.text for p in grammar.phrases):
        keys = [_word_key(w, language) for w in text.split()]
        here = phrase_from
        for n, key in enumerate(keys):
            nxt = after if n == len(keys) - 1 else state()
            transitions.append((here, nxt, 1.0, key))
            here = nxt
    looped = state()
    transitions.append((0, 2, min(1.0, options.garbage_weight), None))
    transitions.extend((2, looped, options.word_weight(language), w) for w in words)
    transitions += [(looped, 2, 1.0, None), (looped, 1, 1.0, None)]
    lines = ["FSG_BEGIN cti", f"NUM_STATES {count}", "START_STATE 0", "FINAL_STATE 1"]
    lines += [f"TRANSITION {a} {b} {p:.6g}" + (f" {w}" if w else "") for a, b, p, w in transitions]
    return "\n".join([*lines, "FSG_END", ""])


def _add_search(decoder: Any, name: str, source: str, grammar: bool, settings: dict[str, Any] | None = None) -> None:
    if grammar and source.startswith("#JSGF"):
        decoder.add_jsgf_string(name, source)
        return
    # The Python binding loads an n-gram model or a finite-state grammar from a file only. An n-gram search reads its
    # weights and passes from the configuration when it is made: ``settings`` apply to this search only (the grammars
    # keep theirs).
    config = decoder.config
    saved = {key: config[key] for key in settings or {}}
    fd, path = tempfile.mkstemp(prefix="cti-lm-", suffix=".fsg" if grammar else ".arpa")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(source)
        if grammar:
            decoder.add_fsg(name, decoder.read_fsg(path))
        else:
            for key, value in (settings or {}).items():
                config[key] = value
            decoder.add_lm_file(name, path)
    finally:
        for key, value in saved.items():
            config[key] = value
        os.unlink(path)


class LineConditioner:
    """What the decoder hears of a caller: denoised, at the decode rate, over a faint dither floor (streaming).

    The session runs it on every chunk; ``bench/asr_channel.py`` runs it on the telephone side of its stereo pairs,
    so that the channel map is estimated on exactly this path.
    """

    def __init__(self, options: PocketSphinxOptions, sample_rate: int) -> None:
        self._dither = options.dither
        self._resampler = Resampler(sample_rate, options.decode_rate) if sample_rate != options.decode_rate else None
        self._denoiser = NoiseSuppressor(sample_rate, floor=options.denoise_floor) if options.denoise else None
        self._rng = np.random.default_rng(0)

    def feed(self, pcm: bytes) -> bytes:
        """Condition a chunk; returns what is ready (the suppressor hands audio on in 16 ms hops)."""
        return self._out(self._denoiser.feed(pcm) if self._denoiser is not None else pcm)

    @property
    def peak_to_noise_db(self) -> float | None:
        """How clean the line is (the suppressor's estimate, dB); None without the suppressor."""
        return self._denoiser.peak_to_noise_db if self._denoiser is not None else None

    def flush(self) -> bytes:
        """The rest, at the end of the stream."""
        return self._out(self._denoiser.flush()) if self._denoiser is not None else b""

    def _out(self, pcm: bytes) -> bytes:
        audio = self._resampler.process(pcm) if self._resampler is not None else pcm
        if self._dither and audio:
            samples = np.frombuffer(audio, dtype="<i2").astype(np.float64)
            samples += self._rng.normal(0.0, self._dither, samples.size)
            audio = np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()
        return audio


class PocketSphinxSession:
    """One utterance on a borrowed decoder pair.

    The phone loop decodes while audio arrives, from the first speech frame (with a pre-roll); the grammar pass
    runs once, at :meth:`finish`, over the speech span with whole-utterance cepstral mean normalization, which the
    benchmark showed to be clearly more accurate than live normalization on short menu answers (docs/speech.md).
    """

    def __init__(self, recognizer: PocketSphinxRecognizer, slot: _Slot, grammar: Grammar | None,
                 keys: dict[str, str], sample_rate: int, *, veto: bool = False, nbest: int = 0) -> None:
        self._recognizer = recognizer
        self._slot: _Slot | None = slot
        self._grammar = grammar
        self._keys = keys
        self._sample_rate = sample_rate
        options = recognizer.options
        self._rate = options.decode_rate
        self._line = LineConditioner(options, sample_rate)
        self._vad = EnergyVad(sample_rate=sample_rate)
        self._audio = bytearray()  # at the decode rate, everything fed (denoised)
        self._samples = 0
        self._speech_from: int | None = None
        self._first_ms: int | None = None
        self._last_end_ms: int | None = None
        self._spoken: list[tuple[int, int]] = []  # finished VAD speech stretches (ms)
        self._phones_fed = 0  # bytes of _audio given to the phone loop
        self._utt_open = False
        # Measured on telephone audio only: on clean wideband speech (16 kHz synthesis, digital silence) the adapted
        # model's loop beat a right answer with one word ("technical support" -> "or").
        self._veto = slot.garbage if veto and sample_rate <= 8000 else None
        self._live = grammar is None and recognizer.options.live_dictation
        self._words_fed = 0  # bytes of _audio given to the live dictation decoder
        self._words_open = False
        self._nbest = nbest if grammar is None else 0

    def feed(self, pcm: bytes) -> Partial:
        """Take a chunk; ``speech`` says whether the caller is talking (for barge-in)."""
        slot = self._require()
        self._samples += len(pcm) // 2
        self._audio += self._line.feed(pcm)
        for event in self._vad.feed(pcm):
            if isinstance(event, SpeechStart):
                self._speech_from = event.at_ms
                if self._first_ms is None:
                    self._first_ms = event.at_ms
                    self._phones_fed = self._offset(max(event.at_ms - self._recognizer.options.pre_roll_ms, 0))
                    prior = (",".join(f"{c:.2f}" for c in self._recognizer.options.dictation_cmn)
                             if self._grammar is None and self._recognizer.options.dictation_cmn else None)
                    if slot.phones is not None:
                        _afresh(slot.phones, prior)
                        slot.phones.start_utt()
                        self._utt_open = True
                    if self._live:
                        self._words_fed = self._phones_fed
                        _afresh(slot.grammar, prior)
                        slot.grammar.start_utt()
                        self._words_open = True
            elif isinstance(event, SpeechEnd) and self._speech_from is not None:
                self._spoken.append((self._speech_from, event.at_ms))
                self._speech_from = None
                self._last_end_ms = event.at_ms
        # The suppressor hands audio on in 16 ms hops, so a chunk may add nothing (and the decoder refuses empty input).
        if self._utt_open and slot.phones is not None and self._phones_fed < len(self._audio):
            slot.phones.process_raw(bytes(self._audio[self._phones_fed:]), False, False)
            self._phones_fed = len(self._audio)
        if self._words_open and self._words_fed < len(self._audio):
            slot.grammar.process_raw(bytes(self._audio[self._words_fed:]), False, False)
            self._words_fed = len(self._audio)
        return Partial(speech=self._vad.in_speech)

    def _offset(self, ms: int) -> int:
        """Byte offset of ``ms`` in the decoded (16-bit) audio."""
        return ms * self._rate // 1000 * 2

    @property
    def audio_ms(self) -> int:
        """Milliseconds of audio fed so far."""
        return self._samples * 1000 // self._sample_rate

    def finish(self) -> Result:
        """Decode the speech span against the grammar, decide, and give the decoders back."""
        slot = self._require()
        try:
            if self._first_ms is None:
                return Result(None, "", 0.0, PocketSphinxRecognizer.name, self.audio_ms)
            phone_score = None
            self._audio += self._line.flush()
            if slot.phones is not None and self._utt_open:
                if self._phones_fed < len(self._audio):
                    slot.phones.process_raw(bytes(self._audio[self._phones_fed:]), False, False)
                    self._phones_fed = len(self._audio)
                slot.phones.end_utt()
                self._utt_open = False
                phone_hyp = slot.phones.hyp()
                phone_score = _logscore(phone_hyp.score) if phone_hyp is not None else None
            end_ms = (self._last_end_ms if self._speech_from is None and self._last_end_ms is not None
                      else self.audio_ms)
            options = self._recognizer.options
            span = bytes(self._audio[self._offset(max(self._first_ms - options.pre_roll_ms, 0)):
                                     self._offset(end_ms + options.tail_ms)])
            if not span:
                return Result(None, "", 0.0, PocketSphinxRecognizer.name, self.audio_ms)
            line_db = self._line.peak_to_noise_db
            decoder = slot.grammar
            if self._words_open:
                if self._words_fed < len(self._audio):
                    decoder.process_raw(bytes(self._audio[self._words_fed:]), False, False)
                    self._words_fed = len(self._audio)
                decoder.end_utt()
                self._words_open = False
            else:
                if slot.clean is not None and line_db is not None and line_db >= _WIDE_FROM_DB:
                    decoder = slot.clean
                _afresh(decoder)
                decoder.start_utt()
                decoder.process_raw(span, False, True)
                decoder.end_utt()
            hyp = decoder.hyp()
            hypotheses = self._hypotheses(decoder) if self._nbest and hyp is not None and hyp.hypstr else ()
            quiet = [(seg.start_frame, seg.end_frame) for seg in (decoder.seg() or [])
                     if seg.word.startswith(_NON_SPEECH)]
            veto: list[str] | None = None  # the garbage decoder's words, when it ran
            clean_line = options.garbage_from_db is None or line_db is None or line_db >= options.garbage_from_db
            if self._veto is not None and hyp is not None and hyp.hypstr and clean_line:
                # Over the same span with the same whole-utterance normalization: decoded while the caller spoke
                # (live normalization), the loop won over nearly every menu answer.
                _afresh(self._veto)
                self._veto.start_utt()
                self._veto.process_raw(span, False, True)
                self._veto.end_utt()
                veto_hyp = self._veto.hyp()
                veto = veto_hyp.hypstr.split() if veto_hyp is not None else []
        finally:
            self.close()
        if hyp is None or not hyp.hypstr:
            return Result(None, "", 0.0, PocketSphinxRecognizer.name, self.audio_ms)
        text = self._text(hyp.hypstr)
        if self._grammar is None:  # dictation: the text is the result, its meaning is decided elsewhere
            confidence = 0.0
            if phone_score is not None:
                frames = max(len(span) // 2 * _FRAMES_PER_SECOND // self._rate, 1)
                ratio = (_logscore(hyp.score) - phone_score) / frames
                offset = _line_offset(options, line_db) - options.dictation_offset
                confidence = _logistic((ratio - offset) / options.scale)
            return Result(None, text, round(confidence, 4), PocketSphinxRecognizer.name, self.audio_ms,
                          hypotheses)
        intent = self._grammar.intent_of(text)
        confidence = 1.0 if intent is not None else 0.0
        fillers = False
        loop_won = False
        if intent is not None and veto is not None:
            # The menu against a loop of everyday words, over the same span: when the loop explains the
            # speech better than any phrase, the caller said something the menu does not have.
            if not any(not w.startswith(_NON_SPEECH) and not w.endswith(_GARBAGE) for w in veto):
                if options.garbage_reject_below is None:
                    return Result(None, text, 0.0, PocketSphinxRecognizer.name, self.audio_ms)
                loop_won = True
            # A phrase with the caller's fillers around it ("uh balance please"): the fillers are speech the
            # grammar pass could only call silence.
            fillers = not loop_won and any(w.endswith(_GARBAGE) for w in veto)
        if intent is not None and options.max_unexplained_ms is not None and not fillers:
            spoken = self._spoken + ([(self._speech_from, self.audio_ms)] if self._speech_from is not None else [])
            origin = max(self._first_ms - options.pre_roll_ms, 0)
            if unexplained_ms(spoken, quiet, origin) >= options.max_unexplained_ms:
                return Result(None, text, 0.0, PocketSphinxRecognizer.name, self.audio_ms)
        if intent is not None and phone_score is not None:
            # Per frame of the decoded span (pre-roll and tail included): on the benchmark this separated
            # out-of-grammar speech from menu phrases better than per frame of VAD speech.
            frames = max(len(span) // 2 * _FRAMES_PER_SECOND // self._rate, 1)
            ratio = (_logscore(hyp.score) - phone_score) / frames
            offset = _line_offset(options, line_db)
            confidence = _logistic((ratio - offset) / options.scale)
            if confidence < options.reject_below:
                intent = None
        if loop_won and (confidence < (options.garbage_reject_below or 0.0) or phone_score is None):
            intent = None
        return Result(intent, text, round(confidence, 4), PocketSphinxRecognizer.name, self.audio_ms)

    def close(self) -> None:
        """Give the decoders back without a result."""
        slot, self._slot = self._slot, None
        if slot is None:
            return
        if self._utt_open and slot.phones is not None:
            slot.phones.end_utt()
            self._utt_open = False
        if self._words_open:
            slot.grammar.end_utt()
            self._words_open = False
        self._recognizer._release(slot)

    def _require(self) -> _Slot:
        if self._slot is None:
            raise AsrError("the session is finished")
        return self._slot

    def _hypotheses(self, decoder: Any) -> tuple[tuple[str, float], ...]:
        """The n-best transcripts of the utterance just decoded (A* over its word lattice), distinct once fillers
        are dropped, with natural-log path scores relative to the best. The lattice's paths differ mostly in
        fillers and pronunciation variants, so a few times ``nbest`` paths are read for ``nbest`` texts."""
        found: dict[str, float] = {}
        for n, hyp in enumerate(decoder.nbest() or ()):
            if n >= _NBEST_PATHS * self._nbest or len(found) >= self._nbest:
                break
            if hyp is None:  # a path the binding could not read back (seen on noisy lines)
                continue
            text = self._text(hyp.hypstr)
            if text and text not in found:
                found[text] = _logscore(hyp.score) * _LN_BASE
        if not found:
            return ()
        best = max(found.values())
        return tuple((text, round(score - best, 3)) for text, score in found.items())

    def _text(self, hypstr: str) -> str:
        # Fillers and silences (<s>, </s>, <sil>, [NOISE], ...) are not words the caller said.
        return " ".join(self._keys.get(k, k) for k in hypstr.split() if not k.startswith(_NON_SPEECH))
