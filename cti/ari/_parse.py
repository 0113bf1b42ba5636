"""Field readers shared by models and events: tolerate what ARI omits, reject what makes no sense."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cti.ari._errors import AriProtocolError

__all__ = ["as_mapping", "opt_bool", "opt_int", "opt_mapping", "opt_str", "req_str", "str_tuple"]


def as_mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AriProtocolError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def req_str(data: Mapping[str, Any], key: str, what: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise AriProtocolError(f"{what}: missing or invalid {key!r}")
    return value


def opt_str(data: Mapping[str, Any], key: str, what: str, default: str = "") -> str:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise AriProtocolError(f"{what}: {key!r} should be a string, got {type(value).__name__}")
    return value


def opt_int(data: Mapping[str, Any], key: str, what: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    # bool is an int subclass; a boolean where a number belongs means the frame is not what we think.
    if isinstance(value, bool) or not isinstance(value, int):
        raise AriProtocolError(f"{what}: {key!r} should be an integer, got {type(value).__name__}")
    return value


def opt_bool(data: Mapping[str, Any], key: str, what: str) -> bool:
    value = data.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise AriProtocolError(f"{what}: {key!r} should be a boolean, got {type(value).__name__}")
    return value


def opt_mapping(data: Mapping[str, Any], key: str, what: str) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    return as_mapping(value, f"{what}.{key}")


def str_tuple(data: Mapping[str, Any], key: str, what: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise AriProtocolError(f"{what}: {key!r} should be a list of strings")
    return tuple(value)
