"""Settings: defaults, CTI_* environment variables over a TOML file, and readable errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from cti.settings import GROUPS, Settings, SettingsError, effective_settings, load_settings

ADMIN_TOKEN = "Zq3vN8kR1tXw6YpL0mB4cD7fH2jS9uEa"  # 32 characters, as random as a fixture needs
REQUIRED = {"ari_password": "ari-secret", "admin_token": ADMIN_TOKEN}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the machine's environment holds, these tests see only what they set."""
    for name in list(os.environ):
        if name.upper().startswith("CTI_"):
            monkeypatch.delenv(name)


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cti.toml"
    path.write_text(text)
    return path


def problem(**overrides: object) -> str:
    with pytest.raises(SettingsError) as info:
        load_settings(**(REQUIRED | overrides))
    return str(info.value)


def test_defaults() -> None:
    s = load_settings(**REQUIRED)
    assert s.ari_url == "http://127.0.0.1:8088"
    assert (s.ari_user, s.ari_app, s.ari_timeout) == ("cti", "cti", 10.0)
    assert s.ari_password.get_secret_value() == "ari-secret"
    assert s.admin_token.get_secret_value() == ADMIN_TOKEN
    assert "ari-secret" not in repr(s) and ADMIN_TOKEN not in repr(s)
    assert s.token_ttl_days == 30
    assert (s.redis_url, s.redis_prefix) == ("redis://127.0.0.1:6379/0", "cti")
    assert s.database_url == "sqlite+aiosqlite:///var/cti.db"
    assert (s.http_host, s.http_port) == ("127.0.0.1", 8080)
    assert s.ring_timeout == 15.0
    assert (s.queues, s.default_queue) == ({"1500100": "general"}, "general")
    assert s.asterisk_root == Path("/var/cache/cti/asterisk-root")
    assert (s.sip_bind, s.pstn_match, s.rtp_start, s.rtp_end) == ("127.0.0.1:5060", "127.0.0.2", 10000, 20000)
    assert s.pstn_trust_id is False
    assert (s.sim_agents, s.sim_agent_port_base, s.softphones) == (0, 21000, "")
    assert s.ari_http_bind == ("127.0.0.1", 8088)
    assert s.softphone_accounts() == {}
    assert s.sim_agent_extensions() == []
    assert s.sim_agent_port("7001") == 21001
    assert s.callback_numbers == (r"(?:0|\+62)(?!809)[1-9][0-9]{6,11}",)
    assert (s.callback_max_per_number, s.callback_max_total, s.callback_window_seconds) == (3, 60, 3600.0)
    assert (s.queue_for("1500100"), s.queue_for("999")) == ("general", "general")


def test_settings_are_frozen() -> None:
    s = load_settings(**REQUIRED)
    with pytest.raises(ValidationError):
        s.http_port = 1  # type: ignore[misc]


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTI_ARI_PASSWORD", "from-env")
    monkeypatch.setenv("CTI_ADMIN_TOKEN", "env-" + ADMIN_TOKEN)
    monkeypatch.setenv("CTI_ARI_URL", "https://pbx.example.org:8089/")
    monkeypatch.setenv("CTI_HTTP_PORT", "9090")
    monkeypatch.setenv("CTI_RING_TIMEOUT", "20.5")
    monkeypatch.setenv("CTI_QUEUES", '{"1500200": "sales", "1500300": "support"}')
    monkeypatch.setenv("CTI_DEFAULT_QUEUE", "overflow")
    monkeypatch.setenv("CTI_SOFTPHONES", "1001:password-one, 1002:password-two")
    monkeypatch.setenv("CTI_SIM_AGENTS", "3")
    monkeypatch.setenv("CTI_CALLBACK_NUMBERS", r'["0[1-9][0-9]{6,11}", "\\+65[0-9]{8}"]')
    s = load_settings()
    assert s.callback_numbers == ("0[1-9][0-9]{6,11}", r"\+65[0-9]{8}")
    assert s.ari_password.get_secret_value() == "from-env"
    assert s.ari_url == "https://pbx.example.org:8089"  # trailing slash dropped
    assert s.ari_http_bind == ("pbx.example.org", 8089)
    assert (s.http_port, s.ring_timeout) == (9090, 20.5)
    assert s.queue_for("1500200") == "sales" and s.queue_for("1500100") == "overflow"
    assert s.softphone_accounts() == {"1001": "password-one", "1002": "password-two"}
    assert s.sim_agent_extensions() == ["7001", "7002", "7003"]


