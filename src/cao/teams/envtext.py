"""cagent's ``${env.X}`` placeholders in a team file's text: ``${env.X}``, ``${env.X || 'default'}`` and
``${env.X ? 'if set' : 'if not'}``. An undefined (or empty) variable is empty, as in cagent.

Commands are expanded when they are run (``members.expand``); instructions, descriptions, welcome
messages and toolset instructions when the team is loaded to run, with the launching shell's values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_NAME = r"([A-Za-z_][A-Za-z0-9_]*)"
_QUOTED = r"'([^']*)'"
PLACEHOLDER = re.compile(rf"\$\{{env\.{_NAME}\s*(?:\|\|\s*{_QUOTED}\s*|\?\s*{_QUOTED}\s*:\s*{_QUOTED}\s*)?\}}")


def expand(text: str, env: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name, default, if_set, if_not = match.groups()
        found = env.get(name) or ""
        if if_set is not None:
            return if_set if found else if_not
        return found or default or ""

    return PLACEHOLDER.sub(value, text)


def names(texts: Iterable[str]) -> set[str]:
    """The variables the placeholders in ``texts`` name."""
    return {match.group(1) for text in texts for match in PLACEHOLDER.finditer(text)}
