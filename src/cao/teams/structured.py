"""Structured output: a member's handoff reply parsed as JSON and checked against its schema.

The reply may be the bare object or one fenced ```json block; anything else around a single object
is tolerated (CLIs like to add a sentence). A reply that breaks the schema is sent back to the worker
once with the problem; a second failure is an error naming both problems.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from cao.errors import CaoError
from cao.mcp.schema import validate
from cao.teams.models import StructuredOutput

_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)\n\s*```", re.DOTALL)


def parse(text: str, so: StructuredOutput) -> tuple[dict[str, Any] | None, str | None]:
    """(the object, None) or (None, what is wrong with the reply)."""
    candidates = [text.strip()]
    candidates += [m.group(1).strip() for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    value: Any = None
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        break
    else:
        return None, "it is not a JSON object"
    if not isinstance(value, dict):
        return None, "it is JSON but not an object"
    problem = validate(value, so.schema)
    return (value, None) if problem is None else (None, problem)


def correction(so: StructuredOutput, problem: str) -> str:
    return (f"Your reply is not valid {so.name} output: {problem}. Reply again with only one JSON object (no "
            f"prose, no code fence) matching this JSON Schema:\n{json.dumps(so.schema, ensure_ascii=False)}")


async def check(so: StructuredOutput, output: str, ask_again: Callable[[str], Awaitable[str]] | None,
                worker: str) -> dict[str, Any]:
    """The reply's object; asks once more on failure (``ask_again`` sends a message, returns the new reply;
    None: no turn is left to ask in, by the member's max_iterations)."""
    value, problem = parse(output, so)
    if value is not None:
        return value
    if ask_again is None:
        raise CaoError(f"{worker} did not return valid {so.name} output ({problem}), and its max_iterations "
                       "leaves no turn to ask again; it is kept for inspection")
    value, second = parse(await ask_again(correction(so, problem or "")), so)
    if value is not None:
        return value
    raise CaoError(f"{worker} did not return valid {so.name} output after being asked twice: first {problem}, "
                   f"then {second}; it is kept for inspection")
