"""What a waiting caller hears about their place in the queue: position and estimated wait.

Returns ARI media URIs: Asterisk's own English queue prompts (``PROMPT_LANGUAGE``), worded as app_queue's
announcements. They are what a caller whose language cti does not know hears; for a caller whose language it
knows, the voice adapter speaks the same position and wait in that language instead (``cti.ivr.position_text``
through the TTS prompts).
"""

from __future__ import annotations

import math

__all__ = ["PROMPT_LANGUAGE", "position_announcement"]

PROMPT_LANGUAGE = "en"
MAX_ANNOUNCED_MINUTES = 60  # beyond this a number stops informing and starts discouraging


def position_announcement(position: int, estimated_wait: float) -> list[str]:
    """Media for "you are next" / "you are caller number N", then the estimated hold time if known."""
    if position <= 1:
        media = ["sound:queue-youarenext"]
    else:
        media = ["sound:queue-thereare", f"number:{position}", "sound:queue-callswaiting"]
    if math.isfinite(estimated_wait) and estimated_wait > 0:
        minutes = max(1, math.ceil(estimated_wait / 60))
        if minutes <= MAX_ANNOUNCED_MINUTES:
            media += ["sound:queue-holdtime", f"number:{minutes}",
                      "sound:queue-minute" if minutes == 1 else "sound:queue-minutes"]
    return media
