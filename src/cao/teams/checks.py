"""Type checks for team-file values, with errors and warnings that name the key, its line and the fix."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from cao.teams import yamlsrc
from cao.teams.fields import Field

KINDS = {
    "str": "a string", "bool": "true or false", "int": "a whole number", "number": "a number",
    "scalar": "a string or a number", "map": "a mapping (key: value lines)", "names": "a list of agent names",
    "str_list": "a list of strings", "str_map": "a mapping of names to strings",
    "bool_or_str_list": "true, false or a list of strings", "toolsets": "a list of toolsets (- type: …)",
    "structured_output": "a mapping with name and schema", "fallback": "a mapping with models, retries, cooldown",
    "hooks": "a mapping of hook events to lists of hooks",
}
_MAPS = ("map", "structured_output", "fallback", "hooks")


def is_kind(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "scalar":
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if kind in _MAPS:
        return isinstance(value, dict)
    if kind in ("names", "str_list"):
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if kind == "str_map":
        return isinstance(value, dict) and all(isinstance(item, str) for item in value.values())
    if kind == "bool_or_str_list":
        return isinstance(value, bool) or is_kind(value, "str_list")
    if kind == "toolsets":
        return isinstance(value, list) and all(isinstance(item, dict) for item in value)
    raise AssertionError(kind)


def is_default(value: Any) -> bool:
    return value in (None, False, 0, "", [], {})


@dataclass
class Checker:
    source: str
    lines: dict[yamlsrc.Path, int]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def where(self, path: yamlsrc.Path) -> str:
        line = None
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                break
        return f"{self.source}:{line}" if line is not None else self.source

    def error(self, path: yamlsrc.Path, problem: str) -> None:
        self.errors.append(f"{self.where(path)}: {yamlsrc.dotted(path) or 'the file'}: {problem}")

    def warn(self, path: yamlsrc.Path, problem: str) -> None:
        self.warnings.append(f"{self.where(path)}: {yamlsrc.dotted(path)}: {problem}")

    def fields(self, data: dict[str, Any], path: yamlsrc.Path, table: dict[str, Field], what: str) -> dict[str, Any]:
        """The entries of ``data`` that ``table`` knows and whose type is right; the rest are errors.

        Accepted fields cao does not act on are warned about (when set) and left out of the result.
        """
        out: dict[str, Any] = {}
        for key, value in data.items():
            spec = table.get(key)
            if spec is None:
                self.unknown(path, key, table, what)
                continue
            if value is None:
                continue
            if not is_kind(value, spec.kind):
                self.error((*path, key), f"must be {KINDS[spec.kind]} (got {_type(value)})")
                continue
            if spec.how != "mapped":
                if not is_default(value):
                    label = "not yet supported" if spec.how == "not_yet" else "not applicable to CLI agents"
                    self.warn((*path, key), f"accepted but ignored ({label}): {spec.note}")
                continue
            out[key] = value
        return out

    def unknown(self, path: yamlsrc.Path, key: str, table: dict[str, Field] | tuple[str, ...], what: str) -> None:
        self.error((*path, key), f"unknown {what} field; {_fix(key, table)}")

    def unknown_value(self, path: yamlsrc.Path, value: str, options: tuple[str, ...], what: str) -> None:
        self.error(path, f"unknown {what} {value!r}; {_fix(value, options)}")


def _fix(name: str, options: dict[str, Field] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f"did you mean '{close[0]}'?" if close else f"remove it, or use one of: {', '.join(options)}"


def _type(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list" if all(isinstance(v, str) for v in value) else "a list with non-string items"
    if isinstance(value, str):
        return f"the string {value[:30]!r}"
    return f"{type(value).__name__} {value!r}"
