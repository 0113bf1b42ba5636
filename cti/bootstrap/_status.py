"""How cti is doing: component health for ``/healthz`` and the Prometheus exposition for ``/metrics``, gathered
from the components the composition root built (the web layer sees only :class:`cti.web.Status`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

from cti.acd import AgentState, CallbackRefusal, WorkState
from cti.live import LiveStore
from cti.services import CenterView, ConnectedCrm, Journal, Webhooks
from cti.telephony import MediaNodes, Telephony

__all__ = ["CtiStatus"]

_COUNTERS = {
    "calls_arrived": "Inbound calls that reached cti (for the IVR or routing; shed ones included)",
    "calls_answered": "Calls that ended after an agent talked to the caller",
    "calls_abandoned": "Calls whose caller hung up before reaching an agent",
    "calls_failed": "Calls lost by the system",
    "calls_shed": "Callers turned away with congestion by admission control (overload)",
    "calls_shed_with_message": "Shed callers who heard the overload message before the congestion",
    "calls_shed_at_edge": "Callers Kamailio turned away at the edge (overload), recorded from its notes",
    "calls_shed_at_edge_with_message": "Callers shed at the edge who were sent to a node to hear why first",
    "arrivals_restarted": "Callers found in the app with no record on a resync (a previous controller's last "
                          "instant, or its IVR), started again as new arrivals",
    "ivr_self_service": "Callers served by the IVR alone, never queued for an agent",
    "ivr_abandoned": "Callers who hung up in the IVR before reaching a queue",
    "ivr_verified": "Callers the IVR verified by a PIN or a date of birth they keyed",
    "ivr_verification_failed": "Callers who failed the IVR's verification too often: self-service ended for the call",
    "calls_bridged": "Caller-agent bridges made",
    "bridges_failed": "Answered calls Asterisk would not bridge (a leg vanished)",
    "offers": "Calls offered to an agent's phone",
    "offers_failed": "Offers that could not be placed",
    "ari_events": "ARI events handled",
    "ari_resyncs": "Resynchronisations with Asterisk after (re)connecting",
    "announcements": "Position and wait announcements started for waiting callers",
    "callbacks_dialed": "Customers called back after asking to keep their place",
    "callbacks_refused": "Callbacks refused (number not allowed, or over a limit); the caller kept waiting",
    "outbound_dialed": "Customers dialed by an agent's call out (click-to-dial, scheduled callbacks)",
    "outbound_answered": "Agents' calls out that ended after the customer answered",
    "outbound_failed": "Agents' calls out that never reached the customer (no answer, busy, the agent's phone)",
    "playbacks_done": "Prompts Asterisk finished playing",
    "playbacks_failed": "Prompts Asterisk could not play",
}


class CtiStatus:
    def __init__(self, telephony: Telephony | MediaNodes, live: LiveStore, journal: Journal, query: CenterView,
                 counters: Counter[str], database_ping: Callable[[], Awaitable[bool]],
                 webhooks: Webhooks | None = None, crm: ConnectedCrm | None = None, *,
                 term: Callable[[], int | None] | None = None) -> None:
        """``term``: a standby controller's fencing token while it leads, else None (its elector's); None for a
        controller started without a lease."""
        self._term = term
        self._webhooks = webhooks
        self._crm = crm
        self._telephony = telephony
        self._live = live
        self._journal = journal
        self._query = query
        self._counters = counters
        self._database_ping = database_ping

    async def health(self) -> dict[str, bool]:
        return {"asterisk": self._telephony.is_connected, "redis": await self._live.ping(),
                "database": await self._database_ping()}

    def role(self) -> tuple[str, int | None]:
        if self._term is None:
            return "single", None
        token = self._term()
        return ("leader", token) if token is not None else ("standby", None)

    def metrics(self) -> str:
        lines: list[str] = []

        def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
            lines.append(f"# HELP cti_{name} {help_text}")
            lines.append(f"# TYPE cti_{name} {kind}")
            lines.extend(f"cti_{name}{labels} {value:g}" for labels, value in samples)

        for key, help_text in _COUNTERS.items():
            metric(f"{key}_total", "counter", help_text, [("", self._counters[key])])
        metric("callbacks_refused_by_reason_total", "counter", "Callbacks refused, by why", [
            (f'{{reason="{reason.value}"}}', self._counters[f"callbacks_refused_{reason.value}"])
            for reason in CallbackRefusal])
        calls = self._query.calls()
        queues = sorted({c.queue for c in calls})
        metric("calls_live", "gauge", "Live calls by queue and state", [
            (f'{{queue="{q}",state="{s.value}"}}', sum(c.queue == q and c.state is s for c in calls))
            for q in queues for s in (WorkState.WAITING, WorkState.RINGING, WorkState.CONNECTED)
        ])
        agents = list(self._query.agent_map().values())
        metric("agents", "gauge", "Agents by state",
               [(f'{{state="{s.value}"}}', sum(a.state is s for a in agents)) for s in AgentState])
        metric("ari_connected", "gauge", "1 while the ARI events websocket is up (with several media nodes: any)",
               [("", 1 if self._telephony.is_connected else 0)])
        if isinstance(self._telephony, MediaNodes):
            metric("node_connected", "gauge", "1 while the media node's ARI events websocket is up",
                   [(f'{{node="{node}"}}', 1 if up else 0) for node, up in self._telephony.connected().items()])
        metric("ari_reconnects_total", "counter", "ARI websocket reconnections",
               [("", self._telephony.reconnects)])
        metric("redis_write_failures_total", "counter", "Failed live-state writes", [("", self._live.write_failures)])
        metric("db_write_failures_total", "counter", "Failed database writes (retried)",
               [("", self._journal.db_failures)])
        metric("dead_letters_total", "counter", "Records the database refused, set aside as dead letters, by kind",
               [(f'{{kind="{kind}"}}', count) for kind, count in sorted(self._journal.dead_letters.items())])
        metric("call_setups", "gauge", "Calls being answered and queued right now (admission control)",
               [("", self._telephony.admission.setups)])
        metric("persistence_backlog", "gauge", "State changes waiting to be written", [("", self._journal.backlog)])
        if self._webhooks is not None:
            stats = sorted(self._webhooks.delivery_stats().items())
            metric("webhook_events_total", "counter", "Events fanned out to webhook subscriptions",
                   [("", self._webhooks.emitted)])
            for name, field, help_text in (
                    ("webhook_deliveries_total", "delivered", "Webhook events a receiver took (2xx), by subscription"),
                    ("webhook_failures_total", "failures", "Failed webhook attempts (retried), by subscription"),
                    ("webhook_dead_letters_total", "dead_letters",
                     "Webhook events set aside after every attempt, by subscription")):
                metric(name, "counter", help_text,
                       [(f'{{subscription="{sid}"}}', getattr(one, field)) for sid, one in stats])
        if self._crm is not None:
            crm = self._crm
            metric("crm_lookups_total", "counter", "Lookups sent to the other CRM (cache misses)", [("", crm.requests)])
            metric("crm_failures_total", "counter",
                   "Lookups the other CRM failed (no answer in time, an error, garbage): cti's own copy answered",
                   [("", crm.failures)])
            metric("crm_cache_hits_total", "counter", "Lookups the cache answered without asking the other CRM",
                   [("", crm.cache.hits)])
            metric("crm_cache_entries", "gauge", "Answers of the other CRM held in the cache", [("", len(crm.cache))])
        return "\n".join(lines) + "\n"
