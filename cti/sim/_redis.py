"""The Redis ``scripts/setup.sh`` keeps on this machine, for the tests and the benchmarks: where it is and the
password setup generated for it (kept 0600 in the user's configuration directory, never in the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = ["config_dir", "local_redis_url"]


def config_dir() -> Path:
    """Where ``scripts/setup.sh`` keeps this machine's cti secrets: ``CTI_CONFIG_DIR``, else
    ``$XDG_CONFIG_HOME/cti``, else ``~/.config/cti``."""
    explicit = os.environ.get("CTI_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "cti"


def local_redis_url(port: int = 6379, directory: Path | None = None) -> str | None:
    """``redis://`` URL of the Redis on 127.0.0.1:``port``, with setup's password when it asks for one.

    None when nothing answers there, or it asks for a password setup's file does not hold (someone else's
    Redis). An open Redis (no password) is used as it is: it may be shared, and is not ours to change.
    """
    if _answers(port, None):
        return f"redis://127.0.0.1:{port}/0"
    try:
        password = ((directory or config_dir()) / "redis-password").read_text().strip()
    except OSError:
        return None
    if password and _answers(port, password):
        return f"redis://:{password}@127.0.0.1:{port}/0"
    return None


def _answers(port: int, password: str | None) -> bool:
    # No retries: a refused password is an answer, not a hiccup to back off from for seconds.
    client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=2,
                         socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):  # refused, or a password missing, wrong or not asked for
        return False
    finally:
        client.close()
