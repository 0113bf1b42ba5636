"""Live state in Redis: the agents and work items of the contact center now, so a restarted controller carries
on where the previous one stopped (:class:`LiveStore`), in a versioned JSON encoding (``encode_*``/``decode_*``);
and the webhooks' outbox (:class:`WebhookOutbox`).

With standby controllers its writes are fenced: a controller that no longer leads is refused (:class:`Fenced`).
Redis being away never stops calls: writes fail softly (``dirty``) and the journal rewrites the whole picture
once Redis answers again. The leader's websocket frames for the web front ends are one stream
(:class:`FrameStream`). The callers Kamailio shed at the edge are read from a stream (:class:`EdgeShedStream`).
Live chats' sessions and messages are kept there too (:class:`ChatStreams`), until
their transcript is in the database.
"""

from cti.live._chat import ChatStreams
from cti.live._codec import decode_agent, decode_call, decode_decision, encode_agent, encode_call
from cti.live._edge import EdgeShedStream
from cti.live._frames import FrameStream, StreamEntry
from cti.live._outbox import WebhookOutbox
from cti.live._store import Fence, Fenced, LiveStore, LiveStoreError

__all__ = ["ChatStreams", "EdgeShedStream", "Fence", "Fenced", "FrameStream", "LiveStore", "LiveStoreError",
           "StreamEntry", "WebhookOutbox", "decode_agent", "decode_call", "decode_decision", "encode_agent",
           "encode_call"]
