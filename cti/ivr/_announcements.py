"""What cti says to callers outside the IVR flows, in their language: position and wait announcements,
and the messages of the routing rules (closed, full, callback confirmed or refused). Pure: text in, text out; the
TTS renders it. Rule messages are Asterisk prompt names; the ones cti ships with are translated here and
others play as the operator recorded them.
"""

from __future__ import annotations

import math
from typing import Final

from cti.ivr._speak import cardinal
from cti.types import Language

__all__ = ["MESSAGES", "message_text", "position_text"]

MAX_ANNOUNCED_MINUTES: Final = 60  # beyond this a number stops informing and starts discouraging

MESSAGES: Final[dict[str, dict[Language, str]]] = {
    "ss-noservice": {
        "id": "Mohon maaf, layanan ini sedang tidak tersedia. Silakan hubungi kami kembali pada jam layanan.",
        "en": "We are sorry, this service is not available right now. Please call again during our opening hours.",
    },
    "auth-thankyou": {
        "id": "Terima kasih. Kami akan menelepon Anda kembali, dan Anda tetap di urutan antrean Anda.",
        "en": "Thank you. We will call you back, and you keep your place in the queue.",
    },
    "feature-not-avail-line": {
        "id": "Mohon maaf, kami tidak dapat menelepon kembali nomor ini. Mohon tetap di saluran; "
              "agen kami akan segera melayani Anda.",
        "en": "We are sorry, we cannot call this number back. Please stay on the line; an agent will be with you "
              "shortly.",
    },
    # cti's own (no Asterisk sound of that name): a caller turned away under overload, before answering.
    "cti-overloaded": {
        "id": "Mohon maaf, saluran kami sedang penuh. Silakan hubungi kami kembali beberapa menit lagi.",
        "en": "We are sorry, our lines are full right now. Please call again in a few minutes.",
    },
    "queue-full": {
        "id": "Mohon maaf, semua agen kami sedang sibuk. Silakan hubungi kami kembali nanti.",
        "en": "We are sorry, all our agents are busy. Please call again later.",
    },
}


def position_text(position: int, estimated_wait_seconds: float, language: Language) -> str:
    """"You are next" / "There are N callers ahead of you", then the estimated wait in whole minutes."""
    if language == "en":
        ahead = position - 1
        text = "You are next in line." if ahead < 1 else "There is one caller ahead of you." if ahead == 1 else \
            f"There are {cardinal(ahead, 'en')} callers ahead of you."
    else:
        text = "Anda berada di urutan berikutnya." if position <= 1 else \
            f"Ada {cardinal(position - 1, 'id')} penelepon sebelum Anda."
    if math.isfinite(estimated_wait_seconds) and estimated_wait_seconds > 0:
        minutes = max(1, math.ceil(estimated_wait_seconds / 60))
        if minutes <= MAX_ANNOUNCED_MINUTES:
            if language == "en":
                text += f" Your estimated wait is {cardinal(minutes, 'en')} minute{'s' if minutes > 1 else ''}."
            else:
                text += f" Perkiraan waktu tunggu Anda {cardinal(minutes, 'id')} menit."
    return text


def message_text(message: str, language: Language) -> str | None:
    """The words of a rules message in ``language``, or None for a prompt cti does not know (play it as is)."""
    texts = MESSAGES.get(message)
    return None if texts is None else texts[language]
