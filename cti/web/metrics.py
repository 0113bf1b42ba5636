"""Prometheus text exposition of the controller's counters and live gauges."""

from __future__ import annotations

from cti.acd import AgentState, WorkState
from cti.controller import CallController

__all__ = ["render_metrics"]

_COUNTERS = {
    "calls_arrived": "Inbound calls accepted by cti",
    "calls_answered": "Calls that ended after an agent talked to the caller",
    "calls_abandoned": "Calls whose caller hung up before reaching an agent",
    "calls_failed": "Calls lost by the system",
    "calls_shed": "Callers turned away with congestion by admission control (overload)",
    "calls_bridged": "Caller-agent bridges made",
    "bridges_failed": "Answered calls Asterisk would not bridge (a leg vanished)",
    "offers": "Calls offered to an agent's phone",
    "offers_failed": "Offers that could not be placed",
    "ari_events": "ARI events handled",
    "ari_resyncs": "Resynchronisations with Asterisk after (re)connecting",
    "announcements": "Position and wait announcements started for waiting callers",
    "callbacks_dialed": "Customers called back after asking to keep their place",
    "playbacks_done": "Prompts Asterisk finished playing",
    "playbacks_failed": "Prompts Asterisk could not play",
}


def render_metrics(controller: CallController) -> str:
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP cti_{name} {help_text}")
        lines.append(f"# TYPE cti_{name} {kind}")
        lines.extend(f"cti_{name}{labels} {value:g}" for labels, value in samples)

    for key, help_text in _COUNTERS.items():
        metric(f"{key}_total", "counter", help_text, [("", controller.stats[key])])
    calls = list(controller.core.calls.values())
    queues = sorted({c.queue for c in calls})
    metric("calls_live", "gauge", "Live calls by queue and state", [
        (f'{{queue="{q}",state="{s.value}"}}', sum(c.queue == q and c.state is s for c in calls))
        for q in queues for s in (WorkState.WAITING, WorkState.RINGING, WorkState.CONNECTED)
    ])
    agents = list(controller.core.agents.values())
    metric("agents", "gauge", "Agents by state",
           [(f'{{state="{s.value}"}}', sum(a.state is s for a in agents)) for s in AgentState])
    metric("ari_connected", "gauge", "1 while the ARI events websocket is up",
           [("", 1 if controller.events.is_connected else 0)])
    metric("ari_reconnects_total", "counter", "ARI websocket reconnections", [("", controller.events.reconnects)])
    metric("redis_write_failures_total", "counter", "Failed live-state writes",
           [("", controller.live.write_failures)])
    metric("db_write_failures_total", "counter", "Failed database writes (retried)",
           [("", controller.writer.db_failures)])
    metric("call_setups", "gauge", "Calls being answered and queued right now (admission control)",
           [("", controller.admission.setups)])
    metric("persistence_backlog", "gauge", "State changes waiting to be written", [("", controller.writer.backlog)])
    return "\n".join(lines) + "\n"
