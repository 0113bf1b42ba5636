"""The demo's console stays readable: every log record goes to its file, the console keeps warnings and errors,
and the request log never reaches it."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pytest

from cti.sim._demo import _access_log, _log_to_file, _native_output_to


def test_server_logs_go_to_the_file_and_only_warnings_stay_on_the_console(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = [(handler, handler.level) for handler in root.handlers]
    level = root.level
    console = io.StringIO()
    console_handler = logging.StreamHandler(console)
    root.addHandler(console_handler)
    root.setLevel(logging.INFO)
    log = tmp_path / "var" / "demo.log"
    try:
        _log_to_file(log)
        logging.getLogger("cti.telephony").info("call abc arrived")
        logging.getLogger("cti.telephony").warning("bridge not destroyed")
        written = log.read_text()
    finally:
        for handler in root.handlers[:]:
            if handler not in dict(before):
                root.removeHandler(handler)
                handler.close()
        for handler, was in before:
            handler.setLevel(was)
        root.setLevel(level)
    assert "call abc arrived" in written and "bridge not destroyed" in written
    assert console.getvalue() == "bridge not destroyed\n"


def test_the_request_log_goes_to_the_file_only(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    logger = _access_log(log)
    try:
        assert _access_log(log) is logger and len(logger.handlers) == 1  # asked again: the same, not twice
        assert not logger.propagate
        logger.info('127.0.0.1 "GET /healthz HTTP/1.1" 200')
        for handler in logger.handlers:
            handler.flush()
        assert '"GET /healthz HTTP/1.1" 200' in log.read_text()
    finally:
        for handler in logger.handlers[:]:
            logger.removeHandler(handler)
            handler.close()


def test_native_output_goes_to_the_log_meanwhile(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "demo.log"
    with _native_output_to(log):
        os.write(1, b"Running HiGHS\n")  # as a C library writes: past sys.stdout
    os.write(1, b"back on the console\n")
    assert log.read_text() == "Running HiGHS\n"
    assert capfd.readouterr().out == "back on the console\n"
