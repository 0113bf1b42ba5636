"""Request bodies accepted by the API, validated before anything acts on them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AgentCreate", "AgentLogin", "AgentStateChange", "UserCreate"]

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AgentCreate(_Body):
    agent_id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=128)


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
