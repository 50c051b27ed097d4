"""The JSON-Schema subset that checks tool arguments and structured results."""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from cao.mcp.schema import validate

HANDOFF = {
    "type": "object",
    "properties": {
        "agent_profile": {"type": "string", "minLength": 1, "maxLength": 8},
        "timeout": {"type": "number", "minimum": 1, "maximum": 3600},
        "count": {"type": "integer"},
        "mode": {"enum": ["fast", "slow"]},
        "flag": {"type": "boolean"},
        "note": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "nested": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
    },
    "required": ["agent_profile"],
    "additionalProperties": False,
}


class Case(NamedTuple):
    test_id: str
    value: Any
    problem: str | None


CASES = [
    Case("valid", {"agent_profile": "dev", "timeout": 2.5, "count": 3, "mode": "fast", "flag": True,
                   "note": None, "tags": ["a"], "nested": {"x": 1}}, None),
    Case("integral float is an integer", {"agent_profile": "dev", "count": 3.0}, None),
    Case("missing required", {}, "'agent_profile' is required"),
    Case("wrong type", {"agent_profile": 7}, "'agent_profile' must be string (got integer)"),
    Case("boolean is not a number", {"agent_profile": "d", "timeout": True}, "'timeout' must be number (got boolean)"),
    Case("fraction is not an integer", {"agent_profile": "d", "count": 1.5}, "'count' must be integer (got number)"),
    Case("below minimum", {"agent_profile": "d", "timeout": 0}, "'timeout' must be at least 1 (got 0)"),
    Case("above maximum", {"agent_profile": "d", "timeout": 9000}, "'timeout' must be at most 3600 (got 9000)"),
    Case("too short", {"agent_profile": ""}, "'agent_profile' must have at least 1 characters (got 0)"),
    Case("too long", {"agent_profile": "x" * 9}, "'agent_profile' must have at most 8 characters (got 9)"),
    Case("not in enum", {"agent_profile": "d", "mode": "odd"}, "'mode' must be one of 'fast', 'slow' (got 'odd')"),
    Case("type list", {"agent_profile": "d", "note": 1}, "'note' must be string or null (got integer)"),
    Case("item type", {"agent_profile": "d", "tags": ["a", 2]}, "'tags[1]' must be string (got integer)"),
    Case("too many items", {"agent_profile": "d", "tags": ["a", "b", "c"]}, "'tags' must have at most 2 items (got 3)"),
    Case("nested required", {"agent_profile": "d", "nested": {}}, "'nested.x' is required"),
    Case("nested type", {"agent_profile": "d", "nested": {"x": "1"}}, "'nested.x' must be integer (got string)"),
    Case("unknown field", {"agent_profile": "d", "sender_id": "x"},
         "'sender_id' is not an accepted field (accepted: agent_profile, timeout, count, mode, flag, note, tags, "
         "nested)"),
    Case("not an object", ["agent_profile"], "the value must be object (got array)"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_validate(case: Case) -> None:
    assert validate(case.value, HANDOFF) == case.problem


def test_additional_properties_schema_and_exclusive_bounds() -> None:
    schema = {"type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0,
                                                          "exclusiveMaximum": 1}}
    assert validate({"a": 0.5}, schema) is None
    assert validate({"a": 0}, schema) == "'a' must be greater than 0 (got 0)"
    assert validate({"a": 1}, schema) == "'a' must be less than 1 (got 1)"
    assert validate({"a": "x"}, schema) == "'a' must be number (got string)"


def test_unknown_keywords_are_ignored_and_const_is_checked() -> None:
    assert validate("x", {"type": "string", "format": "uri", "description": "d", "default": "y"}) is None
    assert validate("b", {"const": "a"}) == "the value must be 'a'"
