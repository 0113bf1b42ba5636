"""Privacy: erasing a customer (the right to be forgotten), for admins only.

``DELETE /api/customers/{customer_id}`` erases the customer everywhere cti keeps them (:class:`cti.services.Erasure`)
and answers what was erased, as counts by kind, never the data itself.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from cti.web._auth import require_role
from cti.web._keys import ERASURE
from cti.web._openapi import operation, path_param

__all__ = ["openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()

schemas: tuple[type[BaseModel], ...] = ()
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/customers/{customer_id}": {"delete": operation(
        "Erase a customer everywhere cti keeps them: the CRM record (anonymised, the customer number and "
        "aggregates kept), phones, contact notes, case subjects, tracking numbers, the personal fields of their "
        "calls (caller number and name, notes, script answers, follow-up, IVR keyed digits and prompts, transfer "
        "notes), the screen pop's caches and pops, the desktops' replay buffers, live entries in Redis and the "
        "audio of what the IVR told them. Answers the counts erased by kind. Idempotent; 409 while the "
        "customer is on a call",
        roles="admin", params=[path_param("customer_id")], errors=(404, 409, 503))},
}


@routes.delete("/api/customers/{customer_id}")
async def erase_customer(request: web.Request) -> web.Response:
    require_role(request, "admin")
    report = await request.app[ERASURE].erase(request.match_info["customer_id"])
    return web.json_response({"customer_id": report.customer_id, "erased": report.erased})
