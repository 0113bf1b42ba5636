"""Settings: environment variables (``CTI_*``) over an optional TOML file named by ``CTI_CONFIG_FILE``.

Validated once at start-up; :func:`load_settings` turns validation failures into one readable
:class:`SettingsError` naming the environment variable to fix.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["DEFAULT_ASTERISK_ROOT", "Settings", "SettingsError", "load_settings"]

ENV_PREFIX = "CTI_"
DEFAULT_ASTERISK_ROOT = "/var/cache/cti/asterisk-root"


class SettingsError(Exception):
    """The configuration is invalid; the message lists every problem."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    # Asterisk ARI
    ari_url: str = "http://127.0.0.1:8088"
    ari_user: str = "cti"
    ari_password: SecretStr
    ari_app: str = "cti"
    ari_timeout: float = Field(10.0, gt=0, le=120, description="REST request timeout, seconds")

    # Live state and persistence
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = Field("cti", pattern=r"^[A-Za-z0-9_.-]+$")
    database_url: str = "sqlite+aiosqlite:///var/cti.db"

    # HTTP API
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    admin_token: SecretStr = Field(description="bootstrap token of the built-in admin user")

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
    sip_bind: str = "0.0.0.0:5060"
    pstn_match: str = "127.0.0.1"
    pstn_gateway: str = Field("127.0.0.1:5070", pattern=r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$",
                              description="host:port that outbound calls (callbacks) are sent to")
    callback_ring_timeout: float = Field(30.0, gt=0, le=120, description="seconds a customer's phone rings")
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
    max_arrival_rate: float = Field(0.0, ge=0, description="arrivals per second admitted; 0 for no ceiling")
    interaction_retention_days: int = Field(
        365, ge=0, le=36500,
        description="days an interaction and a CRM contact keep their personal fields (caller number and name, "
                    "notes, script answers, follow-up, IVR keyed digits and prompts, transfer notes); the "
                    "aggregates stay. 0 keeps them forever")
    rtp_start: int = Field(10000, ge=1024, le=65000)
    rtp_end: int = Field(20000, ge=1024, le=65535)
    sim_agents: int = Field(50, ge=0, le=500, description="SIPp-backed agent endpoints 7001..")
    # Below the kernel's ephemeral ports and clear of the default RTP range (10000-20000).
    sim_agent_port_base: int = Field(21000, ge=1024, le=60000)
    softphones: str = Field("", description="'ext:password,...' agent softphone registrations")

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

    @field_validator("ari_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8088")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("must be a redis:// URL")
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

    @property
    def ari_http_bind(self) -> tuple[str, int]:
        parts = urlsplit(self.ari_url)
        return parts.hostname or "127.0.0.1", parts.port or 8088

    def softphone_accounts(self) -> dict[str, str]:
        pairs = (item.strip().partition(":") for item in self.softphones.split(",") if item.strip())
        return {ext: password for ext, _, password in pairs}

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
