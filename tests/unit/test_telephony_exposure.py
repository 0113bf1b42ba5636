"""What a generated or shipped Asterisk configuration exposes: no unauthenticated endpoint and nothing off
loopback unless a setting asks for it, secrets that only Asterisk can read, and values that cannot add a line."""

from __future__ import annotations

import importlib.util
import re
import stat
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from cti.asterisk import AsteriskError, AsteriskRoot
from cti.asterisk._provision import CONF_DIRS, REPO_ROOT, _placeholders, _render, render_agent_endpoints
from cti.settings import Settings, SettingsError, load_settings

REQUIRED = {"ari_password": "ari-secret", "admin_token": "Vq3xL8pZ2mK7wN4tR9yB6cF1hJ5dS0gA"}
Option = tuple[str, str, str]  # section, key, value


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CTI_CONFIG_FILE", "CTI_SIM_AGENTS", "CTI_SIP_BIND", "CTI_ARI_URL", "CTI_SOFTPHONES"):
        monkeypatch.delenv(name, raising=False)


def rendered(settings: Settings) -> dict[str, str]:
    """Every file `cti asterisk install` writes into /etc/asterisk, by name."""
    values = _placeholders(settings)
    files = {conf.name: _render(conf.read_text(), values, conf.name) for d in CONF_DIRS for conf in d.glob("*.conf")}
    files["pjsip_agents.conf"] = render_agent_endpoints(settings)
    return files


def asterisk_options(text: str) -> list[Option]:
    """The options as Asterisk's configuration parser (main/config.c) reads them: ``;`` starts a comment
    unless escaped (``\\;`` reads as ``;``), ``;--`` ... ``--;`` is a block comment, values are trimmed."""
    options: list[Option] = []
    section = ""
    in_block = False
    for raw in text.splitlines():
        line, kept = raw, ""
        while line:
            if in_block:
                end = line.find("--;")
                if end < 0:
                    line = ""
                    break
                line, in_block = line[end + 3:], False
                continue
            semi = line.find(";")
            if semi < 0:
                kept, line = kept + line, ""
            elif semi > 0 and line[semi - 1] == "\\":
                kept, line = kept + line[:semi - 1] + ";", line[semi + 1:]
            elif line[semi + 1:semi + 3] == "--":
                kept, line, in_block = kept + line[:semi], line[semi + 3:], True
            else:
                kept, line = kept + line[:semi], ""
        kept = kept.strip()
        if not kept or kept.startswith("#"):
            continue
        header = re.fullmatch(r"\[([^\]]+)\](?:\(([^)]*)\))?", kept)
        if header:
            section = header.group(1)
            continue
        key, sep, value = kept.partition("=")
        assert sep, f"not an option: {raw!r}"
        options.append((section, key.strip(), value.removeprefix(">").strip()))
    return options


def option(text: str, section: str, key: str) -> list[str]:
    return [v for s, k, v in asterisk_options(text) if (s, k) == (section, key)]


# -- defaults: nothing open -------------------------------------------------------------------------------
def test_by_default_no_simulated_agent_exists_and_sip_and_ari_listen_on_loopback() -> None:
    files = rendered(load_settings(**REQUIRED))
    assert asterisk_options(files["pjsip_agents.conf"]) == []  # no endpoint at all, so none without auth
    assert option(files["pjsip.conf"], "transport-udp", "bind") == ["127.0.0.1:5060"]
    assert option(files["http.conf"], "general", "bindaddr") == ["127.0.0.1"]
    assert option(files["manager.conf"], "general", "enabled") == ["no"]
    # The gateway's asserted identity is not believed unless a setting says the gateway is trusted.
    assert option(files["pjsip.conf"], "pstn", "trust_id_inbound") == ["no"]


def test_simulated_agents_exist_only_when_asked_for() -> None:
    files = rendered(load_settings(**REQUIRED, sim_agents=2))
    endpoints = re.findall(r"^\[(\d+)\]\(sim-agent-endpoint\)$", files["pjsip_agents.conf"], re.MULTILINE)
    assert endpoints == ["7001", "7002"]


