"""Webhook requests to partners' receivers, over aiohttp; never to an address inside our own network unless the
operator allows it (``CTI_WEBHOOK_ALLOW_PRIVATE``): a subscription must not turn cti into a way to reach
internal services (server-side request forgery).

The address is checked when a subscription is made and again on every request (a name may resolve elsewhere
later). The URL is logged without its query (it may carry a partner's own key); the secret never leaves the
signature.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

import aiohttp

from cti.errors import InvalidInput, Unavailable

__all__ = ["HttpWebhookSender", "address_refusal"]

_RESOLVE_SECONDS = 3.0


class WebhookRefused(InvalidInput):
    code = "webhook_url_refused"


class ReceiverUnavailable(Unavailable):
    """The receiver did not answer (refused, reset, timed out)."""


def address_refusal(address: str) -> str | None:
    """Why cti may not call ``address`` (an IP) by default: None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 address may carry its zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_unspecified or not ip.is_global:
        return "a private or reserved address"
    return None


class HttpWebhookSender:
    def __init__(self, *, timeout: float, allow_private: bool = False) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def check(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port
        except ValueError as exc:  # a malformed host or port ("http://[::1", "http://h:99999")
            raise WebhookRefused(f"not a usable URL: {exc}", params={"reason": "url"}) from exc
        if parts.scheme not in ("http", "https") or not host:
            raise WebhookRefused("a webhook URL is http:// or https:// with a host", params={"reason": "scheme"})
        if parts.username or parts.password:
            raise WebhookRefused("no credentials in a webhook URL: the signature authenticates cti",
                                 params={"reason": "credentials"})
        if self._allow_private:
            return
        try:
            # Bounded: a name no resolver answers for must not hold an admin's request (or a delivery) for long.
            found = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(
                host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM), _RESOLVE_SECONDS)
        except (OSError, ValueError, TimeoutError) as exc:
            raise WebhookRefused(f"the host {host!r} does not resolve", params={"reason": "dns"}) from exc
        for *_, sockaddr in found:
            why = address_refusal(str(sockaddr[0]))
            if why is not None:
                raise WebhookRefused(f"{host} is {why}: refused unless CTI_WEBHOOK_ALLOW_PRIVATE is set",
                                     params={"reason": "private"})

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        try:
            await self.check(url)
        except WebhookRefused as exc:
            raise ReceiverUnavailable(f"refused: {exc}") from exc
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(url, data=body, headers=dict(headers), allow_redirects=False) as response:
                await response.read()
                return response.status
        except TimeoutError as exc:
            raise ReceiverUnavailable(f"no answer from {_shown(url)} within {self._timeout.total} s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise ReceiverUnavailable(f"cannot reach {_shown(url)}: {type(exc).__name__}") from exc


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
