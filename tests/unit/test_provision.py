"""Asterisk provisioning that needs no root: the apt mirror, agent endpoints and configuration rendering."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from cti.asterisk import AsteriskError
from cti.asterisk._provision import CONF_DIRS, _placeholders, _render, debian_mirror, render_agent_endpoints
from cti.settings import Settings, load_settings

PJSIP_CONF = next(d for d in CONF_DIRS if d.name == "asterisk-conf") / "pjsip.conf"


@pytest.fixture(autouse=True)
def no_mirror_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CTI_DEBIAN_MIRROR", raising=False)


# -- debian_mirror ----------------------------------------------------------------------------------------
DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: https://security.debian.org/debian
Suites: bookworm-security
Components: main

Types: deb deb-src
URIs: http://mirror.example.net/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def test_mirror_from_deb822_sources(tmp_path: Path) -> None:
    listing = tmp_path / "sources.list.d"
    listing.mkdir()
    (listing / "debian.sources").write_text(DEB822)
    assert debian_mirror((tmp_path / "sources.list", listing)) == "http://mirror.example.net/debian/"


def test_mirror_from_one_line_sources_list(tmp_path: Path) -> None:
    sources = tmp_path / "sources.list"
    sources.write_text(
        "# deb http://commented.example.org/debian bookworm main\n"
        "deb-src http://src.example.org/debian bookworm main\n"
        "deb http://security.debian.org/debian-security bookworm-security main\n"
        "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n"
        "deb http://ftp.example.org/debian bookworm main contrib\n"
    )
    assert debian_mirror((sources,)) == "http://ftp.example.org/debian"


def test_mirror_from_one_line_with_an_option(tmp_path: Path) -> None:
    sources = tmp_path / "sources.list"
    sources.write_text("deb [arch=amd64] http://ftp.example.org/debian bookworm main\n")
    assert debian_mirror((sources,)) == "http://ftp.example.org/debian"


@pytest.mark.parametrize("options", [
    "[arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]",
    "[ arch=amd64 ]",
], ids=["two-options", "spaced-brackets"])
def test_mirror_from_one_line_with_several_options(tmp_path: Path, options: str) -> None:
    """sources.list(5): ``deb [ option1=value1 option2=value2 ] uri suite component...``."""
    sources = tmp_path / "sources.list"
    sources.write_text(f"deb {options} http://ftp.example.org/debian bookworm main\n")
    assert debian_mirror((sources,)) == "http://ftp.example.org/debian"


def test_directory_sources_are_read_in_name_order_and_other_files_ignored(tmp_path: Path) -> None:
    listing = tmp_path / "sources.list.d"
    listing.mkdir()
    (listing / "a.list.save").write_text("deb http://backup.example.org/debian bookworm main\n")
    (listing / "b-nodesource.sources").write_text(
        "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n")
    (listing / "c.list").write_text("deb http://first.example.org/debian bookworm main\n")
    (listing / "d.sources").write_text("Types: deb\nURIs: http://second.example.org/debian\nSuites: sid\n")
    assert debian_mirror((listing,)) == "http://first.example.org/debian"


def test_sources_list_file_comes_before_the_directory(tmp_path: Path) -> None:
    sources = tmp_path / "sources.list"
    sources.write_text("deb http://file.example.org/debian bookworm main\n")
    listing = tmp_path / "sources.list.d"
    listing.mkdir()
    (listing / "debian.sources").write_text(DEB822)
    assert debian_mirror((sources, listing)) == "http://file.example.org/debian"


def test_environment_overrides_the_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = tmp_path / "sources.list"
    sources.write_text("deb http://ftp.example.org/debian bookworm main\n")
    monkeypatch.setenv("CTI_DEBIAN_MIRROR", "http://override.example.org/debian")
    assert debian_mirror((sources,)) == "http://override.example.org/debian"
    assert debian_mirror((tmp_path / "missing",)) == "http://override.example.org/debian"


def test_no_mirror_is_an_error(tmp_path: Path) -> None:
    only_security = tmp_path / "sources.list"
    only_security.write_text("deb http://security.debian.org/debian-security bookworm-security main\n"
                             "deb https://security.debian.org/debian bookworm-security main\n")
    empty_dir = tmp_path / "sources.list.d"
    empty_dir.mkdir()
    for sources in ((only_security, empty_dir), (tmp_path / "missing",), ()):
        with pytest.raises(AsteriskError, match="CTI_DEBIAN_MIRROR"):
            debian_mirror(sources)


# -- agent endpoints --------------------------------------------------------------------------------------
@pytest.fixture
def settings() -> Settings:
    return load_settings(ari_password="ari-secret", admin_token="Zq3vN8kR1tXw6YpL0mB4cD7fH2jS9uEa", sim_agents=3,
                         sim_agent_port_base=18000, softphones="1002:password-two,1001:password-one")


EXPECTED_ENDPOINTS = """\
; Generated by `cti asterisk install` from cti settings. Do not edit.
[1001](agent-endpoint)
auth = 1001
aors = 1001
callerid = Agent 1001 <1001>

