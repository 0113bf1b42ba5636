"""What cti writes to its logs carries no secret (the developers' guide: no secret in a URL or a log)."""

from __future__ import annotations

import pytest

from cti.persistence import StorageError
from cti.redis_url import redacted_url
from cti.types import masked


def test_a_redis_url_is_logged_without_its_password() -> None:
    assert redacted_url("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redacted_url("rediss://cti:pw@cache/1") == "rediss://cti:***@cache/1"
    assert redacted_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert (redacted_url("redis+sentinel://:s3cret@h1:26379,h2:26380/cti/0?sentinel_password=s3nt")
            == "redis+sentinel://:***@h1:26379,h2:26380/cti/0?sentinel_password=***")


def test_numbers_are_masked_to_their_last_three_characters() -> None:
    assert masked("+6281234567890") == "***********890"
    assert masked("0215550123") == "*******123"
    assert masked("12") == "**" and masked("") == ""
    assert masked("9" * 40) == "*" * 12 + "999"  # the length of a long number is not told either


def test_a_too_long_value_is_refused_without_quoting_it() -> None:
    from cti.persistence._sql import check
    from cti.persistence._tables import METADATA

    with pytest.raises(StorageError) as refused:
        check(METADATA.tables["interactions"], {"caller_name": "Dewi Lestari " * 20})
    assert str(refused.value) == "interactions.caller_name is longer than 128 characters (260)"
    assert "Dewi" not in str(refused.value)
