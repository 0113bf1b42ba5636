"""``GET /api/customers?q=``: the desktop's customer search (:class:`cti.services.CustomerSearch`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from cti.crm import QUERY_LENGTH
from cti.services import DEFAULT_RESULTS, MAX_RESULTS, SEARCHES_PER_MINUTE
from cti.web._audit import source_of
from cti.web._auth import principal
from cti.web._keys import CUSTOMER_SEARCH
from cti.web._openapi import operation, query_param
from cti.web._params import IntParam

__all__ = ["openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
_LIMIT = IntParam("limit", 1, MAX_RESULTS, f"at most this many customers (default {DEFAULT_RESULTS})")

schemas: tuple[type[BaseModel], ...] = ()
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/customers": {"get": operation(
        "Search customers by name (each word starts a word of the name, any case, accents ignored), phone number "
        "(any common format, or at least four of its digits) or customer number, most relevant first: "
        "{customers: [{customer_id, name, phones, city, value_tier, language}]}. Only customers the caller "
        "may see, never an erased one; agents see phones masked to their last four digits. Audited (the kind "
        f"of query, the customer numbers found); {SEARCHES_PER_MINUTE} searches a minute per user, then 429",
        roles="agent (the customers of their own calls), supervisor (own scope), admin",
        params=[{**query_param("q", minLength=2, maxLength=QUERY_LENGTH), "required": True}, _LIMIT.spec()],
        errors=(400, 422))},
}


@routes.get("/api/customers")
async def search_customers(request: web.Request) -> web.Response:
    user = principal(request)
    limit = _LIMIT.read(request, DEFAULT_RESULTS)
    hits = await request.app[CUSTOMER_SEARCH].search(user, request.query.get("q", ""), limit=limit,
                                                     source=source_of(request))
    return web.json_response({"customers": [
        {"customer_id": h.customer_id, "name": h.name, "phones": list(h.phones), "city": h.city,
         "value_tier": h.value_tier, "language": h.language} for h in hits]})
