"""Every number a client sends has a range, and the OpenAPI document says which (the fuzzer reads it there).

The parameter readers themselves: digits counted before converting, out of range a 400 in the query and a 404 in
the path, never a ValueError (Python refuses int() over 4,300 digits) or a number no column can hold.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from cti.web import FEATURES, openapi_document
from cti.web._bodies import MAX_JSON_DEPTH, JsonTooDeep, decode_json
from cti.web._params import IntParam, NumberParam

DOCUMENT = openapi_document(FEATURES)


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        node = DOCUMENT["components"]["schemas"][name]
    return node


def _unbounded(schema: Any, where: str, seen: set[str]) -> list[str]:
    """The places under ``schema`` where a number has no lower or no upper bound."""
    if isinstance(schema, list):
        return [hole for i, item in enumerate(schema) for hole in _unbounded(item, f"{where}[{i}]", seen)]
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return []
        return _unbounded(_resolve(schema), schema["$ref"].rsplit("/", 1)[1], seen | {schema["$ref"]})
    holes = []
    kinds = schema.get("type")
    if kinds in ("integer", "number") and "enum" not in schema and not (
            {"minimum", "exclusiveMinimum"} & schema.keys() and {"maximum", "exclusiveMaximum"} & schema.keys()):
        holes.append(where)
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "$defs"):
            holes += [hole for name, sub in value.items() for hole in _unbounded(sub, f"{where}.{name}", seen)]
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems", "not"):
            holes += _unbounded(value, f"{where}.{key}", seen)
    return holes


def test_every_number_a_client_sends_has_a_range_in_the_document() -> None:
    holes = []
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                holes += _unbounded(parameter["schema"], f"{method.upper()} {path} ?{parameter['name']}", set())
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            holes += _unbounded(body.get("schema"), f"{method.upper()} {path} body", set())
    assert holes == []


def test_the_checker_finds_an_unbounded_number() -> None:
    assert _unbounded({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}, "x", set()) == [
        "x.n"]


def test_every_parameter_has_a_type() -> None:
    for path, item in DOCUMENT["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                assert parameter["schema"]["type"] in ("string", "integer", "number"), (method, path, parameter)


def request(query: str = "", path: dict[str, str] | None = None) -> web.Request:
    return make_mocked_request("GET", f"/x?{query}", match_info=path or {})


LIMIT = IntParam("limit", 1, 1000)


@pytest.mark.parametrize("raw", ["0", "1001", "-1", "+1", "1.0", "1e3", " 1", "", "٣", "9" * 5000, "0x10"])
def test_an_integer_query_out_of_range_is_a_bad_request(raw: str) -> None:
    with pytest.raises(web.HTTPBadRequest) as info:
        LIMIT.read(request(f"limit={raw}"))
    assert info.value.reason == "limit must be an integer from 1 to 1000"


def test_integers_in_range_and_defaults() -> None:
    assert [LIMIT.read(request(f"limit={raw}")) for raw in ("1", "1000", "0007")] == [1, 1000, 7]
    assert LIMIT.read(request()) is None
    assert LIMIT.read(request(), 100) == 100
    assert IntParam("interval", 15, 60, choices=(15, 30, 60)).read(request("interval=30")) == 30
    with pytest.raises(web.HTTPBadRequest, match="interval must be one of 15, 30, 60"):
        IntParam("interval", 15, 60, choices=(15, 30, 60)).read(request("interval=20"))
    assert IntParam("offset", -5, 5).read(request("offset=-5")) == -5


def test_an_integer_in_the_path_out_of_range_names_nothing() -> None:
    schedule = IntParam("schedule_id", 1, 2**31 - 1, where="path")
    assert schedule.read(request(path={"schedule_id": "42"})) == 42
    for raw in ("0", "2147483648", "9" * 40, "abc"):
        with pytest.raises(web.HTTPNotFound) as info:
            schedule.read(request(path={"schedule_id": raw}))
        assert info.value.reason == f"no schedule {raw if len(raw) <= 24 else raw[:24] + '...'!r}"
    assert schedule.spec() == {"name": "schedule_id", "in": "path", "required": True,
                               "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}


@pytest.mark.parametrize("raw", ["-0.5", "86400.5", "nan", "inf", "1e400", "1_000", "0x1p3", "9" * 5000, ""])
def test_a_number_query_out_of_range_is_a_bad_request(raw: str) -> None:
    grace = NumberParam("grace_seconds", 0, 86400)
    with pytest.raises(web.HTTPBadRequest) as info:
        grace.read(request(f"grace_seconds={raw}"))
    assert info.value.reason == "grace_seconds must be a number from 0 to 86400"


def test_numbers_in_range() -> None:
    grace = NumberParam("grace_seconds", 0, 86400)
    assert [grace.read(request(f"grace_seconds={raw}")) for raw in ("0", "1.5", ".5", "3.", "8.64e4")] == [
        0.0, 1.5, 0.5, 3.0, 86400.0]
    assert grace.read(request(), 0.0) == 0.0
    assert grace.spec()["schema"] == {"type": "number", "minimum": 0, "maximum": 86400}


def test_json_deeper_than_the_limit_is_refused_before_it_is_parsed() -> None:
    assert decode_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    for deep in ("[" * 30_000 + "]" * 30_000, '{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1),
                 b"[" * 100_000):
        with pytest.raises(JsonTooDeep, match="JSON nested deeper than 32 levels"):
            decode_json(deep)
    # Brackets in strings are text, escaped quotes do not end a string, and many of them stay cheap.
    assert decode_json('["' + '\\"[' * 20_000 + '"]') == ['"[' * 20_000]
    assert decode_json("[" + ",".join(['{"k": "[{"}'] * 100) + "]") == [{"k": "[{"}] * 100
    with pytest.raises(ValueError):  # malformed, however it nests: json's own error
        decode_json('"' + '\\"' * 20_000 + "[" * 40)
