"""The prompt template: ``[[var]]`` placeholders filled from the gating script's ``output``."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from cao.errors import InvalidInput

PLACEHOLDER = re.compile(r"\[\[(\w+)\]\]")


def placeholders(template: str) -> list[str]:
    return list(dict.fromkeys(PLACEHOLDER.findall(template)))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def render(template: str, values: Mapping[str, Any]) -> str:
    """Fill every placeholder; strings go in as they are, other JSON values as JSON."""
    missing = [name for name in placeholders(template) if name not in values]
    if missing:
        have = ", ".join(sorted(values)) or "nothing"
        raise InvalidInput(f"the prompt uses {', '.join(f'[[{n}]]' for n in missing)} but the script's output has "
                           f"no such key (it has: {have}); add it to the script's \"output\" object or remove the "
                           "placeholder")
    return PLACEHOLDER.sub(lambda m: _text(values[m.group(1)]), template)
