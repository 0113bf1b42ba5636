"""The reference CRM connector: customers read from an external system over HTTP (aiohttp), in the JSON contract of
docs/integration.md ("Another CRM as the source of customers").

    GET <base>/customers?phone=<E.164>   200 {"customers": [<record>, ...]}: none, one (found), more (ambiguous)
    GET <base>/customers?email=<address> the same, by e-mail address (trimmed, lower-case; compared without case)
    GET <base>/customers/<id>            200 <record>; 404: no such customer

each with ``Authorization: Bearer <token>`` when a token is configured. A record is an object with ``id`` and
``name`` and the optional fields :func:`cti.crm.external_customer` reads.

Every failure is :class:`ExternalCrmUnavailable` (an :class:`~cti.errors.Unavailable`): no answer within the
timeout, a refused connection, a status other than 200 (or 404 for an id), or an answer that is not the
contract's. Its message names the host and what went wrong, never the token, the number or e-mail looked up, or
any value of the answer (they are personal data): it goes to the log.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final
from urllib.parse import quote, urlsplit

import aiohttp

from cti.crm import ExternalCustomer, ExternalRecordError, external_customer
from cti.errors import Unavailable

__all__ = ["ExternalCrmUnavailable", "HttpCrmConnector"]

log = logging.getLogger("cti.messaging.crm")
_MAX_BODY: Final = 1024 * 1024  # a lookup's answer is a few records: more is not the contract


class ExternalCrmUnavailable(Unavailable):
    """The external CRM did not answer, or not in the contract: the call goes on with what cti has."""


class HttpCrmConnector:
    """``base_url`` without a trailing slash; ``token`` the bearer token (None: none sent); ``timeout`` the
    seconds one lookup may take, connecting included."""

    name = "http"

    def __init__(self, base_url: str, *, token: str | None, timeout: float) -> None:
        self._base = base_url.rstrip("/")
        parts = urlsplit(self._base)
        # Host and port only: a URL's user and password (the settings refuse them) never reach a log line.
        self._host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # the token is in the headers: never in a repr, a log line or a traceback's locals
        return f"HttpCrmConnector({self._base!r})"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def by_phone(self, e164: str) -> ExternalCustomer | None:
        """The customer the external CRM has for ``e164``; None when it has none (or several: a number must name
        one customer)."""
        return await self._search("phone", e164)

    async def by_email(self, address: str) -> ExternalCustomer | None:
        """The customer the external CRM has for the e-mail ``address`` (trimmed, lower-case); None when it has
        none (or several: an address must name one customer). A record with another address is refused."""
        found = await self._search("email", address)
        if found is not None and (found.email or "").strip().lower() != address:
            raise self._refused("answered a lookup by e-mail with a customer of another address")
        return found

    async def _search(self, by: str, value: str) -> ExternalCustomer | None:
        what = "phone" if by == "phone" else "e-mail"
        status, body = await self._get("/customers", {by: value})
        if status != 200:
            raise self._refused(f"answered {status} to a lookup by {what}")
        found = body.get("customers") if isinstance(body, dict) else None
        if not isinstance(found, list):
            raise self._refused(f"answered a lookup by {what} without a 'customers' list")
        records = [self._record(item) for item in found]
        if len(records) > 1:
            log.warning("the external CRM at %s has %d customers for one %s: none is taken", self._host,
                        len(records), "number" if by == "phone" else "e-mail address")
            return None
        return records[0] if records else None

    async def by_ref(self, ref: str) -> ExternalCustomer | None:
        """The customer the external CRM knows as ``ref``; None when it answers 404."""
        status, body = await self._get(f"/customers/{quote(ref, safe='')}", None)
        if status == 404:
            return None
        if status != 200:
            raise self._refused(f"answered {status} to a lookup by id")
        record = self._record(body)
        if record.ref != ref:
            raise self._refused("answered a lookup by id with another customer")
        return record

    async def _get(self, path: str, params: dict[str, str] | None) -> tuple[int, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        try:
            async with self._session.get(self._base + path, params=params, allow_redirects=False) as response:
                if response.status not in (200, 404):
                    return response.status, None
                if response.content_length is not None and response.content_length > _MAX_BODY:
                    raise self._refused("answered more than a megabyte")
                raw = await response.content.read(_MAX_BODY + 1)
                if len(raw) > _MAX_BODY:
                    raise self._refused("answered more than a megabyte")
                if response.status == 404:
                    return 404, None
        except TimeoutError as exc:
            raise self._refused(f"did not answer within {self._timeout.total:g} s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise self._refused(f"cannot be reached ({type(exc).__name__})") from exc
        try:
            return 200, json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise self._refused("answered something that is not JSON") from exc

    def _record(self, data: object) -> ExternalCustomer:
        try:
            return external_customer(data)
        except ExternalRecordError as exc:
            raise self._refused(f"answered a customer record that is not the contract's: {exc}") from exc

    def _refused(self, what: str) -> ExternalCrmUnavailable:
        return ExternalCrmUnavailable(f"the external CRM at {self._host} {what}")