def test_sip_binds_to_the_address_a_setting_names() -> None:
    files = rendered(load_settings(**REQUIRED, sip_bind="192.0.2.10:5080"))
    assert option(files["pjsip.conf"], "transport-udp", "bind") == ["192.0.2.10:5080"]


def test_the_gateway_is_trusted_only_when_it_alone_matches() -> None:
    files = rendered(load_settings(**REQUIRED, pstn_match="192.0.2.10,192.0.2.11", pstn_trust_id=True))
    assert option(files["pjsip.conf"], "pstn", "trust_id_inbound") == ["yes"]
    assert option(files["pjsip.conf"], "pstn", "match") == ["192.0.2.10,192.0.2.11"]
    with pytest.raises(SettingsError, match="CTI_PSTN_TRUST_ID"):
        load_settings(**REQUIRED, pstn_match="0.0.0.0/0", pstn_trust_id=True)


@pytest.mark.parametrize("bind", ["0.0.0.0", "pbx.example.org:5060", "::1:5060", "127.0.0.1:5060\ndeny=x"])
def test_a_sip_bind_must_be_an_address_and_port(bind: str) -> None:
    with pytest.raises(SettingsError, match="CTI_SIP_BIND"):
        load_settings(**REQUIRED, sip_bind=bind)


def test_the_gateway_match_must_be_addresses() -> None:
    with pytest.raises(SettingsError, match="CTI_PSTN_MATCH"):
        load_settings(**REQUIRED, pstn_match="127.0.0.1\n[evil]\ntype=endpoint")


# -- values that cannot add configuration -------------------------------------------------------------------
@pytest.mark.parametrize("password", [
    "semi;colon;secret", "[brackets]secret", "block;--comment--;x", "back\\;slash;", "#include x", "a=>b=c=d-e",
    "trailing\\",
])
def test_a_password_reads_back_unchanged_and_adds_nothing(password: str) -> None:
    plain = rendered(load_settings(**REQUIRED, softphones="1001:plain-password"))
    files = rendered(load_settings(**{**REQUIRED, "ari_password": password}, softphones=f"1001:{password}"))
    assert option(files["ari.conf"], "cti", "password") == [password]
    assert option(files["pjsip_agents.conf"], "1001", "password") == [password]
    for name in ("ari.conf", "pjsip_agents.conf"):  # the same options as with a plain password, no more
        assert [(s, k) for s, k, _ in asterisk_options(files[name])] == [
            (s, k) for s, k, _ in asterisk_options(plain[name])]
    assert "semi\\;colon" in rendered(load_settings(**{**REQUIRED, "ari_password": "semi;colon"}))["ari.conf"]


@pytest.mark.parametrize("password", ["line\nbreak", "carriage\rreturn", "nul\x00byte", " spaced", "spaced "])
def test_a_password_that_cannot_be_written_is_refused(password: str) -> None:
    with pytest.raises(SettingsError, match="CTI_ARI_PASSWORD") as info:
        load_settings(**{**REQUIRED, "ari_password": password})
    assert password.strip() not in str(info.value)
    # Rendering refuses it too, whatever built the settings (model_copy does not validate).
    with pytest.raises(AsteriskError, match="ARI_PASSWORD") as error:
        _render("password = @@ARI_PASSWORD@@\n", {"ARI_PASSWORD": password}, "ari.conf")
    assert password.strip() not in str(error.value)


@pytest.mark.parametrize("password", ["line\nbreak-secret", "carriage\rreturn", "nul\x00byte-secret"])
def test_a_softphone_password_that_cannot_be_written_is_refused(password: str) -> None:
    # (Spaces around a softphone's password are the list's, and stripped with it.)
    with pytest.raises(SettingsError, match="CTI_SOFTPHONES") as info:
        load_settings(**REQUIRED, softphones=f"1001:{password}")
    assert password not in str(info.value)
    unchecked = load_settings(**REQUIRED).model_copy(update={"softphones": f"1001:{password}"})
    with pytest.raises(AsteriskError, match="password of 1001") as error:
        render_agent_endpoints(unchecked)
    assert password not in str(error.value)


