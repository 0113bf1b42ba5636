"""Routing: agents, their states, and how a call chooses an agent. Pure: no I/O, no clock."""

from cti.routing.agents import Agent, AgentState, InvalidTransition, PendingChange
from cti.routing.selection import longest_idle

__all__ = ["Agent", "AgentState", "InvalidTransition", "PendingChange", "longest_idle"]
