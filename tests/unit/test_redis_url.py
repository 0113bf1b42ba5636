"""The forms of CTI_REDIS_URL: redis-py's own pass unchanged, a redis+sentinel:// URL names the Sentinels and the
master, and a wrong one is refused with a message that says what is wrong without quoting any part of the URL."""

from __future__ import annotations

import pytest

from cti.redis_client import redis_client
from cti.redis_url import RedisUrlError, SentinelTarget, redacted_url, sentinel_target
from cti.settings import SettingsError, load_settings
from tests.unit.test_settings import REQUIRED

SECRET = "pw-X9q"  # in every bad URL below: no error may show it, nor any part of it


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "redis://:pw@cache:6380/2", "rediss://u:pw@cache/1",
                                 "unix:///run/redis.sock?db=3", "REDIS://cache"])
def test_redis_py_forms_pass_unchanged(url: str) -> None:
    assert sentinel_target(url) is None
    assert load_settings(**REQUIRED, redis_url=url).redis_url == url


@pytest.mark.parametrize(("url", "target"), [
    ("redis+sentinel://:s3cret@127.0.0.1:26391,127.0.0.1:26392,127.0.0.1:26393/cti",
     SentinelTarget(((("127.0.0.1", 26391)), ("127.0.0.1", 26392), ("127.0.0.1", 26393)), "cti", password="s3cret")),
    ("redis+sentinel://sentinel-a,sentinel-b:26380/my.master/2",
     SentinelTarget((("sentinel-a", 26379), ("sentinel-b", 26380)), "my.master", db=2)),
    ("redis+sentinel://cti:p%40ss@[::1]:26379/cti/0?sentinel_password=other%2F1",
     SentinelTarget((("::1", 26379),), "cti", username="cti", password="p@ss", sentinel_password="other/1")),
    ("redis+sentinel://h:1/m/", SentinelTarget((("h", 1),), "m")),
])
def test_sentinel_urls_name_the_sentinels_the_master_and_the_passwords(url: str, target: SentinelTarget) -> None:
    assert sentinel_target(url) == target
    assert target.password is None or target.password not in repr(target)
    assert load_settings(**REQUIRED, redis_url=url).redis_url == url


@pytest.mark.parametrize(("url", "message"), [
    (f"http://:{SECRET}@cache:6379", "must be a redis://, rediss://, unix:// or redis+sentinel:// URL"),
    (f"redis+sentinel:{SECRET}@h:26379/cti", "must be a redis://, rediss://, unix:// or redis+sentinel:// URL"),
    (f"redis+sentinel://:{SECRET}@h1:26379,h2:26380", "needs the master's name after the Sentinels"),
    (f"redis+sentinel://:{SECRET}@h1:26379/", "needs the master's name after the Sentinels"),
    (f"redis+sentinel://:{SECRET}@h1:26379,h2:notaport/cti", "Sentinel address 2 has no valid port"),
    (f"redis+sentinel://:{SECRET}@h1:70000/cti", "Sentinel address 1 has no valid port"),
    (f"redis+sentinel://:{SECRET}@h1:26379,,h3:1/cti", "Sentinel address 2 is not host:port"),
    (f"redis+sentinel://:{SECRET}@/cti", "Sentinel address 1 is not host:port"),
    # An unescaped '/' in the password cuts the URL there: the error must not show the rest of it.
    (f"redis+sentinel://:pw/{SECRET}@h1:26379/cti", "Sentinel address 1"),
    (f"redis+sentinel://:{SECRET}@h1:26379/cti/zero", "the database after the master's name must be a number"),
    (f"redis+sentinel://:{SECRET}@h1:26379/cti?password={SECRET}", "one parameter after '?', sentinel_password"),
    (f"redis+sentinel://h1/cti?sentinel_password={SECRET}&sentinel_password=x", "sentinel_password, once"),
])
def test_bad_urls_are_refused_saying_what_is_wrong_without_the_password(url: str, message: str) -> None:
    with pytest.raises(RedisUrlError) as refused:
        sentinel_target(url)
    assert message in str(refused.value)
    assert SECRET not in str(refused.value) and "pw" not in str(refused.value)
    with pytest.raises(SettingsError) as invalid:
        load_settings(**REQUIRED, redis_url=url)
    assert f"CTI_REDIS_URL: Value error, {refused.value}" in str(invalid.value)
    assert SECRET not in str(invalid.value)


def test_passwords_are_masked_for_logs() -> None:
    assert (redacted_url(f"redis+sentinel://u:{SECRET}@h1:1,h2:2/cti?sentinel_password={SECRET}")
            == "redis+sentinel://u:***@h1:1,h2:2/cti?sentinel_password=***")


async def test_one_factory_makes_plain_and_sentinel_clients_with_a_bounded_blocking_pool() -> None:
    plain = redis_client("redis://127.0.0.1:1/0", socket_timeout=2.0, max_connections=5, pool_wait=3.0)
    sentinel = redis_client(f"redis+sentinel://:{SECRET}@127.0.0.1:1,127.0.0.1:2/cti/4?sentinel_password=s",
                            socket_timeout=2.0, max_connections=50, pool_wait=10.0, decode_responses=True)
    unbounded = redis_client("redis+sentinel://127.0.0.1:1/cti", socket_timeout=None)
    try:
        for client, limit, wait in ((plain, 5, 3.0), (sentinel, 50, 10.0)):
            pool = client.connection_pool
            assert (type(pool).__name__, pool.max_connections, pool.timeout) == (  # type: ignore[attr-defined]
                "BlockingConnectionPool" if client is plain else "_BlockingSentinelPool", limit, wait)
        pool = sentinel.connection_pool
        assert (pool.service_name, pool.connection_kwargs["db"], pool.connection_kwargs["password"],  # type: ignore[attr-defined]
                pool.connection_kwargs["socket_timeout"]) == ("cti", 4, SECRET, 2.0)
        assert SECRET not in repr(pool) and SECRET not in repr(sentinel)
        assert type(unbounded.connection_pool).__name__ == "SentinelConnectionPool"
        assert unbounded.connection_pool.connection_kwargs["socket_timeout"] is None
    finally:
        for client in (plain, sentinel, unbounded):
            await client.aclose()


def test_the_settings_page_shows_a_sentinel_url_without_its_passwords() -> None:
    from cti.settings import effective_settings

    url = f"redis+sentinel://:{SECRET}@h1:26379,h2:26379/cti/0?sentinel_password={SECRET}"
    (entry,) = [e for e in effective_settings(load_settings(**REQUIRED, redis_url=url)) if e["name"] == "redis_url"]
    assert entry["value"] == "redis+sentinel://:***@h1:26379,h2:26379/cti/0?sentinel_password=***"
