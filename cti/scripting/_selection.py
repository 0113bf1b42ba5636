"""Which script a call gets: the five factors of the call, the ``when`` conditions scripts declare, the choice.

A script matches when every condition it names holds (an empty ``when`` matches every call: that is the
catch-all, ``general`` in the default set). Among matching scripts the highest ``priority`` wins, then the
most specific (most conditions named), then the smallest id, so the choice never depends on order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator

from cti.scripting._errors import NoScript

__all__ = ["BillingState", "Factors", "When", "billing_state", "select_script"]

BillingState = Literal["none", "due", "overdue"]


@dataclass(frozen=True, slots=True)
class Factors:
    """The call as script selection sees it."""

    reason: str | None = None
    """Contact reason: the IVR intent or problem type (``billing``, ``technical``, ``order_status``...)."""
    value_tier: str | None = None
    cross_sell: bool = False
    """A cross-sell candidate exists for this customer."""
    promotion: bool = False
    """A promotion is active for this customer."""
    billing: BillingState = "none"


def billing_state(balance_due: Decimal, due_date: date | None, today: date) -> BillingState:
    """``overdue`` once the due date has passed with a balance, ``due`` with a balance, else ``none``."""
    if balance_due <= 0:
        return "none"
    return "overdue" if due_date is not None and today > due_date else "due"


class When(BaseModel):
    """Conditions on the factors; lists mean "any of". Names no factor: always true."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: tuple[str, ...] | None = None
    value_tier: tuple[str, ...] | None = None
    cross_sell: bool | None = None
    promotion: bool | None = None
    billing: tuple[BillingState, ...] | None = None

    @field_validator("reason", "value_tier", "billing", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list | tuple) and not value:
            raise ValueError("name at least one value, or leave the condition out")
        return value

    @property
    def specificity(self) -> int:
        """How many factors the conditions name."""
        return sum(value is not None for value in (self.reason, self.value_tier, self.cross_sell, self.promotion,
                                                  self.billing))

    def matches(self, factors: Factors) -> bool:
        return ((self.reason is None or factors.reason in self.reason)
                and (self.value_tier is None or factors.value_tier in self.value_tier)
                and (self.cross_sell is None or factors.cross_sell == self.cross_sell)
                and (self.promotion is None or factors.promotion == self.promotion)
                and (self.billing is None or factors.billing in self.billing))


class _Selectable(Protocol):
    """What selection reads of a script (``cti.scripting.Script`` has it)."""

    @property
    def id(self) -> str: ...

    @property
    def priority(self) -> int: ...

    @property
    def when(self) -> When: ...


S = TypeVar("S", bound=_Selectable)


def select_script(scripts: Iterable[S], factors: Factors) -> S:
    """The script for a call with these factors; :class:`NoScript` if none matches."""
    matching = [script for script in scripts if script.when.matches(factors)]
    if not matching:
        raise NoScript(f"no script matches {factors} and none catches all")
    return min(matching, key=lambda s: (-s.priority, -s.when.specificity, s.id))
