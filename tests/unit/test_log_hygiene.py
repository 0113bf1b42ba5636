"""What cti writes to its logs carries no secret (the developers' guide: no secret in a URL or a log)."""

from __future__ import annotations

from cti.bootstrap._app import _without_password


def test_a_redis_url_is_logged_without_its_password() -> None:
    assert _without_password("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert _without_password("rediss://cti:pw@cache/1") == "rediss://cti:***@cache/1"
    assert _without_password("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
