"""Tiny shared vocabulary."""

from typing import NewType

AgentId = NewType("AgentId", str)
CallId = NewType("CallId", str)
ChannelId = NewType("ChannelId", str)

__all__ = ["AgentId", "CallId", "ChannelId"]
