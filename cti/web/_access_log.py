"""The access log, without secrets.

aiohttp's own access logger writes the request line as received (``"GET /ws/desktop?ticket=... HTTP/1.1"``)
and the ``Referer``, where a secret in a URL would land in every log collector. This one writes the address,
the method, the path with the values of secret-looking query parameters masked, the status, the size, the
time taken and the user agent; never a header that could carry a credential, never the referrer.

Every way cti serves HTTP uses it: ``cti serve``, ``cti demo`` (``access_log_class=AccessLogger``).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

__all__ = ["SECRET_PARAMS", "AccessLogger", "masked_path"]

SECRET_PARAMS: Final = frozenset({"token", "ticket", "access_token", "api_key", "apikey", "key", "password",
                                  "secret", "auth", "authorization"})
MASK: Final = "***"
TYPED_PARAMS: Final = frozenset({("/api/faq/search", "q")})
"""What a member of the public typed (it may name them, their address or their order): masked like a secret."""


def masked_path(request: BaseRequest) -> str:
    """The request's path and query, the values of :data:`SECRET_PARAMS` and :data:`TYPED_PARAMS` replaced by
    ``***``."""
    path = request.rel_url.raw_path
    if not request.rel_url.raw_query_string:
        return path
    parts = []
    for name, value in request.rel_url.query.items():
        hidden = name.lower() in SECRET_PARAMS or (path, name) in TYPED_PARAMS
        shown = MASK if hidden else quote(value, safe="")
        parts.append(f"{quote(name, safe='')}={shown}")
    return f"{path}?{'&'.join(parts)}"


class AccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s HTTP/%d.%d" %d %d %.3fs "%s"', request.remote or "-", request.method,
                         masked_path(request), request.version.major, request.version.minor, response.status,
                         response.body_length, time, request.headers.get("User-Agent", "-"))