def test_arguments_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTI_HTTP_PORT", "9090")
    assert load_settings(**REQUIRED, http_port=7070).http_port == 7070


def test_toml_file_is_read_and_environment_beats_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_toml(tmp_path, """
ari_password = "file-password"
admin_token = "file-token-Zq3vN8kR1tXw6YpL0mB4cD7f"
ari_url = "http://10.0.0.5:8088"
ring_timeout = 30
http_port = 8181
softphones = "1001:file-secret-1"

[queues]
1500100 = "general"
1500900 = "vip"
""")
    monkeypatch.setenv("CTI_CONFIG_FILE", str(path))
    s = load_settings()
    assert s.ari_password.get_secret_value() == "file-password"
    assert (s.ari_url, s.ring_timeout, s.http_port) == ("http://10.0.0.5:8088", 30.0, 8181)
    assert s.queue_for("1500900") == "vip"
    assert s.softphone_accounts() == {"1001": "file-secret-1"}

    monkeypatch.setenv("CTI_RING_TIMEOUT", "5")
    monkeypatch.setenv("CTI_ARI_PASSWORD", "env-password")
    s = load_settings()
    assert s.ring_timeout == 5.0 and s.ari_password.get_secret_value() == "env-password"
    assert s.http_port == 8181  # still from the file


def test_unknown_key_in_toml_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CTI_CONFIG_FILE", str(write_toml(tmp_path, 'ring_timout = 5\n')))
    message = problem()
    assert "ring_timout".upper() in message and "not permitted" in message


