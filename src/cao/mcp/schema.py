"""A small JSON-Schema subset validator for tool arguments and structured results.

Supported: ``type`` (one or a list; integer/number/boolean/string/object/array/null), ``required``,
``properties``, ``additionalProperties`` (bool or schema), ``enum``, ``const``, ``minimum``/``maximum``,
``exclusiveMinimum``/``exclusiveMaximum``, ``minLength``/``maxLength``, ``items``, ``minItems``/``maxItems``.
Other keywords (description, default, format, …) are ignored. ``validate`` returns the first problem
as a sentence naming the field, or None.
"""

from __future__ import annotations

from typing import Any


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_type(value: Any, name: str) -> bool:
    actual = _type_of(value)
    if name == "number":
        return actual in ("integer", "number")
    if name == "integer":
        return actual == "integer" or (actual == "number" and value.is_integer())
    return actual == name


def _where(path: str) -> str:
    return f"'{path}'" if path else "the value"


def validate(value: Any, schema: dict[str, Any], path: str = "") -> str | None:
    """The first way ``value`` breaks ``schema`` (e.g. "'timeout' must be at most 3600"), or None."""
    where = _where(path)
    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        if not any(_is_type(value, name) for name in names):
            return f"{where} must be {' or '.join(names)} (got {_type_of(value)})"
    if "const" in schema and value != schema["const"]:
        return f"{where} must be {schema['const']!r}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where} must be one of {', '.join(repr(v) for v in schema['enum'])} (got {value!r})"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        problem = _check_number(value, schema, where)
    elif isinstance(value, str):
        problem = _check_length(len(value), schema, where, "minLength", "maxLength", "characters")
    elif isinstance(value, list):
        problem = _check_array(value, schema, path)
    elif isinstance(value, dict):
        problem = _check_object(value, schema, path)
    else:
        problem = None
    return problem


def _check_number(value: float, schema: dict[str, Any], where: str) -> str | None:
    if "minimum" in schema and value < schema["minimum"]:
        return f"{where} must be at least {schema['minimum']} (got {value})"
    if "maximum" in schema and value > schema["maximum"]:
        return f"{where} must be at most {schema['maximum']} (got {value})"
    low, high = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(low, (int, float)) and not isinstance(low, bool) and value <= low:
        return f"{where} must be greater than {low} (got {value})"
    if isinstance(high, (int, float)) and not isinstance(high, bool) and value >= high:
        return f"{where} must be less than {high} (got {value})"
    return None


def _check_length(size: int, schema: dict[str, Any], where: str, low: str, high: str, unit: str) -> str | None:
    if low in schema and size < schema[low]:
        return f"{where} must have at least {schema[low]} {unit} (got {size})"
    if high in schema and size > schema[high]:
        return f"{where} must have at most {schema[high]} {unit} (got {size})"
    return None


def _check_array(value: list[Any], schema: dict[str, Any], path: str) -> str | None:
    problem = _check_length(len(value), schema, _where(path), "minItems", "maxItems", "items")
    items = schema.get("items")
    if problem is None and isinstance(items, dict):
        for index, item in enumerate(value):
            problem = validate(item, items, f"{path}[{index}]")
            if problem:
                break
    return problem


def _check_object(value: dict[str, Any], schema: dict[str, Any], path: str) -> str | None:
    prefix = f"{path}." if path else ""
    for name in schema.get("required", ()):
        if name not in value:
            return f"'{prefix}{name}' is required"
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            problem = validate(item, properties[name], prefix + name)
        elif extra is False:
            known = ", ".join(properties) or "none"
            problem = f"'{prefix}{name}' is not an accepted field (accepted: {known})"
        elif isinstance(extra, dict):
            problem = validate(item, extra, prefix + name)
        else:
            problem = None
        if problem:
            return problem
    return None
