"""The SMS sender used when no SMS gateway is configured: it sends nothing and says so."""

from __future__ import annotations

import logging

from cti.types import Language

__all__ = ["LoggingSmsSender"]

log = logging.getLogger("cti.messaging.sms")
codes_log = logging.getLogger("cti.messaging.sms.codes")
"""Where a developer reads the codes (DEBUG only: never at the INFO level a server logs at)."""


class LoggingSmsSender:
    """Sends no SMS: logs (INFO) that a code was due for a masked number; the code itself only at DEBUG, on the
    ``cti.messaging.sms.codes`` logger, for development (docs/operations.md)."""

    async def send_code(self, to: str, code: str, *, language: Language, minutes: int) -> None:
        log.info("SMS not sent (logging sender): sign-in code for %s***", to[:6])
        codes_log.debug("sign-in code for %s: %s (valid %d minutes)", to, code, minutes)
