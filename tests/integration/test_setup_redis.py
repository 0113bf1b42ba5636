"""scripts/setup.sh gives the Redis it starts a password: generated once, kept 0600 outside the repository,
never on a command line; cti, the tests and the benchmarks find it there. Runs setup's own functions on a
port of this test's own, so the machine's Redis is not touched."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from cti.live import LiveStore
from cti.sim import local_redis_url

SETUP = Path(__file__).resolve().parents[2] / "scripts/setup.sh"


@dataclass
class SetupRedis:
    config_dir: Path
    port: int
    url: str

    def password(self) -> str:
        return (self.config_dir / "redis-password").read_text().strip()


def ensure_redis(config_dir: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CTI_CONFIG_DIR": str(config_dir), "CTI_SETUP_REDIS_PORT": str(port)}
    env.pop("CTI_REDIS_URL", None)
    return subprocess.run(["bash", "-c", f'source "{SETUP}"; ensure_redis; echo "$CTI_REDIS_URL"'],
                          env=env, capture_output=True, text=True, timeout=60)


def pid_of(port: int) -> int:
    return int(Path(f"/var/run/redis-cti-{port}.pid").read_text())


@pytest.fixture(scope="module")
def setup_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SetupRedis]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config_dir = tmp_path_factory.mktemp("home") / "config" / "cti"
    result = ensure_redis(config_dir, port)
    assert result.returncode == 0, result.stderr
    try:
        yield SetupRedis(config_dir, port, result.stdout.strip().splitlines()[-1])
    finally:
        os.kill(pid_of(port), signal.SIGTERM)


def test_setup_generates_a_password_once_and_keeps_it_private(setup_redis: SetupRedis) -> None:
    password = setup_redis.password()
    assert len(password) >= 32 and password.isalnum()
    assert setup_redis.url == f"redis://:{password}@127.0.0.1:{setup_redis.port}/0"
    secret = setup_redis.config_dir / "redis-password"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(setup_redis.config_dir.stat().st_mode) == 0o700
    first_pid = pid_of(setup_redis.port)
    again = ensure_redis(setup_redis.config_dir, setup_redis.port)  # idempotent: same password, same server
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == setup_redis.url
    assert (setup_redis.password(), pid_of(setup_redis.port)) == (password, first_pid)
    # Not on any command line (readable by every local user), not in what the script prints.
    assert password not in Path(f"/proc/{first_pid}/cmdline").read_text()
    assert password not in again.stderr


def test_the_redis_asks_for_the_password(setup_redis: SetupRedis) -> None:
    for password in (None, "not-it"):
        client = redis.Redis(port=setup_redis.port, password=password, retry=Retry(NoBackoff(), 0))
        with pytest.raises(redis.AuthenticationError):
            client.ping()
        client.close()
    config = redis.Redis(port=setup_redis.port, password=setup_redis.password(), decode_responses=True)
    assert config.config_get("bind")["bind"] == "127.0.0.1"
    config.close()


async def test_cti_reaches_it_with_the_password_in_its_url(setup_redis: SetupRedis) -> None:
    live = LiveStore(setup_redis.url, "cti-setup-test")
    without = LiveStore(f"redis://127.0.0.1:{setup_redis.port}/0", "cti-setup-test")
    try:
        assert await live.ping() is True
        assert await without.ping() is False
    finally:
        await live.close()
        await without.close()


def test_tests_and_benchmarks_find_it_through_the_password_file(setup_redis: SetupRedis, tmp_path: Path) -> None:
    assert local_redis_url(setup_redis.port, setup_redis.config_dir) == setup_redis.url
    assert local_redis_url(setup_redis.port, tmp_path) is None  # asks for a password we do not hold