def test_missing_config_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Naming a configuration file that does not exist must not silently run on defaults."""
    missing = tmp_path / "nowhere.toml"
    monkeypatch.setenv("CTI_CONFIG_FILE", str(missing))
    message = problem()
    assert "CTI_CONFIG_FILE" in message and str(missing) in message


def test_malformed_config_file_is_a_settings_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_toml(tmp_path, "ring_timeout = \n")
    monkeypatch.setenv("CTI_CONFIG_FILE", str(path))
    message = problem()
    assert str(path) in message


@pytest.mark.parametrize("url", ["ftp://pbx:8088", "127.0.0.1:8088", "http://", "pbx"])
def test_bad_ari_url(url: str) -> None:
    message = problem(ari_url=url)
    assert message.startswith("invalid configuration:")
    assert "CTI_ARI_URL" in message and "http(s) URL" in message


def test_bad_ari_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTI_ARI_URL", "localhost:8088")
    assert "CTI_ARI_URL" in problem()


@pytest.mark.parametrize("url", ["postgresql://db/cti", "sqlite:///cti.db", "mysql+aiomysql://db/cti"])
def test_bad_database_url(url: str) -> None:
    message = problem(database_url=url)
    assert "CTI_DATABASE_URL" in message and "sqlite+aiosqlite://" in message


def test_good_database_urls() -> None:
    for url in ("sqlite+aiosqlite:////tmp/x.db", "postgresql+asyncpg://cti@db:5432/cti"):
        assert load_settings(**REQUIRED, database_url=url).database_url == url


def test_bad_redis_url() -> None:
    assert "CTI_REDIS_URL" in problem(redis_url="http://127.0.0.1:6379")


@pytest.mark.parametrize(("start", "end"), [(20000, 20000), (30000, 20000)])
def test_rtp_range_must_be_increasing(start: int, end: int) -> None:
    message = problem(rtp_start=start, rtp_end=end)
    # The message names the variables to fix, like every other error.
    assert f"CTI_RTP_END: Value error, must be above CTI_RTP_START ({start})" in message


@pytest.mark.parametrize("value", ["1001", "1001:short", "abc:long-enough-password", ":long-enough-password",
                                   "1001:long-enough-password,1002"])
def test_bad_softphones(value: str) -> None:
    message = problem(softphones=value)
    assert "CTI_SOFTPHONES" in message and "extension:password" in message


@pytest.mark.parametrize("value", ["wendy", "wendy:12a", "wendy:1201,wendy:1202", "a:1201,b:1201", "a b:1201"])
def test_bad_webphones(value: str) -> None:
    assert "CTI_WEBPHONES" in problem(webphones=value)


def test_webphones_map_agents_to_extensions() -> None:
    s = load_settings(**REQUIRED, webphones=" wendy:1201,, ana.b:1202 ")
    assert s.webphone_extensions() == {"wendy": "1201", "ana.b": "1202"}


def test_softphones_tolerate_blanks() -> None:
    s = load_settings(**REQUIRED, softphones=" 1001:password-one ,, 1002:password-two,")
    assert s.softphone_accounts() == {"1001": "password-one", "1002": "password-two"}


def test_missing_secrets_are_named() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "CTI_ARI_PASSWORD" in message and "CTI_ADMIN_TOKEN" in message
    with pytest.raises(SettingsError, match="CTI_ADMIN_TOKEN"):
        load_settings(ari_password="x")
    with pytest.raises(SettingsError, match="CTI_ARI_PASSWORD"):
        load_settings(admin_token="x")


def test_blank_admin_token_is_refused() -> None:
    message = problem(admin_token="   ")
    assert "CTI_ADMIN_TOKEN: Value error, must not be empty" in message


@pytest.mark.parametrize(("token", "why"), [
    ("admin-secret", "is 12 characters long; it must be at least 32 random characters"),
    ("Zq3vN8kR1tXw6YpL0mB4cD7fH2jS9uE", "is 31 characters long; it must be at least 32 random characters"),
    ("ab" * 20, "uses only 2 different characters; it must be random"),
    ("password1234password1234password1234", "repeats a run of 8 characters; it must be random, not a pattern"),
    ("abcdefghijklmnopqrstuvwxyz0123456789",
     "holds a run of 8 characters in sequence; it must be random, not a pattern"),
])
def test_a_short_or_patterned_admin_token_is_refused_before_anything_starts(token: str, why: str) -> None:
    message = problem(admin_token=token)
    assert f"CTI_ADMIN_TOKEN: Value error, {why}; generate one with:" in message
    assert "secrets.token_urlsafe(32)" in message
    assert token not in message  # the refused secret is not echoed into a log


def test_generated_admin_tokens_are_accepted() -> None:
    import secrets

    for token in (secrets.token_urlsafe(32), secrets.token_urlsafe(24), secrets.token_hex(32), ADMIN_TOKEN):
        assert load_settings(**(REQUIRED | {"admin_token": token})).admin_token.get_secret_value() == token


def test_token_lifetime_is_a_positive_number_of_days() -> None:
    assert load_settings(**REQUIRED, token_ttl_days=0.5).token_ttl_days == 0.5
    assert "CTI_TOKEN_TTL_DAYS" in problem(token_ttl_days=0)


def test_every_problem_is_listed_at_once() -> None:
    message = problem(ari_url="nope", http_port=70000, ring_timeout=0, redis_prefix="has space")
    lines = message.splitlines()
    assert lines[0] == "invalid configuration:"
    for env in ("CTI_ARI_URL", "CTI_HTTP_PORT", "CTI_RING_TIMEOUT", "CTI_REDIS_PREFIX"):
        assert any(line.strip().startswith(f"{env}:") for line in lines[1:]), env


def test_settings_class_alone_raises_validation_error() -> None:
    with pytest.raises(ValidationError):
        Settings()  # type: ignore[call-arg]


def test_callback_numbers_are_regular_expressions() -> None:
    message = problem(callback_numbers=["0[1-9"])
    assert "CTI_CALLBACK_NUMBERS" in message and "not a regular expression" in message


def test_the_crm_source_is_cti_s_own_unless_another_is_named_whole() -> None:
    s = load_settings(**REQUIRED)
    assert (s.crm_connector, s.crm_url, s.crm_timeout_seconds, s.crm_cache_seconds, s.crm_negative_cache_seconds,
            s.crm_cache_size) == ("cti", None, 1.0, 300.0, 60.0, 10_000)
    http = load_settings(**REQUIRED, crm_connector="http", crm_url="https://crm.example/api/", crm_token="t0k3n")
    assert (http.crm_url, http.crm_token is not None and http.crm_token.get_secret_value()) == (
        "https://crm.example/api", "t0k3n")
    assert load_settings(**REQUIRED, crm_connector="acme_crm.cti:connector").crm_connector == "acme_crm.cti:connector"
    assert "CTI_CRM_URL" in problem(crm_connector="http")
    assert "CTI_CRM_URL" in problem(crm_connector="http", crm_url="https://user:pw@crm.example")
    assert "CTI_CRM_URL" in problem(crm_url="ftp://crm.example")
    assert "CTI_CRM_CONNECTOR" in problem(crm_connector="salesforce; rm -rf /")
    assert "CTI_CRM_TIMEOUT_SECONDS" in problem(crm_timeout_seconds=3)  # beyond the 2 s an identification may take


# -- the settings page's view ----------------------------------------------------------------------------------
STATIC = Path(__file__).resolve().parents[2] / "cti" / "web" / "static"


def test_every_setting_is_in_one_group_and_labelled_in_both_languages() -> None:
    grouped = [name for names in GROUPS.values() for name in names]
    assert sorted(grouped) == sorted(Settings.model_fields)  # each once: a new setting needs its heading
    for language in ("en", "id"):
        catalogue = json.loads((STATIC / "i18n" / language / "settings.json").read_text(encoding="utf-8"))
        assert {f"settings.name.{name}" for name in Settings.model_fields} <= set(catalogue)
        assert {f"settings.group.{group}" for group in GROUPS} <= set(catalogue)


@pytest.mark.parametrize(("field", "value", "shown"), [
    ("database_url", "postgresql+asyncpg://cti:s3cret-PW@db:5432/cti", "postgresql+asyncpg://cti:***@db:5432/cti"),
    ("database_url", "postgresql+asyncpg://db/cti?user=cti&password=s3cret-PW&ssl=1",
     "postgresql+asyncpg://db/cti?user=cti&password=***&ssl=1"),
    ("redis_url", "rediss://default:s3cret-PW@cache:6380/1", "rediss://default:***@cache:6380/1"),
    ("redis_url", "redis://:s3cret-PW@cache/0", "redis://:***@cache/0"),
    ("ari_url", "http://ari:s3cret-PW@127.0.0.1:8088", "http://ari:***@127.0.0.1:8088"),
    ("softphones", "1001:s3cret-PW1,1002:s3cret-PW2", "1001:***,1002:***"),
])
def test_the_settings_view_masks_passwords_wherever_they_are(field: str, value: str, shown: str) -> None:
    settings = Settings(**REQUIRED, **{field: value})
    entries = {e["name"]: e for e in effective_settings(settings)}
    assert entries[field]["value"] == shown
    assert entries[field]["default"] is False
    assert "s3cret" not in json.dumps(list(entries.values()))
    assert ADMIN_TOKEN not in json.dumps(list(entries.values()))
    assert "ari-secret" not in json.dumps(list(entries.values()))
    assert (entries["admin_token"]["value"], entries["admin_token"]["secret"]) == (None, True)


def test_the_settings_view_says_which_are_the_defaults() -> None:
    entries = {e["name"]: e for e in effective_settings(Settings(**REQUIRED, ring_timeout=15, http_port=9000))}
    assert entries["ring_timeout"]["default"] is True  # set, but to the default value
    assert (entries["http_port"]["value"], entries["http_port"]["default"]) == (9000, False)
    assert (entries["queues"]["value"], entries["queues"]["default"]) == ({"1500100": "general"}, True)
    assert (entries["routing_rules"]["value"], entries["routing_rules"]["env"]) == (None, "CTI_ROUTING_RULES")
    assert entries["interaction_retention_days"]["group"] == "retention"
    assert (entries["token_ttl_days"]["value"], entries["token_ttl_days"]["secret"]) == (30.0, False)
    assert [e["name"] for e in entries.values() if e["secret"]] == ["ari_password", "admin_token", "smtp_password",
                                                                    "crm_token"]
