"""Request bodies accepted by the API, validated before anything acts on them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AgentCreate", "AgentLogin", "AgentProfile", "AgentStateChange", "UserCreate"]

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AgentProfile(_Body):
    """What routing knows of an agent. Replaced whole by ``PUT /api/agents/{id}/profile``."""

    skills: dict[Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$")], Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=dict, max_length=50)
    languages: list[Literal["id", "en"]] = Field(default_factory=list, description="empty: any language")
    region: str | None = Field(default=None, pattern=r"^[a-z0-9_-]{1,32}$")
    site: str | None = Field(default=None, pattern=_ID)
    team: str | None = Field(default=None, pattern=_ID)


class AgentCreate(_Body):
    agent_id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=128)
    profile: AgentProfile = Field(default_factory=AgentProfile)


class AgentLogin(_Body):
    extension: str = Field(pattern=r"^[0-9]{2,16}$")
    ready: bool = False


class AgentStateChange(_Body):
    state: Literal["ready", "not_ready"]
    reason: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,32}$")


class UserCreate(_Body):
    name: str = Field(pattern=_ID)
    role: Literal["agent", "supervisor", "admin"]
    agent_id: str | None = Field(default=None, pattern=_ID)
