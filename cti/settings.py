"""Settings: environment variables (``CTI_*``) over an optional TOML file named by ``CTI_CONFIG_FILE``.

Validated once at start-up; :func:`load_settings` turns validation failures into one readable
:class:`SettingsError` naming the environment variable to fix.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import re
import tomllib
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from cti.redis_url import sentinel_target

__all__ = ["DEFAULT_ASTERISK_ROOT", "DEFAULT_PSTN_MATCH", "GROUPS", "MIN_ADMIN_TOKEN_LENGTH", "REDACTED", "Settings",
           "SettingsError", "effective_settings", "load_settings", "weak_token_problem"]

ENV_PREFIX = "CTI_"
DEFAULT_ASTERISK_ROOT = "/var/cache/cti/asterisk-root"
# Where calls from the PSTN come from unless CTI_PSTN_MATCH names the gateway: a loopback address of its own, where
# the simulated gateway (SIPp callers of the demo, tests and benchmarks) sits. Not 127.0.0.1: a softphone on this
# machine registers from there, and Asterisk identifies by source address first, so it would be taken for the
# gateway (and refused: the gateway has no registrations).
DEFAULT_PSTN_MATCH = "127.0.0.2"
# Numbers cti may call back by default: Indonesian numbers in the national (0...) or international (+62...)
# format, without the premium-rate 0809 range. Anything else (foreign, short codes, premium) needs a setting.
DEFAULT_CALLBACK_NUMBERS = (r"(?:0|\+62)(?!809)[1-9][0-9]{6,11}",)
# Characters a value Asterisk reads from its configuration files may not hold: a line break would start a
# new option or section, the other controls are never part of a real password or address.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


MIN_ADMIN_TOKEN_LENGTH = 32


def weak_token_problem(token: str) -> str | None:
    """Why ``token`` is too weak to be the admin's (None when it is fine).

    The admin token is the one credential an operator types in, so it is the one that may be weak. What a
    generator gives (``secrets.token_urlsafe(32)``, ``openssl rand -hex 32``) passes; short words, runs and repeated
    patterns do not: at least 32 characters, at least 10 different ones, no run of 8 repeated or in sequence.
    """
    if len(token) < MIN_ADMIN_TOKEN_LENGTH:
        return f"is {len(token)} characters long; it must be at least {MIN_ADMIN_TOKEN_LENGTH} random characters"
    if len(set(token)) < 10:
        return f"uses only {len(set(token))} different characters; it must be random"
    seen: set[str] = set()
    for start in range(len(token) - 7):
        chunk = token[start:start + 8]
        if chunk in seen:
            return "repeats a run of 8 characters; it must be random, not a pattern"
        if all(ord(b) - ord(a) == 1 for a, b in pairwise(chunk)):
            return "holds a run of 8 characters in sequence; it must be random, not a pattern"
        seen.add(chunk)
    return None


class SettingsError(Exception):
    """The configuration is invalid; the message lists every problem."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    # Asterisk ARI
    ari_url: str = "http://127.0.0.1:8088"
    ari_user: str = Field("cti", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    ari_password: SecretStr
    ari_app: str = "cti"
    ari_timeout: float = Field(10.0, gt=0, le=120, description="REST request timeout, seconds")

    # Live state and persistence
    redis_url: str = Field("redis://127.0.0.1:6379/0",
                           description="Redis: redis://, rediss://, unix://, or redis+sentinel://h1:port,h2:port/<master>")
    redis_prefix: str = Field("cti", pattern=r"^[A-Za-z0-9_.-]+$")
    database_url: str = "sqlite+aiosqlite:///var/cti.db"

    # Standby controllers (docs/scaling.md)
    standby: bool = Field(False, description="lead only while holding the lease in Redis; until then stand by")
    lease_seconds: float = Field(10.0, ge=2, le=120,
                                 description="how long a leader's lease lasts unless renewed (renewed each fifth)")
    # Web front ends (docs/scaling.md#web-front-ends): off, the single process serves every page as before.
    frame_stream: bool = Field(False, description="the leader mirrors every websocket frame into one Redis stream, "
                               "from which `cti front` processes serve the pages' live sockets")
    advertise_url: str | None = Field(None, pattern=r"^https?://[^/?#\s]+$",
                                      description="where the front ends reach this controller's HTTP (default "
                                      "http://CTI_HTTP_HOST:CTI_HTTP_PORT)")
    # Several Asterisk media nodes (docs/scaling.md#several-media-nodes): unset, cti drives the one at CTI_ARI_URL.
    asterisk_nodes: str = Field("", description="media nodes as name=ARI URL, comma-separated (a=http://h1:8088,...);"
                                " the same ARI user, password and application on each")
    node_dead_seconds: float = Field(10.0, ge=1, le=600, description="a media node whose ARI is away this long is"
                                     " dead: its calls are recorded as lost, its homed agents made not ready")
    edge_shed_stream: str = Field(
        "", max_length=200, pattern=r"^[A-Za-z0-9:._-]*$",
        description="the Redis stream where Kamailio notes the callers it sheds at the edge (the cluster's "
                    "cluster.env sets it): cti records each as rejected for overload; empty: none read")

    # HTTP API
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    admin_token: SecretStr = Field(description="bootstrap token of the built-in admin user (32+ random characters)")
    token_ttl_days: float = Field(30.0, gt=0, le=3650,
                                  description="days a token issued by the API or the CLI stays valid")
    session_idle_minutes: float = Field(480.0, gt=0, le=7 * 24 * 60,
                                        description="minutes a signed-in session may go unused (8 h: a shift)")
    session_lifetime_hours: float = Field(12.0, gt=0, le=30 * 24,
                                          description="hours a signed-in session lasts at most, however busy")
    secure_cookies: bool = Field(False, description="mark the session cookies Secure even when the request came "
                                                    "over plain HTTP (behind a TLS-terminating proxy)")

    # The customer portal (/ui/portal.html): sign-in codes by e-mail (SMTP) or SMS
    smtp_host: str | None = Field(None, description="SMTP server that sends customers their sign-in codes; "
                                                    "unset: no e-mail is sent (the portal then takes phone numbers)")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 SSL, 25 plain)")
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls (upgrade the connection), ssl (TLS from the start) or none (plain: "
                                "only to a relay on this machine or network)")
    smtp_user: str | None = Field(None, description="SMTP user name, if the server wants a login")
    smtp_password: SecretStr | None = Field(None, description="SMTP password (a secret)")
    smtp_sender: str = Field("cti@localhost", min_length=3, max_length=254,
                             description="the From address of the sign-in mails")
    portal_code_minutes: float = Field(10.0, gt=0, le=60, description="minutes a sign-in code stays valid")
    portal_code_attempts: int = Field(5, ge=1, le=20, description="wrong entries that spend a sign-in code")
    portal_session_idle_minutes: float = Field(30.0, gt=0, le=24 * 60,
                                               description="minutes a customer's portal session may go unused")
    portal_session_lifetime_hours: float = Field(12.0, gt=0, le=30 * 24,
                                                 description="hours a customer's portal session lasts at most")
    # Customer satisfaction surveys by e-mail (docs/supervisors.md, "Surveys"): the same SMTP server as the portal
    survey_link_base: str = Field("http://localhost:8080", min_length=8, max_length=200, pattern=r"^https?://[^\s#?]+$",
                                  description="the address customers reach cti's pages at: survey links are "
                                              "<this>/ui/survey.html#<token>")
    survey_every_days: int = Field(30, ge=0, le=365, description="at most one survey per customer in this many days")
    survey_delay_minutes: float = Field(0.0, ge=0, le=7 * 24 * 60,
                                        description="minutes after an interaction ends before its survey is mailed")
    survey_valid_days: float = Field(7.0, gt=0, le=90, description="days a survey link works")
    cyberagent_name_id: str = Field("Sari", min_length=1, max_length=40, pattern=r"^[^<>\x00-\x1f]+$",
                                    description="the virtual agent's first name when it speaks Indonesian")
    cyberagent_name_en: str = Field("Sari", min_length=1, max_length=40, pattern=r"^[^<>\x00-\x1f]+$",
                                    description="the virtual agent's first name when it speaks English")
    chat_bot: bool = Field(True, description="the virtual agent answers every web chat first and hands it to a "
                                             "queue when a person should take over; off: chats go to a queue at once")

    # Call handling
    ring_timeout: float = Field(15.0, gt=0, le=300, description="seconds an agent's phone rings")
    queues: dict[str, str] = Field(
        default_factory=lambda: {"1500100": "general"},
        description="service number -> queue; numbers not listed go to default_queue",
    )
    default_queue: str = "general"
    routing_rules: Path | None = Field(
        default=None, description="YAML routing rules; without it every service number maps by `queues`")

    # Asterisk provisioning (the root lives outside the repository)
    asterisk_root: Path = Path(DEFAULT_ASTERISK_ROOT)
    sip_bind: str = Field("127.0.0.1:5060",
                          description="address:port of Asterisk's SIP transport; loopback unless set")
    pstn_match: str = Field(DEFAULT_PSTN_MATCH, description="the PSTN gateway's addresses (comma-separated IPs "
                                                            "or networks); calls from there reach the service numbers")
    pstn_trust_id: bool = Field(False, description="take the caller id the gateway asserts "
                                                   "(P-Asserted-Identity); only with a trusted gateway")
    pstn_gateway: str = Field("127.0.0.1:5070", pattern=r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$",
                              description="host:port that outbound calls (callbacks) are sent to")
    callback_ring_timeout: float = Field(30.0, gt=0, le=120, description="seconds a customer's phone rings")
    callback_numbers: tuple[str, ...] = Field(
        DEFAULT_CALLBACK_NUMBERS, max_length=50,
        description="patterns (regular expressions, whole number) of the numbers cti may call back")
    consult_numbers: tuple[str, ...] = Field(
        (), max_length=50,
        description="patterns (regular expressions, whole number) of the external numbers an agent may consult "
                    "or conference in (dialled through the PSTN gateway); none by default")
    callback_max_per_number: int = Field(
        3, ge=0, le=1000, description="callbacks granted to one number within callback_window_seconds")
    callback_max_total: int = Field(
        60, ge=0, le=100_000, description="callbacks granted to all numbers within callback_window_seconds")
    callback_window_seconds: float = Field(3600.0, gt=0, le=7 * 86400)
    # Outbound calls: click-to-dial and scheduled callbacks (docs/operations.md, "Outbound calls")
    outbound_caller_id: str = Field("1500100", pattern=r"^\+?[0-9]{3,20}$",
                                    description="the number customers see when cti calls them (a service number)")
    outbound_queue: str | None = Field(None, max_length=64, description="the queue outbound calls count in (its "
                                                                         "supervisors see them); none: default_queue")
    calling_hours: str = Field("08:00-20:00", pattern=r"^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$",
                               description="when customers may be called, in each customer's own time zone")
    calling_default_zone: Literal["WIB", "WITA", "WIT"] = Field(
        "WIB", description="the time zone of customers whose region and number tell none")
    scheduled_callback_attempts: int = Field(
        3, ge=1, le=20, description="dials of the customer a scheduled callback makes at most before it has failed")
    scheduled_callback_retry_seconds: float = Field(
        1800.0, gt=0, le=7 * 86400, description="from a missed (or skipped) scheduled callback to its next try")
    scheduled_callback_agent_first_seconds: float = Field(
        120.0, ge=0, le=86400, description="how long a 'me first' callback waits for its own agent alone")
    scheduled_callback_preview_seconds: float = Field(
        60.0, gt=0, le=3600, description="how long an agent has to dial or skip a callback's preview")
    # Partner integration: outbound webhooks and partner tokens (docs/integration.md)
    webhook_allow_private: bool = Field(
        False, description="allow webhook URLs to loopback, link-local and private addresses (tests, labs)")
    webhook_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="how long one webhook delivery waits for the receiver's answer")
    webhook_max_attempts: int = Field(
        8, ge=1, le=50, description="deliveries of one event tried at most before it becomes a dead letter")
    webhook_retry_seconds: float = Field(
        1.0, gt=0, le=3600, description="the first retry's delay; each next one doubles it")
    webhook_retry_max_seconds: float = Field(
        300.0, gt=0, le=86400, description="the longest delay between two retries of one delivery")
    partner_requests_per_minute: int = Field(
        120, ge=1, le=100_000, description="requests one partner token may make per minute (then 429)")
    # Where customer records come from (docs/crm.md, "Another CRM as the source"; docs/integration.md)
    crm_connector: str = Field(
        "cti", pattern=r"^(cti|http|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$",
        description="cti (its own CRM), http (an external CRM over HTTP, CTI_CRM_URL) or module:factory")
    crm_url: str | None = Field(None, max_length=2000,
                                description="the external CRM's base URL (http connector); its JSON contract: "
                                            "docs/integration.md")
    crm_token: SecretStr | None = Field(None, description="the bearer token cti sends the external CRM (a secret)")
    crm_token_file: Path | None = Field(None, description="a file holding that token (read at start); wins over "
                                                          "CTI_CRM_TOKEN")
    crm_timeout_seconds: float = Field(
        1.0, gt=0, le=1.5, description="how long one lookup waits for the external CRM before the call goes on with "
                                       "what cti has (below the 2 s a caller's identification may take)")
    crm_cache_seconds: float = Field(300.0, ge=0, le=86400,
                                     description="how long a customer found in the external CRM is reused")
    crm_negative_cache_seconds: float = Field(
        60.0, ge=0, le=86400, description="how long 'not in the external CRM' is reused for a number")
    crm_cache_size: int = Field(10_000, ge=1, le=1_000_000, description="lookups kept in the cache at most")
    max_call_setups: int = Field(
        64, ge=1, le=100_000, description="calls being answered and queued at once; beyond it callers get congestion")
    dispositions: tuple[str, ...] = Field(
        ("resolved", "follow_up", "sale", "no_sale", "callback_requested", "complaint", "escalated", "transferred",
         "wrong_number"),
        description="disposition codes an agent picks at wrap-up")
    ivr_flows: Path | None = Field(None, description="IVR flows file (YAML); none: callers go straight to routing")
    asr_engines: str = Field("", description="speech engine per language, e.g. 'id=pocketsphinx,en=vosk:/models/en'")
    sounds_dir: Path | None = Field(None, description="where prompts are installed; default: the Asterisk root's")
    timezone: str = Field("Asia/Jakarta", description="the contact center's day for statistics and reports")
    service_level_seconds: float = Field(20.0, gt=0, le=600, description="T of the service level (answered within T)")
    company_name: str = Field("cti", max_length=64, description="how scripts name the company")
    # What one screen pop's call script may cost to render (docs/scripting.md, "Rendering budget"); saving
    # a script refuses one that needs more with representative data.
    script_render_steps: int = Field(
        20_000, ge=100, le=10_000_000, description="template pieces run per pop (a loop's body on every turn)")
    script_render_characters: int = Field(
        100_000, ge=1_000, le=100_000_000, description="characters of text a pop's script may produce")
    script_render_seconds: float = Field(
        0.05, gt=0, le=10, description="wall-clock backstop per pop's script, seconds")
    max_arrival_rate: float = Field(0.0, ge=0, description="arrivals per second admitted; 0 for no ceiling")
    max_ivr_sessions: int = Field(
        500, ge=1, le=100_000, description="callers in the IVR at once; beyond it new IVR callers get congestion")
    interaction_retention_days: int = Field(
        365, ge=0, le=36500,
        description="days an interaction and a CRM contact keep their personal fields (caller number and name, "
                    "notes, script answers, follow-up, IVR keyed digits and prompts, transfer notes); the "
                    "aggregates stay. 0 keeps them forever")
    recording_dir: Path = Field(Path("var/recordings"),
                                description="where calls' recordings are kept (local disk), one file per recording")
    recording_format: Literal["wav", "gsm"] = Field(
        "wav", description="the recordings' file format: wav (16-bit PCM, 8 kHz, ~1 MB a minute; browsers play it) "
                           "or gsm (~100 kB a minute; download only)")
    rtp_start: int = Field(10000, ge=1024, le=65000)
    rtp_end: int = Field(20000, ge=1024, le=65535)
    sim_agents: int = Field(
        0, ge=0, le=500, description="SIPp-backed agent endpoints 7001.. without authentication, for the demo, "
                                     "tests and benchmarks (loopback only); none unless asked for")
    # Below the kernel's ephemeral ports and clear of the default RTP range (10000-20000).
    sim_agent_port_base: int = Field(21000, ge=1024, le=60000)
    softphones: str = Field("", description="'ext:password,...' agent softphone registrations")
    webphones: str = Field("", description="'agent:ext,...' agents whose phone may be the browser (WebRTC), each at "
                                           "its own extension; the SIP password is derived, never configured")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(f"{ENV_PREFIX}CONFIG_FILE")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @field_validator("crm_url")
    @classmethod
    def _crm_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if parts.username or parts.password:
            raise ValueError("holds no credentials: the token goes in CTI_CRM_TOKEN or CTI_CRM_TOKEN_FILE")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _crm_source(self) -> Settings:
        if self.crm_connector == "http" and self.crm_url is None:
            raise ValueError("CTI_CRM_CONNECTOR=http needs CTI_CRM_URL, the external CRM's address")
        return self

    @field_validator("ari_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8088")
        return value.rstrip("/")

    @field_validator("asterisk_nodes")
    @classmethod
    def _asterisk_nodes(cls, value: str) -> str:
        names: list[str] = []
        for item in (part.strip() for part in value.split(",") if part.strip()):
            name, sep, url = item.partition("=")
            name = name.strip()
            if not sep or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,30}", name):
                raise ValueError("each node is name=URL, the name in lower-case letters, digits, - and _ (a=http://...)")
            if name in names:
                raise ValueError(f"node {name!r} is named twice")
            cls._http_url(url.strip())
            names.append(name)
        if len(names) == 1:
            raise ValueError("name two nodes or more (one Asterisk is CTI_ARI_URL)")
        return ",".join(item.strip() for item in value.split(",") if item.strip())

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        sentinel_target(value)  # RedisUrlError (a ValueError) says what is wrong, quoting no part of the URL
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not (value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("softphones")
    @classmethod
    def _softphones(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            ext, sep, password = item.partition(":")
            if not sep or not ext.isdigit() or len(password) < 8:
                raise ValueError("expected 'extension:password' pairs with passwords of 8+ characters")
            if _CONTROL.search(password) or password != password.strip():
                raise ValueError(f"the password of {ext} holds a control character or surrounding spaces")
        return value

    @field_validator("webphones")
    @classmethod
    def _webphones(cls, value: str) -> str:
        agents: set[str] = set()
        extensions: set[str] = set()
        for item in filter(None, (part.strip() for part in value.split(","))):
            agent, sep, ext = item.partition(":")
            if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", agent) or not ext.isdigit():
                raise ValueError("expected 'agent:extension' pairs (an agent id, a numeric extension)")
            if agent in agents or ext in extensions:
                raise ValueError(f"agent {agent!r} or extension {ext} is listed twice")
            agents.add(agent)
            extensions.add(ext)
        return value

    @field_validator("sip_bind")
    @classmethod
    def _sip_bind(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        bracketed = host.startswith("[") and host.endswith("]")
        try:
            address = ipaddress.ip_address(host[1:-1] if bracketed else host)
            ok = bool(sep) and port.isdigit() and 0 < int(port) < 65536 and bracketed == (address.version == 6)
        except ValueError:
            ok = False
        if not ok:
            raise ValueError("expected address:port with an IP address, e.g. 127.0.0.1:5060 or [::1]:5060")
        return value

    @field_validator("pstn_match")
    @classmethod
    def _pstn_match(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network (e.g. 192.0.2.10 or "
                                 "192.0.2.0/28)") from None
        return value

    @field_validator("callback_numbers", "consult_numbers")
    @classmethod
    def _callback_numbers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
        return value

    @field_validator("calling_hours")
    @classmethod
    def _calling_hours(cls, value: str) -> str:
        start, end = value.split("-")
        if not ("00:00" <= start < end <= "24:00"):
            raise ValueError(f"{value!r}: from a start to a later end within the day, e.g. 08:00-20:00")
        return value

    @field_validator("pstn_trust_id")
    @classmethod
    def _trusted_gateway(cls, value: bool, info: ValidationInfo) -> bool:
        # Whoever matches the gateway's identify may then assert any caller id, and callbacks dial it.
        match = info.data.get("pstn_match")
        if value and match is not None:
            for part in (p.strip() for p in match.split(",")):
                network = ipaddress.ip_network(part, strict=False)
                if network.prefixlen < (24 if network.version == 4 else 64):
                    raise ValueError(f"needs {ENV_PREFIX}PSTN_MATCH to name the gateway's own addresses, "
                                     f"not the network {part}")
        return value

    @field_validator("rtp_end")
    @classmethod
    def _rtp_range(cls, value: int, info: ValidationInfo) -> int:
        start = info.data.get("rtp_start")
        if start is not None and value <= start:
            raise ValueError(f"must be above {ENV_PREFIX}RTP_START ({start})")
        return value

    @field_validator("admin_token", "ari_password")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("ari_password")
    @classmethod
    def _config_safe(cls, value: SecretStr) -> SecretStr:
        # Written into Asterisk's ari.conf: a line break could add options there, and Asterisk trims spaces.
        secret = value.get_secret_value()
        if _CONTROL.search(secret) or secret != secret.strip():
            raise ValueError("must not hold control characters (such as a line break) or surrounding spaces")
        return value

    @field_validator("admin_token")
    @classmethod
    def _random_enough(cls, value: SecretStr) -> SecretStr:
        problem = weak_token_problem(value.get_secret_value())
        if problem:
            raise ValueError(f"{problem}; generate one with: python3 -c 'import secrets; "
                             "print(secrets.token_urlsafe(32))'")
        return value

    @property
    def media_nodes(self) -> dict[str, str]:
        """The media nodes by name (their ARI URLs, in the order given); empty with one Asterisk (CTI_ARI_URL)."""
        pairs = (item.partition("=") for item in self.asterisk_nodes.split(",") if item)
        return {name.strip(): url.strip().rstrip("/") for name, _, url in pairs}

    @property
    def ari_http_bind(self) -> tuple[str, int]:
        parts = urlsplit(self.ari_url)
        return parts.hostname or "127.0.0.1", parts.port or 8088

    def softphone_accounts(self) -> dict[str, str]:
        pairs = (item.strip().partition(":") for item in self.softphones.split(",") if item.strip())
        return {ext: password for ext, _, password in pairs}

    def webphone_extensions(self) -> dict[str, str]:
        """Agent id -> the extension of that agent's browser phone."""
        pairs = (item.strip().partition(":") for item in self.webphones.split(",") if item.strip())
        return {agent: ext for agent, _, ext in pairs}

    def webphone_password(self, extension: str) -> str:
        """The SIP password of a browser phone: derived from the admin token, so nobody types or stores one, and
        it changes when the token does (after `cti asterisk install`)."""
        key = self.admin_token.get_secret_value().encode()
        digest = hmac.new(key, f"cti-webphone:{extension}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode()

    def sim_agent_extensions(self) -> list[str]:
        return [str(7001 + i) for i in range(self.sim_agents)]

    def sim_agent_port(self, extension: str) -> int:
        return self.sim_agent_port_base + int(extension) - 7000

    def queue_for(self, service_number: str) -> str:
        return self.queues.get(service_number, self.default_queue)


def load_settings(**overrides: Any) -> Settings:
    config_file = os.environ.get(f"{ENV_PREFIX}CONFIG_FILE")
    if config_file and not Path(config_file).is_file():
        raise SettingsError(f"{ENV_PREFIX}CONFIG_FILE names {config_file}, which is not a readable file")
    try:
        return Settings(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{ENV_PREFIX}CONFIG_FILE {config_file}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "settings"
            env = f"{ENV_PREFIX}{field.upper()}" if error["loc"] else "settings"
            problems.append(f"  {env}: {error['msg']}")
        raise SettingsError("invalid configuration:\n" + "\n".join(problems)) from exc


# -- the effective settings, for an admin to read -------------------------------------------------------------
GROUPS: dict[str, tuple[str, ...]] = {
    "telephony": ("ari_url", "ari_user", "ari_password", "ari_app", "ari_timeout", "asterisk_root", "sip_bind",
                  "pstn_match", "pstn_trust_id", "pstn_gateway", "consult_numbers", "rtp_start", "rtp_end",
                  "softphones", "webphones", "sim_agents", "sim_agent_port_base"),
    "web": ("http_host", "http_port", "admin_token", "token_ttl_days", "session_idle_minutes",
            "session_lifetime_hours", "secure_cookies"),
    "storage": ("redis_url", "redis_prefix", "database_url", "recording_dir", "recording_format"),
    "cluster": ("standby", "lease_seconds", "frame_stream", "advertise_url", "asterisk_nodes", "node_dead_seconds",
                "edge_shed_stream"),
    "routing": ("queues", "default_queue", "routing_rules", "ring_timeout", "service_level_seconds",
                "max_call_setups", "max_arrival_rate", "dispositions"),
    "ivr": ("ivr_flows", "max_ivr_sessions", "asr_engines", "sounds_dir"),
    "callbacks": ("callback_ring_timeout", "callback_numbers", "callback_max_per_number", "callback_max_total",
                  "callback_window_seconds"),
    "outbound": ("outbound_caller_id", "outbound_queue", "calling_hours", "calling_default_zone",
                 "scheduled_callback_attempts", "scheduled_callback_retry_seconds",
                 "scheduled_callback_agent_first_seconds", "scheduled_callback_preview_seconds"),
    "scripts": ("company_name", "script_render_steps", "script_render_characters", "script_render_seconds"),
    "locale": ("timezone",),
    "retention": ("interaction_retention_days",),
    "partners": ("webhook_allow_private", "webhook_timeout_seconds", "webhook_max_attempts", "webhook_retry_seconds",
                 "webhook_retry_max_seconds", "partner_requests_per_minute"),
    "crm": ("crm_connector", "crm_url", "crm_token", "crm_token_file", "crm_timeout_seconds", "crm_cache_seconds",
            "crm_negative_cache_seconds", "crm_cache_size"),
    "portal": ("smtp_host", "smtp_port", "smtp_security", "smtp_user", "smtp_password", "smtp_sender",
               "portal_code_minutes", "portal_code_attempts", "portal_session_idle_minutes",
               "portal_session_lifetime_hours", "cyberagent_name_id", "cyberagent_name_en", "chat_bot"),
    "surveys": ("survey_link_base", "survey_every_days", "survey_delay_minutes", "survey_valid_days"),
}
"""Every setting under the heading an admin looks for it by (tests/unit/test_settings.py: each in exactly one)."""

# A password in a URL (scheme://user:password@host) or in its query (?password=...), wherever a string holds one.
_URL_PASSWORD = re.compile(r"(://[^/\s:@]*:)[^@\s/]*@")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:sentinel_password|password|passwd|pass|pwd|secret|token|key)=)[^&#\s]*")
_SECRET_NAME = re.compile(r"(?i)password|secret|(?:^|_)(?:token|key)$")  # not token_ttl_days
REDACTED = "***"


def _redact_text(text: str) -> str:
    return _QUERY_SECRET.sub(rf"\g<1>{REDACTED}", _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text))


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    return value


def effective_settings(settings: Settings) -> list[dict[str, Any]]:
    """Every setting in force with its group, environment variable, description and whether it is the default;
    secrets never: a secret's value is left out, and passwords inside values (URLs, softphones) are masked."""
    dumped = settings.model_dump(mode="json")
    group_of = {name: group for group, names in GROUPS.items() for name in names}
    entries = []
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        secret = isinstance(value, SecretStr) or bool(_SECRET_NAME.search(name))
        default = not field.is_required() and value == field.get_default(call_default_factory=True)
        if secret:
            shown: Any = None
        elif name == "softphones":  # 'ext:password,...': the extensions only
            shown = ",".join(f"{ext}:{REDACTED}" for ext in settings.softphone_accounts())
        else:
            shown = _redact(dumped[name])
        entries.append({"name": name, "env": f"{ENV_PREFIX}{name.upper()}", "group": group_of.get(name, "other"),
                        "value": shown, "secret": secret, "default": default,
                        "description": field.description or ""})
    return entries
