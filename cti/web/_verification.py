"""Customers' IVR verification data: an administrator sets (or removes) the PIN and the date of birth callers key
to prove who they are when they call from a number that is not the customer's (docs/ivr.md). The PIN is stored
only hashed and never answered back; the answers say whether each is set, nothing more."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.services import CredentialsState
from cti.web._auth import require_role
from cti.web._bodies import read_object
from cti.web._keys import VERIFICATION
from cti.web._openapi import operation, path_param

__all__ = ["VerificationChange", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()


class VerificationChange(BaseModel):
    """A field left out stays as it is; ``null`` removes it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    pin: str | None = Field(default=None, max_length=16, description="4 to 6 digits; kept only hashed")
    birth_date: date | None = Field(default=None, description="callers key it as DDMMYYYY")


schemas: tuple[type[BaseModel], ...] = (VerificationChange,)
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/customers/{customer_id}/verification": {
        "get": operation("Whether the customer has an IVR PIN and a date of birth set (never their values)",
                         roles="admin", params=[path_param("customer_id")], errors=(404,)),
        "put": operation("Set or remove the customer's IVR PIN and date of birth: a field left out is kept, null "
                         "removes it", roles="admin", body="VerificationChange", params=[path_param("customer_id")],
                         errors=(404, 409)),
    },
}


def _view(state: CredentialsState) -> dict[str, Any]:
    return {"customer_id": state.customer_id, "pin_set": state.pin_set, "birth_date_set": state.birth_date_set}


@routes.get("/api/customers/{customer_id}/verification")
async def verification_state(request: web.Request) -> web.Response:
    require_role(request, "admin")
    return web.json_response(_view(await request.app[VERIFICATION].state(request.match_info["customer_id"])))


@routes.put("/api/customers/{customer_id}/verification")
async def set_verification(request: web.Request) -> web.Response:
    require_role(request, "admin")
    body = VerificationChange.model_validate(await read_object(request))
    given = body.model_fields_set
    clear: frozenset[Literal["pin", "birth_date"]] = frozenset(
        name for name in ("pin", "birth_date") if name in given and getattr(body, name) is None)
    state = await request.app[VERIFICATION].set_credentials(request.match_info["customer_id"], pin=body.pin,
                                                            birth_date=body.birth_date, clear=clear)
    return web.json_response(_view(state))