[1001](agent-auth)
username = 1001
password = password-one

[1001](agent-aor)

[1002](agent-endpoint)
auth = 1002
aors = 1002
callerid = Agent 1002 <1002>

[1002](agent-auth)
username = 1002
password = password-two

[1002](agent-aor)

[7001](sim-agent-endpoint)
aors = 7001
callerid = Sim agent 7001 <7001>

[7001](sim-agent-aor)
contact = sip:7001@127.0.0.1:18001

[7002](sim-agent-endpoint)
aors = 7002
callerid = Sim agent 7002 <7002>

[7002](sim-agent-aor)
contact = sip:7002@127.0.0.1:18002

[7003](sim-agent-endpoint)
aors = 7003
callerid = Sim agent 7003 <7003>

[7003](sim-agent-aor)
contact = sip:7003@127.0.0.1:18003

"""


def test_render_agent_endpoints_exact(settings: Settings) -> None:
    assert render_agent_endpoints(settings) == EXPECTED_ENDPOINTS


def test_render_agent_endpoints_none(settings: Settings) -> None:
    empty = settings.model_copy(update={"sim_agents": 0, "softphones": ""})
    assert render_agent_endpoints(empty) == "; Generated by `cti asterisk install` from cti settings. Do not edit.\n"


Section = tuple[str, list[str], dict[str, str]]


def parse_conf(text: str) -> list[Section]:
    """Asterisk's config format, enough for pjsip: ``[name](templates)`` sections of ``key = value``."""
    sections: list[Section] = []
    for raw in text.splitlines():
        line = raw.split(";", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[([^\]]+)\](?:\(([^)]*)\))?", line)
        if header:
            sections.append((header.group(1), [t.strip() for t in (header.group(2) or "").split(",") if t], {}))
            continue
        key, sep, value = line.partition("=")
        assert sep and sections, f"unexpected line {raw!r}"
        sections[-1][2][key.strip()] = value.strip()
    return sections


def effective(settings: Settings) -> dict[tuple[str, str], dict[str, str]]:
    """Each agent section's options after template inheritance (templates may inherit too), by (name, type)."""
    base = parse_conf(PJSIP_CONF.read_text())
    declared = {name: (tmpl[1:], opts) for name, tmpl, opts in base if tmpl[:1] == ["!"]}

    def inherited(name: str, parents: list[str]) -> dict[str, str]:
        options: dict[str, str] = {}
        for template in parents:
            assert template in declared, f"[{name}] uses unknown template {template}"
            grand, own = declared[template]
            options |= inherited(template, grand) | own
        return options

    result: dict[tuple[str, str], dict[str, str]] = {}
    for name, tmpl, own in parse_conf(render_agent_endpoints(settings)):
        options = inherited(name, tmpl) | own
        key = (name, options["type"])
        assert key not in result, f"duplicate section {key}"
        result[key] = options
    return result


def test_agent_endpoints_through_the_pjsip_templates(settings: Settings) -> None:
    sections = effective(settings)
    assert set(sections) == {(ext, kind) for ext in ("1001", "1002") for kind in ("endpoint", "auth", "aor")} | {
        (ext, kind) for ext in ("7001", "7002", "7003") for kind in ("endpoint", "aor")}
    # Softphones register and are qualified; simulated agents have a fixed contact and are never qualified.
    assert sections[("1001", "aor")]["qualify_frequency"] == "30"
    assert sections[("1001", "aor")]["max_contacts"] == "1"
    assert "contact" not in sections[("1001", "aor")]
    assert sections[("1001", "auth")] == {"type": "auth", "auth_type": "digest", "username": "1001",
                                               "password": "password-one"}
    assert sections[("1001", "endpoint")]["auth"] == "1001"
    for ext, port in (("7001", 18001), ("7002", 18002), ("7003", 18003)):
        aor = sections[(ext, "aor")]
        assert aor["qualify_frequency"] == "0"
        assert aor["contact"] == f"sip:{ext}@127.0.0.1:{port}"
        endpoint = sections[(ext, "endpoint")]
        assert "auth" not in endpoint
        # No credentials, so requests are taken as theirs from loopback alone (where their phones are).
        assert (endpoint["deny"], endpoint["permit"]) == ("0.0.0.0/0.0.0.0,::/0", "127.0.0.1/255.255.255.255")
    assert "deny" not in sections[("1001", "endpoint")]  # softphones authenticate, from anywhere
    for (ext, kind), options in sections.items():
        if kind == "endpoint":
            assert options["aors"] == ext
            assert (options["context"], options["transport"]) == ("from-agents", "transport-udp")
            assert options["direct_media"] == "no"


