"""Session fixtures: one real Asterisk, one Redis. Everything a test needs is started, never faked."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from cti.asterisk import AsteriskError, AsteriskRoot
from cti.settings import Settings, load_settings
from cti.sim import local_redis_url
from tests.support import CI, create_postgres_database, unavailable

ASTERISK_ROOT = Path("/var/cache/cti/asterisk-root")

# Property tests explore new cases on every developer run, but under CI they are repeatable: a suite people
# trust is green every time on a fresh clone, and what a random run finds becomes an @example. Neither has
# Hypothesis's per-example deadline (200 ms) or its too-slow health check: those time the machine, not the code,
# and failed a resampler property on a loaded machine (267 ms for one example). Tests assert behaviour; speed
# lives in bench/.
_UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
hypothesis_settings.register_profile("untimed", **_UNTIMED)
hypothesis_settings.register_profile("ci", derandomize=True, database=None, **_UNTIMED)
hypothesis_settings.load_profile("ci" if CI else "untimed")


ON_ASTERISK = ("tests/e2e/", "tests/integration/test_fuzz_api.py")
"""Where the tests that use the one Asterisk live. Under pytest-xdist (``-n 2``, as scripts/test runs) all of
these run in one worker, in order: the session's Asterisk is taken with a lock for the whole session, so a
second worker asking for it would wait for the first to finish. Everything else runs beside them on the other
core. (xdist's own ``--dist loadgroup`` cannot do this with pytest 9, which no longer lets a plugin rename a
test; hence the scheduler below.)"""
ON_A_CLUSTER = ("tests/e2e/test_cluster_",)
"""The e2e tests that start a cluster of their own (tests/e2e/cluster.py: its own Asterisk nodes, Kamailio, Redis,
PostgreSQL, on ports of its own) and never touch the session's Asterisk: one unit of work too, in order (one cluster
at a time), beside the Asterisk's, so that the worker holding the Asterisk does not run them as well (the Asterisk's
worker is the suite's longest)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test elsewhere that asks for the Asterisk would wait for the lock in the other worker: refuse it."""
    strays = [item.nodeid for item in items if "asterisk" in getattr(item, "fixturenames", ())
              and (not item.nodeid.startswith(ON_ASTERISK) or item.nodeid.startswith(ON_A_CLUSTER))]
    if strays:
        raise pytest.UsageError("tests using the Asterisk must live under " + " or ".join(ON_ASTERISK)
                                + " (tests/conftest.py ON_ASTERISK): " + ", ".join(strays[:5]))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Every test on the Asterisk is one unit of work (sent to one worker, in order), every test on a cluster of its
    own another; each other test its own."""
    from xdist.scheduler import LoadScopeScheduling

    class AsteriskInOneWorker(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.startswith(ON_A_CLUSTER):
                return "cluster"
            return "asterisk" if nodeid.startswith(ON_ASTERISK) else nodeid

    return AsteriskInOneWorker(config, log)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The machine's Redis on 6379 (with the password scripts/setup.sh gave it, if it has one), or a private
    one started for this session, which asks for a password as a deployed one does."""
    machine = local_redis_url(6379)
    if machine is not None:
        yield machine
        return
    server = shutil.which("redis-server")
    if server is None:
        unavailable("no usable Redis on 127.0.0.1:6379 and redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    password = secrets.token_urlsafe(24)
    # The configuration (and so the password) on standard input: not on a command line others can read.
    proc = subprocess.Popen([server, "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    assert proc.stdin is not None
    proc.stdin.write(f'port {port}\nbind 127.0.0.1\nsave ""\nappendonly no\nrequirepass {password}\n'.encode())
    proc.stdin.close()
    deadline = time.monotonic() + 10
    while not _port_open(port):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            unavailable("could not start a private redis-server")
        time.sleep(0.05)
    yield f"redis://:{password}@127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(5)


@pytest.fixture(scope="session")
def base_settings(redis_url: str) -> Settings:
    """Settings shared by the session's Asterisk and every cti instance the tests start."""
    return load_settings(
        # With characters Asterisk's configuration reads as syntax: every session proves they are escaped.
        ari_password=f"{secrets.token_urlsafe(16)};[cti]#",
        admin_token=secrets.token_urlsafe(24),
        redis_url=redis_url,
        sip_bind="127.0.0.1:5060",
        asterisk_root=ASTERISK_ROOT,
        ring_timeout=4,
        http_port=0,
        sim_agents=50,  # SIPp agents 7001..7050: never there unless asked for
        softphones="1001:softphone-secret-1",
        webphones="wendy:1201",  # the browser phone of tests/e2e/test_webphone.py
    )


# The whole app's fixtures, shared by tests/e2e (on the Asterisk) and tests/pages (without): a module overrides
# ``database_url`` (adding ``postgresql``), ``cti_settings_overrides`` or ``cti_clock`` for its own cti.
@pytest.fixture(params=["sqlite"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "postgresql":
        url, drop = await create_postgres_database()
        yield url
        await drop()
    else:
        yield f"sqlite+aiosqlite:///{tmp_path}/cti.db"


@pytest.fixture
def cti_settings_overrides() -> dict[str, Any]:
    """Settings a test module needs changed for its cti (override this fixture in the module)."""
    return {}


@pytest.fixture
def cti_clock() -> Callable[[], datetime] | None:
    """The clock cti decides by (override in a module to test calendars); None is the wall clock."""
    return None


@pytest.fixture(scope="session")
def asterisk(base_settings: Settings) -> Iterator[AsteriskRoot]:
    """One real Asterisk 22 for the whole session, configured from the repository."""
    root = AsteriskRoot(base_settings.asterisk_root)
    if not root.built:
        if not CI and shutil.which("debootstrap") is None:
            unavailable("no Asterisk root; run the README's test command to build it")
        root.build()
    try:
        root.acquire()
        if root.pid() is not None:
            root.stop()  # a stale Asterisk from an interrupted run has other credentials
            root.acquire()
        root.install_config(base_settings)
        root.start(base_settings)
    except AsteriskError as exc:
        pytest.fail(f"Asterisk did not start: {exc}")
    yield root
    root.stop()
