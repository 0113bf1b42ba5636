"""Where cti's Redis is: the forms of ``CTI_REDIS_URL``, read without any I/O (settings check them at start-up).

redis-py's own forms pass unchanged: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` (TLS) and
``unix://[[user]:password@]/path/to/socket[?db=N]``. A Redis watched by Sentinel is named by its Sentinels and the
master's name::

    redis+sentinel://[[user]:password@]host:port[,host:port...]/<master>[/<db>][?sentinel_password=...]

The password before ``@`` is Redis's (the master's and its replicas'); Sentinels that ask one of their own
(``requirepass`` in sentinel.conf) get ``sentinel_password``, which may be the same. A Sentinel's port defaults to
26379. Passwords are percent-decoded (``%40`` for ``@``), as redis-py does. Error messages quote no part of the URL, so
never a password, even one whose unescaped ``/`` or ``@`` cut the URL elsewhere than meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

__all__ = ["SENTINEL_SCHEME", "RedisUrlError", "SentinelTarget", "redacted_url", "sentinel_target"]

SENTINEL_SCHEME = "redis+sentinel"
PLAIN_SCHEMES = ("redis", "rediss", "unix")
_DEFAULT_SENTINEL_PORT = 26379
_MASTER_NAME = re.compile(r"[A-Za-z0-9._-]+")
_HOST = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+")
_USERINFO_PASSWORD = re.compile(r"(://[^/\s:@]*:)[^@\s/]*@")
_QUERY_PASSWORD = re.compile(r"(?i)([?&](?:sentinel_)?password=)[^&#\s]*")


class RedisUrlError(ValueError):
    """``CTI_REDIS_URL`` is not one of the forms above; the message says which part is wrong, never a password."""


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    """A Redis master found through its Sentinels (``redis+sentinel://``)."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)


def redacted_url(url: str) -> str:
    """The URL fit for a log or an error: the passwords in it (userinfo, ``sentinel_password``) masked."""
    return _QUERY_PASSWORD.sub(r"\g<1>***", _USERINFO_PASSWORD.sub(r"\g<1>***@", url))


def sentinel_target(url: str) -> SentinelTarget | None:
    """The Sentinels and master a ``redis+sentinel://`` URL names; None for redis-py's own forms (checked only
    for their scheme here: redis-py reads them). :class:`RedisUrlError` for anything else."""
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if sep and scheme in PLAIN_SCHEMES:
        return None
    if not sep or scheme != SENTINEL_SCHEME:
        raise RedisUrlError("must be a redis://, rediss://, unix:// or redis+sentinel:// URL")
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon and secret else None
    sentinels = tuple(_sentinel_address(part, n) for n, part in enumerate(hosts.split(","), 1))
    master, _, db_text = path.partition("/")
    if not _MASTER_NAME.fullmatch(master):
        raise RedisUrlError("redis+sentinel:// needs the master's name after the Sentinels "
                            "(redis+sentinel://host:26379,host:26380/<master>[/<db>])")
    db_text = db_text.rstrip("/")
    if db_text and not db_text.isdigit():
        raise RedisUrlError("the database after the master's name must be a number")
    sentinel_password = None
    try:
        options = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise RedisUrlError("the query of a redis+sentinel:// URL must be name=value pairs") from None
    for name, values in options.items():
        if name != "sentinel_password" or len(values) != 1:
            raise RedisUrlError("a redis+sentinel:// URL takes one parameter after '?', sentinel_password, once")
        sentinel_password = values[0] or None
    return SentinelTarget(sentinels=sentinels, master=master, db=int(db_text or 0), username=username,
                          password=password, sentinel_password=sentinel_password)


def _sentinel_address(part: str, n: int) -> tuple[str, int]:
    # Not quoted in the errors: a password with an unescaped '/', '?' or '@' lands here.
    host, port = part, _DEFAULT_SENTINEL_PORT
    if ":" in part and not part.endswith("]"):
        host, _, port_text = part.rpartition(":")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise RedisUrlError(f"Sentinel address {n} has no valid port (host:port, port 1-65535)")
        port = int(port_text)
    if not _HOST.fullmatch(host):
        raise RedisUrlError(f"Sentinel address {n} is not host:port (Sentinels are separated by commas: "
                            "redis+sentinel://h1:26379,h2:26379/<master>; a password's '/', '?' or '@' "
                            "percent-encoded)")
    return host.strip("[]"), port
