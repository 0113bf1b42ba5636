"""Speech for the IVR: prompts rendered by text-to-speech (espeak-ng, pyttsx3) and cached as Asterisk sounds; the
virtual agent's chat replies spoken with the same voices (:class:`SpokenReplies`); and the audio path of
recognition (RTP from Asterisk's externalMedia, resampling, voice activity). Recognizers are
:mod:`cti.speech.asr`. Offline: no model or voice is ever downloaded at run time. See docs/speech.md.
"""

from cti.speech._audio import (
    EnergyVad,
    Resampler,
    RtpError,
    RtpPacket,
    RtpReceiver,
    RtpStats,
    SpeechEnd,
    SpeechStart,
    VadEvent,
    open_rtp_receiver,
    parse_rtp,
    payload_to_pcm,
    resample,
    ulaw_decode,
    ulaw_encode,
)
from cti.speech._open_question import OpenEngine, OpenQuestion, OpenSession
from cti.speech._tts import (
    DEFAULT_VOICES,
    EspeakSynthesizer,
    Prompt,
    PromptRenderer,
    Pyttsx3Synthesizer,
    Synthesizer,
    TtsError,
)
from cti.speech._voice import MAX_SPOKEN, SpokenReplies

__all__ = [
    "DEFAULT_VOICES",
    "MAX_SPOKEN",
    "EnergyVad",
    "EspeakSynthesizer",
    "OpenEngine",
    "OpenQuestion",
    "OpenSession",
    "Prompt",
    "PromptRenderer",
    "Pyttsx3Synthesizer",
    "Resampler",
    "RtpError",
    "RtpPacket",
    "RtpReceiver",
    "RtpStats",
    "SpeechEnd",
    "SpeechStart",
    "SpokenReplies",
    "Synthesizer",
    "TtsError",
    "VadEvent",
    "open_rtp_receiver",
    "parse_rtp",
    "payload_to_pcm",
    "resample",
    "ulaw_decode",
    "ulaw_encode",
]
