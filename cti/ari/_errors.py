"""Exceptions raised by the ARI client; foreign errors (aiohttp, timeouts, JSON) never leak past it.

Hierarchy (an :class:`AriError` is a :class:`cti.errors.Unavailable`)::

    AriError
    ├── AriConnectionError      transport failure: refused, reset, timed out, websocket handshake failed
    ├── AriNotLeading           not sent: this controller does not lead (standby controllers, cti.cluster)
    ├── AriProtocolError        Asterisk sent something we cannot parse (bad JSON, malformed event)
    └── AriHTTPError            Asterisk answered with a non-2xx status (500, 503, ... land here as is)
        ├── AriBadRequest       400: a parameter is missing or wrong (also "Channel not found" in a body)
        ├── AriNotFound         404: the channel, bridge, playback or variable does not exist
        ├── AriConflict         409: e.g. channel not in Stasis, bridge id already taken
        └── AriUnprocessable    422: the request is well formed but refers to something unusable
"""

from __future__ import annotations

from cti.errors import Unavailable

__all__ = [
    "AriBadRequest",
    "AriConflict",
    "AriConnectionError",
    "AriError",
    "AriHTTPError",
    "AriNotFound",
    "AriNotLeading",
    "AriProtocolError",
    "AriUnprocessable",
    "http_error",
]


class AriError(Unavailable):
    """Base of every error the ARI client raises: to the rest of cti, Asterisk is unavailable."""

    @property
    def public_message(self) -> str:
        return "Asterisk is unavailable; try again shortly"  # its own words (paths, channel ids) are logged


class AriConnectionError(AriError):
    """Asterisk could not be reached, or did not answer in time."""


class AriNotLeading(AriError):
    """The request was not sent: this controller no longer leads (its lease lapsed), so Asterisk is not its to
    command; another controller may be leading already."""


class AriProtocolError(AriError):
    """Asterisk sent a body or event we cannot make sense of."""


class AriHTTPError(AriError):
    """Asterisk answered a REST request with a non-2xx status."""

    def __init__(self, status: int, method: str, path: str, message: str) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        super().__init__(f"{method} {path} -> {status}: {message}")


class AriBadRequest(AriHTTPError):
    """400."""


class AriNotFound(AriHTTPError):
    """404."""


class AriConflict(AriHTTPError):
    """409."""


class AriUnprocessable(AriHTTPError):
    """422."""


_BY_STATUS: dict[int, type[AriHTTPError]] = {
    400: AriBadRequest,
    404: AriNotFound,
    409: AriConflict,
    422: AriUnprocessable,
}


def http_error(status: int, method: str, path: str, message: str) -> AriHTTPError:
    """The most specific ``AriHTTPError`` for ``status``."""
    return _BY_STATUS.get(status, AriHTTPError)(status, method, path, message)
