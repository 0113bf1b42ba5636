"""Who is calling, as routing needs it: the CRM customer behind a caller number and what follows from it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from cti.acd import Routing

__all__ = ["ROUTED_ATTRIBUTES", "IdentifyFn", "Identity", "apply_attributes"]

ROUTED_ATTRIBUTES = ("language", "product", "problem_type", "value_tier")


@dataclass(frozen=True, slots=True)
class Identity:
    customer_id: str
    language: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    """Call attributes the customer record implies: value_tier, language, region (from the address)."""


IdentifyFn = Callable[[str], Awaitable[Identity | None]]


def apply_attributes(routing: Routing, attributes: Mapping[str, str]) -> None:
    """Set what the IVR or the CRM learnt on the call's routing attributes.

    The region comes from the number when it has one (where the caller is now); the customer's address
    only fills in for numbers without geography (mobiles), before the rules' default region.
    """
    for name in ROUTED_ATTRIBUTES:
        value = attributes.get(name)
        if value:
            setattr(routing, name, value)
    if routing.region is None and attributes.get("region"):
        routing.region = attributes["region"]