def test_an_ari_user_is_a_plain_name() -> None:
    with pytest.raises(SettingsError, match="CTI_ARI_USER"):
        load_settings(**REQUIRED, ari_user="cti]\n[admin")


# -- files only Asterisk reads -----------------------------------------------------------------------------
def test_install_writes_files_only_their_owner_reads(tmp_path: Path) -> None:
    root = AsteriskRoot(tmp_path / "root")
    (root.path / "usr/sbin").mkdir(parents=True)
    (root.path / "usr/sbin/asterisk").write_text("")
    root.sounds_dir.mkdir(parents=True)
    etc = root.path / "etc/asterisk"
    etc.mkdir(parents=True)
    (etc / "ari.conf").write_text("left by an older install\n")
    (etc / "ari.conf").chmod(0o644)
    settings = load_settings(ari_password="ari;secret", admin_token=REQUIRED["admin_token"],
                             softphones="1001:phone-secret")
    try:
        root.install_config(settings)
    finally:
        root.release()
    written = sorted(etc.iterdir())
    assert {p.name for p in written} >= {"ari.conf", "pjsip.conf", "pjsip_agents.conf", "http.conf"}
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in written} == {p.name: 0o600 for p in written}
    assert stat.S_IMODE(etc.stat().st_mode) == 0o700
    assert option((etc / "ari.conf").read_text(), "cti", "password") == ["ari;secret"]


# -- the container's renderer ------------------------------------------------------------------------------
def docker_renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render", REPO_ROOT / "docker/asterisk/render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_container_renders_what_cti_renders_with_the_same_safety(tmp_path: Path) -> None:
    render = docker_renderer()
    password = "semi;colon[x]"
    env = {"CTI_ARI_PASSWORD": password, "CTI_ARI_ORIGINS": "http://127.0.0.1:8080", "CTI_RTP_END": "20000",
           "CTI_SOFTPHONES": "1001:phone;secret"}
    render.render(env, tmp_path, list(CONF_DIRS), None)
    cti_files = rendered(load_settings(ari_password=password, admin_token=REQUIRED["admin_token"],
                                       softphones="1001:phone;secret"))
    for conf in (c for d in CONF_DIRS for c in d.glob("*.conf")):
        assert (tmp_path / conf.name).read_text() == cti_files[conf.name], conf.name
    assert option((tmp_path / "pjsip_agents.conf").read_text(), "1001", "password") == ["phone;secret"]
    assert "(sim-agent-endpoint)" not in (tmp_path / "pjsip_agents.conf").read_text()
    assert {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {0o600}
    with pytest.raises(SystemExit, match="ARI_PASSWORD"):
        render.render({**env, "CTI_ARI_PASSWORD": "a\n[evil]"}, tmp_path, list(CONF_DIRS), None)


def test_the_compose_file_keeps_ari_and_redis_private() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    asterisk = services["asterisk"]["environment"]
    assert asterisk["CTI_ARI_URL"] == "http://127.0.0.1:8088"
    assert asterisk["CTI_SIP_BIND"] == "${CTI_SIP_BIND:-127.0.0.1:5060}"
    assert asterisk["CTI_PSTN_TRUST_ID"] == "${CTI_PSTN_TRUST_ID:-no}"
    for service in services.values():
        assert all(str(port).startswith("127.0.0.1:") for port in service.get("ports", []))
    redis = services["redis"]
    script = redis["command"][-1]
    assert "requirepass" in script and "redis-server /tmp/redis-auth.conf" in script
    assert "CTI_REDIS_PASSWORD" not in script.split("redis-server", 1)[1]  # never on redis-server's command line
    assert redis["environment"]["CTI_REDIS_PASSWORD"] == "${CTI_REDIS_PASSWORD:?set CTI_REDIS_PASSWORD}"
    assert services["cti"]["environment"]["CTI_REDIS_URL"] == "redis://:${CTI_REDIS_PASSWORD}@127.0.0.1:6379/0"
    assert "8088" not in (REPO_ROOT / "docker/asterisk/Dockerfile").read_text().split("EXPOSE", 1)[1].split("\n")[0]