def test_browser_phones_are_webrtc_endpoints_on_the_websocket_with_a_derived_password(settings: Settings) -> None:
    with_web = settings.model_copy(update={"webphones": "wendy:1201"})
    sections = effective(with_web)
    endpoint = sections[("1201", "endpoint")]
    assert (endpoint["transport"], endpoint["webrtc"], endpoint["dtls_auto_generate_cert"]) == (
        "transport-ws", "yes", "yes")
    assert (endpoint["context"], endpoint["auth"], endpoint["allow"]) == ("from-agents", "1201", "ulaw,alaw")
    password = with_web.webphone_password("1201")
    assert sections[("1201", "auth")]["password"] == password and len(password) == 32
    assert sections[("1201", "aor")]["max_contacts"] == "1"
    # Derived from the admin token: another token, another password; another extension, another password.
    other = with_web.model_copy(update={"admin_token": SecretStr("another-admin-token-of-enough-length-1")})
    assert other.webphone_password("1201") != password != with_web.webphone_password("1202")
    with pytest.raises(AsteriskError, match="extension 1001 of ana's browser phone"):
        render_agent_endpoints(settings.model_copy(update={"webphones": "ana:1001"}))  # a softphone's


# -- rendering --------------------------------------------------------------------------------------------
def test_render_substitutes_placeholders() -> None:
    values = {"SIP_BIND": "127.0.0.1:5060", "RTP_START": "10000"}
    text = "bind = @@SIP_BIND@@\nrtpstart = @@RTP_START@@\nbind2 = @@SIP_BIND@@\n; email me@@example\n"
    assert _render(text, values, "x.conf") == (
        "bind = 127.0.0.1:5060\nrtpstart = 10000\nbind2 = 127.0.0.1:5060\n; email me@@example\n")
    assert _render("nothing to do\n", {}, "x.conf") == "nothing to do\n"


def test_render_unknown_placeholder_is_an_error() -> None:
    with pytest.raises(AsteriskError) as info:
        _render("bind = @@SIP_BIND@@\nport = @@NO_SUCH_THING@@\n", {"SIP_BIND": "x"}, "pjsip.conf")
    assert "pjsip.conf" in str(info.value) and "@@NO_SUCH_THING@@" in str(info.value)


def test_repository_configuration_renders_completely(settings: Settings) -> None:
    values = _placeholders(settings)
    assert values["ARI_PASSWORD"] == "ari-secret"
    assert (values["HTTP_BIND"], values["HTTP_PORT"]) == ("127.0.0.1", "8088")
    assert (values["RTP_START"], values["RTP_END"]) == ("10000", "20000")
    files = [f for d in CONF_DIRS for f in sorted(d.glob("*.conf"))]
    assert PJSIP_CONF in files
    for conf in files:
        rendered = _render(conf.read_text(), values, conf.name)
        assert not re.search(r"@@[A-Z_]+@@", rendered), conf.name
    pjsip = _render(PJSIP_CONF.read_text(), values, "pjsip.conf")
    assert "bind = 127.0.0.1:5060" in pjsip and "match = 127.0.0.2" in pjsip


def test_sound_folders_become_reachable_from_outside_the_root(tmp_path: Path) -> None:
    from cti.asterisk import AsteriskRoot

    sounds = tmp_path / "usr/share/asterisk/sounds"
    (sounds / "en_US_f_Allison").mkdir(parents=True)
    (sounds / "en_US_f_Allison/hello-world.gsm").write_bytes(b"x")
    (tmp_path / "etc/alternatives").mkdir(parents=True)
    # Debian's layout: sounds/en -> /etc/alternatives/asterisk-prompt-en -> /usr/share/.../en_US_f_Allison
    (tmp_path / "etc/alternatives/asterisk-prompt-en").symlink_to("/usr/share/asterisk/sounds/en_US_f_Allison")
    (sounds / "en").symlink_to("/etc/alternatives/asterisk-prompt-en")
    (sounds / "custom").symlink_to("../../../local/share/asterisk/sounds")  # relative: left alone

    AsteriskRoot(tmp_path).prepare_sounds()

    assert (sounds / "en").readlink() == Path("en_US_f_Allison")
    assert (sounds / "en/hello-world.gsm").read_bytes() == b"x"
    assert (sounds / "custom").readlink() == Path("../../../local/share/asterisk/sounds")
    assert (sounds / "en/cti").is_dir() and (sounds / "id/cti").is_dir()
