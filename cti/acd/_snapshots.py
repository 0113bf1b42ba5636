"""Shallow copies of the core's dataclasses, for the snapshots commands carry.

``dataclasses.replace`` looks up every field's definition on each call (about 10 µs for a work item); a copy
through the constructor with the fields read by one :func:`operator.attrgetter` makes the same object in a
tenth of that. Decisions copy an item and its agent several times each, so it shows at scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from operator import attrgetter
from typing import Any, TypeVar

__all__ = ["copier"]

_T = TypeVar("_T")


def copier(cls: type[_T]) -> Callable[[_T], _T]:
    """A function returning a shallow copy of a ``cls`` instance: what ``dataclasses.replace(obj)`` returns."""
    declared = fields(cls)  # type: ignore[arg-type]
    if any(f.kw_only or not f.init for f in declared):
        raise TypeError(f"{cls.__name__}: every field must be an __init__ positional field to copy it this way")
    read: Callable[[Any], tuple[Any, ...]] = attrgetter(*(f.name for f in declared))

    def copy(obj: _T) -> _T:
        return cls(*read(obj))

    return copy
