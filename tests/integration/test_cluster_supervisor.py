"""The cluster's supervisord (cti.topology's file and its client) with a real supervisord and stand-in programs
(``sleep``) in a temporary folder: a program ``kill -9``ed is started again and counted, a larger count taken in
by a running supervisord, a program stopped stays stopped, supervisord's end takes its programs with it. The cti
processes themselves under it: tests/e2e/test_cluster_topology.py."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cti.topology import ClusterPlan, plan_from_env
from cti.topology._configs import Supervised, supervisor_config, supervisor_socket
from cti.topology._supervisor import Supervisor, unexpected_exits
from tests.support import unavailable

PROGRAM = ["setpriv", "--pdeathsig", "TERM", "--", "sleep", "600"]
"""As the cluster runs its parts (cti.topology._cluster): ended with supervisord."""


def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not in {timeout} s")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in "ZX"


def _started(supervisor: Supervisor, name: str) -> int:
    """The program's pid once it runs ``sleep``: supervisord reports the pid as it forks, before the child has made
    its own process group and before setpriv has set the parent-death signal and run the program (its environ and
    group were read from supervisord's copy now and then, and a supervisord killed that early leaves the child
    running: the window a started program's first moments are in, in production too)."""
    found: list[int] = []

    def running_sleep() -> bool:
        pid = supervisor.processes()[name].pid
        try:
            if pid is None or not Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep\0"):
                return False
        except OSError:
            return False
        found[:] = [pid]
        return True

    _until(running_sleep)
    return found[0]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[ClusterPlan, Supervisor, subprocess.Popen[bytes]]]:
    if shutil.which("supervisord") is None or shutil.which("setpriv") is None:
        unavailable("supervisord or setpriv is not installed (scripts/setup.sh installs them)")
    plan = plan_from_env({"CTI_CLUSTER_DIR": str(tmp_path)})
    for sub in ("log", "supervisor"):
        (tmp_path / sub).mkdir()
    conf = tmp_path / "supervisor" / "supervisord.conf"
    conf.write_text(supervisor_config(plan, [Supervised("front-1", PROGRAM, {"CTI_X": "1"})]))
    process = subprocess.Popen(["supervisord", "-n", "-c", str(conf)], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    supervisor = Supervisor(supervisor_socket(plan))
    try:
        _until(lambda: supervisor.ready() is None)
        yield plan, supervisor, process
    finally:
        process.kill()
        process.wait()


def test_a_killed_program_is_started_again_and_counted_a_stopped_one_stays_stopped(
        running: tuple[ClusterPlan, Supervisor, subprocess.Popen[bytes]]) -> None:
    plan, supervisor, process = running
    assert oct(supervisor_socket(plan).stat().st_mode & 0o777) == "0o700"
    assert supervisor.processes()["front-1"].state == "STOPPED"  # started by `cti cluster start`, in its stages
    supervisor.start("front-1")
    first = _started(supervisor, "front-1")
    assert os.getpgid(first) == first  # its own group: stopped, or killed, whole
    _until(lambda: supervisor.processes()["front-1"].state == "RUNNING", timeout=10)
    os.kill(first, signal.SIGKILL)
    killed = time.monotonic()
    _until(lambda: supervisor.processes()["front-1"].pid not in (None, first))
    print(f"a new process {time.monotonic() - killed:.2f} s after the kill")
    assert time.monotonic() - killed < 3  # it had run past startsecs: started again at once
    log = (plan.directory / "log" / "supervisord.log").read_text()
    assert unexpected_exits(log, process.pid) == {"front-1": 1}
    supervisor.stop("front-1", 10)
    supervisor.stop("front-1", 10)  # stopping a stopped one is no error
    assert (supervisor.processes()["front-1"].state, supervisor.processes()["front-1"].pid) == ("STOPPED", None)
    assert unexpected_exits((plan.directory / "log" / "supervisord.log").read_text(), process.pid) == {"front-1": 1}


def test_a_larger_count_is_taken_in_and_supervisord_s_end_takes_its_programs(
        running: tuple[ClusterPlan, Supervisor, subprocess.Popen[bytes]]) -> None:
    plan, supervisor, process = running
    supervisor.start("front-1")
    conf = plan.directory / "supervisor" / "supervisord.conf"
    conf.write_text(supervisor_config(plan, [Supervised("front-1", PROGRAM, {"CTI_X": "1"}),
                                             Supervised("front-2", PROGRAM, {})]))
    assert supervisor.update() == ["front-2"]
    assert supervisor.update() == []
    supervisor.start("front-2")
    supervisor.start("front-2")  # started already: no error
    pids = [_started(supervisor, name) for name in ("front-1", "front-2")]
    environ = Path(f"/proc/{pids[0]}/environ").read_bytes().split(b"\0")
    assert b"CTI_X=1" in environ
    # supervisord killed outright: its programs end with it (setpriv's parent-death signal), none left unsupervised.
    process.kill()
    process.wait()
    _until(lambda: not any(_alive(pid) for pid in pids), timeout=5)
    assert supervisor.processes() == {}
