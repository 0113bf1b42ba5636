"""Web chat's domain: the chat session, its messages, and the checks on what customers and agents send.

The routing of a chat is the core's (:mod:`cti.acd`, a work item of the ``chat`` channel); the use case is
``cti.services.ChatService``, its Redis and SQL adapters in :mod:`cti.live` and :mod:`cti.persistence`.
"""

from cti.chat._model import (
    MAX_LINKS,
    MAX_NAME,
    MAX_TEXT,
    STAFF_PARAMS,
    ChatMessage,
    ChatSession,
    Link,
    NewMessage,
    Sender,
    clean_name,
    clean_text,
    first_name,
    message_order,
    parse_links,
)

__all__ = [
    "MAX_LINKS",
    "MAX_NAME",
    "MAX_TEXT",
    "STAFF_PARAMS",
    "ChatMessage",
    "ChatSession",
    "Link",
    "NewMessage",
    "Sender",
    "clean_name",
    "clean_text",
    "first_name",
    "message_order",
    "parse_links",
]
