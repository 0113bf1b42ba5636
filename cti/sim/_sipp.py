"""SIPp user agents on loopback: callers dialing the service number and agents' phones.

Used by the demo, the tests and the benchmarks alike. Scenario durations are rendered into a private copy
of each scenario because SIPp reads ``pause`` and ``timeout`` values when it loads the file.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cti.settings import DEFAULT_PSTN_MATCH

__all__ = [
    "PSTN_HOST", "SCENARIOS", "Press", "Say", "SippAgent", "SippCaller", "SippError", "SippIvrCaller", "Step", "Wait",
    "free_udp_port", "phone_media_ip", "register", "sipp_binary",
]

SCENARIOS = Path(__file__).with_name("scenarios")
PSTN_HOST = DEFAULT_PSTN_MATCH
"""Where simulated callers call from: the PSTN gateway of the default settings (``CTI_PSTN_MATCH``)."""


class SippError(Exception):
    """SIPp is missing or exited unexpectedly."""


def sipp_binary() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise SippError("sipp is not installed (Debian package sip-tester)")
    return path


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def phone_media_ip(port: int) -> str:
    """The loopback address a simulated phone listening on SIP ``port`` takes its media on: one of its own.

    SIPp binds its media at 6000 and, when that is taken, searches a hundred ports up from there: about fifty
    phones on one address used them all, and the next phone exited at start (its calls then rang unanswered;
    found with sixty phones, ten dead). An address per phone leaves each the whole search; the SIP port, which is
    the phone's own anyway, names it, so two phones never share one (all of 127/8 is this machine's)."""
    return f"127.1.{port >> 8 & 255}.{port & 255}"


def _render(name: str, workdir: Path, values: dict[str, str]) -> Path:
    text = (SCENARIOS / name).read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    target = workdir / name
    target.write_text(text)
    return target


@dataclass
class _Process:
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cti-sipp-")))
    proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, args: list[str]) -> None:
        log = (self.workdir / "sipp.out").open("wb")
        self.proc = subprocess.Popen(
            [sipp_binary(), *args, "-nostdin", "-trace_err", "-error_file", str(self.workdir / "errors.log")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
            start_new_session=True,
        )
        log.close()

    def errors(self) -> str:
        path = self.workdir / "errors.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def messages(self) -> str:
        """Every SIP message sent and received, as SIPp traces them (a caller or phone started with ``trace``)."""
        path = self.workdir / "messages.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def output(self) -> str:
        """What SIPp printed (why it would not start: a port taken, a scenario refused)."""
        path = self.workdir / "sipp.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _play(audio: Path | None) -> str:
    """The scenario step that streams ``audio`` as RTP (payload 0, PCMU), looped until the call ends."""
    if audio is None:
        return ""
    return f'<nop><action><exec rtp_stream="{audio},-1,0"/></action></nop>\n  '


class SippAgent(_Process):
    """An agent's phone listening on ``port`` (the static contact of its PJSIP endpoint)."""

    def __init__(self, port: int, *, ring_ms: int = 300, talk_ms: int = 0, answer: bool = True,
                 host: str = "127.0.0.1", play: Path | None = None, expect_tones: str = "",
                 tones_within_ms: int = 30_000, trace: bool = False) -> None:
        """With ``play`` (a headerless PCMU file, 8 kHz), the phone sends that audio, looped, once it answers.
        With ``expect_tones``, the phone takes one call only: once answered it waits (up to ``tones_within_ms``)
        for those tones as SIP INFO, in order, before anything else (then hangs up after ``talk_ms`` if that is
        above 0, else waits for the other side's BYE); :meth:`wait`'s exit code is not 0 unless each came, the
        right one each time. With ``trace``, every SIP message is kept for :meth:`messages`."""
        super().__init__()
        self.port = port
        if answer:
            hangs_up = talk_ms > 0
            scenario = _render("agent.xml", self.workdir, {
                "RING_MS": str(ring_ms), "TALK_MS": str(talk_ms),
                # Either jump to the agent's own BYE, or wait for the other side's.
                "AGENT_HANGS_UP": '<nop next="agent_bye"/>' if hangs_up else "",
                "PLAY": _play(play),
                # SIPp refuses a variable declared that no action assigns: declared only with tones to check.
                "TONE_VARIABLE": '  <Reference variables="tone"/>\n' if expect_tones else "",
                "EXPECT_TONES": "".join(_TONE.format(tone=re.escape(tone), ms=tones_within_ms)
                                        for tone in expect_tones),
            })
        else:
            scenario = _render("agent-noanswer.xml", self.workdir, {})
        media = ["-mp", str(free_udp_port())] if play is not None else []
        if host.startswith("127."):
            media += ["-mi", phone_media_ip(port)]
        calls = "1" if expect_tones else "1000000"
        traced = ["-trace_msg", "-message_file", str(self.workdir / "messages.log")] if trace else []
        self._spawn(["-sf", str(scenario), "-i", host, "-p", str(port), "-m", calls, *media, *traced])

    def wait(self, timeout: float) -> int:
        """Wait for the phone's calls to end (one, with tones to expect); SIPp's exit code (0 when every call
        completed its scenario)."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise SippError(f"SIPp phone still running after {timeout:.0f} s:\n{self.errors()[-2000:]}") from exc

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class SippCaller(_Process):
    """``calls`` callers at ``rate`` per second dialing ``service`` from ``caller``; each stays ``duration_ms``."""

    def __init__(self, service: str, *, caller: str = "0215550100", caller_name: str = "Caller",
                 duration_ms: int = 3000, calls: int = 1, rate: float = 1.0, limit: int | None = None,
                 target: str = "127.0.0.1:5060", press: str | None = None, press_after_ms: int = 1000,
                 host: str = PSTN_HOST, expect_tones: str = "", play: Path | None = None,
                 hear_on: int | None = None, trace: bool = False) -> None:
        """With ``press``, the caller presses that key after ``press_after_ms`` on hold (asking for a
        callback) and expects cti to hang up within ``duration_ms``. ``host`` is the address it calls from
        (the PSTN gateway's, :data:`PSTN_HOST`, unless a test plays someone else). With ``expect_tones``, the
        caller waits (up to ``duration_ms``) for those tones as SIP INFO, in order, before anything else: its
        exit code is not 0 unless each came, the right one each time. With ``play`` (a headerless PCMU file,
        8 kHz), the caller sends that audio, looped, from the answer on. With ``hear_on`` (a UDP port on ``host``),
        the audio sent to the caller (early media included) goes to that port instead of SIPp's, for a test to
        listen to (without ``press`` only). With ``trace``, every SIP message is kept for :meth:`messages`."""
        super().__init__()
        self.calls = calls
        if press is None:
            scenario = _render("caller.xml", self.workdir, {
                "DURATION_MS": str(duration_ms), "PLAY": _play(play),
                "MEDIA_PORT": "[media_port]" if hear_on is None else str(hear_on),
                # SIPp refuses a variable declared that no action assigns: declared only with tones to check.
                "TONE_VARIABLE": '  <Reference variables="tone"/>\n' if expect_tones else "",
                "EXPECT_TONES": "".join(_TONE.format(tone=re.escape(tone), ms=duration_ms) for tone in expect_tones)})
        else:
            scenario = _render("caller-callback.xml", self.workdir, {
                "DURATION_MS": str(duration_ms), "DIGIT": press, "PRESS_AFTER_MS": str(press_after_ms)})
        args = [target, "-sf", str(scenario), "-s", service, "-i", host, "-p", str(free_udp_port()),
                "-m", str(calls), "-r", str(rate), "-rp", "1000", "-set", "caller", caller,
                "-set", "callername", caller_name, "-mp", str(free_udp_port()),
                "-trace_stat", "-stf", str(self.workdir / "stats.csv"), "-fd", "1"]
        if limit is not None:
            args += ["-l", str(limit)]
        if trace:
            args += ["-trace_msg", "-message_file", str(self.workdir / "messages.log")]
        self._spawn(args)

    def wait(self, timeout: float) -> int:
        """Wait for every call to finish; SIPp's exit code (0 when every call completed its scenario)."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise SippError(f"SIPp callers still running after {timeout:.0f} s:\n{self.errors()[-2000:]}") from exc


@dataclass(frozen=True, slots=True)
class Wait:
    """Stay silent this long (a BYE from cti meanwhile ends the call cleanly)."""

    ms: int


@dataclass(frozen=True, slots=True)
class Say:
    """Stream raw 8 kHz mu-law audio (e.g. espeak-ng through sox) as RTP, then wait while it plays."""

    audio: Path

    @property
    def ms(self) -> int:
        return self.audio.stat().st_size // 8 + 200  # 8 bytes per ms, plus the jitter of the stream start


@dataclass(frozen=True, slots=True)
class Press:
    """Press keys, one SIP INFO (application/dtmf-relay) each, ``gap_ms`` apart."""

    keys: str
    gap_ms: int = 300


Step = Wait | Say | Press

# An INFO whose body is not the expected tone fails the call (check_it); so does one that never comes.
_TONE = """  <recv request="INFO" timeout="{ms}">
    <action><ereg regexp="Signal=[ ]*{tone}" search_in="body" check_it="true" assign_to="tone"/></action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
"""

_INFO = """  <send retrans="500">
    <![CDATA[
      INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "[$callername]" <sip:[$caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {cseq} INFO
      Contact: <sip:[$caller]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal={key}
      Duration=160
    ]]>
  </send>
  <recv response="200"/>
"""


def _steps_xml(steps: list[Step], workdir: Path) -> str:
    parts: list[str] = []
    cseq = 10
    for n, step in enumerate(steps):
        if isinstance(step, Say):
            audio = workdir / f"say{n}.ulaw"
            shutil.copyfile(step.audio, audio)
            parts.append(f'  <nop><action><exec rtp_stream="{audio.name},1,0"/></action></nop>\n')
        if isinstance(step, Press):
            for key in step.keys:
                cseq += 1
                parts.append(_INFO.format(cseq=cseq, key=key))
                parts.append(_wait_xml(f"s{n}k{cseq}", step.gap_ms))
        else:
            parts.append(_wait_xml(f"s{n}", step.ms))
    return "".join(parts)


def _wait_xml(label: str, ms: int) -> str:
    return (f'  <recv request="BYE" timeout="{ms}" ontimeout="{label}" next="answer_bye"/>\n'
            f'  <label id="{label}"/>\n')


class SippIvrCaller(_Process):
    """One caller who talks to the IVR: ``steps`` of silence, speech and keys after the answer, then
    ``duration_ms`` more (waiting for an agent, talking) before hanging up."""

    def __init__(self, service: str, steps: list[Step], *, caller: str = "0215550100",
                 caller_name: str = "Caller", duration_ms: int = 3000, target: str = "127.0.0.1:5060",
                 host: str = PSTN_HOST) -> None:
        super().__init__()
        scenario = _render("caller-ivr.xml", self.workdir, {
            "DURATION_MS": str(duration_ms), "STEPS": _steps_xml(steps, self.workdir)})
        self._spawn([target, "-sf", str(scenario), "-s", service, "-i", host, "-p", str(free_udp_port()),
                     "-m", "1", "-set", "caller", caller, "-set", "callername", caller_name,
                     "-mp", str(free_udp_port()), "-fd", "1"])

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            raise SippError(f"SIPp IVR caller still running after {timeout:.0f} s:\n{self.errors()[-2000:]}") from exc


def register(user: str, password: str, port: int, *, host: str = "127.0.0.1", expires: int = 300,
             target: str = "127.0.0.1:5060", timeout: float = 15.0) -> tuple[int, str]:
    """REGISTER from ``host:port``, as a softphone taking its calls on that socket; exit code and errors.

    Asterisk rewrites the contact to where the REGISTER came from (NAT handling), so start the phone's
    :class:`SippAgent` on the same port once this returns. The default host is where a softphone on this
    machine registers from; the PSTN gateway (whom Asterisk identifies by address first) is elsewhere,
    :data:`PSTN_HOST` by default.
    """
    proc = _Process()
    try:
        # SIPp does not expand variables inside [authentication], so the credentials are rendered in.
        scenario = _render("register.xml", proc.workdir, {
            "CONTACT_PORT": str(port), "EXPIRES": str(expires), "USER": user, "PASSWORD": password})
        proc._spawn([target, "-sf", str(scenario), "-i", host, "-p", str(port), "-m", "1",
                     "-recv_timeout", str(int(timeout * 1000))])
        assert proc.proc is not None
        try:
            code = proc.proc.wait(timeout + 5)
        except subprocess.TimeoutExpired as exc:
            raise SippError(f"REGISTER for {user} did not finish: {proc.errors()[-1000:]}") from exc
        return code, proc.errors()
    finally:
        proc.stop()
